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
const uint FLAG_ONLY_N = 16u; // only neighbor pairs take part (SEATTN_ATTN_NEIGHBOR_ONLY)
const uint FLAG_ONLY_G = 32u; // only grouped pairs take part (SEATTN_ATTN_GROUPED_ONLY)

// Whether pair (p, j), j <= p, of class `near` takes part under the ONLY flags.
bool pair_taken(bool near) {
    return !(((pc.flags & FLAG_ONLY_N) != 0u && !near) || ((pc.flags & FLAG_ONLY_G) != 0u && near));
}

#define NEG_INF uintBitsToFloat(0xff800000u)
