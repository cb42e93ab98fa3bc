#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef SEATTN_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Merges the split partials of attention.comp by log-sum-exp: one workgroup per query row
// (x: token, y: query head), its invocations striding over head_dim.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 128;

#include "common.glsl"
#include "storage.glsl"

void main() {
    const uint tok = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
    const uint row = (h * pc.q_len + tok) * pc.n_split;
    float m = NEG_INF;
    for (uint s = 0; s < pc.n_split; ++s) m = max(m, part_buf[(row + s) * (D + 4u)]);
    float l = 0.0;
    for (uint s = 0; s < pc.n_split; ++s) {
        const uint at = (row + s) * (D + 4u);
        if (part_buf[at] != NEG_INF) l += part_buf[at + 1u] * exp(part_buf[at] - m);
    }
    const float inv_l = l > 0.0 ? 1.0 / l : 0.0; // 0: the row took no pairs
    const uint ob = pc.o_off + h * pc.o_sh + tok * pc.o_st;
    for (uint i = gl_LocalInvocationID.x; i < D; i += gl_WorkGroupSize.x) {
        float a = 0.0;
        for (uint s = 0; s < pc.n_split; ++s) {
            const uint at = (row + s) * (D + 4u);
            if (part_buf[at] != NEG_INF) a += part_buf[at + 4u + i] * exp(part_buf[at] - m);
        }
        STORE_O(ob + i, a * inv_l)
    }
    if (gl_LocalInvocationID.x == 0u && (pc.flags & FLAG_LSE) != 0u)
        lse_buf[pc.l_off + h * pc.l_sh + tok * pc.l_st] = m + log(l);
}
