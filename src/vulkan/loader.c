/* volk, compiled into this file (hidden, like every non-seattn_ symbol of the library), and the
 * context's own function tables. volk's globals serve only to open the Vulkan loader and to
 * create seattn's own instances; every other call goes through a context's tables, loaded from
 * the vkGetInstanceProcAddr it was given, so an app's own volk or loader is never touched. */
#include "vk_internal.h"

#include "platform.h"

#include "volk.c" /* libvulkan-volk-dev; its static loaders are used below */

static seattn__once loader_once = SEATTN__ONCE_INIT;
static VkResult loader_result = VK_ERROR_INITIALIZATION_FAILED;

static void loader_init(void) {
    loader_result = volkInitialize();
}

seattn_status seattn__vk_loader_init(void) {
    seattn__run_once(&loader_once, loader_init);
    if (loader_result != VK_SUCCESS) return SEATTN_ERROR_NO_DEVICE;
    if (volkGetInstanceVersion() < VK_API_VERSION_1_1) return SEATTN_ERROR_NO_DEVICE;
    return SEATTN_SUCCESS;
}

PFN_vkGetInstanceProcAddr seattn__vk_loader_gipa(void) {
    return vkGetInstanceProcAddr;
}

bool seattn__vk_load_instance(PFN_vkGetInstanceProcAddr gipa, VkInstance instance, seattn__vki *t) {
    bool all = true;
#define SEATTN__LOAD(name)                                                                         \
    t->name = (PFN_##name)gipa(instance, #name);                                                   \
    all = all && t->name != NULL;
    SEATTN__VK_INSTANCE_FNS(SEATTN__LOAD)
#undef SEATTN__LOAD
    return all;
}

typedef struct {
    PFN_vkGetDeviceProcAddr gdpa;
    VkDevice device;
} device_loader;

static PFN_vkVoidFunction load_device_fn(void *context, const char *name) {
    const device_loader *l = context;
    return l->gdpa(l->device, name);
}

void seattn__vk_load_device(PFN_vkGetDeviceProcAddr gdpa, VkDevice device,
                            struct VolkDeviceTable *t) {
    device_loader l = {gdpa, device};
    volkGenLoadDeviceTable(t, &l, load_device_fn);
}
