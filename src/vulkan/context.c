/* A Vulkan context: instance, device, one compute queue, command buffer and fence; its own
 * objects or the app's (seattn_vulkan.h). */
#include "vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t queue_families(const seattn__vk *vk, VkQueueFamilyProperties fam[16]) {
    uint32_t n = 0;
    vk->vki.vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n, NULL);
    if (n > 16) n = 16;
    vk->vki.vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n, fam);
    return n;
}

static int find_compute_family(const seattn__vk *vk) {
    VkQueueFamilyProperties fam[16];
    const uint32_t n = queue_families(vk, fam);
    int any = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        if (!(fam[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return (int)i; /* async compute */
        if (any < 0) any = (int)i;
    }
    return any;
}

/* Device extensions seattn looks for. */
enum {
    EXT_SUBGROUP_SIZE_CONTROL = 1,
    EXT_AMD_SHADER_CORE = 2,
    EXT_NV_SM_BUILTINS = 4,
    EXT_ARM_CORE_BUILTINS = 8,
    EXT_BUFFER_DEVICE_ADDRESS = 16
};

/* Which of them the physical device offers (*mask, EXT_*). */
static seattn_status device_exts(seattn_context *ctx, uint32_t *mask) {
    static const char *const names[] = {
        "VK_EXT_subgroup_size_control", "VK_AMD_shader_core_properties", "VK_NV_shader_sm_builtins",
        "VK_ARM_shader_core_builtins", "VK_KHR_buffer_device_address"};
    const seattn__vk *vk = ctx->vk;
    uint32_t n = 0;
    *mask = 0;
    if (vk->vki.vkEnumerateDeviceExtensionProperties(vk->phys, NULL, &n, NULL) != VK_SUCCESS ||
        n == 0)
        return SEATTN_SUCCESS;
    VkExtensionProperties *ext = seattn__calloc(n, sizeof *ext);
    if (!ext) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for extensions");
    if (vk->vki.vkEnumerateDeviceExtensionProperties(vk->phys, NULL, &n, ext) >= 0)
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < sizeof names / sizeof names[0]; k++)
                if (strcmp(ext[i].extensionName, names[k]) == 0) *mask |= 1u << k;
    seattn__free(ext);
    return SEATTN_SUCCESS;
}

static seattn__vk *vk_alloc(seattn_context *ctx, const seattn_context_options *o) {
    seattn__vk *vk = seattn__calloc(1, sizeof *vk);
    if (!vk) return NULL;
    ctx->vk = vk;
    vk->forced_kernel = -1;
    if (o->vk_allocator) {
        vk->alloc_copy = *o->vk_allocator;
        vk->alloc = &vk->alloc_copy;
    }
    if (o->pipeline_cache_path && *o->pipeline_cache_path) {
        vk->pipeline_cache_path = seattn__strdup(o->pipeline_cache_path);
        if (!vk->pipeline_cache_path) return NULL;
    }
    return vk;
}

/* A context on its own instance and device. */
seattn_status seattn__vk_context_init(seattn_context *ctx, const seattn_context_options *o) {
    seattn_status status;
    seattn__vk *vk = vk_alloc(ctx, o);
    if (!vk) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a context");
    const char *want = o->device;
    if (!want || !*want) want = getenv("SEATTN_DEVICE");
    if (want && !*want) want = NULL;
    status = seattn__vk_instance_create(ctx, (ctx->flags & SEATTN_CONTEXT_VALIDATION) != 0, want);
    if (status != SEATTN_SUCCESS) return status;
    seattn__vk_fill_info(&vk->vki, vk->phys, &vk->info);
    vk->info.index = vk->device_index;

    int fam = find_compute_family(vk);
    if (fam < 0)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "device '%s' has no compute queue",
                            vk->info.name);
    vk->queue_family = (uint32_t)fam;
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = vk->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    /* f16 tensors need storageBuffer16BitAccess: enabled where the device has it */
    VkPhysicalDevice16BitStorageFeatures f16s = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = vk->info.storage_16bit ? VK_TRUE : VK_FALSE};
    /* flash_sg asks for full subgroups where the device can promise them
     * (VK_EXT_subgroup_size_control's computeFullSubgroups): a row's lanes then share one */
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
    /* K and V pools over several buffers are read by address where the device can
     * (VK_KHR_buffer_device_address, which a Vulkan 1.1 instance may enable) */
    VkPhysicalDeviceBufferDeviceAddressFeaturesKHR bdaf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES_KHR};
    const char *exts[2];
    uint32_t n_exts = 0, have = 0;
    void **tail = &f16s.pNext;
    if ((status = device_exts(ctx, &have))) return status;
    if (have & EXT_SUBGROUP_SIZE_CONTROL) {
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &sgf};
        vk->vki.vkGetPhysicalDeviceFeatures2(vk->phys, &f2);
        sgf.pNext = NULL;
        if (sgf.computeFullSubgroups) {
            exts[n_exts++] = "VK_EXT_subgroup_size_control";
            vk->full_subgroups = true;
            *tail = &sgf;
            tail = &sgf.pNext;
        }
    }
    if (have & EXT_BUFFER_DEVICE_ADDRESS) {
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &bdaf};
        vk->vki.vkGetPhysicalDeviceFeatures2(vk->phys, &f2);
        bdaf.pNext = NULL;
        bdaf.bufferDeviceAddressCaptureReplay = bdaf.bufferDeviceAddressMultiDevice = VK_FALSE;
        if (bdaf.bufferDeviceAddress) {
            exts[n_exts++] = "VK_KHR_buffer_device_address";
            vk->address = true;
            *tail = &bdaf;
            tail = &bdaf.pNext;
        }
    }
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f16s,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = n_exts,
                              .ppEnabledExtensionNames = n_exts ? exts : NULL};
    SEATTN__CHECK(ctx, vk->vki.vkCreateDevice(vk->phys, &dci, vk->alloc, &vk->device));
    vk->own_device = true;
    vk->storage_16bit = vk->info.storage_16bit != 0;
    seattn__vk_load_device(vk->vki.vkGetDeviceProcAddr, vk->device, &vk->vkd);
    if (vk->address && !vk->vkd.vkGetBufferDeviceAddressKHR) vk->address = false;
    vk->vkd.vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
    return seattn__vk_device_setup(ctx);
fail:
    return status;
}

/* A context on the app's instance, device and queue (seattn_vulkan.h). */
seattn_status seattn__vk_context_import(seattn_context *ctx, const seattn_context_options *o,
                                        const seattn_vulkan_device *d) {
    seattn__vk *vk = vk_alloc(ctx, o);
    if (!vk) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a context");
    if (!d->instance || !d->physical_device || !d->device || !d->queue ||
        !d->get_instance_proc_addr)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_vulkan_device: instance, physical_device, device, queue and "
                            "get_instance_proc_addr must all be set");
    if (d->instance_api_version < VK_API_VERSION_1_1)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "seattn_vulkan_device.instance_api_version is below Vulkan 1.1");
    if (d->enabled & ~(SEATTN_VULKAN_STORAGE_16BIT | SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS))
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_vulkan_device.enabled: unknown bits 0x%x", d->enabled);
    if (!seattn__vk_load_instance(d->get_instance_proc_addr, d->instance, &vk->vki))
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "get_instance_proc_addr lacks Vulkan 1.1 instance functions");
    vk->instance = d->instance;
    vk->phys = d->physical_device;
    vk->device = d->device;
    vk->queue = d->queue;
    vk->queue_family = d->queue_family;
    seattn__vk_fill_info(&vk->vki, vk->phys, &vk->info);
    if (vk->info.api_version < VK_API_VERSION_1_1)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "device '%s' is below Vulkan 1.1",
                            vk->info.name);
    VkQueueFamilyProperties fam[16];
    const uint32_t n = queue_families(vk, fam);
    if (d->queue_family >= n || !(fam[d->queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_vulkan_device.queue_family %u is not a compute family of "
                            "'%s'",
                            d->queue_family, vk->info.name);
    if ((d->enabled & SEATTN_VULKAN_STORAGE_16BIT) && !vk->info.storage_16bit)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "enabled says storageBuffer16BitAccess, which '%s' does not have",
                            vk->info.name);
    vk->storage_16bit = (d->enabled & SEATTN_VULKAN_STORAGE_16BIT) != 0;
    seattn__vk_load_device(vk->vki.vkGetDeviceProcAddr, vk->device, &vk->vkd);
    if (!vk->vkd.vkCreateComputePipelines || !vk->vkd.vkQueueSubmit)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "vkGetDeviceProcAddr returned no core device functions");
    if (d->enabled & SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS) {
        if (!vk->vkd.vkGetBufferDeviceAddressKHR && vk->vkd.vkGetBufferDeviceAddress)
            vk->vkd.vkGetBufferDeviceAddressKHR = vk->vkd.vkGetBufferDeviceAddress;
        if (!vk->vkd.vkGetBufferDeviceAddressKHR)
            return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                                "enabled says bufferDeviceAddress, but the device has no "
                                "vkGetBufferDeviceAddress (enable VK_KHR_buffer_device_address "
                                "or Vulkan 1.2)");
        vk->address = true;
    }
    return seattn__vk_device_setup(ctx);
}

/* Test hooks, read once here, at context creation. Tests drive the device limits on a small
 * machine by lowering them: SEATTN_TEST_LIMITS="storage_range=N,texel_elements=N,
 * workgroups_x=N,alloc_size=N,storage_buffers=N,stage_resources=N,address=0,device_local=1" (the
 * last: seattn's device buffers are not mapped, as on a discrete GPU, so every upload to them is a
 * staged copy); SEATTN_SPLIT=N forces N key splits on every call. */
static void test_limits(seattn_context *ctx) {
    const char *env = getenv("SEATTN_TEST_LIMITS");
    seattn__vk *vk = ctx->vk;
    const char *split = getenv("SEATTN_SPLIT");
    vk->test_split = split && atoi(split) > 0 ? (uint32_t)atoi(split) : 0;
    if (vk->test_split)
        seattn__log(ctx, SEATTN_LOG_WARNING, "SEATTN_SPLIT: %u key splits forced", vk->test_split);
    VkPhysicalDeviceLimits *lim = &vk->props.limits;
    for (const char *p = env; p && *p;) {
        char key[32];
        unsigned long long val = 0;
        int used = 0;
        if (sscanf(p, "%31[a-z_]=%llu%n", key, &val, &used) != 2) break;
        if (strcmp(key, "storage_range") == 0)
            lim->maxStorageBufferRange = (uint32_t)val;
        else if (strcmp(key, "texel_elements") == 0)
            lim->maxTexelBufferElements = (uint32_t)val;
        else if (strcmp(key, "workgroups_x") == 0)
            lim->maxComputeWorkGroupCount[0] = (uint32_t)val;
        else if (strcmp(key, "alloc_size") == 0)
            vk->max_alloc = val;
        else if (strcmp(key, "storage_buffers") == 0)
            lim->maxPerStageDescriptorStorageBuffers = (uint32_t)val;
        else if (strcmp(key, "stage_resources") == 0)
            lim->maxPerStageResources = (uint32_t)val;
        else if (strcmp(key, "address") == 0 && val == 0)
            vk->address = false;
        else if (strcmp(key, "device_local") == 0)
            vk->test_unmapped = val != 0;
        seattn__log(ctx, SEATTN_LOG_WARNING, "SEATTN_TEST_LIMITS: %s lowered to %llu", key, val);
        p += used;
        if (*p == ',') p++;
    }
}

/* Every pipeline binds SEATTN__N_BINDINGS descriptors, all storage buffers in the storage layout
 * (the texel layout has 4 uniform texel buffers among them, within any device's 16 sampled
 * images a stage). */
static seattn_status check_binding_limits(seattn_context *ctx) {
    const VkPhysicalDeviceLimits *lim = &ctx->vk->props.limits;
    const struct {
        const char *name;
        uint32_t have;
    } need[] = {{"maxPerStageDescriptorStorageBuffers", lim->maxPerStageDescriptorStorageBuffers},
                {"maxPerStageResources", lim->maxPerStageResources},
                {"maxDescriptorSetStorageBuffers", lim->maxDescriptorSetStorageBuffers}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i].have < SEATTN__N_BINDINGS)
            return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                                "'%s' has %s %u; seattn's kernels bind %u storage buffers a "
                                "stage",
                                ctx->vk->info.name, need[i].name, need[i].have,
                                (unsigned)SEATTN__N_BINDINGS);
    return SEATTN_SUCCESS;
}

seattn_status seattn__vk_device_setup(seattn_context *ctx) {
    seattn_status status;
    seattn__vk *vk = ctx->vk;
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &m3};
    vk->vki.vkGetPhysicalDeviceProperties2(vk->phys, &p2);
    vk->props = p2.properties;
    vk->max_alloc = m3.maxMemoryAllocationSize;
    test_limits(ctx);
    if ((status = check_binding_limits(ctx))) return status;
    vk->vki.vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = vk->queue_family};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateCommandPool(vk->device, &pci, vk->alloc, &vk->cmd_pool));
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = vk->cmd_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    SEATTN__CHECK(ctx, vk->vkd.vkAllocateCommandBuffers(vk->device, &cai, &vk->cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateFence(vk->device, &fci, vk->alloc, &vk->fence));
    {
        VkQueueFamilyProperties fams[16];
        const uint32_t n = queue_families(vk, fams);
        const uint32_t bits = vk->queue_family < n ? fams[vk->queue_family].timestampValidBits : 0;
        if (bits > 0 && vk->props.limits.timestampPeriod > 0.0f) {
            VkQueryPoolCreateInfo qpci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                          .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                          .queryCount = 2};
            SEATTN__CHECK(ctx,
                          vk->vkd.vkCreateQueryPool(vk->device, &qpci, vk->alloc, &vk->timestamps));
            vk->ts_mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
            vk->ts_period_ns = vk->props.limits.timestampPeriod;
        }
    }

    status = seattn__vk_buffer_create(ctx, 256, false, &vk->dummy);
    if (status != SEATTN_SUCCESS) return status;
    /* flash_sg: subgroup shuffles in compute; a row's lanes (at most the smallest subgroup size
     * the driver may pick, VK_EXT_subgroup_size_control) share one subgroup */
    vk->caps.sg_min = vk->caps.sg_max = vk->info.subgroup_size;
    uint32_t have = 0;
    if ((status = device_exts(ctx, &have))) return status;
    if (have & EXT_SUBGROUP_SIZE_CONTROL) {
        VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sc = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 sp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                           .pNext = &sc};
        vk->vki.vkGetPhysicalDeviceProperties2(vk->phys, &sp2);
        if (sc.minSubgroupSize >= 1 && sc.minSubgroupSize < vk->caps.sg_min)
            vk->caps.sg_min = sc.minSubgroupSize;
        if (sc.maxSubgroupSize > vk->caps.sg_max) vk->caps.sg_max = sc.maxSubgroupSize;
    }
    /* Compute units, where an extension reports them: the key split fills them. */
    VkPhysicalDeviceShaderCorePropertiesAMD amd = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD};
    VkPhysicalDeviceShaderSMBuiltinsPropertiesNV nv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
    VkPhysicalDeviceShaderCoreBuiltinsPropertiesARM arm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_BUILTINS_PROPERTIES_ARM};
    void *chain = NULL;
    if (have & EXT_AMD_SHADER_CORE) amd.pNext = chain, chain = &amd;
    if (have & EXT_NV_SM_BUILTINS) nv.pNext = chain, chain = &nv;
    if (have & EXT_ARM_CORE_BUILTINS) arm.pNext = chain, chain = &arm;
    if (chain) {
        VkPhysicalDeviceProperties2 cp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                           .pNext = chain};
        vk->vki.vkGetPhysicalDeviceProperties2(vk->phys, &cp2);
        vk->caps.compute_units = amd.shaderEngineCount * amd.shaderArraysPerEngineCount *
                                     amd.computeUnitsPerShaderArray +
                                 nv.shaderSMCount + arm.shaderCoreCount;
    }
    vk->caps.llvmpipe = strstr(vk->info.name, "llvmpipe") != NULL;
    /* llvmpipe's subgroupAdd is a loop over the lanes through memory; from some Mesa after
     * 22.3 (measured: 25.0) a sum of broadcasts runs faster, on 22.3 slower
     * (bench/RESULTS.md). driverInfo reads "Mesa X.Y.Z ..." */
    const char *mesa = strstr(vk->info.driver, "Mesa ");
    vk->caps.sum_bcast = vk->caps.llvmpipe && mesa && atoi(mesa + 5) >= 23;
    vk->caps.limits = vk->props.limits;
    vk->caps.subgroup_size = vk->info.subgroup_size;
    vk->caps.cpu = vk->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    seattn__caps_finish(&vk->caps, vk->info.subgroup_ops);
    /* vk->info holds the subgroup size and operations of compute shaders (0 if none) */
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT |
                          VK_SUBGROUP_FEATURE_BALLOT_BIT;
    vk->caps.texel_ok = (vk->info.subgroup_ops & need) == need && vk->info.subgroup_size >= 1 &&
                        vk->info.subgroup_size <= 64;
    const VkFormat texel_formats[3] = {VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32_SFLOAT,
                                       VK_FORMAT_R16_SFLOAT};
    for (int i = 0; i < 3; i++) {
        VkFormatProperties fp;
        vk->vki.vkGetPhysicalDeviceFormatProperties(vk->phys, texel_formats[i], &fp);
        if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
            vk->caps.texel_ok = false;
    }
    const VkFormat vec4_formats[2] = {VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R16G16B16A16_SFLOAT};
    vk->caps.texel_vec4_ok = vk->caps.texel_ok;
    for (int i = 0; i < 2; i++) {
        VkFormatProperties fp;
        vk->vki.vkGetPhysicalDeviceFormatProperties(vk->phys, vec4_formats[i], &fp);
        if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
            vk->caps.texel_vec4_ok = false;
    }
    status = seattn__vk_pipelines_init(ctx);
    if (status == SEATTN_SUCCESS)
        status = seattn__vk_pipeline_cache_init(ctx, vk->pipeline_cache_path);
    if (status != SEATTN_SUCCESS) return status;
    seattn__log(ctx, SEATTN_LOG_INFO, "seattn context on '%s' (queue family %u%s)", vk->info.name,
                vk->queue_family, vk->own_device ? "" : ", the app's device");
    return SEATTN_SUCCESS;
fail:
    return status;
}

/* Copes with a half-built context: every handle may still be null. The app's instance, device
 * and queue are never destroyed. */
void seattn__vk_context_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    if (!vk) return;
    if (vk->hung) {
        /* A device that did not finish in time may still run our work: its objects are
         * leaked, since freeing memory it writes would corrupt the process. (A lost device
         * runs nothing more: its objects are destroyed below, as Vulkan allows.) */
        seattn__free(vk->pipelines);
        seattn__free(vk->pipeline_cache_path);
        seattn__free(vk);
        ctx->vk = NULL;
        return;
    }
    if (vk->device && vk->vkd.vkDestroyBuffer) {
        /* Every submission of ours was waited for (or the context is hung, above); an imported
         * device may be running the app's work, which is not ours to wait for. On a lost
         * device vkDeviceWaitIdle returns VK_ERROR_DEVICE_LOST at once. */
        if (vk->own_device) vk->vkd.vkDeviceWaitIdle(vk->device);
        for (int f = 0; f < 2; f++)
            seattn__vk_frame_free(ctx, &vk->frames[f]);
        seattn__vk_pipeline_cache_save(ctx);
        seattn__vk_pipelines_free(ctx);
        seattn__vk_rope_free(ctx);
        seattn__vk_buffer_destroy(ctx, &vk->dummy);
        seattn__vk_buffer_destroy(ctx, &vk->staging);
        if (vk->fence) vk->vkd.vkDestroyFence(vk->device, vk->fence, vk->alloc);
        if (vk->timestamps) vk->vkd.vkDestroyQueryPool(vk->device, vk->timestamps, vk->alloc);
        if (vk->cmd_pool) vk->vkd.vkDestroyCommandPool(vk->device, vk->cmd_pool, vk->alloc);
        if (vk->own_device) vk->vkd.vkDestroyDevice(vk->device, vk->alloc);
    }
    if (vk->own_instance) {
        if (vk->messenger && vk->destroy_messenger)
            vk->destroy_messenger(vk->instance, vk->messenger, vk->alloc);
        if (vk->instance && vk->vki.vkDestroyInstance)
            vk->vki.vkDestroyInstance(vk->instance, vk->alloc);
    }
    seattn__free(vk->pipelines);
    seattn__free(vk->pipeline_cache_path);
    seattn__free(vk);
    ctx->vk = NULL;
}

seattn_status seattn__vk_device_info(const seattn_context *ctx, seattn_device_info *info) {
    *info = ctx->vk->info;
    return SEATTN_SUCCESS;
}

seattn_status seattn__vk_begin(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    if ((status = seattn__vk_check_lost(ctx)) != SEATTN_SUCCESS) return status;
    SEATTN__CHECK(ctx, vk->vkd.vkResetCommandBuffer(vk->cmd, 0));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    SEATTN__CHECK(ctx, vk->vkd.vkBeginCommandBuffer(vk->cmd, &bi));
fail:
    return status;
}

void seattn__vk_compute_barrier(seattn_context *ctx, VkCommandBuffer cb) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    ctx->vk->vkd.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0,
                                      NULL);
}

void seattn__vk_barrier(seattn_context *ctx, bool to_host) {
    seattn__vk *vk = ctx->vk;
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask =
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
        .dstAccessMask = to_host ? VK_ACCESS_HOST_READ_BIT
                                 : VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                       VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
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
    /* the fault hook stands for a device lost at submission: nothing is submitted */
    const VkResult sr = seattn__fault_hit(SEATTN_FAULT_DEVICE_LOST)
                            ? VK_ERROR_DEVICE_LOST
                            : vk->vkd.vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    SEATTN__CHECK(ctx, sr);
    VkResult r = vk->vkd.vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE,
                                         (uint64_t)ctx->timeout_ms * 1000000u);
    if (r == VK_TIMEOUT) {
        vk->lost = vk->hung = true;
        vk->lost_status = SEATTN_ERROR_TIMEOUT;
        ctx->last_vk_result = r;
        return seattn__fail(ctx, SEATTN_ERROR_TIMEOUT,
                            "the device did not finish within %u ms; the context is unusable",
                            ctx->timeout_ms);
    }
    SEATTN__CHECK(ctx, r);
fail:
    return status;
}

seattn_status seattn__vk_force_kernel(seattn_context *ctx, const seattn_context_options *o) {
    seattn__vk *vk = ctx->vk;
    const char *name = o->kernel && *o->kernel ? o->kernel : getenv("SEATTN_KERNEL");
    if (!name || !*name) return SEATTN_SUCCESS;
    int row = seattn__vk_kernel_lookup(name);
    if (row == -2) row = seattn__vk_kernel_lookup(vk->caps.flash_sg_ok ? "flash_sg" : "flash_smem");
    if (row == -3)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "kernel '%s'%s: the storage kernel was retired; flash_smem (no "
                            "subgroup operations, storage-buffer loads) serves every device it "
                            "served; the kernels are %s",
                            name, o->kernel && *o->kernel ? "" : " (SEATTN_KERNEL)",
                            seattn__vk_kernel_names());
    if (row < 0)
        return seattn__fail(
            ctx, SEATTN_ERROR_INVALID_ARGUMENT, "kernel '%s'%s: unknown; the kernels are %s", name,
            o->kernel && *o->kernel ? "" : " (SEATTN_KERNEL)", seattn__vk_kernel_names());
    const char *why = seattn__vk_kernel_why_not(&vk->caps, row);
    if (why)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "kernel '%s' cannot run on '%s': it %s",
                            name, vk->info.name, why);
    vk->forced_kernel = row;
    return SEATTN_SUCCESS;
}
