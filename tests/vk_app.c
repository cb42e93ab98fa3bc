#include "vk_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *d,
                                                 void *user) {
    (void)type;
    if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        ((vk_app *)user)->messages++;
        fprintf(stderr, "validation: %s\n", d->pMessage);
    }
    return VK_FALSE;
}

int vk_app_create(vk_app *app, int enable16) {
    memset(app, 0, sizeof *app);
    const char *v = getenv("SEATTN_TEST_VALIDATION");
    const int validation = v && strcmp(v, "1") == 0;
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = app};
    VkApplicationInfo ai = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                            .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = validation ? &mci : NULL,
                                .pApplicationInfo = &ai,
                                .enabledLayerCount = validation ? 1 : 0,
                                .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = validation ? 1 : 0,
                                .ppEnabledExtensionNames = &ext};
    if (vkCreateInstance(&ici, NULL, &app->instance) != VK_SUCCESS) return -1;
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                app->instance, "vkCreateDebugUtilsMessengerEXT");
        if (!create || create(app->instance, &mci, NULL, &app->messenger) != VK_SUCCESS) return -1;
    }
    uint32_t n = 1;
    if (vkEnumeratePhysicalDevices(app->instance, &n, &app->phys) < 0 || n == 0) return -1;
    VkQueueFamilyProperties fams[16];
    uint32_t nf = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(app->phys, &nf, fams);
    while (app->family < nf && !(fams[app->family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        app->family++;
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(app->phys, &f2);
    app->has_16bit = s16.storageBuffer16BitAccess == VK_TRUE;
    VkPhysicalDevice16BitStorageFeatures on = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = enable16 && app->has_16bit};
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = app->family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &on,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci};
    if (vkCreateDevice(app->phys, &dci, NULL, &app->device) != VK_SUCCESS) return -1;
    vkGetDeviceQueue(app->device, app->family, 0, &app->queue);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = app->family};
    return vkCreateCommandPool(app->device, &pci, NULL, &app->pool) == VK_SUCCESS ? 0 : -1;
}

void vk_app_destroy(vk_app *app) {
    if (app->pool) vkDestroyCommandPool(app->device, app->pool, NULL);
    if (app->device) vkDestroyDevice(app->device, NULL);
    if (app->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                app->instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy(app->instance, app->messenger, NULL);
    }
    if (app->instance) vkDestroyInstance(app->instance, NULL);
    memset(app, 0, sizeof *app);
}

seattn_vulkan_device vk_app_import(const vk_app *app, uint32_t enabled) {
    seattn_vulkan_device d = {.instance = app->instance,
                              .instance_api_version = VK_API_VERSION_1_1,
                              .physical_device = app->phys,
                              .device = app->device,
                              .queue = app->queue,
                              .queue_family = app->family,
                              .get_instance_proc_addr = vkGetInstanceProcAddr,
                              .enabled = enabled};
    return d;
}

vk_app_buffer vk_app_buffer_create(vk_app *app, VkDeviceSize size, VkBufferUsageFlags usage) {
    vk_app_buffer b = {0};
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    vkCreateBuffer(app->device, &bci, NULL, &b.buffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(app->device, b.buffer, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(app->phys, &mp);
    const VkMemoryPropertyFlags want =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = 0;
    while (type < mp.memoryTypeCount && !((req.memoryTypeBits & (1u << type)) &&
                                          (mp.memoryTypes[type].propertyFlags & want) == want))
        type++;
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    vkAllocateMemory(app->device, &mai, NULL, &b.memory);
    vkBindBufferMemory(app->device, b.buffer, b.memory, 0);
    vkMapMemory(app->device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    return b;
}

void vk_app_buffer_destroy(vk_app *app, vk_app_buffer *b) {
    vkDestroyBuffer(app->device, b->buffer, NULL);
    vkFreeMemory(app->device, b->memory, NULL);
}

VkCommandBuffer vk_app_begin(vk_app *app) {
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = app->pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VkCommandBuffer cb = VK_NULL_HANDLE;
    vkAllocateCommandBuffers(app->device, &cai, &cb);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vkBeginCommandBuffer(cb, &bi);
    return cb;
}

void vk_app_barrier(VkCommandBuffer cb) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
}

int vk_app_submit(vk_app *app, VkCommandBuffer cb) {
    vkEndCommandBuffer(cb);
    const int rc = vk_app_run(app, cb);
    vkFreeCommandBuffers(app->device, app->pool, 1, &cb);
    return rc;
}

int vk_app_run(vk_app *app, VkCommandBuffer cb) {
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    if (vkCreateFence(app->device, &fci, NULL, &fence) != VK_SUCCESS) return -1;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    int rc = vkQueueSubmit(app->queue, 1, &si, fence) == VK_SUCCESS &&
                     vkWaitForFences(app->device, 1, &fence, VK_TRUE, 60000000000ull) == VK_SUCCESS
                 ? 0
                 : -1;
    vkDestroyFence(app->device, fence, NULL);
    return rc;
}
