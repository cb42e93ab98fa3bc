/* Device memory: buffers, tensors and copies between host and device. */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits,
                            VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

/* host: the buffer must be mapped (staging). Otherwise device-local is preferred, and it is
 * mapped too where device-local memory is also host-visible (UMA, lavapipe, ReBAR). */
seattn_status seattn__vk_buffer_create(seattn_context *ctx, VkDeviceSize size, bool host,
                                       seattn__vk_buffer *b) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    memset(b, 0, sizeof *b);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                       VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateBuffer(vk->device, &bci, NULL, &b->buffer));
    VkMemoryRequirements req;
    vk->vkd.vkGetBufferMemoryRequirements(vk->device, b->buffer, &req);
    const VkMemoryPropertyFlags hv =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type = -1;
    if (host) {
        type = find_memory_type(&vk->mem_props, req.memoryTypeBits,
                                hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0) type = find_memory_type(&vk->mem_props, req.memoryTypeBits, hv);
    } else {
        type = find_memory_type(&vk->mem_props, req.memoryTypeBits,
                                hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0 || vk->info.type == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)
            type = find_memory_type(&vk->mem_props, req.memoryTypeBits,
                                    VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0) type = find_memory_type(&vk->mem_props, req.memoryTypeBits, 0);
    }
    if (type < 0) {
        status = seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "no memory type for a buffer");
        goto fail;
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = (uint32_t)type};
    SEATTN__CHECK(ctx, vk->vkd.vkAllocateMemory(vk->device, &ai, NULL, &b->memory));
    SEATTN__CHECK(ctx, vk->vkd.vkBindBufferMemory(vk->device, b->buffer, b->memory, 0));
    if ((vk->mem_props.memoryTypes[type].propertyFlags & hv) == hv)
        SEATTN__CHECK(ctx, vk->vkd.vkMapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0,
                                               &b->mapped));
    b->size = size;
    return SEATTN_SUCCESS;
fail:
    seattn__vk_buffer_destroy(ctx, b);
    return status;
}

void seattn__vk_buffer_destroy(seattn_context *ctx, seattn__vk_buffer *b) {
    seattn__vk *vk = ctx->vk;
    if (vk->lost) { /* the device may still be using it: leak rather than crash */
        memset(b, 0, sizeof *b);
        return;
    }
    if (b->buffer) vk->vkd.vkDestroyBuffer(vk->device, b->buffer, NULL);
    if (b->memory) vk->vkd.vkFreeMemory(vk->device, b->memory, NULL); /* unmaps too */
    memset(b, 0, sizeof *b);
}

seattn_status seattn__vk_buffer_reserve(seattn_context *ctx, seattn__vk_buffer *b,
                                        VkDeviceSize size, bool host) {
    if (b->buffer && b->size >= size) return SEATTN_SUCCESS;
    VkDeviceSize grow = b->size * 2 > size ? b->size * 2 : size;
    seattn__vk_buffer_destroy(ctx, b);
    return seattn__vk_buffer_create(ctx, grow, host, b);
}

seattn_status seattn__vk_view_create(seattn_context *ctx, VkBuffer buffer, VkDeviceSize offset,
                                     VkDeviceSize range, VkFormat format, VkBufferView *out) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                                 .buffer = buffer,
                                 .format = format,
                                 .offset = offset,
                                 .range = range};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateBufferView(vk->device, &ci, NULL, out));
fail:
    return status;
}

/* Copies between host and b through the staging buffer, in chunks of at most 64 MiB. */
static seattn_status staged_copy(seattn_context *ctx, seattn__vk_buffer *b, VkDeviceSize offset,
                                 void *host, size_t bytes, bool upload) {
    seattn__vk *vk = ctx->vk;
    const size_t chunk = (size_t)64 << 20;
    seattn_status status = seattn__vk_buffer_reserve(
        ctx, &vk->staging, bytes < chunk ? bytes : chunk, true);
    for (size_t done = 0; status == SEATTN_SUCCESS && done < bytes;) {
        size_t n = bytes - done < vk->staging.size ? bytes - done : (size_t)vk->staging.size;
        if (upload) memcpy(vk->staging.mapped, (const char *)host + done, n);
        if ((status = seattn__vk_begin(ctx)) != SEATTN_SUCCESS) break;
        seattn__vk_barrier(ctx, false);
        VkBufferCopy region = {.srcOffset = upload ? 0 : offset + done,
                               .dstOffset = upload ? offset + done : 0,
                               .size = n};
        vk->vkd.vkCmdCopyBuffer(vk->cmd, upload ? vk->staging.buffer : b->buffer,
                                upload ? b->buffer : vk->staging.buffer, 1, &region);
        seattn__vk_barrier(ctx, !upload);
        if ((status = seattn__vk_submit_wait(ctx)) != SEATTN_SUCCESS) break;
        if (!upload) memcpy((char *)host + done, vk->staging.mapped, n);
        done += n;
    }
    return status;
}

seattn_status seattn__vk_buffer_write(seattn_context *ctx, seattn__vk_buffer *b,
                                      VkDeviceSize offset, const void *src, size_t bytes) {
    if (b->mapped) {
        memcpy((char *)b->mapped + offset, src, bytes);
        return SEATTN_SUCCESS;
    }
    return staged_copy(ctx, b, offset, (void *)src, bytes, true);
}

seattn_status seattn__vk_tensor_init(seattn_context *ctx, seattn_tensor *t) {
    t->buf = calloc(1, sizeof *t->buf);
    if (!t->buf) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a tensor");
    seattn_status s = seattn__vk_buffer_create(ctx, t->bytes, false, t->buf);
    if (s != SEATTN_SUCCESS) {
        free(t->buf);
        t->buf = NULL;
    }
    return s;
}

void seattn__vk_tensor_free(seattn_tensor *t) {
    if (!t->buf) return;
    seattn__vk_buffer_destroy(t->ctx, t->buf);
    free(t->buf);
}

seattn_status seattn__vk_tensor_copy(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                     void *host, size_t bytes, bool upload) {
    if (ctx->vk->lost)
        return seattn__fail(ctx, SEATTN_ERROR_DEVICE_LOST,
                            "the device was lost earlier; destroy this context");
    seattn__vk_buffer *b = t->buf;
    if (b->mapped) {
        if (upload) memcpy((char *)b->mapped + offset, host, bytes);
        else memcpy(host, (const char *)b->mapped + offset, bytes);
        return SEATTN_SUCCESS;
    }
    return staged_copy(ctx, b, offset, host, bytes, upload);
}
