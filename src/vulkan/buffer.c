/* Device memory: buffers, tensors and copies between host and device. */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits,
                            VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

/* host: the buffer must be mapped (staging). Otherwise device-local is preferred, and it is
 * mapped too where device-local memory is also host-visible (UMA, lavapipe, ReBAR). */
seattn_status seattn__vk_buffer_create(seattn_context *ctx, VkDeviceSize size, bool host,
                                       seattn__vk_buffer *b) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    memset(b, 0, sizeof *b);
    if (size > vk->max_alloc)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "%llu bytes exceed this device's maxMemoryAllocationSize (%llu)",
                            (unsigned long long)size, (unsigned long long)vk->max_alloc);
    if (size > vk->info.device_local_bytes && vk->info.device_local_bytes > 0)
        return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY,
                            "%llu bytes exceed this device's largest memory heap (%llu)",
                            (unsigned long long)size,
                            (unsigned long long)vk->info.device_local_bytes);
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                 (vk->address ? VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT_KHR : 0),
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    b->usage = bci.usage;
    SEATTN__CHECK(ctx, vk->vkd.vkCreateBuffer(vk->device, &bci, vk->alloc, &b->buffer));
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
    const VkMemoryAllocateFlagsInfo af = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                          .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT_KHR};
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .pNext = vk->address ? &af : NULL,
                               .allocationSize = req.size,
                               .memoryTypeIndex = (uint32_t)type};
    const VkResult mr = seattn__fault_hit(SEATTN_FAULT_DEVICE_MEMORY)
                            ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                            : vk->vkd.vkAllocateMemory(vk->device, &ai, vk->alloc, &b->memory);
    SEATTN__CHECK(ctx, mr);
    SEATTN__CHECK(ctx, vk->vkd.vkBindBufferMemory(vk->device, b->buffer, b->memory, 0));
    if ((vk->mem_props.memoryTypes[type].propertyFlags & hv) == hv && (host || !vk->test_unmapped))
        SEATTN__CHECK(ctx,
                      vk->vkd.vkMapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped));
    b->size = size;
    return SEATTN_SUCCESS;
fail:
    seattn__vk_buffer_destroy(ctx, b);
    return status;
}

void seattn__vk_buffer_destroy(seattn_context *ctx, seattn__vk_buffer *b) {
    seattn__vk *vk = ctx->vk;
    if (vk->hung) { /* the device may still be using it: leak rather than crash */
        memset(b, 0, sizeof *b);
        return;
    }
    if (!b->wrapped) {
        if (b->buffer) vk->vkd.vkDestroyBuffer(vk->device, b->buffer, vk->alloc);
        if (b->memory) vk->vkd.vkFreeMemory(vk->device, b->memory, vk->alloc); /* unmaps too */
    }
    memset(b, 0, sizeof *b);
}

void seattn__vk_buffer_retire(seattn_context *ctx, seattn__vk_buffer *b) {
    seattn__frame *f = &ctx->vk->frames[1];
    if (!b->buffer || f->n_calls == 0) {
        seattn__vk_buffer_destroy(ctx, b);
        return;
    }
    seattn__vk_buffer_retire_to(ctx, f, b);
}

void seattn__vk_buffer_retire_to(seattn_context *ctx, seattn__frame *f, seattn__vk_buffer *b) {
    if (f->n_retired == f->cap_retired) {
        uint32_t cap = f->cap_retired ? 2 * f->cap_retired : 8;
        seattn__vk_buffer *grown = seattn__realloc(f->retired, cap * sizeof *grown);
        if (!grown) { /* no room to keep it until recycle, and no waiting without end: leak */
            seattn__log(ctx, SEATTN_LOG_WARNING,
                        "out of host memory: a %llu-byte buffer that "
                        "recorded work may use is leaked",
                        (unsigned long long)b->size);
            memset(b, 0, sizeof *b);
            return;
        }
        f->retired = grown;
        f->cap_retired = cap;
    }
    f->retired[f->n_retired++] = *b;
    memset(b, 0, sizeof *b);
}

/* Contents are lost when b grows; the old buffer is retired, since recorded work may use it. */
seattn_status seattn__vk_buffer_reserve(seattn_context *ctx, seattn__vk_buffer *b,
                                        VkDeviceSize size, bool host) {
    if (b->buffer && b->size >= size) return SEATTN_SUCCESS;
    VkDeviceSize grow = b->size * 2 > size ? b->size * 2 : size;
    seattn__vk_buffer_retire(ctx, b);
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
    SEATTN__CHECK(ctx, vk->vkd.vkCreateBufferView(vk->device, &ci, vk->alloc, out));
fail:
    return status;
}

/* Copies between host and b through the staging buffer, in chunks of at most 64 MiB. */
static seattn_status staged_copy(seattn_context *ctx, seattn__vk_buffer *b, VkDeviceSize offset,
                                 void *host, size_t bytes, bool upload) {
    seattn__vk *vk = ctx->vk;
    const size_t chunk = (size_t)64 << 20;
    seattn_status status =
        seattn__vk_buffer_reserve(ctx, &vk->staging, bytes < chunk ? bytes : chunk, true);
    for (size_t done = 0; status == SEATTN_SUCCESS && done < bytes;) {
        size_t n = bytes - done < vk->staging.size ? bytes - done : (size_t)vk->staging.size;
        if (upload) memcpy(vk->staging.mapped, (const char *)host + done, n);
        if ((status = seattn__vk_begin(ctx)) != SEATTN_SUCCESS) break;
        seattn__vk_barrier(ctx, false);
        VkBufferCopy region = {.srcOffset = upload ? 0 : b->base + offset + done,
                               .dstOffset = upload ? b->base + offset + done : 0,
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

/* A VkBuffer as a number, for overlap checks. */
static uint64_t buffer_id(VkBuffer b) {
#if VK_USE_64_BIT_PTR_DEFINES
    return (uint64_t)(uintptr_t)b;
#else
    return (uint64_t)b;
#endif
}

seattn_status seattn__vk_tensor_init(seattn_context *ctx, seattn_tensor *t) {
    t->buf = seattn__calloc(1, sizeof *t->buf);
    if (!t->buf) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a tensor");
    /* whole 16-byte texels: the types read as words read a view's last word (texel.comp: its
     * last RGBA32UI texel) whole */
    seattn_status s = seattn__vk_buffer_create(ctx, (t->bytes + 15) / 16 * 16, false, t->buf);
    if (s != SEATTN_SUCCESS) {
        seattn__free(t->buf);
        t->buf = NULL;
        return s;
    }
    t->mem_id = buffer_id(t->buf->buffer);
    return SEATTN_SUCCESS;
}

seattn_status seattn_tensor_wrap_vulkan(seattn_context *ctx, VkBuffer buffer, VkDeviceSize offset,
                                        VkDeviceSize bytes, VkBufferUsageFlags usage,
                                        seattn_tensor **out) {
    if (!out)
        return ctx ? seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "out is NULL")
                   : SEATTN_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (!ctx->vk)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_tensor_wrap_vulkan needs a Vulkan context");
    if (buffer == VK_NULL_HANDLE)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "buffer is VK_NULL_HANDLE");
    if (bytes == 0) return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "bytes is 0");
    if (offset % 4 != 0)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "offset %llu is not a multiple of 4", (unsigned long long)offset);
    if (!(usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT))
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "usage lacks VK_BUFFER_USAGE_STORAGE_BUFFER_BIT");
    if (bytes > SIZE_MAX || offset > UINT64_MAX - bytes)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "offset + bytes overflow");
    seattn_tensor *t = seattn__calloc(1, sizeof *t);
    seattn__vk_buffer *b = seattn__calloc(1, sizeof *b);
    if (!t || !b) {
        seattn__free(t);
        seattn__free(b);
        return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a tensor");
    }
    *b = (seattn__vk_buffer){
        .buffer = buffer, .size = offset + bytes, .base = offset, .usage = usage, .wrapped = true};
    t->ctx = ctx;
    t->bytes = (size_t)bytes;
    t->buf = b;
    t->mem_id = buffer_id(buffer);
    t->mem_base = offset;
    ctx->live_tensors++;
    *out = t;
    return SEATTN_SUCCESS;
}

seattn_status seattn_tensor_vulkan_buffer(const seattn_tensor *t, VkBuffer *buffer,
                                          VkDeviceSize *offset) {
    if (!t || !buffer || !offset || !t->buf) return SEATTN_ERROR_INVALID_ARGUMENT;
    *buffer = t->buf->buffer;
    *offset = t->buf->base;
    return SEATTN_SUCCESS;
}

void seattn__vk_tensor_free(seattn_tensor *t) {
    if (!t->buf) return;
    seattn__vk_buffer_destroy(t->ctx, t->buf);
    seattn__free(t->buf);
}

seattn_status seattn__vk_tensor_copy(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                     void *host, size_t bytes, bool upload) {
    seattn_status lost = seattn__vk_check_lost(ctx);
    if (lost != SEATTN_SUCCESS) return lost;
    seattn__vk_buffer *b = t->buf;
    const VkBufferUsageFlags need =
        upload ? VK_BUFFER_USAGE_TRANSFER_DST_BIT : VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    if (!b->mapped && !(b->usage & need))
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the wrapped buffer lacks VK_BUFFER_USAGE_TRANSFER_%s_BIT for %s",
                            upload ? "DST" : "SRC", upload ? "an upload" : "a download");
    if (b->mapped) {
        if (upload)
            memcpy((char *)b->mapped + offset, host, bytes);
        else
            memcpy(host, (const char *)b->mapped + offset, bytes);
        return SEATTN_SUCCESS;
    }
    return staged_copy(ctx, b, offset, host, bytes, upload);
}
