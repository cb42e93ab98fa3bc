/*
 * An engine's view of seattn: the app owns the Vulkan instance, device, queue, its KV cache
 * buffer (f16 where the device has 16-bit storage) and its command buffer. It hands them to
 * seattn, records two attention calls (two "layers") into its own command buffer between its
 * own copies, submits, and checks the outputs against seattn's CPU reference fed the same
 * values. It links the Vulkan loader itself, with prototypes, as most apps do.
 *
 * Run: host_app [--require-validation] [--callbacks-may-be-dropped]. The second is for Wine,
 * whose Vulkan (winevulkan) does not hand an app's allocation callbacks on to the driver, so
 * that none are seen there. (Windows too: the aligned allocations are _aligned_malloc's.) Exit
 * status 0 when the results match, the validation layer (when present) said nothing, and seattn
 * freed every allocation it made through the app's VkAllocationCallbacks.
 */
#if !defined(_WIN32)
#    define _POSIX_C_SOURCE 200809L /* posix_memalign */
#endif
#include "app_vulkan.h"

#include <math.h>

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
#if defined(_WIN32) /* the C runtime's aligned blocks, freed with _aligned_free */
    if (!(p = _aligned_malloc(size ? size : 1, align))) return NULL;
#else
    if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
#endif
    c->live++;
    c->total++;
    return p;
}
static void VKAPI_CALL app_free(void *user, void *p) {
    if (!p) return;
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
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

/* ---- The model's shapes -------------------------------------------------------------------- */

enum { N_HEADS = 8, N_KV = 2, D = 64, KV_LEN = 300, Q_LEN = 4 };

int main(int argc, char **argv) {
    app_name = "host_app";
    int require_validation = 0, callbacks_may_be_dropped = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--require-validation") == 0)
            require_validation = 1;
        else if (strcmp(argv[i], "--callbacks-may-be-dropped") == 0)
            callbacks_may_be_dropped = 1;
        else {
            fprintf(stderr,
                    "usage: host_app [--require-validation] [--callbacks-may-be-dropped]\n");
            return 2;
        }
    }

    /* 1, 2. The app's instance and device (app_vulkan.h). */
    app_vulkan a;
    if (app_vulkan_create(
            &a, require_validation ? APP_VALIDATION_REQUIRED : APP_VALIDATION_IF_INSTALLED, 1) != 0)
        return 1;
    const int f16 = a.f16;
    printf("host_app: device '%s', KV cache in %s\n", a.props.deviceName, f16 ? "f16" : "f32");

    /* 3. seattn on the app's objects, with the app's allocation callbacks. */
    alloc_count counts = {0};
    VkAllocationCallbacks callbacks = {.pUserData = &counts,
                                       .pfnAllocation = sized_alloc,
                                       .pfnReallocation = sized_realloc,
                                       .pfnFree = sized_free};
    seattn_context_options opts = {.vk_allocator = &callbacks};
    seattn_vulkan_device import = app_vulkan_import(&a);
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
    app_buffer cache = app_buffer_create(&a, kv_bytes, use, 0);
    app_buffer qbuf = app_buffer_create(&a, q_bytes, use, 0);
    app_buffer outs = app_buffer_create(&a, 2 * out_bytes, use, 0);
    app_buffer staging =
        app_buffer_create(&a, kv_bytes + q_bytes + 2 * out_bytes,
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
    VkCommandBuffer cb = app_begin(&a); /* from the app's command pool */
    VkBufferCopy up_kv = {0, 0, kv_bytes}, up_q = {kv_bytes, 0, q_bytes};
    vkCmdCopyBuffer(cb, staging.buffer, cache.buffer, 1, &up_kv);
    vkCmdCopyBuffer(cb, staging.buffer, qbuf.buffer, 1, &up_q);
    vkCmdFillBuffer(cb, outs.buffer, 0, VK_WHOLE_SIZE, 0); /* the app's own work on out */
    /* before seattn: the app's transfer writes -> compute reads and writes (seattn_vulkan.h) */
    app_barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    CHECK_SEATTN(ctx, seattn_attention_record(ctx, cb, &layer1, &t1));
    CHECK_SEATTN(ctx, seattn_attention_record(ctx, cb, &layer2, &t2));
    /* after seattn: compute writes -> the app's transfer reads */
    app_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferCopy down = {0, kv_bytes + q_bytes, 2 * out_bytes};
    vkCmdCopyBuffer(cb, outs.buffer, staging.buffer, 1, &down);
    app_barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    CHECK_VK(vkEndCommandBuffer(cb));
    app_submit_wait(&a, cb);
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
    app_buffer_destroy(&a, &cache);
    app_buffer_destroy(&a, &qbuf);
    app_buffer_destroy(&a, &outs);
    app_buffer_destroy(&a, &staging);
    app_vulkan_destroy(&a);
    free(kv);
    free(q);
    free(want);

    /* f32 kernels against the double reference on the same values (as the tests allow) */
    const int ok = worst <= 1e-4 && a.messages == 0 && counts.live == 0 &&
                   (counts.total > 0 || callbacks_may_be_dropped);
    printf("host_app: validation %s, %d messages; %s\n", a.validation ? "on" : "not installed",
           a.messages, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
