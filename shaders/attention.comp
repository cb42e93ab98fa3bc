#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Self-Extend attention, one pass (SPEC.md). One invocation owns one query row; the rows of a
// workgroup are consecutive (token, head) pairs of the query heads that share one KV head, so a
// K/V tile is loaded once for all of them. Key tiles are staged in shared memory and rotated
// once per workgroup: to the neighbor position, the grouped position, or both, as the tile's
// class (from positions alone) requires. Each pair then takes exactly one score, and an online
// softmax folds the tile into the row's accumulator. With FLAG_SPLIT, workgroups along z take
// slices of the keys and write partial rows for merge.comp.
//
// llvmpipe (lavapipe) ends an invocation's loops after 65535 iterations in total, shared by
// all loops of the shader (LP_MAX_TGSI_LOOP_ITERATIONS in Mesa's gallivm), silently leaving
// results unwritten or, when a loop around a barrier is cut in some invocations only, hanging.
// A key costs this kernel about 3 * D + D / BR + D / BC loop iterations, so on llvmpipe the
// host bounds the keys per workgroup by splitting (src/vulkan/attention.c, the llvmpipe branch of the
// split plan). Unrolling the loops over D instead made lavapipe compile for a minute.

layout(local_size_x_id = 0) in;             // BR: rows per workgroup
layout(constant_id = 1) const uint D = 128;  // head_dim
layout(constant_id = 2) const uint BC = 8;   // keys per tile

#include "common.glsl"
#include "storage.glsl"
#include "rope.glsl"

shared float kn_s[BC * D]; // keys at the neighbor rotation
shared float kg_s[BC * D]; // keys at the grouped rotation
shared float v_s[BC * D];
shared float kr_s[BC]; // QK-norm: 1 / rms of each key of the tile

// QK-norm weight of element i (1 without a weight).
float q_weight(uint i) { return (NORM & 4u) != 0u ? qw_buf[OFF_QW + i] : 1.0; }
float k_weight(uint i) { return (NORM & 8u) != 0u ? kw_buf[OFF_KW + i] : 1.0; }

// Key element i of key j of KV head hk, QK-normed when asked (kr: the key's 1 / rms).
float key_elem(uint base, uint i, float kr) {
    const float x = LOAD_K(base + i);
    return (NORM & 2u) != 0u ? CLAMP_IN(x * kr * k_weight(i)) : x;
}

// Loads key tile element (c, i) of KV head hk rotated by `pos`, or unrotated when skip.
float load_key(uint hk, uint j, uint i, int pos, bool skip, float kr) {
    uint base = pc.k_off + hk * pc.k_sh + j * pc.k_st;
    float x = key_elem(base, i, kr);
    if (skip) return x;
    uint partner; float sgn;
    uint m = rope_pair(i, partner, sgn);
    if (m == ~0u) return x;
    vec2 cs = rope_cs(pos, m);
    return x * cs.x + sgn * key_elem(base, partner, kr) * cs.y;
}

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint BR = gl_WorkGroupSize.x;
    const uint hk = gl_WorkGroupID.y;
    const uint n_rows = pc.q_len * pc.n_rep;
    const uint row0 = gl_WorkGroupID.x * BR;
    const uint ri = row0 + lid;
    const bool live = ri < n_rows;
    const uint tok = live ? ri / pc.n_rep : 0u;
    const uint h = hk * pc.n_rep + (live ? ri % pc.n_rep : 0u);
    const uint p = pc.q_pos + tok;
    const bool rotated = (pc.flags & FLAG_KEYS_ROTATED) != 0u;
    const bool plain = PLAIN; // G == 1: no grouped rotation, no second score

    // Position range of the workgroup's rows, for classifying tiles.
    const uint p_min = pc.q_pos + row0 / pc.n_rep;
    const uint p_max = pc.q_pos + (min(row0 + BR, n_rows) - 1u) / pc.n_rep;

    // The query, scaled, rotated to p (qn) and to the grouped position (qg).
    float qn[D];
    float qg[D];
    float acc[D];
    {
        const uint base = pc.q_off + h * pc.q_sh + tok * pc.q_st;
        float f = pc.scale; // the softmax scale goes into the query
        if (pc.inv_ln_base > 0.0) f *= max(1.0, log(float(p) + 1.0) * pc.inv_ln_base);
        float qr = 1.0; // QK-norm: 1 / rms of the query
        if ((NORM & 1u) != 0u) {
            float ss = 0.0;
            [[dont_unroll]] for (uint i = 0; i < D; ++i) {
                const float x = live ? LOAD_Q(base + i) : 0.0;
                ss += x * x;
            }
            qr = rms_inv(ss);
        }
        // rows before W take no grouped pair: p keeps every rotation below kv_len (src/vulkan/rope.c)
        const int pg = plain || p < pc.W ? int(p) : int(p / pc.G + pc.W - pc.W / pc.G);
        [[dont_unroll]] for (uint i = 0; i < D; ++i) {
            float x = live ? CLAMP_IN(LOAD_Q(base + i) * qr * q_weight(i) * f) : 0.0;
            uint partner; float sgn;
            uint m = rope_pair(i, partner, sgn);
            if (m == ~0u) { qn[i] = x; if (!plain) qg[i] = x; }
            else {
                float y = live ? CLAMP_IN(LOAD_Q(base + partner) * qr * q_weight(partner) * f) : 0.0;
                vec2 a = rope_cs(int(p), m), b = plain ? a : rope_cs(pg, m);
                qn[i] = x * a.x + sgn * y * a.y;
                if (!plain) qg[i] = x * b.x + sgn * y * b.y;
            }
            acc[i] = 0.0;
        }
    }

    float m_run = NEG_INF, l_run = 0.0;
    const uint split = gl_WorkGroupID.z;
    const uint k_begin = split * pc.split_len;
    const uint k_end = min(min(k_begin + pc.split_len, pc.kv_len), p_max + 1u);

    for (uint j0 = k_begin; j0 < k_end; j0 += BC) {
        const uint jn = min(BC, k_end - j0);
        const uint j_last = j0 + jn - 1u;
        // Smallest and largest p - j over the tile's causal pairs.
        const uint d_min = p_min > j_last ? p_min - j_last : 0u;
        const uint d_max = p_max - j0;
        const bool need_n = plain || d_min < pc.W;
        const bool need_g = !plain && d_max >= pc.W;

        barrier(); // the previous tile is no longer read
        if ((NORM & 2u) != 0u) { // a constant: uniform control flow
            for (uint c = lid; c < jn; c += BR) {
                const uint base = pc.k_off + hk * pc.k_sh + (j0 + c) * pc.k_st;
                float ss = 0.0;
                [[dont_unroll]] for (uint i = 0; i < D; ++i) {
                    const float x = LOAD_K(base + i);
                    ss += x * x;
                }
                kr_s[c] = rms_inv(ss);
            }
            barrier();
        }
        for (uint e = lid; e < jn * D; e += BR) {
            const uint c = e / D, i = e % D, j = j0 + c;
            const float kr = (NORM & 2u) != 0u ? kr_s[c] : 1.0;
            if (need_n) kn_s[e] = load_key(hk, j, i, int(j), rotated, kr);
            if (need_g) {
                int pos = rotated ? int(j / pc.G) - int(j) : int(j / pc.G);
                kg_s[e] = load_key(hk, j, i, pos, false, kr);
            }
            v_s[e] = LOAD_V(pc.v_off + hk * pc.v_sh + j * pc.v_st + i);
        }
        barrier();

        // Barriers stay in uniform control flow: rows without keys here skip only the math.
        if (live && j0 <= p) {
            float sc[BC];
            float t_max = NEG_INF;
            [[dont_unroll]] for (uint c = 0; c < BC; ++c) {
                const uint j = j0 + c;
                float s = NEG_INF;
                if (c < jn && j <= p && pair_taken(p - j < pc.W)) {
                    float d = 0.0;
                    if (plain || p - j < pc.W) {
                        [[dont_unroll]] for (uint i = 0; i < D; ++i) d += qn[i] * kn_s[c * D + i];
                    } else {
                        [[dont_unroll]] for (uint i = 0; i < D; ++i) d += qg[i] * kg_s[c * D + i];
                    }
                    s = d; // scale is in the query
                    t_max = max(t_max, s);
                }
                sc[c] = s;
            }
            const float m_new = max(m_run, t_max);
            // 0 on the first tile with pairs (m_run = -inf); 1 while the row has none
            const float corr = m_new == NEG_INF ? 1.0 : exp(m_run - m_new);
            l_run *= corr;
            [[dont_unroll]] for (uint i = 0; i < D; ++i) acc[i] *= corr;
            [[dont_unroll]] for (uint c = 0; c < BC; ++c) {
                if (sc[c] == NEG_INF) continue;
                const float w = exp(sc[c] - m_new);
                l_run += w;
                [[dont_unroll]] for (uint i = 0; i < D; ++i) acc[i] += w * v_s[c * D + i];
            }
            m_run = m_new;
        }
    }

    if (!live) return;
    if ((pc.flags & FLAG_SPLIT) != 0u) {
        const uint at = ((h * pc.q_len + tok) * pc.n_split + split) * (D + 4u);
        part_buf[at] = m_run;
        part_buf[at + 1u] = l_run;
        [[dont_unroll]] for (uint i = 0; i < D; ++i) part_buf[at + 4u + i] = acc[i];
        return;
    }
    const uint ob = pc.o_off + h * pc.o_sh + tok * pc.o_st;
    const float inv_l = l_run > 0.0 ? 1.0 / l_run : 0.0; // 0: the row took no pairs
    [[dont_unroll]] for (uint i = 0; i < D; ++i) STORE_O(ob + i, acc[i] * inv_l)
    if ((pc.flags & FLAG_LSE) != 0u)
        lse_buf[pc.l_off + h * pc.l_sh + tok * pc.l_st] = m_run + log(l_run);
}
