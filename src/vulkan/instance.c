/* The Vulkan loader, instances, the validation messenger and the list of devices. */
#include "vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

seattn_status seattn__vk_status(VkResult r) {
    switch (r) {
    case VK_SUCCESS:
        return SEATTN_SUCCESS;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
        return SEATTN_ERROR_OUT_OF_MEMORY;
    case VK_ERROR_DEVICE_LOST:
        return SEATTN_ERROR_DEVICE_LOST;
    case VK_TIMEOUT:
        return SEATTN_ERROR_TIMEOUT;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
        return SEATTN_ERROR_NO_DEVICE;
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_LAYER_NOT_PRESENT:
        return SEATTN_ERROR_UNSUPPORTED;
    default:
        return SEATTN_ERROR_VULKAN;
    }
}

seattn_status seattn__vk_fail(seattn_context *ctx, VkResult r, const char *call, const char *file,
                              int line) {
    ctx->last_vk_result = r;
    seattn_status s = seattn__vk_status(r);
    if (s == SEATTN_ERROR_DEVICE_LOST && ctx->vk) {
        ctx->vk->lost = true;
        ctx->vk->lost_status = s;
    }
    return seattn__fail(ctx, s, "%s returned VkResult %d (%s:%d)", call, (int)r, file, line);
}

seattn_status seattn__vk_check_lost(seattn_context *ctx) {
    const seattn__vk *vk = ctx->vk;
    if (!vk->lost) return SEATTN_SUCCESS;
    return seattn__fail(ctx, vk->lost_status,
                        vk->hung ? "the device did not finish earlier work in time; destroy this "
                                   "context"
                                 : "the device was lost earlier; destroy this context");
}

static VKAPI_ATTR VkBool32 VKAPI_CALL messenger_cb(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                   VkDebugUtilsMessageTypeFlagsEXT type,
                                                   const VkDebugUtilsMessengerCallbackDataEXT *d,
                                                   void *user) {
    (void)type;
    seattn_context *ctx = user;
    bool error = sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    if (error) atomic_fetch_add(&ctx->validation_errors, 1);
    seattn__log(ctx, error ? SEATTN_LOG_ERROR : SEATTN_LOG_INFO, "vulkan validation: %s",
                d && d->pMessage ? d->pMessage : "(no message)");
    return VK_FALSE;
}

static bool has_layer(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties props[64];
    if (n > 64) n = 64;
    if (vkEnumerateInstanceLayerProperties(&n, props) < 0) return false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(props[i].layerName, name) == 0) return true;
    return false;
}

static bool has_instance_ext(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties props[128];
    if (n > 128) n = 128;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, props) < 0) return false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(props[i].extensionName, name) == 0) return true;
    return false;
}

/* Creates an instance (with validation when asked and installed) for ctx, or a bare one for
 * device listing when ctx is NULL, and loads its functions into *t; the caller owns it. */
static seattn_status create_instance(seattn_context *ctx, bool validation, VkInstance *out,
                                     seattn__vki *t) {
    const VkAllocationCallbacks *alloc = ctx ? ctx->vk->alloc : NULL;
    seattn_status s = seattn__vk_loader_init();
    if (s != SEATTN_SUCCESS)
        return ctx ? seattn__fail(ctx, s,
                                  "no Vulkan 1.1 loader found (install libvulkan1 and a "
                                  "driver, e.g. mesa-vulkan-drivers)")
                   : s;
    const char *layers[1], *exts[2];
    uint32_t n_layers = 0, n_exts = 0;
    VkInstanceCreateFlags flags = 0;
    if (validation) {
        if (has_layer("VK_LAYER_KHRONOS_validation") && has_instance_ext("VK_EXT_debug_utils")) {
            layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
            exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        } else {
            seattn__log(ctx, SEATTN_LOG_WARNING,
                        "validation asked for but VK_LAYER_KHRONOS_validation is not installed");
            validation = false;
        }
    }
    if (has_instance_ext("VK_KHR_portability_enumeration")) {
        exts[n_exts++] = "VK_KHR_portability_enumeration";
        flags |= 0x00000001; /* VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR */
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pEngineName = "seattn",
                             .engineVersion = SEATTN_VERSION,
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .flags = flags,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = n_layers,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vkCreateInstance(&ci, alloc, out);
    if (r != VK_SUCCESS)
        return ctx ? seattn__vk_fail(ctx, r, "vkCreateInstance", __FILE__, __LINE__)
                   : seattn__vk_status(r);
    const PFN_vkGetInstanceProcAddr gipa = seattn__vk_loader_gipa();
    if (!seattn__vk_load_instance(gipa, *out, t)) {
        PFN_vkDestroyInstance destroy = (PFN_vkDestroyInstance)gipa(*out, "vkDestroyInstance");
        if (destroy) destroy(*out, alloc);
        *out = VK_NULL_HANDLE;
        return ctx ? seattn__fail(ctx, SEATTN_ERROR_NO_DEVICE,
                                  "the Vulkan loader lacks Vulkan 1.1 instance functions")
                   : SEATTN_ERROR_NO_DEVICE;
    }
    if (ctx && validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)gipa(*out, "vkCreateDebugUtilsMessengerEXT");
        ctx->vk->destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)gipa(*out, "vkDestroyDebugUtilsMessengerEXT");
        VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = messenger_cb,
            .pUserData = ctx};
        if (create && ctx->vk->destroy_messenger) create(*out, &mi, alloc, &ctx->vk->messenger);
    }
    return SEATTN_SUCCESS;
}

void seattn__vk_fill_info(const seattn__vki *vki, VkPhysicalDevice phys, seattn_device_info *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceIDProperties ids = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sub = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &ids};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sub};
    vki->vkGetPhysicalDeviceProperties2(phys, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    snprintf(info->name, sizeof info->name, "%s", p->deviceName);
    info->index = UINT32_MAX; /* set by whoever knows the device's place in the list */
    memcpy(info->device_uuid, ids.deviceUUID, sizeof info->device_uuid);
    memcpy(info->driver_uuid, ids.driverUUID, sizeof info->driver_uuid);
    info->vendor_id = p->vendorID;
    info->device_id = p->deviceID;
    info->api_version = p->apiVersion;
    info->driver_version = p->driverVersion;
    info->type = (int32_t)p->deviceType;
    info->max_storage_buffer_range = p->limits.maxStorageBufferRange;
    info->max_compute_shared_memory = p->limits.maxComputeSharedMemorySize;
    info->max_workgroup_invocations = p->limits.maxComputeWorkGroupInvocations;
    memcpy(info->max_workgroup_count, p->limits.maxComputeWorkGroupCount,
           sizeof info->max_workgroup_count);
    info->max_texel_buffer_elements = p->limits.maxTexelBufferElements;
    if (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) {
        info->subgroup_size = sub.subgroupSize;
        info->subgroup_ops = sub.supportedOperations;
    }
    VkPhysicalDevice16BitStorageFeatures f16s = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f16s};
    vki->vkGetPhysicalDeviceFeatures2(phys, &f2);
    info->storage_16bit = f16s.storageBuffer16BitAccess;
    uint32_t n_ext = 0;
    if (vki->vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, NULL) == VK_SUCCESS) {
        VkExtensionProperties ext[512];
        if (n_ext > 512) n_ext = 512;
        if (vki->vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, ext) >= 0) {
            for (uint32_t i = 0; i < n_ext; i++) {
                if (strcmp(ext[i].extensionName, "VK_KHR_shader_float16_int8") == 0) {
                    /* the extension is there: its feature struct may be queried */
                    VkPhysicalDeviceShaderFloat16Int8Features fi = {
                        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
                    VkPhysicalDeviceFeatures2 g2 = {
                        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &fi};
                    vki->vkGetPhysicalDeviceFeatures2(phys, &g2);
                    info->shader_float16 = fi.shaderFloat16;
                }
                if (strcmp(ext[i].extensionName, "VK_KHR_driver_properties") == 0 &&
                    p->apiVersion >= VK_API_VERSION_1_2) {
                    VkPhysicalDeviceDriverProperties dp = {
                        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
                    VkPhysicalDeviceProperties2 q2 = {
                        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &dp};
                    vki->vkGetPhysicalDeviceProperties2(phys, &q2);
                    snprintf(info->driver, sizeof info->driver, "%.120s %.120s", dp.driverName,
                             dp.driverInfo);
                }
            }
        }
    }
    uint32_t n_fam = 0;
    vki->vkGetPhysicalDeviceQueueFamilyProperties(phys, &n_fam, NULL);
    VkQueueFamilyProperties fam[16];
    if (n_fam > 16) n_fam = 16;
    vki->vkGetPhysicalDeviceQueueFamilyProperties(phys, &n_fam, fam);
    for (uint32_t i = 0; i < n_fam; i++)
        if ((fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && fam[i].timestampValidBits > 0)
            info->timestamp_period_ns = p->limits.timestampPeriod;
    VkPhysicalDeviceMemoryProperties mp;
    vki->vkGetPhysicalDeviceMemoryProperties(phys, &mp);
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if ((mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            mp.memoryHeaps[i].size > info->device_local_bytes)
            info->device_local_bytes = mp.memoryHeaps[i].size;
}

static seattn_status list_physical(const seattn__vki *vki, VkInstance inst, VkPhysicalDevice *devs,
                                   uint32_t *n) {
    VkResult r = vki->vkEnumeratePhysicalDevices(inst, n, devs);
    return r < 0 ? seattn__vk_status(r) : SEATTN_SUCCESS;
}

seattn_status seattn_device_list(seattn_device_info *infos, uint32_t *count) {
    if (!count) return SEATTN_ERROR_INVALID_ARGUMENT;
    uint32_t cap = infos ? *count : 0;
    *count = 0;
    VkInstance inst = VK_NULL_HANDLE;
    seattn__vki vki;
    seattn_status s = create_instance(NULL, false, &inst, &vki);
    if (s != SEATTN_SUCCESS) return s;
    VkPhysicalDevice devs[32];
    uint32_t n = 32;
    s = list_physical(&vki, inst, devs, &n);
    if (s == SEATTN_SUCCESS) {
        for (uint32_t i = 0; i < n && i < cap; i++) {
            seattn__vk_fill_info(&vki, devs[i], &infos[i]);
            infos[i].index = i;
        }
        *count = n;
        if (n == 0) s = SEATTN_ERROR_NO_DEVICE;
    }
    vki.vkDestroyInstance(inst, NULL);
    return s;
}

static int type_rank(int32_t type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return 3;
    default:
        return 4;
    }
}

static bool name_matches(const char *name, const char *part) {
    for (const char *s = name; *s; s++) {
        size_t i = 0;
        while (part[i] && s[i] && (s[i] | 0x20) == (part[i] | 0x20)) /* ASCII case-insensitive */
            i++;
        if (!part[i]) return true;
    }
    return false;
}

/* Creates the context's instance and picks its physical device (vk->phys, vk->info): the one
 * `want` names (index or part of the name), or by type when want is NULL. */
seattn_status seattn__vk_instance_create(seattn_context *ctx, bool validation, const char *want) {
    seattn__vk *vk = ctx->vk;
    seattn_status s = create_instance(ctx, validation, &vk->instance, &vk->vki);
    if (s != SEATTN_SUCCESS) return s;
    vk->own_instance = true;
    VkPhysicalDevice devs[32];
    uint32_t n = 32;
    s = list_physical(&vk->vki, vk->instance, devs, &n);
    if (s != SEATTN_SUCCESS || n == 0)
        return seattn__fail(ctx, SEATTN_ERROR_NO_DEVICE,
                            "no Vulkan device found (install a driver, e.g. mesa-vulkan-drivers "
                            "for lavapipe)");
    int best = -1, best_rank = 99;
    for (uint32_t i = 0; i < n; i++) {
        seattn_device_info info;
        seattn__vk_fill_info(&vk->vki, devs[i], &info);
        if (info.api_version < VK_API_VERSION_1_1) continue;
        if (want) {
            char *end = NULL;
            unsigned long idx = strtoul(want, &end, 10);
            bool numeric = end && end != want && *end == '\0';
            if (numeric ? idx == i : name_matches(info.name, want)) {
                best = (int)i;
                break;
            }
            continue;
        }
        if (type_rank(info.type) < best_rank) {
            best_rank = type_rank(info.type);
            best = (int)i;
        }
    }
    if (best < 0)
        return want ? seattn__fail(ctx, SEATTN_ERROR_NO_DEVICE,
                                   "device '%s' matches no Vulkan 1.1 device (see seattn devices)",
                                   want)
                    : seattn__fail(ctx, SEATTN_ERROR_NO_DEVICE, "no Vulkan 1.1 device found");
    vk->phys = devs[best];
    vk->device_index = (uint32_t)best;
    return SEATTN_SUCCESS;
}
