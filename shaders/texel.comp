#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_ballot : require
// texelFetch on a textureBuffer (no sampler): SPIR-V 1.6 forbids a sampled image of a buffer,
// and the validation layer warns of one (seen with the lavapipe of Mesa 25)
#extension GL_EXT_samplerless_texture_functions : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
#ifdef SEATTN_BDA
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
#endif
// Self-Extend attention, one pass (SPEC.md), for CPU devices (lavapipe). What makes it fast
// there, all measured on llvmpipe:
// - Every read of Q, K, V and the RoPE table is a texelFetch: llvmpipe runs it faster than a
//   storage-buffer load (this kernel reading storage buffers instead ran 4.3 times slower on
//   Mesa 22.3 and 1.7 times on Mesa 25, bench/RESULTS.md), and nothing is staged in shared
//   memory, which it runs slowly.
// - A subgroup's S lanes split head_dim: lane l owns RoPE pairs [l MP, l MP + MP) and PT of the
//   dims past the rotary ones, so a key row is fetched once, S different addresses a fetch,
//   and each lane rotates only its own pairs. A dot product is S partial sums and one
//   subgroupAdd. Each lane keeps few registers, so the code llvmpipe compiles stays small:
//   unrolling a whole head_dim in one lane made it compile for half a minute and more.
// - One subgroup serves T tokens x R query heads of one KV head, so each key and its two
//   rotations (to j and to j/G) are shared by T R rows. Queries are rotated once, to p (qn) and
//   to the grouped position pg = p/G + W - W/G (qg).
// - llvmpipe runs a branch as masked code: both sides cost time even when the condition is
//   uniform. So no branch chooses work inside the key loop: the keys are split by position
//   alone into three zones, each its own loop (all-grouped keys: one rotation to j/G and the
//   grouped dot product; the few boundary keys: both, and a per-row select before the one
//   subgroupAdd; all-neighbor keys: the neighbor dot product alone). Every pair still gets
//   exactly one score; plain attention (PLAIN, G = 1) is the neighbor loop alone, with no
//   grouped rotation of the query either. The G keys of one grouped position share their
//   angles: the grouped zone fetches them once a position (GROUP_LOOP).
// - The RoPE table is read as RGBA texels, two pairs' angles a fetch (ROPE_VEC4).
// - Keys go two a step (KEY_STEP): the queries and accumulators, which llvmpipe keeps in
//   memory, are read and written once for two keys, the softmax rescales once for both, the
//   rows' scores are summed across lanes four at a time (lane_sum4), and the second key's
//   neighbor angles are the first key's turned by one position, not fetched.
// Keys already rotated to j (a KV cache) are rotated by 0 for neighbors and by j/G - j for
// grouped pairs. An online softmax (base 2, scale * log2(e) folded into the query) folds each
// key into the accumulators. The key loops are the only loops that run, one iteration a step
// and one or two a run of keys (a grouped position, a page): llvmpipe ends an invocation's
// loops after 65535 iterations in total (LP_MAX_TGSI_LOOP_ITERATIONS in Mesa's gallivm), so
// the host splits the keys (src/vulkan/plan.c, plan_texel). Every unrolled loop is one flat loop
// (rows and dims in one index) that counts from 0 or a multiple of 4: Mesa leaves a loop that
// holds another loop rolled, and its arrays then become indirect, which compiled for minutes;
// a loop it left rolled inside the key loop also spends the budget (a padding loop from 2 NR
// to 2 NR + 3 did, and numerics/positions_near_2_to_the_24 lost keys).

layout(local_size_x_id = 0) in;               // S x subgroups per workgroup
layout(constant_id = 1) const uint D = 128;    // head_dim
layout(constant_id = 2) const uint R = 1;      // query heads per row group; divides n_rep
layout(constant_id = 3) const uint RH = 64;    // rotary_dims / 2
layout(constant_id = 4) const bool INTERLEAVED = false; // RoPE pairs (2m, 2m+1), else (m, m+RH)
layout(constant_id = 5) const uint T = 1;      // tokens per subgroup
layout(constant_id = 6) const bool ONE_LEVEL = false; // every |pos| is in the table's first level
layout(constant_id = 7) const uint S = 8;      // subgroup size, as the driver reports it
layout(constant_id = 8) const bool O_VEC4 = false; // a lane's output runs are whole vec4s
// K and V come as RGBA texels, four elements a fetch (a lane's elements run in aligned fours,
// as for O_VEC4): a quarter of the fetches, which are what a key costs most on llvmpipe.
layout(constant_id = 12) const bool KV_VEC4 = false;
// K and V of a type read as words (kv_types.glsl) come eight values a step from RGBA32UI
// texels (with KV_VEC4: a lane's elements run in aligned eights): one fetch for eight bf16 or
// fp8 values, three for a block type's (its bytes and its scale).
layout(constant_id = 25) const bool KV_RUN8 = false;
// The RoPE table's view is RGBA32F, two (cos, sin) entries a texel: a lane with an even number
// of pairs fetches two pairs' angles at once (the table's rows are even, rope.glsl).
layout(constant_id = 14) const bool ROPE_VEC4 = false;
layout(constant_id = 15) const bool SUM_BCAST = false; // lane_sum() by broadcasts
// Keys come rotated to their positions (SEATTN_KEYS_ROTATED): a constant, not the push
// constant's flag, so that only this key mode's grouped loop is compiled. An empty loop still
// costs llvmpipe one pass of its body (below): the grouped loop of the other mode did, on
// every subgroup.
layout(constant_id = 16) const bool ROTATED_K = false;

#include "common.glsl"

const uint MP = RH / S;            // RoPE pairs a lane owns
const uint PT = (D - 2u * RH) / S; // unrotated dims a lane owns
const uint DL = 2u * MP + PT;      // dims a lane owns
// v and out rows (v_head_dim DV): where DV is D, a lane owns the same elements of them as of
// q and k; else the DLV = DV / S consecutive elements l DLV .. (the host checks S divides DV)
const uint DLV = DV == D ? DL : DV / S;
const uint NR = T * R;             // rows a subgroup serves
const uint NS4 = (2u * NR + 3u) / 4u * 4u; // a step's scores (two keys), in whole vec4s

// Q, K, V as R32F texels (R16F for f16: widened by the fetch); the RoPE table (rope.glsl) as
// RG32F texels.
layout(set = 0, binding = 0) uniform textureBuffer q_tex;
layout(set = 0, binding = 1) uniform textureBuffer k_tex;
layout(set = 0, binding = 2) uniform textureBuffer v_tex;
// The same bindings as R32UI texels, for the types kv_types.glsl unpacks (the host makes the
// views R32_UINT then).
layout(set = 0, binding = 0) uniform utextureBuffer q_utex;
layout(set = 0, binding = 1) uniform utextureBuffer k_utex;
layout(set = 0, binding = 2) uniform utextureBuffer v_utex;
// The output, or with FLAG_SPLIT the partial rows (m, l, 2 unused, acc[D]: merge.comp).
layout(std430, set = 0, binding = 3) writeonly buffer BufO { float o_buf[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufO4 { vec4 o4_buf[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BufL { float lse_buf[]; };
layout(set = 0, binding = 5) uniform textureBuffer rope_tex;
// The QK-norm weights, the sinks and a batch's metadata (common.glsl, META_*).
layout(std430, set = 0, binding = 7) readonly buffer BufMeta { uint meta[]; };
layout(std430, set = 0, binding = 3) buffer BufOw { uint o_w[]; };
#ifdef SEATTN_F16
layout(std430, set = 0, binding = 3) writeonly buffer BufOh { float16_t o_h[]; };
#endif
#define Q_WORD(w) texelFetch(q_utex, int(w)).x
#ifdef SEATTN_BDA
// KV_CHUNKS: K and V in chunks, read by address (address.glsl; kv_run sets k_at and v_at a run
// of keys at a time): one value a load, or with KV_VEC4 four (f32, f16: chunk4)
#include "address.glsl"
#define K_WORD(w) (KV_CHUNKS != 0u ? word_at(k_at, w) : texelFetch(k_utex, int(w)).x)
#define V_WORD(w) (KV_CHUNKS != 0u ? word_at(v_at, w) : texelFetch(v_utex, int(w)).x)
#define CHUNK_k_tex(i) K_CHUNK(i)
#define CHUNK_v_tex(i) V_CHUNK(i)
#define CHUNK4_k_tex(i) chunk4(k_at, (DT & 2u) != 0u, i)
#define CHUNK4_v_tex(i) chunk4(v_at, (DT & 4u) != 0u, i)
#else
#define K_WORD(w) texelFetch(k_utex, int(w)).x
#define V_WORD(w) texelFetch(v_utex, int(w)).x
#define CHUNK_k_tex(i) 0.0
#define CHUNK_v_tex(i) 0.0
#define CHUNK4_k_tex(i) vec4(0.0)
#define CHUNK4_v_tex(i) vec4(0.0)
#endif
#define K_TEX4(t) texelFetch(k_utex, int(t))
#define V_TEX4(t) texelFetch(v_utex, int(t))
#include "kv_types.glsl"
#ifdef SEATTN_BDA
// Four f32 or f16 values i .. i + 3 (i a multiple of 4) of the chunk at `at`: one load of four
// or two words (KV_VEC4 with chunks)
vec4 chunk4(uvec2 at, bool f16, uint i) {
    if (!f16) return uintBitsToFloat(word4_at(at, i));
    const uvec2 w = word2_at(at, i >> 1u);
    return vec4(half_bits(w.x & 0xffffu), half_bits(w.x >> 16u), half_bits(w.y & 0xffffu),
                half_bits(w.y >> 16u));
}
#endif
#define FETCH_Q(i) (Q_BF16 ? q_bf16(i) : texelFetch(q_tex, int(i)).x)
// This lane's N_ elements (at E_[]) of the row at element BASE_ of TEX_ into X_[AT_ ..]; with
// RAWT_ (KT or VT) set, through RAW_ (k_raw or v_raw) instead.
#define FETCH_ROW(X_, TEX_, RAWT_, RAW_, BASE_, AT_, E_, N_)                                \
    if (KV_VEC4 && KV_RUN8 && (RAWT_) != 0u) {                                               \
        [[unroll]] for (uint e = 0; e < (N_); e += 8u) {                                     \
            vec4 a8, b8;                                                                     \
            RAW_##8((BASE_) + E_[e], a8, b8);                                                \
            X_[(AT_) + e] = a8.x; X_[(AT_) + e + 1u] = a8.y;                                  \
            X_[(AT_) + e + 2u] = a8.z; X_[(AT_) + e + 3u] = a8.w;                             \
            X_[(AT_) + e + 4u] = b8.x; X_[(AT_) + e + 5u] = b8.y;                             \
            X_[(AT_) + e + 6u] = b8.z; X_[(AT_) + e + 7u] = b8.w;                             \
        }                                                                                    \
    } else if (KV_VEC4) {                                                                    \
        [[unroll]] for (uint e = 0; e < (N_); e += 4u) {                                     \
            const vec4 t4 = (RAWT_) != 0u      ? RAW_##4((BASE_) + E_[e])                     \
                            : KV_CHUNKS != 0u ? CHUNK4_##TEX_((BASE_) + E_[e])                \
                                              : texelFetch(TEX_, int(((BASE_) + E_[e]) / 4u)); \
            X_[(AT_) + e] = t4.x; X_[(AT_) + e + 1u] = t4.y;                                  \
            X_[(AT_) + e + 2u] = t4.z; X_[(AT_) + e + 3u] = t4.w;                             \
        }                                                                                    \
    } else {                                                                                 \
        [[unroll]] for (uint e = 0; e < (N_); ++e)                                           \
            X_[(AT_) + e] = (RAWT_) != 0u      ? RAW_((BASE_) + E_[e])                        \
                            : KV_CHUNKS != 0u ? CHUNK_##TEX_((BASE_) + E_[e])                 \
                                              : texelFetch(TEX_, int((BASE_) + E_[e])).x;     \
    }
// entry i of the table (rope.glsl), through either view
#define ROPE_FETCH(i) (ROPE_VEC4 ? rope_half(i) : texelFetch(rope_tex, int(i)).xy)
#define ROPE_FETCH4(i) texelFetch(rope_tex, int((i) >> 1u))
// f16 q, k, v arrive widened: only the output needs 16-bit storage.
#ifdef SEATTN_F16
#define STORE_OUT(i, x) { if (OUT_BF16 && !split_out) store_bf16(i, x); else if (OUT_F16 && !split_out) o_h[i] = float16_t(SAT_F16(x)); else o_buf[i] = (x); }
#else
#define STORE_OUT(i, x) { if (OUT_BF16 && !split_out) store_bf16(i, x); else o_buf[i] = (x); }
#endif

// entry i of an RGBA32F table view
vec2 rope_half(uint i) {
    const vec4 t = texelFetch(rope_tex, int(i >> 1u));
    return (i & 1u) != 0u ? t.zw : t.xy;
}
#define ROPE_ONE_LEVEL ONE_LEVEL
#include "rope.glsl"
#include "batch.glsl"

// The sum of x over the subgroup's S lanes, the same in every lane. llvmpipe's subgroupAdd is
// a loop over the lanes through memory (26% of the samples of this kernel's hottest code on
// Mesa 22.3, perf);
// with SUM_BCAST (the host sets it for Mesa 25's llvmpipe, where it measured faster; on 22.3
// it was slower) it is S broadcasts from lanes named by constants, added in lane order.
#define LANE_ADD(I_) if (S > (I_)) s += subgroupBroadcast(x, (I_));
#define LANE_ADD8(I_) LANE_ADD(I_) LANE_ADD((I_) + 1u) LANE_ADD((I_) + 2u) LANE_ADD((I_) + 3u) \
    LANE_ADD((I_) + 4u) LANE_ADD((I_) + 5u) LANE_ADD((I_) + 6u) LANE_ADD((I_) + 7u)
float lane_sum(float x) {
    if (!SUM_BCAST) return subgroupAdd(x);
    float s = 0.0;
    LANE_ADD8(0u) LANE_ADD8(8u) LANE_ADD8(16u) LANE_ADD8(24u)
    LANE_ADD8(32u) LANE_ADD8(40u) LANE_ADD8(48u) LANE_ADD8(56u)
    return s;
}
// four sums at once
vec4 lane_sum4(vec4 x) {
    if (!SUM_BCAST) return subgroupAdd(x);
    vec4 s = vec4(0.0);
    LANE_ADD8(0u) LANE_ADD8(8u) LANE_ADD8(16u) LANE_ADD8(24u)
    LANE_ADD8(32u) LANE_ADD8(40u) LANE_ADD8(48u) LANE_ADD8(56u)
    return s;
}

// A_[r] = X_ of lane r, for the NR (at most 8) rows
#define BC1(A_, X_, I_) if (NR > (I_)) A_[min((I_), NR - 1u)] = subgroupBroadcast(X_, (I_));
#define BC8(A_, X_) BC1(A_, X_, 0u) BC1(A_, X_, 1u) BC1(A_, X_, 2u) BC1(A_, X_, 3u) \
    BC1(A_, X_, 4u) BC1(A_, X_, 5u) BC1(A_, X_, 6u) BC1(A_, X_, 7u)
// The online softmax a row a lane: where broadcasts are cheap (SUM_BCAST) and the rows are as
// many as the lanes, lane l keeps row l's running max and sum and computes its 3 exp2 a step,
// where every lane computing every row's took 3 NR; the weights are broadcast back. Prefill
// 1024 on Mesa 25's llvmpipe: 611 to 519 ms (bench/RESULTS.md).
const bool ROWLANE = SUM_BCAST && NR == S;
const float LOG2E = 1.4426950408889634;
const float LN2 = 0.6931471805599453;

// Element e (0 .. DL-1) of lane l: its pairs' first elements, their partners (from ROT_OFF),
// then its unrotated dims: the PT from the (l PT)-th of the dims outside the rotated range.
// For rotate_half each group is MP consecutive elements.
uint elem(uint l, uint e) {
    if (e < 2u * MP) {
        const uint m = l * MP + (e % MP);
        const bool second = e >= MP;
        return ROT_OFF + (INTERLEAVED ? 2u * m + (second ? 1u : 0u) : m + (second ? RH : 0u));
    }
    const uint w = l * PT + (e - 2u * MP);
    return w < ROT_OFF ? w : w + 2u * RH;
}

// C_[e], S_[e] = cos and sin of this lane's pair m = l MP + e at POS_. With an RGBA table view
// and MP even, two pairs' angles come in one fetch.
#define LOAD_ANGLES(C_, S_, POS_)                                                           \
    if (ROPE_VEC4 && MP % 2u == 0u) {                                                       \
        [[unroll]] for (uint e = 0; e < MP; e += 2u) {                                      \
            const vec4 cs = rope_cs2(POS_, l * MP + e);                                     \
            C_[e] = cs.x; S_[e] = cs.y; C_[e + 1u] = cs.z; S_[e + 1u] = cs.w;               \
        }                                                                                   \
    } else {                                                                                \
        [[unroll]] for (uint e = 0; e < MP; ++e) {                                          \
            const vec2 cs = rope_cs(POS_, l * MP + e);                                      \
            C_[e] = cs.x; S_[e] = cs.y;                                                     \
        }                                                                                   \
    }
// Y_ = this lane's elements of X_ at AT_ (0, or DL for a step's second key) rotated by the angles
// C_, S_: X_[AT_ + e] and X_[AT_ + e + MP] are pair l MP + e, elements from 2 MP on are not
// rotated.
#define ROTATE_BY(Y_, AT_, X_, C_, S_)                                                      \
    [[unroll]] for (uint e = 0; e < MP; ++e) {                                              \
        const uint a_ = (AT_) + e, b_ = a_ + MP;                                            \
        Y_[a_] = X_[a_] * C_[e] - X_[b_] * S_[e];                                           \
        Y_[b_] = X_[b_] * C_[e] + X_[a_] * S_[e];                                           \
    }                                                                                       \
    [[unroll]] for (uint e = 2u * MP; e < DL; ++e) Y_[(AT_) + e] = X_[(AT_) + e];
// Y_ = X_ rotated by POS_ (in a block of its own)
#define ROTATE(Y_, AT_, X_, POS_)                                                           \
    {                                                                                       \
        float c_[MP], s_[MP];                                                               \
        LOAD_ANGLES(c_, s_, POS_)                                                           \
        ROTATE_BY(Y_, AT_, X_, c_, s_)                                                      \
    }

void main() {
    const uint l = gl_SubgroupInvocationID;
    const uint tg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID;
    const uint groups = pc.n_rep / R;
    const uint hk = gl_WorkGroupID.y / groups;
    // in a batch (batch.glsl) z is sequence z / n_split and split z % n_split
    const uint split = BATCH != 0u ? gl_WorkGroupID.z % pc.n_split : gl_WorkGroupID.z;
    seq_load(gl_WorkGroupID.z / pc.n_split, gl_NumWorkGroups.z / pc.n_split);
    const uint h0 = hk * pc.n_rep + (gl_WorkGroupID.y % groups) * R;
    const bool rotated = ROTATED_K;
    const bool lane_ok = gl_SubgroupSize == S; // else the results are NaN, never silently wrong
    const bool split_out = (pc.flags & FLAG_SPLIT) != 0u;

    // Every loop below is a single loop (rows and dims flattened into one index), so that Mesa
    // unrolls it: see the top of the file.
    uint e_at[DL], ev_at[DLV];
    [[unroll]] for (uint e = 0; e < DL; ++e) e_at[e] = elem(l, e);
    [[unroll]] for (uint e = 0; e < DLV; ++e) ev_at[e] = DV == D ? e_at[e] : l * DLV + e;

    // Rows: token tg T + t and head h0 + r are row t R + r.
    uint tok[T], p[T];
    bool live[T];
    float f[T];
    int pg[T];
    [[unroll]] for (uint t = 0; t < T; ++t) {
        const uint tt = tg * T + t;
        live[t] = tt < sq_len;
        tok[t] = live[t] ? tt : 0u;
        p[t] = sq_pos + tok[t];
        f[t] = pc.scale * LOG2E;
        if (pc.inv_ln_base > 0.0) f[t] *= max(1.0, log(float(p[t]) + 1.0) * pc.inv_ln_base);
        // rows before W take no grouped pair: p keeps every rotation below kv_len (the host
        // sizes the RoPE table for that, one level up to 65536 keys)
        pg[t] = PLAIN || p[t] < pc.W ? int(p[t]) : int(p[t] / pc.G + pc.W - pc.W / pc.G);
    }
    // QK-norm weights of this lane's dims (1 without a weight)
    float qw[DL], kw[DL];
    [[unroll]] for (uint e = 0; e < DL; ++e) {
        qw[e] = (NORM & 4u) != 0u ? META_F(META_QW + e_at[e]) : 1.0;
        kw[e] = (NORM & 8u) != 0u ? META_F(META_KW + e_at[e]) : 1.0;
    }
    float qn[NR * DL], qg[NR * DL], acc[NR * DLV];
    float m_run[NR], l_run[NR];
    float m_me = NEG_INF, l_me = 0.0; // ROWLANE: row l's running max and sum
    [[unroll]] for (uint k = 0; k < NR * DL; ++k) {
        const uint row = k / DL, e = k % DL, t = row / R, r = row % R;
        qn[k] = CLAMP_IN(FETCH_Q(pc.q_off + (h0 + r) * pc.q_sh + (sq_tok0 + tok[t]) * pc.q_st + e_at[e]));
    }
    [[unroll]] for (uint k = 0; k < NR * DLV; ++k) acc[k] = 0.0;
    if ((NORM & 1u) != 0u) { // a constant
        float ss[NR];
        [[unroll]] for (uint row = 0; row < NR; ++row) ss[row] = 0.0;
        [[unroll]] for (uint k = 0; k < NR * DL; ++k) ss[k / DL] += qn[k] * qn[k];
        [[unroll]] for (uint row = 0; row < NR; ++row) ss[row] = rms_inv(subgroupAdd(ss[row]));
        [[unroll]] for (uint k = 0; k < NR * DL; ++k) qn[k] *= ss[k / DL] * qw[k % DL];
    }
    // the scaled query is clamped like the CPU reference's (times log2 e, the base-2 softmax's)
    const float nan_if_wrong = lane_ok ? 1.0 : uintBitsToFloat(0x7fc00000u);
    [[unroll]] for (uint k = 0; k < NR * DL; ++k) {
        qn[k] = clamp(qn[k] * f[k / DL / R], -LIM * LOG2E, LIM * LOG2E) * nan_if_wrong;
        qg[k] = qn[k];
    }
    [[unroll]] for (uint k = 0; k < NR * MP; ++k) {
        const uint row = k / MP, e = k % MP, t = row / R, at = row * DL + e;
        const vec2 a = rope_cs(int(p[t]), l * MP + e);
        const vec2 b = PLAIN ? a : rope_cs(pg[t], l * MP + e);
        const float x0 = qn[at], x1 = qn[at + MP], fr = pc.q_rot_factor; // common.glsl
        qn[at] = (x0 * a.x - x1 * a.y) * fr;
        qn[at + MP] = (x1 * a.x + x0 * a.y) * fr;
        if (!PLAIN) {
            qg[at] = (x0 * b.x - x1 * b.y) * fr;
            qg[at + MP] = (x1 * b.x + x0 * b.y) * fr;
        }
    }
    [[unroll]] for (uint row = 0; row < NR; ++row) { m_run[row] = NEG_INF; l_run[row] = 0.0; }

    const uint p_min = sq_pos + tg * T;
    const uint p_max = sq_pos + min(tg * T + T, sq_len) - 1u;
    const uint k_begin = split * pc.split_len;
    // a subgroup past the last token has no keys to walk
    uint k_end = tg * T < sq_len ? min(min(k_begin + pc.split_len, skv_len), p_max + 1u) : k_begin;
    if (BATCH >= 2u) { // a paged batch checks its pages first: every page of the split's keys,
        // not only those its rows reach, so that a bad page gives every row of the sequence NaN
        // (batch.glsl), whichever rows a workgroup holds
        const uint k_split_end = min(k_begin + pc.split_len, skv_len);
        const bool bad = subgroupAdd(pages_ok(k_begin, k_split_end, l, S) ? 0u : 1u) != 0u;
        s_bad = s_bad || bad;
        if (s_bad) k_end = k_begin;
    }
    const uint kb0 = pc.k_off + hk * pc.k_sh;
    const uint vb0 = pc.v_off + hk * pc.v_sh;

    // The keys fall in three zones by position alone: [k_begin, g_end) every row scores grouped
    // (p_min - j >= W), [g_end, b_end) the boundary, where rows differ, and [b_end, k_end)
    // every row scores as a neighbor (p_max - j < W). Each zone is its own loop whose body
    // computes only what the zone needs; trip counts are uniform across the subgroup, and the
    // iterations still add up to one per key. A zone whose pairs the ONLY flags exclude is
    // skipped. PLAIN (G = 1) has the neighbor zone alone.
    uint g_end = k_begin, b_end = k_begin;
    if (!PLAIN) {
        const uint g_lim = p_min >= pc.W ? p_min - pc.W + 1u : 0u;
        const uint b_lim = p_max >= pc.W ? p_max - pc.W + 1u : 0u;
        g_end = clamp(g_lim, k_begin, max(k_begin, k_end));
        b_end = clamp(b_lim, g_end, max(g_end, k_end));
    }
    const bool only_n = (pc.flags & FLAG_ONLY_N) != 0u, only_g = (pc.flags & FLAG_ONLY_G) != 0u;

// Keys j and, when TWO_, j + 1 into every row (without TWO_ the second key is key j again, with
// weight 0): one pass over the accumulators and the queries serves two keys, and the online
// softmax rescales once for both. DO_N, DO_G (constants) say which rotations and dot products
// the zone needs; with both, each row takes one of them by a select before the one lane sum.
// CACHED: the grouped rotation's angles are gc, gs (GROUP_LOOP: both keys are in one group).
#define KEY_STEP(DO_N, DO_G, CACHED, TWO_)                                                   \
    {                                                                                        \
        float x[2u * DL], kn[2u * DL], kg[2u * DL];                                          \
        const uint j2 = (TWO_) ? j + 1u : j, jt2 = (TWO_) ? jt + 1u : jt;                    \
        FETCH_ROW(x, k_tex, KT, k_raw, kb0 + jt * pc.k_st, 0u, e_at, DL)                    \
        FETCH_ROW(x, k_tex, KT, k_raw, kb0 + jt2 * pc.k_st, DL, e_at, DL)                   \
        [[unroll]] for (uint e = 0; e < 2u * DL; ++e) x[e] = CLAMP_IN(x[e]);                  \
        if ((NORM & 2u) != 0u) { /* a constant */                                            \
            [[unroll]] for (uint b = 0; b < 2u; ++b) {                                       \
                float ss = 0.0;                                                              \
                [[unroll]] for (uint e = 0; e < DL; ++e) ss += x[b * DL + e] * x[b * DL + e]; \
                ss = rms_inv(lane_sum(ss));                                                  \
                [[unroll]] for (uint e = 0; e < DL; ++e)                                     \
                    x[b * DL + e] = CLAMP_IN(x[b * DL + e] * ss * kw[e]);                     \
            }                                                                                \
        }                                                                                    \
        if (DO_N) { /* key j + 1's angles are key j's turned by one position (c1, s1) */    \
            float c_[MP], s_[MP];                                                            \
            LOAD_ANGLES(c_, s_, rotated ? 0 : int(j))                                        \
            ROTATE_BY(kn, 0u, x, c_, s_)                                                     \
            [[unroll]] for (uint e = 0; e < MP; ++e) {                                       \
                const float c0_ = c_[e];                                                     \
                c_[e] = c0_ * c1[e] - s_[e] * s1[e];                                         \
                s_[e] = s_[e] * c1[e] + c0_ * s1[e];                                         \
            }                                                                                \
            ROTATE_BY(kn, DL, x, c_, s_)                                                     \
        }                                                                                    \
        if (DO_G && CACHED) { ROTATE_BY(kg, 0u, x, gc, gs) ROTATE_BY(kg, DL, x, gc, gs) }     \
        else if (DO_G) {                                                                     \
            ROTATE(kg, 0u, x, int(j / pc.G) - (rotated ? int(j) : 0))                        \
            ROTATE(kg, DL, x, int(j2 / pc.G) - (rotated ? int(j2) : 0))                      \
        }                                                                                    \
        float dn[2u * NR], dg[2u * NR];                                                      \
        [[unroll]] for (uint i = 0; i < 2u * NR; ++i) { dn[i] = 0.0; dg[i] = 0.0; }          \
        [[unroll]] for (uint k = 0; k < NR * DL; ++k) {                                      \
            if (DO_N) {                                                                      \
                dn[k / DL] += qn[k] * kn[k % DL];                                            \
                dn[NR + k / DL] += qn[k] * kn[DL + k % DL];                                  \
            }                                                                                \
            if (DO_G) {                                                                      \
                dg[k / DL] += qg[k] * kg[k % DL];                                            \
                dg[NR + k / DL] += qg[k] * kg[DL + k % DL];                                  \
            }                                                                                \
        }                                                                                    \
        /* each row's score of each key: a select, then one lane sum for four of them */    \
        float dd[NS4];                                                                       \
        bool nr[NS4];                                                                        \
        [[unroll]] for (uint i = 0; i < NS4; ++i) {                                          \
            const uint ic = min(i, 2u * NR - 1u), pt = p[ic % NR / R], jb = ic < NR ? j : j2; \
            nr[i] = DO_G ? (DO_N ? (pt < jb || pt - jb < pc.W) : false) : true;              \
            const float d_ = DO_N && DO_G ? (nr[i] ? dn[ic] : dg[ic]) : (DO_N ? dn[ic] : dg[ic]); \
            dd[i] = i < 2u * NR ? d_ : 0.0;                                                  \
        }                                                                                    \
        [[unroll]] for (uint i = 0; i < NS4; i += 4u) {                                      \
            const vec4 s4 = lane_sum4(vec4(dd[i], dd[i + 1u], dd[i + 2u], dd[i + 3u]));      \
            dd[i] = s4.x; dd[i + 1u] = s4.y; dd[i + 2u] = s4.z; dd[i + 3u] = s4.w;           \
        }                                                                                    \
        /* the softcap on base-2 scores: c tanh(s / c) log2 e = c' tanh(s2 / c'), c' = c log2 e */ \
        if (SOFTCAP > 0.0) {                                                                 \
            [[unroll]] for (uint i = 0; i < NS4; ++i) dd[i] = softcap(dd[i], SOFTCAP * LOG2E); \
        }                                                                                    \
        float corr[NR], w0[NR], w1[NR];                                                      \
        if (ROWLANE) {                                                                       \
            float s0 = NEG_INF, s1 = NEG_INF;                                                \
            [[unroll]] for (uint row = 0; row < NR; ++row) {                                 \
                const uint pt = p[row / R];                                                  \
                const float a0 = j <= pt && pair_taken(nr[row]) ? dd[row] : NEG_INF;         \
                const float a1 = j2 <= pt && pair_taken(nr[NR + row]) && (TWO_) ? dd[NR + row] : NEG_INF; \
                s0 = l == row ? a0 : s0;                                                     \
                s1 = l == row ? a1 : s1;                                                     \
            }                                                                                \
            const float mx = max(m_me, max(s0, s1));                                         \
            const float c_ = mx == NEG_INF ? 1.0 : exp2(m_me - mx);                          \
            const float v0 = s0 == NEG_INF ? 0.0 : exp2(s0 - mx);                            \
            const float v1 = s1 == NEG_INF ? 0.0 : exp2(s1 - mx);                            \
            l_me = l_me * c_ + v0 + v1;                                                      \
            m_me = mx;                                                                       \
            BC8(corr, c_) BC8(w0, v0) BC8(w1, v1)                                            \
        } else {                                                                             \
            [[unroll]] for (uint row = 0; row < NR; ++row) {                                 \
                const uint pt = p[row / R];                                                  \
                const float s0 = j <= pt && pair_taken(nr[row]) ? dd[row] : NEG_INF;         \
                const float s1 = j2 <= pt && pair_taken(nr[NR + row]) && (TWO_) ? dd[NR + row] : NEG_INF; \
                const float mx = max(m_run[row], max(s0, s1));                               \
                corr[row] = mx == NEG_INF ? 1.0 : exp2(m_run[row] - mx);                     \
                w0[row] = s0 == NEG_INF ? 0.0 : exp2(s0 - mx);                               \
                w1[row] = s1 == NEG_INF ? 0.0 : exp2(s1 - mx);                               \
                l_run[row] = l_run[row] * corr[row] + w0[row] + w1[row];                     \
                m_run[row] = mx;                                                             \
            }                                                                                \
        }                                                                                    \
        /* a NaN value must not reach rows that do not take a key (their weight is 0, and  \
         * 0 * NaN is NaN): it becomes 0 for all rows here, which rows taking it may see */  \
        float xv[2u * DLV];                                                                  \
        FETCH_ROW(xv, v_tex, VT, v_raw, vb0 + jt * pc.v_st, 0u, ev_at, DLV)                 \
        FETCH_ROW(xv, v_tex, VT, v_raw, vb0 + jt2 * pc.v_st, DLV, ev_at, DLV)               \
        [[unroll]] for (uint e = 0; e < 2u * DLV; ++e) xv[e] = isnan(xv[e]) ? 0.0 : CLAMP_IN(xv[e]); \
        [[unroll]] for (uint k = 0; k < NR * DLV; ++k)                                       \
            acc[k] = acc[k] * corr[k / DLV] + w0[k / DLV] * xv[k % DLV] + w1[k / DLV] * xv[DLV + k % DLV]; \
    }

// Keys [A_, B_) of a zone, two a step; jt is key j's token in the k and v views. Paged keys go
// a page at a time, so the block table is read once a page, not once a key.
// Every loop tests at its end, an if around it for an empty zone: llvmpipe runs a loop whose
// test comes first once more than its trips (the last pass, every lane masked off, still does
// the body's work), which cost a step a run (measured: bench/RESULTS.md) and a step a zone.
// An empty zone still costs one pass (the if is masked code too).
#define KEY_LOOP(A_, B_, DO_N, DO_G)                                                         \
    if (A_ < B_) {                                                                           \
        uint j = A_;                                                                         \
        if (BATCH < 2u && KV_CHUNKS == 0u) {                                                 \
            uint jt = kv_tok(A_);                                                            \
            do {                                                                             \
                KEY_STEP(DO_N, DO_G, false, j + 1u < B_)                                     \
                j += 2u;                                                                     \
                jt += 2u;                                                                    \
            } while (j < B_);                                                                \
        } else {                                                                             \
            do {                                                                             \
                uint jt;                                                                     \
                const uint run_end = kv_run(j, B_, jt);                                      \
                do {                                                                         \
                    KEY_STEP(DO_N, DO_G, false, j + 1u < run_end)                            \
                    jt += 2u;                                                                \
                    j = min(j + 2u, run_end);                                                \
                } while (j < run_end);                                                       \
            } while (j < B_);                                                                \
        }                                                                                    \
    }
// Grouped keys [A_, B_) of unrotated keys: the G keys of one grouped position j / G rotate by
// the same angles, fetched once for the run (cut at pages too). A run costs llvmpipe's loop
// budget an iteration on top of its steps: the host counts 1 / G more a key.
#define GROUP_LOOP(A_, B_)                                                                   \
    if (A_ < B_) {                                                                           \
        uint j = A_;                                                                         \
        do {                                                                                 \
            uint jt;                                                                         \
            const uint run_end = kv_run(j, min(B_, (j / pc.G + 1u) * pc.G), jt);             \
            LOAD_ANGLES(gc, gs, int(j / pc.G))                                               \
            do {                                                                             \
                KEY_STEP(false, true, true, j + 1u < run_end)                                \
                jt += 2u;                                                                    \
                j = min(j + 2u, run_end);                                                    \
            } while (j < run_end);                                                           \
        } while (j < B_);                                                                    \
    }

    float gc[MP], gs[MP]; // GROUP_LOOP's angles
    float c1[MP], s1[MP]; // one position's turn (none for keys already rotated)
    LOAD_ANGLES(c1, s1, rotated ? 0 : 1)
    if (!PLAIN) {
        if (!only_n) {
            // keys already rotated to j take angle j / G - j, one a key
            if (rotated) {
                KEY_LOOP(k_begin, g_end, false, true)
            } else {
                GROUP_LOOP(k_begin, g_end)
            }
        }
        KEY_LOOP(g_end, b_end, true, true)
    }
    if (!only_g) KEY_LOOP(b_end, k_end, true, false)

    if (ROWLANE) { BC8(m_run, m_me) BC8(l_run, l_me) } // every lane has every row's again
    float sc_sink[NR];
    if (SINK_HERE && !split_out) { // the rows' sinks join their sums (base 2); splits: merge.comp
        [[unroll]] for (uint row = 0; row < NR; ++row) {
            const float z = CLAMP_IN(META_F(META_SINKS + h0 + row % R)) * LOG2E;
            sc_sink[row] = sink_fold(z, m_run[row], l_run[row], true);
        }
        [[unroll]] for (uint k = 0; k < NR * DLV; ++k) acc[k] *= sc_sink[k / DLV];
    }
    // Row (t, r) goes to element ob + ev_at[e]: the output, or the partial row's acc[] (f32).
    uint ob[NR], pat[NR];
    float sc[NR];
    [[unroll]] for (uint row = 0; row < NR; ++row) {
        const uint t = row / R, h = h0 + row % R;
        pat[row] = (part_row(h, tok[t]) * pc.n_split + split) * (DV + 4u);
        ob[row] = split_out ? pat[row] + 4u : pc.o_off + h * pc.o_sh + (sq_tok0 + tok[t]) * pc.o_st;
        sc[row] = split_out ? 1.0 : (l_run[row] > 0.0 ? 1.0 / l_run[row] : 0.0); // 0: no pairs
        if (s_bad && !split_out) sc[row] = QNAN;
    }
    if (O_VEC4) { // a lane's dims are runs of 4 consecutive elements
        [[unroll]] for (uint k = 0; k < NR * DLV; k += 4u) {
            const uint row = k / DLV, e = k % DLV;
            if (live[row / R])
                o4_buf[(ob[row] + ev_at[e]) / 4u] = vec4(acc[k], acc[k + 1u], acc[k + 2u], acc[k + 3u]) * sc[row];
        }
    } else {
        [[unroll]] for (uint k = 0; k < NR * DLV; ++k)
            if (live[k / DLV / R]) STORE_OUT(ob[k / DLV] + ev_at[k % DLV], acc[k] * sc[k / DLV])
    }
    [[unroll]] for (uint row = 0; row < NR; ++row) {
        if (l != 0u || !live[row / R]) continue;
        if (split_out) {
            o_buf[pat[row]] = s_bad ? POS_INF : m_run[row] * LN2;
            o_buf[pat[row] + 1u] = l_run[row];
        } else if ((pc.flags & FLAG_LSE) != 0u) {
            lse_buf[pc.l_off + (h0 + row % R) * pc.l_sh + (sq_tok0 + tok[row / R]) * pc.l_st] =
                s_bad ? QNAN : (m_run[row] + log2(l_run[row])) * LN2;
        }
    }
}
