/* A Vulkan context: instance, device, one compute queue, command buffer and fence. */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

static int find_compute_family(VkPhysicalDevice phys) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
    VkQueueFamilyProperties fam[16];
    if (n > 16) n = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, fam);
    int any = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        if (!(fam[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return (int)i; /* async compute */
        if (any < 0) any = (int)i;
    }
    return any;
}

seattn_status seattn__vk_context_init(seattn_context *ctx, const seattn_context_options *o) {
    seattn_status status;
    seattn__vk *vk = calloc(1, sizeof *vk);
    if (!vk) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a context");
    ctx->vk = vk;
    const char *want = o->device;
    if (!want || !*want) want = getenv("SEATTN_DEVICE");
    if (want && !*want) want = NULL;
    status = seattn__vk_instance_create(ctx, (ctx->flags & SEATTN_CONTEXT_VALIDATION) != 0, want);
    if (status != SEATTN_SUCCESS) return status;

    int fam = find_compute_family(vk->phys);
    if (fam < 0)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "device '%s' has no compute queue",
                            vk->info.name);
    vk->queue_family = (uint32_t)fam;
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = vk->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci};
    SEATTN__CHECK(ctx, vkCreateDevice(vk->phys, &dci, NULL, &vk->device));
    volkLoadDeviceTable(&vk->vkd, vk->device);
    vk->vkd.vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = vk->queue_family};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateCommandPool(vk->device, &pci, NULL, &vk->cmd_pool));
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = vk->cmd_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    SEATTN__CHECK(ctx, vk->vkd.vkAllocateCommandBuffers(vk->device, &cai, &vk->cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateFence(vk->device, &fci, NULL, &vk->fence));
    {
        uint32_t n = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n, NULL);
        VkQueueFamilyProperties fams[16];
        if (n > 16) n = 16;
        vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n, fams);
        const uint32_t bits = vk->queue_family < n ? fams[vk->queue_family].timestampValidBits : 0;
        if (bits > 0 && vk->props.limits.timestampPeriod > 0.0f) {
            VkQueryPoolCreateInfo qpci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                          .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                          .queryCount = 2};
            SEATTN__CHECK(ctx, vk->vkd.vkCreateQueryPool(vk->device, &qpci, NULL,
                                                         &vk->timestamps));
            vk->ts_mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
            vk->ts_period_ns = vk->props.limits.timestampPeriod;
        }
    }

    status = seattn__vk_buffer_create(ctx, 256, false, &vk->dummy);
    if (status != SEATTN_SUCCESS) return status;
    /* vk->info holds the subgroup size and operations of compute shaders (0 if none) */
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    vk->texel_ok = (vk->info.subgroup_ops & need) == need && vk->info.subgroup_size >= 1 &&
                   vk->info.subgroup_size <= 64;
    const VkFormat texel_formats[2] = {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32_SFLOAT};
    for (int i = 0; i < 2; i++) {
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(vk->phys, texel_formats[i], &fp);
        if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
            vk->texel_ok = false;
    }
    status = seattn__vk_pipelines_init(ctx);
    if (status != SEATTN_SUCCESS) return status;
    seattn__log(ctx, SEATTN_LOG_INFO, "seattn context on '%s' (queue family %u)", vk->info.name,
                vk->queue_family);
    return SEATTN_SUCCESS;
fail:
    return status;
}

/* Copes with a half-built context: every handle may still be null. */
void seattn__vk_context_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    if (!vk) return;
    if (vk->lost) {
        /* A timed-out or lost device may still run our work: its objects are leaked, since
         * freeing memory it writes would corrupt the process. */
        free(vk);
        ctx->vk = NULL;
        return;
    }
    if (vk->device) {
        vk->vkd.vkDeviceWaitIdle(vk->device);
        seattn__vk_pipelines_free(ctx);
        seattn__vk_buffer_destroy(ctx, &vk->partial);
        if (vk->rope_view) vk->vkd.vkDestroyBufferView(vk->device, vk->rope_view, NULL);
        seattn__vk_buffer_destroy(ctx, &vk->rope);
        seattn__vk_buffer_destroy(ctx, &vk->dummy);
        seattn__vk_buffer_destroy(ctx, &vk->staging);
        if (vk->fence) vk->vkd.vkDestroyFence(vk->device, vk->fence, NULL);
        if (vk->timestamps) vk->vkd.vkDestroyQueryPool(vk->device, vk->timestamps, NULL);
        if (vk->cmd_pool) vk->vkd.vkDestroyCommandPool(vk->device, vk->cmd_pool, NULL);
        vk->vkd.vkDestroyDevice(vk->device, NULL);
    }
    if (vk->messenger && vk->destroy_messenger)
        vk->destroy_messenger(vk->instance, vk->messenger, NULL);
    if (vk->instance) vkDestroyInstance(vk->instance, NULL);
    free(vk);
    ctx->vk = NULL;
}

seattn_status seattn__vk_device_info(const seattn_context *ctx, seattn_device_info *info) {
    *info = ctx->vk->info;
    return SEATTN_SUCCESS;
}

seattn_status seattn__vk_begin(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    if (vk->lost)
        return seattn__fail(ctx, SEATTN_ERROR_DEVICE_LOST,
                            "the device was lost earlier; destroy this context");
    SEATTN__CHECK(ctx, vk->vkd.vkResetCommandBuffer(vk->cmd, 0));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    SEATTN__CHECK(ctx, vk->vkd.vkBeginCommandBuffer(vk->cmd, &bi));
fail:
    return status;
}

void seattn__vk_barrier(seattn_context *ctx, bool to_host) {
    seattn__vk *vk = ctx->vk;
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                          .dstAccessMask = to_host ? VK_ACCESS_HOST_READ_BIT
                                                   : VK_ACCESS_SHADER_READ_BIT |
                                                         VK_ACCESS_SHADER_WRITE_BIT |
                                                         VK_ACCESS_TRANSFER_READ_BIT |
                                                         VK_ACCESS_TRANSFER_WRITE_BIT};
    vk->vkd.vkCmdPipelineBarrier(
        vk->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
        to_host ? VK_PIPELINE_STAGE_HOST_BIT : VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0,
        NULL, 0, NULL);
}

/* Ends, submits and waits at most timeout_ms: a hung device becomes SEATTN_ERROR_TIMEOUT and
 * the context is marked lost, since its command buffer may still be in flight. */
seattn_status seattn__vk_submit_wait(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    SEATTN__CHECK(ctx, vk->vkd.vkEndCommandBuffer(vk->cmd));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &vk->cmd};
    SEATTN__CHECK(ctx, vk->vkd.vkResetFences(vk->device, 1, &vk->fence));
    SEATTN__CHECK(ctx, vk->vkd.vkQueueSubmit(vk->queue, 1, &si, vk->fence));
    VkResult r = vk->vkd.vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE,
                                         (uint64_t)ctx->timeout_ms * 1000000u);
    if (r == VK_TIMEOUT) {
        vk->lost = true;
        ctx->last_vk_result = r;
        return seattn__fail(ctx, SEATTN_ERROR_TIMEOUT,
                            "the device did not finish within %u ms; the context is unusable",
                            ctx->timeout_ms);
    }
    SEATTN__CHECK(ctx, r);
fail:
    return status;
}
