/* The optional pipeline cache file (seattn_context_options.pipeline_cache_path). */
#include "vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file's bytes if its header names this device and driver (a stale or foreign cache would be
 * ignored by the driver anyway, but is said here); NULL otherwise. */
static void *read_cache(seattn_context *ctx, const char *path, size_t *size) {
    const VkPhysicalDeviceProperties *p = &ctx->vk->props;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL; /* the first start */
    void *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n >= 32 && n <= (256l << 20) && fseek(f, 0, SEEK_SET) == 0) {
        data = seattn__malloc((size_t)n);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            seattn__free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (!data) {
        seattn__log(ctx, SEATTN_LOG_WARNING, "pipeline cache %s: unreadable; starting empty", path);
        return NULL;
    }
    uint32_t head[4];
    memcpy(head, data, sizeof head);
    if (head[0] < 32 || head[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || head[2] != p->vendorID ||
        head[3] != p->deviceID ||
        memcmp((const char *)data + 16, p->pipelineCacheUUID, VK_UUID_SIZE) != 0) {
        seattn__log(ctx, SEATTN_LOG_INFO,
                    "pipeline cache %s: made by another device or driver; starting empty", path);
        seattn__free(data);
        return NULL;
    }
    *size = (size_t)n;
    return data;
}

seattn_status seattn__vk_pipeline_cache_init(seattn_context *ctx, const char *path) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    size_t size = 0;
    void *data = path ? read_cache(ctx, path, &size) : NULL;
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = data ? size : 0,
                                    .pInitialData = data};
    VkResult r = vk->vkd.vkCreatePipelineCache(vk->device, &ci, vk->alloc, &vk->pipeline_cache);
    if (r != VK_SUCCESS && data) { /* a driver may refuse the data: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = vk->vkd.vkCreatePipelineCache(vk->device, &ci, vk->alloc, &vk->pipeline_cache);
    }
    seattn__free(data);
    SEATTN__CHECK(ctx, r);
    if (path) seattn__log(ctx, SEATTN_LOG_INFO, "pipeline cache %s: %zu bytes loaded", path, size);
fail:
    return status;
}

void seattn__vk_pipeline_cache_save(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    const char *path = vk->pipeline_cache_path;
    if (!path || !vk->pipeline_cache) return;
    size_t size = 0;
    if (vk->vkd.vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &size, NULL) != VK_SUCCESS ||
        size == 0)
        return;
    void *data = seattn__malloc(size);
    char *tmp = seattn__malloc(strlen(path) + 32);
    bool ok =
        data && tmp &&
        vk->vkd.vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &size, data) == VK_SUCCESS;
    if (ok) {
        snprintf(tmp, strlen(path) + 32, "%s.%ld.tmp", path, seattn__process_id());
        FILE *f = fopen(tmp, "wb");
        ok = f && fwrite(data, 1, size, f) == size;
        if (f && fclose(f) != 0) ok = false;
        ok = ok && seattn__replace_file(tmp, path);
        if (!ok) remove(tmp);
    }
    seattn__log(ctx, ok ? SEATTN_LOG_INFO : SEATTN_LOG_WARNING, "pipeline cache %s: %s %zu bytes",
                path, ok ? "saved" : "could not save", size);
    seattn__free(data);
    seattn__free(tmp);
}
