// Shared by every kernel: the push constants, their flags and -inf. The host mirrors this block
// in src/vk_internal.h (seattn__push). The bindings are in storage.glsl and texel.comp.

layout(push_constant) uniform Push {
    uint q_len;      // query tokens
    uint kv_len;     // key tokens
    uint q_pos;      // position of query row 0
    uint n_rep;      // query heads per KV head
    uint G;          // group size
    uint W;          // neighbor window (0xffffffff when every pair is a neighbor)
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
    uint rope_shift; // log2 of the RoPE table's first level (rope.glsl)
} pc;

const uint FLAG_INTERLEAVED = 1u;
const uint FLAG_KEYS_ROTATED = 2u;
const uint FLAG_LSE = 4u;
const uint FLAG_SPLIT = 8u;   // write partial (m, l, acc) rows instead of out

#define NEG_INF uintBitsToFloat(0xff800000u)
