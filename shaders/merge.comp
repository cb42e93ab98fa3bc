#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Merges the split partials of flash.comp and texel.comp by log-sum-exp: one workgroup per
// query row (x: token, y: query head), each of its 64 invocations owning v_head_dim elements
// i, i + 64, ... The partials are folded in one online pass, so an invocation runs n_split
// loop iterations in all: llvmpipe ends an invocation's loops after 65535 iterations in total
// (the host keeps n_split below that), and an earlier three-pass version lost the last
// splits' values past about 21800 splits. In a batch, z is the sequence and x its query row
// (batch.glsl); a partial whose m is +inf comes from a bad sequence, and the row gets NaN.
// The row's sink (SINKS) joins once, after the splits.

layout(local_size_x_id = 0) in; // 64
layout(constant_id = 1) const uint D = 128;

#include "common.glsl"
#include "storage.glsl"
#include "batch.glsl"

const uint WG = 64u;
const uint NI = (DV + WG - 1u) / WG; // elements an invocation owns

void main() {
    const uint tok = gl_WorkGroupID.x, h = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    seq_load(gl_WorkGroupID.z, gl_NumWorkGroups.z);
    if (tok >= sq_len) return; // a batch's row past its sequence's q_len
    const uint row = part_row(h, tok) * pc.n_split;
    bool bad = s_bad;
    float m = NEG_INF, l = 0.0;
    float a[NI];
    [[unroll]] for (uint n = 0; n < NI; ++n) a[n] = 0.0;
    for (uint s = 0; s < pc.n_split; ++s) {
        const uint at = (row + s) * (DV + 4u);
        const float ms = part_buf[at];
        if (ms == NEG_INF) continue; // the split held no pair of this row
        if (ms == POS_INF) {          // the split found its sequence bad
            bad = true;
            continue;
        }
        const float mn = max(m, ms);
        const float c_old = exp(m - mn), c_new = exp(ms - mn); // c_old 0 while m is -inf
        l = l * c_old + part_buf[at + 1u] * c_new;
        [[unroll]] for (uint n = 0; n < NI; ++n) {
            const uint i = lid + n * WG;
            if (i < DV) a[n] = a[n] * c_old + part_buf[at + 4u + i] * c_new;
        }
        m = mn;
    }
    if (SINK_HERE) {
        const float c = sink_fold(CLAMP_IN(META_F(META_SINKS + h)), m, l, false);
        [[unroll]] for (uint n = 0; n < NI; ++n) a[n] *= c;
    }
    const float inv_l = l > 0.0 ? 1.0 / l : 0.0; // 0: the row took no pairs
    const uint ob = pc.o_off + h * pc.o_sh + (sq_tok0 + tok) * pc.o_st;
    [[unroll]] for (uint n = 0; n < NI; ++n) {
        const uint i = lid + n * WG;
        if (i < DV) STORE_O(ob + i, bad ? QNAN : a[n] * inv_l)
    }
    if (lid == 0u && (pc.flags & FLAG_LSE) != 0u)
        lse_buf[pc.l_off + h * pc.l_sh + (sq_tok0 + tok) * pc.l_st] = bad ? QNAN : m + log(l);
}
