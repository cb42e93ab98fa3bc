// Shared by the attention and merge kernels: push constants and the bindings.
// The host mirrors this block in src/vk_internal.h (seattn__push).

layout(push_constant) uniform Push {
    uint q_len;      // query tokens
    uint kv_len;     // key tokens
    uint q_pos;      // position of query row 0
    uint n_rep;      // query heads per KV head
    uint G;          // group size
    uint W;          // neighbor window (0xffffffff when G == 1: every pair is a neighbor)
    uint rot_half;   // rotary_dims / 2
    uint flags;      // FLAG_*
    float scale;     // softmax scale
    float inv_ln_base; // 1 / ln(scale_base), 0 when off
    uint q_off, q_sh, q_st;
    uint k_off, k_sh, k_st;
    uint v_off, v_sh, v_st;
    uint o_off, o_sh, o_st;
    uint l_off, l_sh, l_st;
    uint split_len;  // keys per split (kv_len when not split)
    uint n_split;    // number of splits
} pc;

const uint FLAG_INTERLEAVED = 1u;
const uint FLAG_KEYS_ROTATED = 2u;
const uint FLAG_LSE = 4u;
const uint FLAG_SPLIT = 8u;   // write partial (m, l, acc) rows instead of out

layout(std430, set = 0, binding = 0) readonly buffer BufQ { float q_buf[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufK { float k_buf[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufV { float v_buf[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufO { float o_buf[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BufL { float lse_buf[]; };
// cos/sin of pos * freq_m for pos = idx * 256^level, level 0..2, idx 0..255: [3][256][rot_half]
layout(std430, set = 0, binding = 5) readonly buffer BufRope { vec2 rope_tab[]; };
// Split partials: per (head, row, split) D + 2 floats: m, l, acc[D].
layout(std430, set = 0, binding = 6) buffer BufPart { float part_buf[]; };

#define NEG_INF uintBitsToFloat(0xff800000u)
