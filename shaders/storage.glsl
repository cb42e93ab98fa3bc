// The bindings of attention.comp and merge.comp: every tensor as a storage buffer.

layout(std430, set = 0, binding = 0) readonly buffer BufQ { float q_buf[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufK { float k_buf[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufV { float v_buf[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufO { float o_buf[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BufL { float lse_buf[]; };
layout(std430, set = 0, binding = 5) readonly buffer BufRope { vec2 rope_tab[]; }; // rope.glsl
// Split partials: per (head, row, split) DV + 4 floats: m, l, 2 unused, acc[DV].
layout(std430, set = 0, binding = 6) buffer BufPart { float part_buf[]; };
// The QK-norm weights, the sinks and a batch's metadata (common.glsl, META_*).
layout(std430, set = 0, binding = 7) readonly buffer BufMeta { uint meta[]; };

// q, k, v and the output as 32-bit words, for the types kv_types.glsl unpacks.
layout(std430, set = 0, binding = 0) readonly buffer BufQw { uint q_w[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufKw { uint k_w[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufVw { uint v_w[]; };
layout(std430, set = 0, binding = 3) buffer BufOw { uint o_w[]; };
#define Q_WORD(w) q_w[w]
#ifdef SEATTN_BDA
#include "address.glsl"
#define K_WORD(w) (KV_CHUNKS != 0u ? word_at(k_at, w) : k_w[w])
#define V_WORD(w) (KV_CHUNKS != 0u ? word_at(v_at, w) : v_w[w])
#else
#define K_WORD(w) k_w[w]
#define V_WORD(w) v_w[w]
#define K_CHUNK(i) 0.0
#define V_CHUNK(i) 0.0
#endif
#include "kv_types.glsl"

// Loads widen f16 exactly; the output is rounded to f16 once. The f32 build has no f16 code.
#ifdef SEATTN_F16
layout(std430, set = 0, binding = 0) readonly buffer BufQh { float16_t q_h[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufKh { float16_t k_h[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufVh { float16_t v_h[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufOh { float16_t o_h[]; };
#define LOAD_Q(i) CLAMP_IN(Q_BF16 ? q_bf16(i) : (DT & 1u) != 0u ? float(q_h[i]) : q_buf[i])
#define LOAD_K(i) CLAMP_IN(KT != 0u ? k_raw(i) : KV_CHUNKS != 0u ? K_CHUNK(i) : (DT & 2u) != 0u ? float(k_h[i]) : k_buf[i])
#define LOAD_V(i) CLAMP_IN(VT != 0u ? v_raw(i) : KV_CHUNKS != 0u ? V_CHUNK(i) : (DT & 4u) != 0u ? float(v_h[i]) : v_buf[i])
#define STORE_O(i, x) { if (OUT_BF16) store_bf16(i, x); else if (OUT_F16) o_h[i] = float16_t(SAT_F16(x)); else o_buf[i] = (x); }
#else
#define LOAD_Q(i) CLAMP_IN(Q_BF16 ? q_bf16(i) : q_buf[i])
#define LOAD_K(i) CLAMP_IN(KT != 0u ? k_raw(i) : KV_CHUNKS != 0u ? K_CHUNK(i) : k_buf[i])
#define LOAD_V(i) CLAMP_IN(VT != 0u ? v_raw(i) : KV_CHUNKS != 0u ? V_CHUNK(i) : v_buf[i])
#define STORE_O(i, x) { if (OUT_BF16) store_bf16(i, x); else o_buf[i] = (x); }
#endif

#define ROPE_FETCH(i) rope_tab[i]
