/*
 * An engine's view of seattn: the app owns the Vulkan instance, device, queue, its KV cache
 * buffer (f16 where the device has 16-bit storage) and its command buffer. It hands them to
 * seattn, records two attention calls (two "layers") into its own command buffer between its
 * own copies, submits, and checks the outputs against seattn's CPU reference fed the same
 * values. It links the Vulkan loader itself, with prototypes, as most apps do.
 *
 * Run: host_app [--require-validation]. Exit status 0 when the results match, the validation
 * layer (when present) said nothing, and seattn freed every allocation it made through the
 * app's VkAllocationCallbacks.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <seattn/seattn_vulkan.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_VK(call)                                                                             \
    do {                                                                                           \
        VkResult r_ = (call);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                    \
            fprintf(stderr, "host_app: %s returned %d\n", #call, (int)r_);                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CHECK_SEATTN(ctx, call)                                                                    \
    do {                                                                                           \
        seattn_status s_ = (call);                                                                 \
        if (s_ != SEATTN_SUCCESS) {                                                                \
            fprintf(stderr, "host_app: %s: %s (%s)\n", #call, seattn_status_string(s_),            \
                    (ctx) ? seattn_context_last_error(ctx) : seattn_last_create_error());          \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* ---- The app's allocation callbacks: count what seattn allocates through them ---------- */

typedef struct {
    long live, total;
} alloc_count;

static void *VKAPI_CALL app_alloc(void *user, size_t size, size_t align,
                                  VkSystemAllocationScope scope) {
    (void)scope;
    alloc_count *c = user;
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
    c->live++;
    c->total++;
    return p;
}
static void VKAPI_CALL app_free(void *user, void *p) {
    if (!p) return;
    free(p);
    ((alloc_count *)user)->live--;
}

/* realloc needs the old size to copy safely: keep each block's size in front of it. */
typedef struct {
    size_t size;
    size_t pad[3]; /* 32 bytes: keeps every alignment up to 32 */
} block_head;
static void *VKAPI_CALL sized_alloc(void *user, size_t size, size_t align,
                                    VkSystemAllocationScope scope) {
    if (align > sizeof(block_head)) return NULL; /* not asked for by the drivers we run on */
    block_head *h = app_alloc(user, sizeof(block_head) + size, sizeof(block_head), scope);
    if (!h) return NULL;
    h->size = size;
    return h + 1;
}
static void VKAPI_CALL sized_free(void *user, void *p) {
    if (p) app_free(user, (block_head *)p - 1);
}
static void *VKAPI_CALL sized_realloc(void *user, void *old, size_t size, size_t align,
                                      VkSystemAllocationScope scope) {
    if (!old) return sized_alloc(user, size, align, scope);
    if (size == 0) {
        sized_free(user, old);
        return NULL;
    }
    void *p = sized_alloc(user, size, align, scope);
    if (!p) return NULL;
    const size_t keep = ((block_head *)old - 1)->size;
    memcpy(p, old, keep < size ? keep : size);
    sized_free(user, old);
    return p;
}

/* ---- The validation layer's messages ---------------------------------------------------- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *d,
                                                 void *user) {
    (void)type;
    if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        ++*(int *)user;
        fprintf(stderr, "validation: %s\n", d->pMessage);
    }
    return VK_FALSE;
}

static int has_layer(const char *name) {
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

/* ---- The app's buffers --------------------------------------------------------------------- */

typedef struct {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;
} app_buffer;

static app_buffer make_buffer(VkPhysicalDevice phys, VkDevice dev, VkDeviceSize size,
                              VkBufferUsageFlags usage, int host) {
    app_buffer b = {0};
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    CHECK_VK(vkCreateBuffer(dev, &bci, NULL, &b.buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, b.buffer, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(phys, &mp);
    const VkMemoryPropertyFlags want =
        host ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
             : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            type = i;
    if (type == UINT32_MAX) {
        fprintf(stderr, "host_app: no memory type\n");
        exit(1);
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = type};
    CHECK_VK(vkAllocateMemory(dev, &ai, NULL, &b.memory));
    CHECK_VK(vkBindBufferMemory(dev, b.buffer, b.memory, 0));
    if (host) CHECK_VK(vkMapMemory(dev, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped));
    return b;
}

static void free_buffer(VkDevice dev, app_buffer *b) {
    vkDestroyBuffer(dev, b->buffer, NULL);
    vkFreeMemory(dev, b->memory, NULL);
}

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags src, VkAccessFlags src_access,
                    VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = src_access,
                          .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* ---- The model's shapes -------------------------------------------------------------------- */

enum { N_HEADS = 8, N_KV = 2, D = 64, KV_LEN = 300, Q_LEN = 4 };

int main(int argc, char **argv) {
    const int require_validation = argc > 1 && strcmp(argv[1], "--require-validation") == 0;

    /* 1. The app's instance (Vulkan 1.1), with the validation layer when installed. */
    int messages = 0;
    const int validation = has_layer("VK_LAYER_KHRONOS_validation");
    if (!validation && require_validation) {
        fprintf(stderr, "host_app: VK_LAYER_KHRONOS_validation is not installed\n");
        return 1;
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
        .pfnUserCallback = on_message,
        .pUserData = &messages};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "seattn host_app",
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = validation ? &mci : NULL,
                                .pApplicationInfo = &app,
                                .enabledLayerCount = validation ? 1 : 0,
                                .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = validation ? 1 : 0,
                                .ppEnabledExtensionNames = &ext};
    VkInstance instance;
    CHECK_VK(vkCreateInstance(&ici, NULL, &instance));
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(instance,
                                                                  "vkCreateDebugUtilsMessengerEXT");
    if (validation && create_messenger)
        CHECK_VK(create_messenger(instance, &mci, NULL, &messenger));

    /* 2. Its device: the first one, a compute queue, 16-bit storage where there is some. */
    uint32_t n_phys = 1;
    VkPhysicalDevice phys;
    if (vkEnumeratePhysicalDevices(instance, &n_phys, &phys) < 0 || n_phys == 0) {
        fprintf(stderr, "host_app: no Vulkan device\n");
        return 1;
    }
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(phys, &props);
    uint32_t n_fam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n_fam, NULL);
    VkQueueFamilyProperties fams[16];
    if (n_fam > 16) n_fam = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n_fam, fams);
    uint32_t family = 0;
    while (family < n_fam && !(fams[family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        family++;
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    const int f16 = s16.storageBuffer16BitAccess == VK_TRUE;
    VkPhysicalDevice16BitStorageFeatures enable16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = f16 ? VK_TRUE : VK_FALSE};
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &enable16,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci};
    VkDevice dev;
    CHECK_VK(vkCreateDevice(phys, &dci, NULL, &dev));
    VkQueue queue;
    vkGetDeviceQueue(dev, family, 0, &queue);
    printf("host_app: device '%s', KV cache in %s\n", props.deviceName, f16 ? "f16" : "f32");

    /* 3. seattn on the app's objects, with the app's allocation callbacks. */
    alloc_count counts = {0};
    VkAllocationCallbacks callbacks = {.pUserData = &counts,
                                       .pfnAllocation = sized_alloc,
                                       .pfnReallocation = sized_realloc,
                                       .pfnFree = sized_free};
    seattn_context_options opts = {.vk_allocator = &callbacks};
    seattn_vulkan_device import = {.instance = instance,
                                   .instance_api_version = VK_API_VERSION_1_1,
                                   .physical_device = phys,
                                   .device = dev,
                                   .queue = queue,
                                   .queue_family = family,
                                   .get_instance_proc_addr = vkGetInstanceProcAddr,
                                   .enabled = f16 ? SEATTN_VULKAN_STORAGE_16BIT : 0};
    seattn_context *ctx = NULL;
    CHECK_SEATTN(ctx, seattn_context_create_vulkan(&opts, &import, &ctx));

    /* 4. The app's data: one KV cache buffer (K then V, [N_KV, KV_LEN, D]), queries and two
     *    outputs (one per layer), filled through a host-visible staging buffer. */
    const size_t kv_elems = (size_t)N_KV * KV_LEN * D, q_elems = (size_t)N_HEADS * Q_LEN * D;
    const size_t es = f16 ? 2 : 4;
    const VkDeviceSize kv_bytes = 2 * kv_elems * es, q_bytes = q_elems * 4, out_bytes = q_bytes;
    const VkBufferUsageFlags use =
        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    app_buffer cache = make_buffer(phys, dev, kv_bytes, use, 0);
    app_buffer qbuf = make_buffer(phys, dev, q_bytes, use, 0);
    app_buffer outs = make_buffer(phys, dev, 2 * out_bytes, use, 0);
    app_buffer staging =
        make_buffer(phys, dev, kv_bytes + q_bytes + 2 * out_bytes,
                    VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, 1);
    float *kv = malloc(2 * kv_elems * 4), *q = malloc(q_bytes);
    uint32_t seed = 12345;
    for (size_t i = 0; i < 2 * kv_elems; i++) {
        seed = seed * 1664525u + 1013904223u;
        kv[i] = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    for (size_t i = 0; i < q_elems; i++) {
        seed = seed * 1664525u + 1013904223u;
        q[i] = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    char *st = staging.mapped;
    if (f16) {
        uint16_t *h = (uint16_t *)st;
        for (size_t i = 0; i < 2 * kv_elems; i++) {
            _Float16 x = (_Float16)kv[i];
            memcpy(&h[i], &x, 2);
            kv[i] = (float)x; /* what the reference must see */
        }
    } else {
        memcpy(st, kv, kv_bytes);
    }
    memcpy(st + kv_bytes, q, q_bytes);

    /* Tensors that wrap the app's buffers: K and V are two views of the one cache buffer. */
    seattn_tensor *tk, *tv, *tq, *to1, *to2;
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, cache.buffer, 0, kv_elems * es, use, &tk));
    CHECK_SEATTN(
        ctx, seattn_tensor_wrap_vulkan(ctx, cache.buffer, kv_elems * es, kv_elems * es, use, &tv));
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, qbuf.buffer, 0, q_bytes, use, &tq));
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, outs.buffer, 0, out_bytes, use, &to1));
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, outs.buffer, out_bytes, out_bytes, use, &to2));

    /* Layer 1: Self-Extend over the cache; layer 2: plain RoPE attention over the same cache. */
    seattn_attention_desc layer1 = {.n_heads = N_HEADS,
                                    .n_kv_heads = N_KV,
                                    .head_dim = D,
                                    .q_len = Q_LEN,
                                    .kv_len = KV_LEN,
                                    .group_size = 4,
                                    .neighbor_window = 32,
                                    .k_type = f16 ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32,
                                    .v_type = f16 ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32};
    seattn_attention_desc layer2 = layer1;
    layer2.group_size = 1;
    layer2.neighbor_window = 0;
    const seattn_attention_tensors t1 = {.q = tq, .k = tk, .v = tv, .out = to1};
    const seattn_attention_tensors t2 = {.q = tq, .k = tk, .v = tv, .out = to2};

    /* 5. The app's command buffer: its copies, seattn's dispatches, its readback. */
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = family};
    VkCommandPool pool;
    CHECK_VK(vkCreateCommandPool(dev, &pci, NULL, &pool));
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VkCommandBuffer cb;
    CHECK_VK(vkAllocateCommandBuffers(dev, &cai, &cb));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    CHECK_VK(vkBeginCommandBuffer(cb, &bi));
    VkBufferCopy up_kv = {0, 0, kv_bytes}, up_q = {kv_bytes, 0, q_bytes};
    vkCmdCopyBuffer(cb, staging.buffer, cache.buffer, 1, &up_kv);
    vkCmdCopyBuffer(cb, staging.buffer, qbuf.buffer, 1, &up_q);
    vkCmdFillBuffer(cb, outs.buffer, 0, VK_WHOLE_SIZE, 0); /* the app's own work on out */
    /* before seattn: the app's transfer writes -> compute reads and writes (seattn_vulkan.h) */
    barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    CHECK_SEATTN(ctx, seattn_attention_record(ctx, cb, &layer1, &t1));
    CHECK_SEATTN(ctx, seattn_attention_record(ctx, cb, &layer2, &t2));
    /* after seattn: compute writes -> the app's transfer reads */
    barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
            VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferCopy down = {0, kv_bytes + q_bytes, 2 * out_bytes};
    vkCmdCopyBuffer(cb, outs.buffer, staging.buffer, 1, &down);
    barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    CHECK_VK(vkEndCommandBuffer(cb));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    CHECK_VK(vkCreateFence(dev, &fci, NULL, &fence));
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    CHECK_VK(vkQueueSubmit(queue, 1, &si, fence));
    CHECK_VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 60ull * 1000 * 1000 * 1000));
    CHECK_SEATTN(ctx, seattn_context_recycle(ctx)); /* the recordings have run */

    /* 6. Check against the CPU reference fed the same (f16-rounded) values. */
    seattn_context_options cpu_opts = {.backend = SEATTN_BACKEND_CPU};
    seattn_context *cpu = NULL;
    CHECK_SEATTN(cpu, seattn_context_create(&cpu_opts, &cpu));
    seattn_tensor *ck, *cv, *cq, *co;
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, kv_elems * 4, &ck));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, kv_elems * 4, &cv));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, q_bytes, &cq));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, out_bytes, &co));
    CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, ck, 0, kv, kv_elems * 4));
    CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, cv, 0, kv + kv_elems, kv_elems * 4));
    CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, cq, 0, q, q_bytes));
    const float *got = (const float *)(st + kv_bytes + q_bytes);
    float *want = malloc(out_bytes);
    double worst = 0.0;
    for (int l = 0; l < 2; l++) {
        seattn_attention_desc d = l == 0 ? layer1 : layer2;
        d.k_type = d.v_type = SEATTN_DTYPE_F32; /* the same values, widened */
        CHECK_SEATTN(cpu, seattn_attention(cpu, &d, cq, ck, cv, co, NULL));
        CHECK_SEATTN(cpu, seattn_tensor_download(cpu, co, 0, want, out_bytes));
        double e = 0.0;
        for (size_t i = 0; i < q_elems; i++) {
            const double diff = fabs((double)got[l * q_elems + i] - want[i]);
            e = isnan(diff) || diff > e ? diff : e;
        }
        printf("host_app: layer %d (%s): max |vulkan - cpu reference| = %.2e\n", l + 1,
               l == 0 ? "Self-Extend G4 W32" : "plain RoPE", e);
        worst = isnan(e) || e > worst ? e : worst;
    }
    seattn_call_stats stats;
    seattn_context_last_call(ctx, &stats);
    printf("host_app: recorded as %u dispatches each (%s)\n", stats.dispatches, stats.kernel);

    /* 7. Tear down: seattn first (it never destroys the app's objects), then the app. */
    seattn_tensor *all[] = {tk, tv, tq, to1, to2, ck, cv, cq, co};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    seattn_context_destroy(cpu);
    seattn_context_destroy(ctx);
    printf("host_app: seattn made %ld host allocations through the app's callbacks, %ld still "
           "live after destroy\n",
           counts.total, counts.live);
    vkDestroyFence(dev, fence, NULL);
    vkDestroyCommandPool(dev, pool, NULL);
    free_buffer(dev, &cache);
    free_buffer(dev, &qbuf);
    free_buffer(dev, &outs);
    free_buffer(dev, &staging);
    vkDestroyDevice(dev, NULL);
    if (messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy_messenger(instance, messenger, NULL);
    }
    vkDestroyInstance(instance, NULL);
    free(kv);
    free(q);
    free(want);

    /* f32 kernels against the double reference on the same values (as the tests allow) */
    const int ok = worst <= 1e-4 && messages == 0 && counts.live == 0 && counts.total > 0;
    printf("host_app: validation %s, %d messages; %s\n", validation ? "on" : "not installed",
           messages, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
