// Shared by every kernel: the push constants, their flags and -inf. The host mirrors this block
// in src/vulkan/vk_internal.h (seattn__push). The bindings are in storage.glsl and texel.comp.

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
    float q_rot_factor; // RoPE's attention factor on the query's rotated part: a^2 (raw keys)
                        // or a (rotated keys, which carry theirs); 1 without one
    float norm_eps;  // QK-norm epsilon
    // a batch: the word of the meta binding where its sequence records start (META_SEQ)
    uint offs;
    uint q_tokens;   // batch: rows of the q, out and lse views
    uint kv_tokens;  // batch: tokens of the k and v views (the page pool)
} pc;
// K and V spread over chunks, read through buffer device addresses (the SEATTN_BDA builds of
// flash.comp and texel.comp, address.glsl; 0: K and V are the k and v bindings): chunk c is the 8 words from 8c of the meta
// binding: its k and v addresses (lo, hi words each), then its first token and its tokens in
// the pool's token space (batch.glsl, kv_chunk).
layout(constant_id = 26) const uint KV_CHUNKS = 0u;
// The meta binding (7, `meta`, u32 words; declared in storage.glsl and texel.comp): the call's
// small inputs, which the host copies there from the app's tensors before the dispatch, so that
// no pipeline binds more than 8 storage buffers: the chunk table, then the q-norm weight (f32
// bits) at META_QW, the k-norm weight D words on, the sinks D further, a batch's sequence
// records (5 words each) at pc.offs and its block table right after them, to the end of the
// bound range.
#define META_QW (8u * KV_CHUNKS)
#define META_KW (META_QW + D)
#define META_SINKS (META_QW + 2u * D)
#define META_SEQ pc.offs
#define META_F(i) uintBitsToFloat(meta[i])

// Which tensors are f16 (only set in the SEATTN_F16 build of a shader, which declares 16-bit
// storage): 1 q, 2 k, 4 v, 8 out. QK-norm (RMSNorm over head_dim before RoPE): 1 queries,
// 2 keys, 4 a q weight is bound, 8 a k weight is bound.
layout(constant_id = 9) const uint DT = 0u;
layout(constant_id = 10) const uint NORM = 0u;
// Every pair is a neighbor (G = 1, or W past every distance; pc.W is then 0xffffffff): the
// plain specialization, with no grouped rotation and no second dot product.
layout(constant_id = 11) const bool PLAIN = false;
// The logit softcap c (Gemma 2; 0: off, and the code below compiles away): a scaled score s
// becomes c tanh(s / c), with tanh written so that no |s| overflows it.
layout(constant_id = 17) const float SOFTCAP = 0.0;
float softcap(float s, float c) {
    const float e = exp(-2.0 * abs(s / c)); // in (0, 1]: no inf / inf
    return sign(s) * c * (1.0 - e) / (1.0 + e);
}
const bool OUT_F16 = (DT & 8u) != 0u;
// The rotated dims start at ROT_OFF (DeepSeek's MLA: 128 "nope" dims, then the rotated ones);
// the dims before and after them pass through.
layout(constant_id = 18) const uint ROT_OFF = 0u;
// v_head_dim: the size of a v row, an output row and a split partial's accumulator (the host
// always sets it; D where v has q's head size).
layout(constant_id = 19) const uint DV = 128u;
// Attention sinks (gpt-oss): a logit per query head (the meta binding, from word META_SINKS) joins
// the softmax's denominator, once a row, after any key splits are merged; a GROUPED_ONLY call
// leaves it to its neighbor half (seattn.h).
layout(constant_id = 20) const bool SINKS = false;

// QK-norm's 1 / sqrt(mean(x^2) + eps) from the sum of squares over head_dim D; 0 for a zero
// vector with eps 0, which so stays zero.
#define rms_inv(SS_) ((SS_) / float(D) + pc.norm_eps > 0.0 ? inversesqrt((SS_) / float(D) + pc.norm_eps) : 0.0)

const uint FLAG_INTERLEAVED = 1u;
const uint FLAG_KEYS_ROTATED = 2u;
const uint FLAG_LSE = 4u;
const uint FLAG_SPLIT = 8u;   // write partial (m, l, acc) rows instead of out
const uint FLAG_ONLY_N = 16u; // only neighbor pairs take part (SEATTN_ATTN_NEIGHBOR_ONLY)
const uint FLAG_ONLY_G = 32u; // only grouped pairs take part (SEATTN_ATTN_GROUPED_ONLY)
// bits 24-28 of the flags: log2 of the RoPE table's first level (rope.glsl)
#define ROPE_SHIFT ((pc.flags >> 24) & 31u)
// Whether this call's rows take the sink (SINKS: the host bound them).
#define SINK_HERE (SINKS && (pc.flags & FLAG_ONLY_G) == 0u)

// Whether pair (p, j), j <= p, of class `near` takes part under the ONLY flags.
bool pair_taken(bool near) {
    return !(((pc.flags & FLAG_ONLY_N) != 0u && !near) || ((pc.flags & FLAG_ONLY_G) != 0u && near));
}

#define NEG_INF uintBitsToFloat(0xff800000u)

// Folds a sink logit z (in the units of the row's scores: base e, or base 2 with base2) into
// the row's running max m and sum l; returns the factor the row's accumulator takes (0 while
// the row had no pairs, whose accumulator is 0 anyway).
float sink_fold(float z, inout float m, inout float l, bool base2) {
    const float mx = max(m, z);
    const float c = m == NEG_INF ? 0.0 : (base2 ? exp2(m - mx) : exp(m - mx));
    l = l * c + (base2 ? exp2(z - mx) : exp(z - mx));
    m = mx;
    return c;
}

// Finite inputs give finite outputs (seattn.h, "Numerics"): q, k and v elements are clamped to
// +-2^56 when loaded, and so are the scaled (and normed) query and the normed key, so no dot
// product of two rotated vectors (at most 512 * 2 * 2^112) and no sum of 2^24 weighted values
// overflows f32. Inf becomes +-2^56; NaN stays unspecified.
const float LIM = 72057594037927936.0; // 2^56
#define CLAMP_IN(X_) clamp((X_), -LIM, LIM)
// An f16 output saturates at +-65504 (finite stays finite); NaN stays NaN.
#define SAT_F16(X_) (isnan(X_) ? (X_) : clamp((X_), -65504.0, 65504.0))
