/* Frames: what recorded work holds until it is known to be complete (vk_internal.h). */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

enum { SETS_PER_POOL = 64 };

static seattn_status add_pool(seattn_context *ctx, seattn__frame *f) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    VkDescriptorPool *grown = seattn__realloc(f->pools, (f->n_pools + 1) * sizeof *grown);
    if (!grown) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a pool");
    f->pools = grown;
    VkDescriptorPoolSize ps[2] = {
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
         .descriptorCount = SETS_PER_POOL * SEATTN__N_BINDINGS},
        {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .descriptorCount = SETS_PER_POOL * 4}};
    VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = SETS_PER_POOL,
                                     .poolSizeCount = 2,
                                     .pPoolSizes = ps};
    VkDescriptorPool pool = VK_NULL_HANDLE;
    SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorPool(vk->device, &ci, vk->alloc, &pool));
    f->pools[f->n_pools++] = pool;
fail:
    return status;
}

seattn_status seattn__vk_frame_set(seattn_context *ctx, seattn__frame *f, VkDescriptorSetLayout l,
                                   VkDescriptorSet *out) {
    seattn__vk *vk = ctx->vk;
    for (;;) {
        if (f->cur_pool == f->n_pools) {
            seattn_status s = add_pool(ctx, f);
            if (s != SEATTN_SUCCESS) return s;
        }
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = f->pools[f->cur_pool],
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &l};
        VkResult r = vk->vkd.vkAllocateDescriptorSets(vk->device, &ai, out);
        if (r == VK_SUCCESS) return SEATTN_SUCCESS;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return seattn__vk_fail(ctx, r, "vkAllocateDescriptorSets", __FILE__, __LINE__);
        f->cur_pool++; /* full: the next pool, a new one if none is left */
    }
}

/* Room for one more view in f's list; false when the host has no memory for it. */
static bool view_room(seattn__frame *f) {
    if (f->n_views < f->cap_views) return true;
    const uint32_t cap = f->cap_views ? 2 * f->cap_views : 16;
    VkBufferView *grown = seattn__realloc(f->views, cap * sizeof *grown);
    if (!grown) return false;
    f->views = grown;
    f->cap_views = cap;
    return true;
}

seattn_status seattn__vk_frame_view(seattn_context *ctx, seattn__frame *f, VkBuffer buffer,
                                    VkDeviceSize offset, VkDeviceSize range, VkFormat format,
                                    VkBufferView *out) {
    if (!view_room(f)) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a view");
    seattn_status s = seattn__vk_view_create(ctx, buffer, offset, range, format, out);
    if (s == SEATTN_SUCCESS) f->views[f->n_views++] = *out;
    return s;
}

void seattn__vk_view_retire(seattn_context *ctx, VkBufferView view) {
    seattn__vk *vk = ctx->vk;
    seattn__frame *f = &vk->frames[1];
    if (!view) return;
    if (f->n_calls == 0) {
        vk->vkd.vkDestroyBufferView(vk->device, view, vk->alloc);
    } else if (view_room(f)) {
        f->views[f->n_views++] = view;
    } else { /* no room to keep it until recycle, and no waiting without end: leak */
        seattn__log(ctx, SEATTN_LOG_WARNING,
                    "out of host memory: a view that recorded work may use is leaked");
    }
}

seattn_status seattn__vk_frame_scratch(seattn_context *ctx, seattn__frame *f, VkDeviceSize bytes,
                                       VkDescriptorBufferInfo *out) {
    bytes = (bytes + 255) / 256 * 256;
    if (!f->scratch.buffer || f->scratch.size - f->scratch_used < bytes) {
        /* the old scratch may be in use by this frame's recordings, or bound by the call being
         * prepared (its partials, then its meta range): keep it until recycle */
        VkDeviceSize size = f->scratch.size * 2 > bytes ? f->scratch.size * 2 : bytes;
        if (f->scratch.buffer) {
            if (f->scratch_used > 0 || f->n_calls > 0)
                seattn__vk_buffer_retire_to(ctx, f, &f->scratch);
            else
                seattn__vk_buffer_destroy(ctx, &f->scratch);
        }
        seattn_status s = seattn__vk_buffer_create(ctx, size, false, &f->scratch);
        if (s != SEATTN_SUCCESS) return s;
        f->scratch_used = 0;
    }
    *out = (VkDescriptorBufferInfo){f->scratch.buffer, f->scratch_used, bytes};
    f->scratch_used += bytes;
    return SEATTN_SUCCESS;
}

void seattn__vk_frame_recycle(seattn_context *ctx, seattn__frame *f) {
    seattn__vk *vk = ctx->vk;
    if (vk->hung) { /* the device may still use them: leaked on purpose (seattn.h) */
        f->n_views = f->n_retired = f->n_calls = 0;
        f->cur_pool = f->n_pools;
        return;
    }
    for (uint32_t i = 0; i < f->n_pools; i++)
        vk->vkd.vkResetDescriptorPool(vk->device, f->pools[i], 0);
    f->cur_pool = 0;
    for (uint32_t i = 0; i < f->n_views; i++)
        vk->vkd.vkDestroyBufferView(vk->device, f->views[i], vk->alloc);
    f->n_views = 0;
    for (uint32_t i = 0; i < f->n_retired; i++)
        seattn__vk_buffer_destroy(ctx, &f->retired[i]);
    f->n_retired = 0;
    f->scratch_used = 0;
    f->n_calls = 0;
}

void seattn__vk_frame_free(seattn_context *ctx, seattn__frame *f) {
    seattn__vk *vk = ctx->vk;
    seattn__vk_frame_recycle(ctx, f);
    for (uint32_t i = 0; i < f->n_pools; i++)
        vk->vkd.vkDestroyDescriptorPool(vk->device, f->pools[i], vk->alloc);
    seattn__vk_buffer_destroy(ctx, &f->scratch);
    seattn__free(f->pools);
    seattn__free(f->views);
    seattn__free(f->retired);
    memset(f, 0, sizeof *f);
}
