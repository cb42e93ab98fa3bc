#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
#ifdef SEATTN_BDA
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
#endif
#ifdef SEATTN_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// Self-Extend attention for GPUs, built like FlashAttention-2 (SPEC.md gives the function).
//
// A workgroup of WG = KG x BR x DS invocations takes BR rows: consecutive (token, query head)
// pairs of the query heads that share one KV head. Invocation t is lane l = t % DS of row
// r = (t / DS) % BR in key group g = t / (DS BR). The DS lanes of a row split head_dim: lane l
// owns elements l, l + DS, l + 2 DS, ... (DL of them, head_dim padded with zeros to DP = DL DS),
// so the query at its two rotations live in registers, DL floats each, and the output
// accumulator, DLV floats (v_head_dim DV padded to DPV = DLV DS, v and out rows split alike).
// Keys come in tiles of BC, staged once per workgroup in shared memory, rotated there once
// for all BR rows; the KG key groups take BCK = BC / KG keys of each tile each (decode and short
// chunks: few rows, so lanes work on several keys at once) and are merged by log-sum-exp at the
// end. A score is DL products per lane and a sum over the DS lanes of the row: a butterfly of
// subgroupShuffleXor (SEATTN_SUBGROUP build; every lane ends with the same bits, since each
// step adds the same two values) or, in the portable build, partial sums through shared memory.
// The BR x BCK scores of a tile stay in registers and an online softmax folds them into the
// row's accumulator.
//
// Self-Extend at tile granularity: from positions alone a tile is all-neighbor, all-grouped
// or on the boundary. The first two stage K at one rotation (j, or j/G) and compute one score;
// a boundary tile stages both rotations in turn and selects per pair. G = 1 (PLAIN) has no
// grouped work at all. Keys already rotated to j are rotated by j/G - j for grouped pairs.
//
// Barriers stay in uniform control flow: every invocation runs every loop (rows past the call
// and pairs outside the causal mask are masked, not skipped). With FLAG_SPLIT, workgroups along
// z take slices of the keys and write partial rows for merge.comp. In a batch (batch.glsl)
// workgroup z takes sequence z / n_split and split z % n_split; a workgroup past its
// sequence's rows has nothing to do. With KV_CHUNKS (the SEATTN_BDA build) K and V lie in
// chunks read by address (storage.glsl): each key's chunk is looked up once a tile.

layout(local_size_x_id = 0) in;            // WG = KG * BR * DS
layout(constant_id = 1) const uint D = 128; // head_dim
layout(constant_id = 2) const uint BR = 16; // rows a workgroup
layout(constant_id = 3) const uint BC = 32; // keys a tile
layout(constant_id = 4) const uint LDS = 3; // log2 of DS, the lanes of a row
layout(constant_id = 5) const uint KG = 1;  // key groups

#include "common.glsl"
#include "storage.glsl"
#include "rope.glsl"
#include "batch.glsl"

const uint DS = 1u << LDS;
const uint DL = (D + DS - 1u) / DS; // elements a lane owns
const uint DP = DL * DS;            // head_dim padded to whole lanes
const uint DLV = (DV + DS - 1u) / DS; // elements of v and out a lane owns
const uint DPV = DLV * DS;            // v_head_dim padded to whole lanes
const uint BCK = BC / KG;           // keys of a tile a key group takes
const uint WG = KG * BR * DS;

// K tile (one rotation at a time), then reused: partial sums of the portable reduction, and the
// key groups' accumulators at the end. V tile apart.
const uint KN = BC * DP;
const uint VN = BC * DPV;
#ifdef SEATTN_SUBGROUP
const uint KR = KN;
#else
const uint KR = KN > WG * BCK ? KN : WG * BCK;
#endif
const uint KC = KG > 1u ? KG * BR * DPV : 0u;
const uint KB = KR > KC ? KR : KC;
shared float k_s[KB];
// The V tile: f32, or a 16-bit V (f16, bf16) kept 16-bit, two values a word (V16; DPV even):
// half the shared memory, so more workgroups stay resident. The host sizes tiles alike
// (plan.c, flash_smem_bytes).
// (A select, not &&: glslang 11 makes && of constants a branch, which no array size can name.)
const bool V16 = (DT & 4u) != 0u || VT == T_BF16 ? DPV % 2u == 0u : false;
shared float v_s[V16 ? 1u : VN];
shared uint v_s16[V16 ? VN / 2u : 1u];
shared float kr_s[(NORM & 2u) != 0u ? BC : 1u]; // QK-norm: 1 / rms of each key of the tile
shared float ml_s[KG > 1u ? 2u * KG * BR : 1u];  // the key groups' (m, l)
shared bool bad_s; // a batch: a page of the workgroup's keys lies past the pool
// a batch or chunks: the tile's keys' tokens in the k and v views (chunks: in their chunk, and
// each key's chunk in kc_s)
shared uint kt_s[BATCH + KV_CHUNKS != 0u ? BC : 1u];
shared uint kc_s[KV_CHUNKS != 0u ? BC : 1u];

// Element e of the V tile.
float v_tile(uint e) {
    if (V16) {
        const uint w = v_s16[e >> 1u];
        if (VT == T_BF16) return uintBitsToFloat((e & 1u) != 0u ? w & 0xffff0000u : w << 16u);
        return unpackHalf2x16(w)[e & 1u];
    }
    return v_s[e];
}

// The token of the tile's key c (key j) in the k and v views (chunks: in its chunk, whose
// addresses then become k_at and v_at).
uint key_token(uint c, uint j) {
#ifdef SEATTN_BDA
    if (KV_CHUNKS != 0u) chunk_select(kc_s[c]);
#endif
    return BATCH + KV_CHUNKS != 0u ? kt_s[c] : j;
}

float q_weight(uint i) { return (NORM & 4u) != 0u ? META_F(META_QW + i) : 1.0; }
float k_weight(uint i) { return (NORM & 8u) != 0u ? META_F(META_KW + i) : 1.0; }

// Sum of x over the DS lanes of a row, the same bits in every lane (t: this invocation, u: a
// slot of the reduction buffer; the caller brackets the portable path with barriers).
#ifdef SEATTN_SUBGROUP
float row_sum(float x, uint t, uint u) {
    [[unroll]] for (uint b = 0; b < LDS; ++b) x += subgroupShuffleXor(x, 1u << b);
    return x;
}
#endif

// Stages the tile's keys j0 .. j0 + jn - 1 into k_s rotated to j (grouped: to j/G); zeros past
// jn and past head_dim. Work items are element pairs: u < RH a RoPE pair (m, m + RH) or
// (2m, 2m + 1) from ROT_OFF, the rest two unrotated elements: the 2 (u - RH)-th and next of the
// dims outside the rotated range.
void stage_k(uint t, uint hk, uint j0, uint jn, bool grouped) {
    const bool rotated = (pc.flags & FLAG_KEYS_ROTATED) != 0u;
    const bool inter = (pc.flags & FLAG_INTERLEAVED) != 0u;
    const uint rh = pc.rot_half;
    for (uint e = t; e < BC * (DP / 2u); e += WG) {
        const uint c = e / (DP / 2u), u = e % (DP / 2u), j = j0 + c;
        uint i0, i1;
        if (u < rh) {
            i0 = ROT_OFF + (inter ? 2u * u : u);
            i1 = inter ? i0 + 1u : i0 + rh;
        } else {
            const uint w = 2u * (u - rh);
            i0 = w < ROT_OFF ? w : w + 2u * rh;
            i1 = w + 1u < ROT_OFF ? w + 1u : w + 1u + 2u * rh;
        }
        float x0 = 0.0, x1 = 0.0;
        if (c < jn && i1 < D) {
            const uint base = pc.k_off + hk * pc.k_sh + key_token(c, j) * pc.k_st;
            x0 = LOAD_K(base + i0);
            x1 = LOAD_K(base + i1);
            if ((NORM & 2u) != 0u) {
                x0 = CLAMP_IN(x0 * kr_s[c] * k_weight(i0));
                x1 = CLAMP_IN(x1 * kr_s[c] * k_weight(i1));
            }
            if (u < rh && (grouped || !rotated)) {
                const int pos = grouped ? int(j / pc.G) - (rotated ? int(j) : 0) : int(j);
                const vec2 cs = rope_cs(pos, u);
                const float y0 = x0 * cs.x - x1 * cs.y;
                x1 = x1 * cs.x + x0 * cs.y;
                x0 = y0;
            }
        }
        k_s[c * DP + i0] = x0;
        k_s[c * DP + i1] = x1;
    }
}

void main() {
    const uint t = gl_LocalInvocationIndex;
    const uint l = t & (DS - 1u), r = (t >> LDS) % BR, g = t / (DS * BR);
    const uint hk = gl_WorkGroupID.y;
    const uint split = BATCH != 0u ? gl_WorkGroupID.z % pc.n_split : gl_WorkGroupID.z;
    seq_load(gl_WorkGroupID.z / pc.n_split, gl_NumWorkGroups.z / pc.n_split);
    const uint n_rows = sq_len * pc.n_rep;
    const uint row0 = gl_WorkGroupID.x * BR;
    if (row0 >= n_rows) return; // uniform: a batch's workgroup past its sequence's rows
    const uint ri = row0 + r;
    const bool live = ri < n_rows;
    const uint tok = live ? ri / pc.n_rep : 0u;
    const uint h = hk * pc.n_rep + (live ? ri % pc.n_rep : 0u);
    const uint p = sq_pos + tok;
    const bool plain = PLAIN;

    // Position range of the workgroup's rows, for classifying tiles.
    const uint p_min = sq_pos + row0 / pc.n_rep;
    const uint p_max = sq_pos + (min(row0 + BR, n_rows) - 1u) / pc.n_rep;

    // This lane's elements of the query, scaled, rotated to p (qn) and to the grouped
    // position (qg).
    float qn[DL], qg[DL], acc[DLV];
    {
        const uint base = pc.q_off + h * pc.q_sh + (sq_tok0 + tok) * pc.q_st;
        float f = pc.scale;
        if (pc.inv_ln_base > 0.0) f *= max(1.0, log(float(p) + 1.0) * pc.inv_ln_base);
        float qr = 1.0;
        if ((NORM & 1u) != 0u) {
            float ss = 0.0;
            for (uint k = 0; k < DL; ++k) {
                const uint i = l + k * DS;
                const float x = live && i < D ? LOAD_Q(base + i) : 0.0;
                ss += x * x;
            }
#ifdef SEATTN_SUBGROUP
            ss = row_sum(ss, t, 0u);
#else
            k_s[t] = ss;
            barrier();
            ss = 0.0;
            [[unroll]] for (uint m = 0; m < DS; ++m) ss += k_s[(t & ~(DS - 1u)) + m];
            barrier();
#endif
            qr = rms_inv(ss);
        }
        // rows before W take no grouped pair: p keeps every rotation below kv_len (src/vulkan/rope.c)
        const int pg = plain || p < pc.W ? int(p) : int(p / pc.G + pc.W - pc.W / pc.G);
        for (uint k = 0; k < DL; ++k) {
            const uint i = l + k * DS;
            float x = 0.0, y = 0.0, sgn = 0.0;
            uint m = ~0u;
            if (live && i < D) {
                uint partner;
                m = rope_pair(i, partner, sgn);
                x = CLAMP_IN(LOAD_Q(base + i) * qr * q_weight(i) * f);
                if (m != ~0u) y = CLAMP_IN(LOAD_Q(base + partner) * qr * q_weight(partner) * f);
            }
            qn[k] = x;
            qg[k] = x;
            if (m != ~0u) { // rotated, and times RoPE's attention factor (common.glsl)
                const vec2 a = rope_cs(int(p), m);
                qn[k] = (x * a.x + sgn * y * a.y) * pc.q_rot_factor;
                if (!plain) {
                    const vec2 b = rope_cs(pg, m);
                    qg[k] = (x * b.x + sgn * y * b.y) * pc.q_rot_factor;
                }
            }
        }
        for (uint k = 0; k < DLV; ++k) acc[k] = 0.0;
    }

    float m_run = NEG_INF, l_run = 0.0;
    const uint k_begin = split * pc.split_len;
    uint k_end = min(min(k_begin + pc.split_len, skv_len), p_max + 1u);
    if (BATCH >= 2u) { // uniform: a paged batch checks its pages first: every page of the
        // split's keys, not only those its rows reach, so that a bad page gives every row of the
        // sequence NaN (batch.glsl), whichever rows a workgroup holds
        if (t == 0u) bad_s = false;
        barrier();
        const uint k_split_end = min(k_begin + pc.split_len, skv_len);
        if (!pages_ok(k_begin, max(k_begin, k_split_end), t, WG)) bad_s = true;
        barrier();
        s_bad = s_bad || bad_s;
        if (s_bad) k_end = k_begin;
    }

    for (uint j0 = k_begin; j0 < k_end; j0 += BC) {
        const uint jn = min(BC, k_end - j0);
        const uint j_last = j0 + jn - 1u;
        // Smallest and largest p - j over the tile's causal pairs: the tile's class.
        const uint d_min = p_min > j_last ? p_min - j_last : 0u;
        const uint d_max = p_max - j0;
        const bool need_n = plain || d_min < pc.W;
        const bool need_g = !plain && d_max >= pc.W;

        barrier(); // the previous tile is no longer read
        if (BATCH + KV_CHUNKS != 0u) { // the block table and the chunk table read once a key
            for (uint c = t; c < BC; c += WG) {
                const uint tk = c < jn ? kv_tok(j0 + c) : 0u;
                if (KV_CHUNKS != 0u) { // a token in no chunk (a bad page) reads chunk 0's first
                    uint local;
                    const uint kc = kv_chunk(tk, local);
                    kc_s[c] = kc < KV_CHUNKS ? kc : 0u;
                    kt_s[c] = local;
                } else {
                    kt_s[c] = tk;
                }
            }
            barrier();
        }
        if ((NORM & 2u) != 0u) {
            for (uint c = t; c < jn; c += WG) {
                const uint base = pc.k_off + hk * pc.k_sh + key_token(c, j0 + c) * pc.k_st;
                float ss = 0.0;
                for (uint i = 0; i < D; ++i) {
                    const float x = LOAD_K(base + i);
                    ss += x * x;
                }
                kr_s[c] = rms_inv(ss);
            }
            barrier();
        }
        stage_k(t, hk, j0, jn, !need_n);
        if (V16) { // two values a work item, stored as they came (clamped: still exact)
            for (uint e2 = t; e2 < VN / 2u; e2 += WG) {
                const uint c = 2u * e2 / DPV, i = 2u * e2 % DPV;
                const uint vb = pc.v_off + hk * pc.v_sh + key_token(c, j0 + c) * pc.v_st + i;
                const float x0 = c < jn && i < DV ? LOAD_V(vb) : 0.0;
                const float x1 = c < jn && i + 1u < DV ? LOAD_V(vb + 1u) : 0.0;
                v_s16[e2] = VT == T_BF16 ? bf16_bits(x0) | (bf16_bits(x1) << 16u)
                                         : packHalf2x16(vec2(x0, x1));
            }
        } else {
            for (uint e = t; e < VN; e += WG) {
                const uint c = e / DPV, i = e % DPV;
                const uint vb = pc.v_off + hk * pc.v_sh + key_token(c, j0 + c) * pc.v_st + i;
                v_s[e] = c < jn && i < DV ? LOAD_V(vb) : 0.0; // vb first: it sets v_at
            }
        }
        barrier();

        // Scores of this lane's row and its key group's keys c = g BCK + u, in two passes on a
        // boundary tile (neighbor, then grouped).
        float s[BCK];
        [[unroll]] for (uint pass = 0; pass < 2u; ++pass) {
            if (pass == 1u) {
                if (!(need_n && need_g)) break; // uniform
                barrier();
                stage_k(t, hk, j0, jn, true);
                barrier();
            }
            const bool use_g = pass == 1u || !need_n;
            float d[BCK];
            [[unroll]] for (uint u = 0; u < BCK; ++u) {
                const uint c = g * BCK + u;
                float a = 0.0;
                for (uint k = 0; k < DL; ++k)
                    a += (use_g ? qg[k] : qn[k]) * k_s[c * DP + l + k * DS];
                d[u] = a;
            }
#ifdef SEATTN_SUBGROUP
            [[unroll]] for (uint u = 0; u < BCK; ++u) d[u] = row_sum(d[u], t, u);
#else
            barrier(); // k_s becomes the reduction buffer
            [[unroll]] for (uint u = 0; u < BCK; ++u) k_s[u * WG + t] = d[u];
            barrier();
            [[unroll]] for (uint u = 0; u < BCK; ++u) {
                float a = 0.0;
                [[unroll]] for (uint m = 0; m < DS; ++m) a += k_s[u * WG + (t & ~(DS - 1u)) + m];
                d[u] = a;
            }
#endif
            [[unroll]] for (uint u = 0; u < BCK; ++u) {
                const uint c = g * BCK + u, j = j0 + c;
                const bool near = p - j < pc.W;
                const bool ok = live && c < jn && j <= p && pair_taken(near);
                if (pass == 0u) s[u] = ok ? d[u] : NEG_INF;
                else if (ok && !near) s[u] = d[u]; // the boundary's select
            }
        }

        if (SOFTCAP > 0.0) // a constant
            [[unroll]] for (uint u = 0; u < BCK; ++u)
                if (s[u] != NEG_INF) s[u] = softcap(s[u], SOFTCAP);
        float t_max = NEG_INF;
        [[unroll]] for (uint u = 0; u < BCK; ++u) t_max = max(t_max, s[u]);
        const float m_new = max(m_run, t_max);
        // 0 on the first tile with pairs (m_run = -inf); 1 while the row has none
        const float corr = m_new == NEG_INF ? 1.0 : exp(m_run - m_new);
        l_run *= corr;
        for (uint k = 0; k < DLV; ++k) acc[k] *= corr;
        [[unroll]] for (uint u = 0; u < BCK; ++u) {
            const float w = s[u] == NEG_INF ? 0.0 : exp(s[u] - m_new);
            l_run += w;
            const uint c = g * BCK + u;
            for (uint k = 0; k < DLV; ++k) acc[k] += w * v_tile(c * DPV + l + k * DS);
        }
        m_run = m_new;
    }

    if (KG > 1u) { // merge the key groups' rows by log-sum-exp into group 0
        barrier();
        if (l == 0u) {
            ml_s[2u * (g * BR + r)] = m_run;
            ml_s[2u * (g * BR + r) + 1u] = l_run;
        }
        barrier();
        float mx = NEG_INF;
        [[unroll]] for (uint o = 0; o < KG; ++o) mx = max(mx, ml_s[2u * (o * BR + r)]);
        const float f = m_run == NEG_INF ? 0.0 : exp(m_run - mx);
        for (uint k = 0; k < DLV; ++k) k_s[(g * BR + r) * DPV + l + k * DS] = acc[k] * f;
        barrier();
        if (g == 0u) {
            float lt = 0.0;
            [[unroll]] for (uint o = 0; o < KG; ++o) {
                const float mo = ml_s[2u * (o * BR + r)];
                lt += mo == NEG_INF ? 0.0 : ml_s[2u * (o * BR + r) + 1u] * exp(mo - mx);
            }
            for (uint k = 0; k < DLV; ++k) {
                float a = 0.0;
                [[unroll]] for (uint o = 0; o < KG; ++o) a += k_s[(o * BR + r) * DPV + l + k * DS];
                acc[k] = a;
            }
            m_run = mx;
            l_run = lt;
        }
    }

    if (!live || g != 0u) return;
    if ((pc.flags & FLAG_SPLIT) != 0u) {
        const uint at = (part_row(h, tok) * pc.n_split + split) * (DV + 4u);
        if (l == 0u) {
            part_buf[at] = s_bad ? POS_INF : m_run;
            part_buf[at + 1u] = l_run;
        }
        for (uint k = 0; k < DLV; ++k) {
            const uint i = l + k * DS;
            if (i < DV) part_buf[at + 4u + i] = acc[k];
        }
        return;
    }
    if (SINK_HERE) { // a constant and a push-constant flag: the row's sink joins its sum
        const float c = sink_fold(CLAMP_IN(META_F(META_SINKS + h)), m_run, l_run, false);
        for (uint k = 0; k < DLV; ++k) acc[k] *= c;
    }
    const uint ob = pc.o_off + h * pc.o_sh + (sq_tok0 + tok) * pc.o_st;
    const float inv_l = l_run > 0.0 ? 1.0 / l_run : 0.0; // 0: the row took no pairs
    for (uint k = 0; k < DLV; ++k) {
        const uint i = l + k * DS;
        if (i < DV) STORE_O(ob + i, s_bad ? QNAN : acc[k] * inv_l)
    }
    if ((pc.flags & FLAG_LSE) != 0u && l == 0u)
        lse_buf[pc.l_off + h * pc.l_sh + (sq_tok0 + tok) * pc.l_st] = s_bad ? QNAN : m_run + log(l_run);
}
