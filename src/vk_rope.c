/* The RoPE cos/sin table that shaders/rope.glsl reads, built in double precision on the host. */
#include "vk_internal.h"

#include <math.h>
#include <stdlib.h>

/* Layout, with RHP = rot_half rounded up to even and L = 1 << shift: entry a * RHP + m holds
 * (cos, sin) of a * f_m for a < L, and entry (L + b) * RHP + m those of b * L * f_m for
 * b < n_hi; angles are reduced mod 2 pi in double before rounding to f32. |pos| < L takes one
 * entry, larger ones two. The table grows to cover every position a call can ask for: L up to
 * 2^16 (or 64 MiB), the second level for the rest. Readable as a storage buffer of vec2 and,
 * through vk->rope_view, as RG32F texels. */
seattn_status seattn__vk_rope_table(seattn_context *ctx, float theta, uint32_t rot_half,
                                    uint32_t max_pos, uint32_t *shift, bool *one_level) {
    seattn__vk *vk = ctx->vk;
    const uint32_t rhp = (rot_half + 1) & ~1u;
    uint32_t want = 12, cap = 16;
    while (cap > 12 && ((size_t)8 * rhp << cap) > ((size_t)64 << 20))
        cap--;
    while (want < cap && (1u << want) <= max_pos)
        want++;
    const bool same = vk->rope.buffer && vk->rope_theta == theta && vk->rope_rot_half == rot_half;
    if (same && vk->rope_shift >= want && (max_pos >> vk->rope_shift) < vk->rope_n_hi) {
        *shift = vk->rope_shift;
        *one_level = max_pos < (1u << vk->rope_shift);
        return SEATTN_SUCCESS;
    }
    if (same && vk->rope_shift > want) want = vk->rope_shift;
    const uint32_t lo = 1u << want;
    uint32_t n_hi = (max_pos >> want) + 1;
    if (same && vk->rope_n_hi > n_hi) n_hi = vk->rope_n_hi;
    const size_t n = (size_t)(lo + n_hi) * rhp;
    float *tab = seattn__calloc(n * 2, sizeof(float));
    if (!tab) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for RoPE tables");
    const double two_pi = 6.283185307179586476925286766559;
    for (uint32_t m = 0; m < rot_half; m++) {
        const double freq = pow((double)theta, -2.0 * m / (2.0 * rot_half));
        for (uint32_t i = 0; i < lo + n_hi; i++) {
            const double pos = i < lo ? (double)i : (double)(i - lo) * lo;
            const double a = fmod(pos * freq, two_pi);
            const size_t at = (size_t)i * rhp + m;
            tab[2 * at] = (float)cos(a);
            tab[2 * at + 1] = (float)sin(a);
        }
    }
    vk->rope_theta = 0.0f;
    if (vk->rope_view) { /* recorded work may still read the old table */
        seattn__vk_view_retire(ctx, vk->rope_view);
        vk->rope_view = VK_NULL_HANDLE;
    }
    const VkDeviceSize bytes = n * 2 * sizeof(float);
    /* a new buffer whenever the table changes: recorded work may still read the old one */
    seattn__vk_buffer_retire(ctx, &vk->rope);
    seattn_status s = seattn__vk_buffer_create(ctx, bytes, false, &vk->rope);
    if (s == SEATTN_SUCCESS) s = seattn__vk_buffer_write(ctx, &vk->rope, 0, tab, bytes);
    seattn__free(tab);
    if (s == SEATTN_SUCCESS && vk->caps.texel_ok && n <= vk->props.limits.maxTexelBufferElements)
        s = seattn__vk_view_create(ctx, vk->rope.buffer, 0, bytes, VK_FORMAT_R32G32_SFLOAT,
                                   &vk->rope_view);
    if (s != SEATTN_SUCCESS) return s;
    vk->rope_theta = theta;
    vk->rope_rot_half = rot_half;
    vk->rope_shift = want;
    vk->rope_n_hi = n_hi;
    *shift = want;
    *one_level = max_pos < lo;
    return SEATTN_SUCCESS;
}
