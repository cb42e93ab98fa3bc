/*
 * What an engine already has before it calls seattn, shared by the examples and the interop
 * tests (tests/test_interop.c): its Vulkan instance (with the validation layer, its messages
 * counted), a device with a compute queue (16-bit storage enabled where there is some, when
 * asked), a command pool, buffers and barriers. It links the Vulkan loader itself, with
 * prototypes, as most apps do.
 */
#ifndef SEATTN_EXAMPLE_APP_VULKAN_H
#define SEATTN_EXAMPLE_APP_VULKAN_H

#include <seattn/seattn_vulkan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_VK(call)                                                                             \
    do {                                                                                           \
        VkResult r_ = (call);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                    \
            fprintf(stderr, "%s: %s returned %d\n", app_name, #call, (int)r_);                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CHECK_SEATTN(ctx, call)                                                                    \
    do {                                                                                           \
        seattn_status s_ = (call);                                                                 \
        if (s_ != SEATTN_SUCCESS) {                                                                \
            fprintf(stderr, "%s: %s: %s (%s)\n", app_name, #call, seattn_status_string(s_),        \
                    (ctx) ? seattn_context_last_error(ctx) : seattn_last_create_error());          \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *app_name = "app"; /* for messages: each example sets its own */

typedef struct {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkDevice dev;
    VkQueue queue;
    uint32_t family;
    VkCommandPool pool;
    int has16;      /* the device has storageBuffer16BitAccess */
    int f16;        /* storageBuffer16BitAccess is enabled */
    int bda;        /* bufferDeviceAddress is enabled (VK_KHR_buffer_device_address) */
    int validation; /* the validation layer is on */
    int messages;   /* its warnings and errors so far */
} app_vulkan;

/* app_vulkan_create's validation: off, on where the layer is installed, or required. */
enum { APP_VALIDATION_OFF = 0, APP_VALIDATION_IF_INSTALLED = 1, APP_VALIDATION_REQUIRED = 2 };

static inline VKAPI_ATTR VkBool32 VKAPI_CALL
app_on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev, VkDebugUtilsMessageTypeFlagsEXT type,
               const VkDebugUtilsMessengerCallbackDataEXT *d, void *user) {
    (void)type;
    if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        ++*(int *)user;
        fprintf(stderr, "validation: %s\n", d->pMessage);
    }
    return VK_FALSE;
}

static inline int app_has_layer(const char *name) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, NULL);
    VkLayerProperties *p = calloc(n ? n : 1, sizeof *p);
    vkEnumerateInstanceLayerProperties(&n, p);
    int found = 0;
    for (uint32_t i = 0; i < n; i++)
        found |= strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

/* A Vulkan call inside app_vulkan_create: on failure says which and returns -1. */
#define APP_TRY(call)                                                                              \
    do {                                                                                           \
        VkResult r_ = (call);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                    \
            fprintf(stderr, "%s: %s returned %d\n", app_name, #call, (int)r_);                     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* The instance (Vulkan 1.1), the first device and a command pool on its compute queue; 0 on
 * success, else -1 with a message (app_vulkan_destroy() then frees what was made). validation:
 * APP_VALIDATION_*; enable16: enable storageBuffer16BitAccess where the device has it. a must
 * stay where it is (the messenger counts into it). */
static inline int app_vulkan_create(app_vulkan *a, int validation, int enable16) {
    memset(a, 0, sizeof *a);
    a->validation =
        validation != APP_VALIDATION_OFF && app_has_layer("VK_LAYER_KHRONOS_validation");
    if (!a->validation && validation == APP_VALIDATION_REQUIRED) {
        fprintf(stderr, "%s: VK_LAYER_KHRONOS_validation is not installed\n", app_name);
        return -1;
    }
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = app_on_message,
        .pUserData = &a->messages};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = app_name,
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = a->validation ? &mci : NULL,
                                .pApplicationInfo = &app,
                                .enabledLayerCount = a->validation ? 1 : 0,
                                .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = a->validation ? 1 : 0,
                                .ppEnabledExtensionNames = &ext};
    APP_TRY(vkCreateInstance(&ici, NULL, &a->instance));
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(a->instance,
                                                                  "vkCreateDebugUtilsMessengerEXT");
    if (a->validation && create_messenger)
        APP_TRY(create_messenger(a->instance, &mci, NULL, &a->messenger));

    /* the first device, a compute queue, 16-bit storage where there is some */
    uint32_t n_phys = 1;
    if (vkEnumeratePhysicalDevices(a->instance, &n_phys, &a->phys) < 0 || n_phys == 0) {
        fprintf(stderr, "%s: no Vulkan device\n", app_name);
        return -1;
    }
    vkGetPhysicalDeviceProperties(a->phys, &a->props);
    uint32_t n_fam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(a->phys, &n_fam, NULL);
    VkQueueFamilyProperties fams[16];
    if (n_fam > 16) n_fam = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(a->phys, &n_fam, fams);
    while (a->family < n_fam && !(fams[a->family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        a->family++;
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(a->phys, &f2);
    a->has16 = s16.storageBuffer16BitAccess == VK_TRUE;
    a->f16 = enable16 && a->has16;
    /* buffer device address where offered: seattn then reads KV pools in several buffers */
    uint32_t n_ext = 0;
    vkEnumerateDeviceExtensionProperties(a->phys, NULL, &n_ext, NULL);
    VkExtensionProperties *dev_ext = calloc(n_ext + 1, sizeof *dev_ext);
    if (dev_ext && vkEnumerateDeviceExtensionProperties(a->phys, NULL, &n_ext, dev_ext) >= 0)
        for (uint32_t i = 0; i < n_ext; i++)
            if (strcmp(dev_ext[i].extensionName, "VK_KHR_buffer_device_address") == 0) a->bda = 1;
    free(dev_ext);
    VkPhysicalDeviceBufferDeviceAddressFeaturesKHR bdaf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES_KHR};
    if (a->bda) {
        VkPhysicalDeviceFeatures2 g2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &bdaf};
        vkGetPhysicalDeviceFeatures2(a->phys, &g2);
        a->bda = bdaf.bufferDeviceAddress == VK_TRUE;
        bdaf = (VkPhysicalDeviceBufferDeviceAddressFeaturesKHR){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES_KHR,
            .bufferDeviceAddress = VK_TRUE};
    }
    const char *bda_ext = "VK_KHR_buffer_device_address";
    VkPhysicalDevice16BitStorageFeatures on16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = a->bda ? &bdaf : NULL,
        .storageBuffer16BitAccess = a->f16 ? VK_TRUE : VK_FALSE};
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = a->family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &on16,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = a->bda ? 1 : 0,
                              .ppEnabledExtensionNames = a->bda ? &bda_ext : NULL};
    APP_TRY(vkCreateDevice(a->phys, &dci, NULL, &a->dev));
    vkGetDeviceQueue(a->dev, a->family, 0, &a->queue);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = a->family};
    APP_TRY(vkCreateCommandPool(a->dev, &pci, NULL, &a->pool));
    return 0;
}

/* Frees what app_vulkan_create() made, also after it failed half way. */
static inline void app_vulkan_destroy(app_vulkan *a) {
    if (a->pool) vkDestroyCommandPool(a->dev, a->pool, NULL);
    if (a->dev) vkDestroyDevice(a->dev, NULL);
    if (a->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                a->instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy_messenger(a->instance, a->messenger, NULL);
    }
    if (a->instance) vkDestroyInstance(a->instance, NULL);
    a->pool = VK_NULL_HANDLE;
    a->dev = VK_NULL_HANDLE;
    a->messenger = VK_NULL_HANDLE;
    a->instance = VK_NULL_HANDLE;
}

/* seattn's view of the app's device (enabled: SEATTN_VULKAN_STORAGE_16BIT where a->f16,
 * SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS where a->bda). */
static inline seattn_vulkan_device app_vulkan_import(const app_vulkan *a) {
    return (seattn_vulkan_device){.instance = a->instance,
                                  .instance_api_version = VK_API_VERSION_1_1,
                                  .physical_device = a->phys,
                                  .device = a->dev,
                                  .queue = a->queue,
                                  .queue_family = a->family,
                                  .get_instance_proc_addr = vkGetInstanceProcAddr,
                                  .enabled = (a->f16 ? SEATTN_VULKAN_STORAGE_16BIT : 0) |
                                             (a->bda ? SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS : 0)};
}

typedef struct {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped; /* host-visible buffers: mapped, coherent */
} app_buffer;

static inline app_buffer app_buffer_create(const app_vulkan *a, VkDeviceSize size,
                                           VkBufferUsageFlags usage, int host) {
    app_buffer b = {0};
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    CHECK_VK(vkCreateBuffer(a->dev, &bci, NULL, &b.buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(a->dev, b.buffer, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(a->phys, &mp);
    const VkMemoryPropertyFlags want =
        host ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
             : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            type = i;
    if (type == UINT32_MAX) {
        fprintf(stderr, "%s: no memory type\n", app_name);
        exit(1);
    }
    /* a buffer read by address needs its memory allocated for addresses */
    const VkMemoryAllocateFlagsInfo af = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                          .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT_KHR};
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .pNext = (usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT_KHR) ? &af : NULL,
        .allocationSize = req.size,
        .memoryTypeIndex = type};
    CHECK_VK(vkAllocateMemory(a->dev, &ai, NULL, &b.memory));
    CHECK_VK(vkBindBufferMemory(a->dev, b.buffer, b.memory, 0));
    if (host) CHECK_VK(vkMapMemory(a->dev, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped));
    return b;
}

static inline void app_buffer_destroy(const app_vulkan *a, app_buffer *b) {
    vkDestroyBuffer(a->dev, b->buffer, NULL);
    vkFreeMemory(a->dev, b->memory, NULL);
}

static inline void app_barrier(VkCommandBuffer cb, VkPipelineStageFlags src,
                               VkAccessFlags src_access, VkPipelineStageFlags dst,
                               VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = src_access,
                          .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Submits cb and waits for it. */
static inline void app_submit_wait(const app_vulkan *a, VkCommandBuffer cb) {
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    CHECK_VK(vkCreateFence(a->dev, &fci, NULL, &fence));
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    CHECK_VK(vkQueueSubmit(a->queue, 1, &si, fence));
    CHECK_VK(vkWaitForFences(a->dev, 1, &fence, VK_TRUE, 60ull * 1000 * 1000 * 1000));
    vkDestroyFence(a->dev, fence, NULL);
}

/* A primary command buffer from the app's pool, begun. */
static inline VkCommandBuffer app_begin(const app_vulkan *a) {
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = a->pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VkCommandBuffer cb;
    CHECK_VK(vkAllocateCommandBuffers(a->dev, &cai, &cb));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CHECK_VK(vkBeginCommandBuffer(cb, &bi));
    return cb;
}

/* Ends cb (from app_begin()), submits it, waits and frees it. */
static inline void app_finish(const app_vulkan *a, VkCommandBuffer cb) {
    CHECK_VK(vkEndCommandBuffer(cb));
    app_submit_wait(a, cb);
    vkFreeCommandBuffers(a->dev, a->pool, 1, &cb);
}

#endif
