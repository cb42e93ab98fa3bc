/* A minimal "engine" for the interop tests: its own instance, device, queue and buffers, made
 * with the Vulkan loader directly (examples/host_app.c shows the same steps for readers). */
#ifndef SEATTN_TEST_VK_APP_H
#define SEATTN_TEST_VK_APP_H

#include <seattn/seattn_vulkan.h>

typedef struct {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t family;
    int has_16bit; /* the device has storageBuffer16BitAccess */
    VkCommandPool pool;
    VkDebugUtilsMessengerEXT messenger;
    int messages; /* validation warnings and errors seen (with SEATTN_TEST_VALIDATION=1) */
} vk_app;

typedef struct {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped; /* host-visible, coherent */
} vk_app_buffer;

/* 0 on success; enable16: enable storageBuffer16BitAccess where the device has it. With
 * SEATTN_TEST_VALIDATION=1 the instance has the validation layer and counts its messages. */
int vk_app_create(vk_app *app, int enable16);
void vk_app_destroy(vk_app *app);
/* The seattn import struct for the app (enabled as given). */
seattn_vulkan_device vk_app_import(const vk_app *app, uint32_t enabled);
/* A host-visible buffer with the given usage. */
vk_app_buffer vk_app_buffer_create(vk_app *app, VkDeviceSize size, VkBufferUsageFlags usage);
void vk_app_buffer_destroy(vk_app *app, vk_app_buffer *b);
VkCommandBuffer vk_app_begin(vk_app *app);
/* Ends, submits, waits, frees cb; 0 on success. */
int vk_app_submit(vk_app *app, VkCommandBuffer cb);
/* Submits an ended cb and waits, keeping it (to replay it); 0 on success. */
int vk_app_run(vk_app *app, VkCommandBuffer cb);
/* A full memory barrier (the app's side of seattn_vulkan.h's rules, at its widest). */
void vk_app_barrier(VkCommandBuffer cb);

#endif
