#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
// seattn_attention_merge: two attentions of the same rows over disjoint keys, each an output
// and its log-sum-exp, merged into the attention over both. One workgroup per row (x: token,
// y: head); each of its 64 invocations owns head_dim elements i, i + 64, ...
// Bindings (the storage layout): 0 out_a, 1 out_b (read as q and k: out_type, f16 in the
// SEATTN_F16 build), 2 lse_a, 6 lse_b (f32), 3 out, 4 lse. Push constants: the q_*, k_* and
// o_* fields place out_a, out_b and out; l_sh and l_st are the strides of all three lse, with
// v_off (lse_a), split_len (lse_b) and l_off (lse) their offsets.

layout(local_size_x_id = 0) in; // 64
layout(constant_id = 1) const uint D = 128;

#include "common.glsl"
#include "storage.glsl"

const uint WG = 64u;
const uint NI = (D + WG - 1u) / WG; // elements an invocation owns

void main() {
    const uint tok = gl_WorkGroupID.x, h = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    const uint lrow = h * pc.l_sh + tok * pc.l_st;
    const float la = v_buf[pc.v_off + lrow], lb = part_buf[pc.split_len + lrow];
    const float m = max(la, lb);
    const float wa = la == NEG_INF ? 0.0 : exp(la - m), wb = lb == NEG_INF ? 0.0 : exp(lb - m);
    const float inv = wa + wb > 0.0 ? 1.0 / (wa + wb) : 0.0; // 0: neither half had pairs
    const uint a0 = pc.q_off + h * pc.q_sh + tok * pc.q_st;
    const uint b0 = pc.k_off + h * pc.k_sh + tok * pc.k_st;
    const uint o0 = pc.o_off + h * pc.o_sh + tok * pc.o_st;
    float x[NI];
    [[unroll]] for (uint n = 0; n < NI; ++n) {
        const uint i = min(lid + n * WG, D - 1u);
        x[n] = (LOAD_Q(a0 + i) * wa + LOAD_K(b0 + i) * wb) * inv;
    }
    barrier(); // merged in place: every read of the row (lse_a, lse_b too) before any write
    [[unroll]] for (uint n = 0; n < NI; ++n) {
        const uint i = lid + n * WG;
        if (i < D) STORE_O(o0 + i, x[n])
    }
    if (lid == 0u && (pc.flags & FLAG_LSE) != 0u)
        lse_buf[pc.l_off + lrow] = wa + wb > 0.0 ? m + log(wa + wb) : NEG_INF;
}
