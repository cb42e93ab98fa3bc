/* The RoPE cos/sin table that shaders/rope.glsl reads, built in double precision on the host. */
#include "vk_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layout, with RHP = rot_half rounded up to even and L = 1 << shift: entry a * RHP + m holds
 * (cos, sin) of a * f_m for a < L, and entry (L + b) * RHP + m those of b * L * f_m for
 * b < n_hi; angles are reduced mod 2 pi in double before rounding to f32. |pos| < L takes one
 * entry, larger ones two. A table grows to cover every position a call can ask for: L up to
 * 2^16 (or 64 MiB), the second level for the rest. Readable as a storage buffer of vec2 and,
 * through its view, as RGBA32F texels of two entries (texel.comp fetches two pairs' angles at
 * once) or, where RGBA32F texel buffers are not offered, RG32F texels. SEATTN__N_ROPES tables are
 * kept, for the sets of frequencies used last (theta's, or a model's scaled ones). */

/* Whether e holds the table of theta's frequencies (inv_freq NULL) or of inv_freq's: a table
 * of theta's is told by theta alone, so a call without rope_inv_freq computes no frequency. */
static bool same_freqs(const seattn__rope *e, float theta, const double *inv_freq,
                       uint32_t rot_half) {
    if (!e->buf.buffer || e->rot_half != rot_half) return false;
    return inv_freq ? e->theta == 0.0f && memcmp(e->freq, inv_freq, sizeof(double) * rot_half) == 0
                    : e->theta == theta;
}

/* The slot for these frequencies: its own, else an empty one, else the least recently used. */
static seattn__rope *slot_for(seattn__vk *vk, float theta, const double *inv_freq,
                              uint32_t rot_half) {
    seattn__rope *pick = &vk->ropes[0];
    for (int i = 0; i < SEATTN__N_ROPES; i++) {
        seattn__rope *e = &vk->ropes[i];
        if (same_freqs(e, theta, inv_freq, rot_half)) return e;
    }
    for (int i = 0; i < SEATTN__N_ROPES; i++) {
        seattn__rope *e = &vk->ropes[i];
        if (!e->buf.buffer) return e;
        if (e->used < pick->used) pick = e;
    }
    return pick;
}

/* Empties a slot; recorded work may still read its table. */
static void slot_retire(seattn_context *ctx, seattn__rope *e) {
    if (e->view) seattn__vk_view_retire(ctx, e->view);
    seattn__vk_buffer_retire(ctx, &e->buf);
    memset(e, 0, sizeof *e);
}

/* Copies the host table into e->buf: directly when it is mapped, by a copy recorded into cb
 * (from a new host-visible buffer, handed to *staging), or by a submitted copy. */
static seattn_status upload(seattn_context *ctx, VkCommandBuffer cb, seattn__rope *e,
                            const float *tab, VkDeviceSize bytes, seattn__vk_buffer *staging) {
    seattn__vk *vk = ctx->vk;
    if (e->buf.mapped || !cb) return seattn__vk_buffer_write(ctx, &e->buf, 0, tab, bytes);
    seattn_status s = seattn__vk_buffer_create(ctx, bytes, true, staging);
    if (s != SEATTN_SUCCESS) return s;
    memcpy(staging->mapped, tab, bytes);
    const VkBufferCopy region = {.size = bytes};
    vk->vkd.vkCmdCopyBuffer(cb, staging->buffer, e->buf.buffer, 1, &region);
    const VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
    vk->vkd.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    return SEATTN_SUCCESS;
}

/* The levels of a table that covers |pos| <= max_pos for pairs rot_half: L = 1 << shift up to
 * 2^16 (or 64 MiB), and n_hi second-level entries. */
static void levels(uint32_t rot_half, uint32_t max_pos, uint32_t *shift, uint32_t *n_hi) {
    const uint32_t rhp = (rot_half + 1) & ~1u;
    uint32_t want = 12, cap = 16;
    while (cap > 12 && ((size_t)8 * rhp << cap) > ((size_t)64 << 20))
        cap--;
    while (want < cap && (1u << want) <= max_pos)
        want++;
    *shift = want;
    *n_hi = (max_pos >> want) + 1;
}

/* The texel view a table of (1 << shift) + n_hi rows of pairs gets on this device. */
static seattn__rope_view view_of(const seattn__caps *caps, uint32_t rot_half, uint32_t shift,
                                 uint32_t n_hi) {
    const uint32_t rhp = (rot_half + 1) & ~1u;
    /* n is even (rows of RHP entries): as RGBA32F, n / 2 texels of two entries */
    const uint64_t n = ((uint64_t)(1u << shift) + n_hi) * rhp;
    if (caps->texel_vec4_ok && n / 2 <= caps->limits.maxTexelBufferElements)
        return SEATTN__ROPE_VIEW_RGBA;
    if (caps->texel_ok && n <= caps->limits.maxTexelBufferElements) return SEATTN__ROPE_VIEW_RG;
    return SEATTN__ROPE_VIEW_NONE;
}

void seattn__vk_rope_shape(const seattn__caps *caps, uint32_t rot_half, uint32_t max_pos,
                           seattn__rope_shape *out) {
    levels(rot_half, max_pos, &out->shift, &out->n_hi);
    out->view = view_of(caps, rot_half, out->shift, out->n_hi);
}

seattn_status seattn__vk_rope_table(seattn_context *ctx, VkCommandBuffer cb, float theta,
                                    const double *inv_freq, uint32_t rot_half,
                                    const seattn__rope_shape *shape, const seattn__rope **out,
                                    seattn__vk_buffer *staging) {
    seattn__vk *vk = ctx->vk;
    const uint32_t rhp = (rot_half + 1) & ~1u;
    /* the largest position the shape covers */
    const uint64_t covers = ((uint64_t)shape->n_hi << shape->shift) - 1;
    seattn__rope *e = slot_for(vk, theta, inv_freq, rot_half);
    const bool same = same_freqs(e, theta, inv_freq, rot_half);
    e->used = ++vk->rope_clock;
    if (same && e->view_kind == shape->view && e->shift >= shape->shift &&
        (covers >> e->shift) < e->n_hi) {
        *out = e;
        return SEATTN_SUCCESS;
    }
    /* a table that covers both the kept one and the call's, where it keeps the call's view;
     * else the call's own */
    uint32_t want = shape->shift, n_hi = shape->n_hi;
    if (same) {
        const uint32_t w = e->shift > want ? e->shift : want;
        uint32_t n = (uint32_t)(covers >> w) + 1;
        if (e->n_hi > n && w == e->shift) n = e->n_hi;
        if (view_of(&vk->caps, rot_half, w, n) == shape->view) {
            want = w;
            n_hi = n;
        }
    }
    const uint32_t lo = 1u << want;
    const size_t n = (size_t)(lo + n_hi) * rhp;
    float *tab = seattn__calloc(n * 2, sizeof(float));
    if (!tab) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for RoPE tables");
    const double two_pi = 6.283185307179586476925286766559;
    for (uint32_t m = 0; m < rot_half; m++) {
        const double freq =
            inv_freq ? inv_freq[m] : pow((double)theta, -2.0 * m / (2.0 * rot_half));
        for (uint32_t i = 0; i < lo + n_hi; i++) {
            const double pos = i < lo ? (double)i : (double)(i - lo) * lo;
            const double a = fmod(pos * freq, two_pi);
            const size_t at = (size_t)i * rhp + m;
            tab[2 * at] = (float)cos(a);
            tab[2 * at + 1] = (float)sin(a);
        }
    }
    /* a new buffer whenever a table changes: recorded work may still read the old one */
    slot_retire(ctx, e);
    const VkDeviceSize bytes = n * 2 * sizeof(float);
    seattn_status s = seattn__vk_buffer_create(ctx, bytes, false, &e->buf);
    if (s == SEATTN_SUCCESS) s = upload(ctx, cb, e, tab, bytes, staging);
    seattn__free(tab);
    e->view_kind = shape->view;
    if (s == SEATTN_SUCCESS && e->view_kind != SEATTN__ROPE_VIEW_NONE)
        s = seattn__vk_view_create(ctx, e->buf.buffer, 0, bytes,
                                   e->view_kind == SEATTN__ROPE_VIEW_RGBA
                                       ? VK_FORMAT_R32G32B32A32_SFLOAT
                                       : VK_FORMAT_R32G32_SFLOAT,
                                   &e->view);
    if (s != SEATTN_SUCCESS) {
        slot_retire(ctx, e);
        return s;
    }
    e->theta = inv_freq ? 0.0f : theta;
    if (inv_freq) memcpy(e->freq, inv_freq, sizeof(double) * rot_half);
    e->rot_half = rot_half;
    e->shift = want;
    e->n_hi = n_hi;
    e->used = vk->rope_clock;
    *out = e;
    return SEATTN_SUCCESS;
}

void seattn__vk_rope_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    for (int i = 0; i < SEATTN__N_ROPES; i++) {
        seattn__rope *e = &vk->ropes[i];
        if (e->view) vk->vkd.vkDestroyBufferView(vk->device, e->view, vk->alloc);
        seattn__vk_buffer_destroy(ctx, &e->buf);
        memset(e, 0, sizeof *e);
    }
}
