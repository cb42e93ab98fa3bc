/* Device limits, each driven on lavapipe by lowering it (SEATTN_TEST_LIMITS, read at context
 * creation): a request past a limit is refused before any work with a status that names the
 * limit, or split so that it works. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static seattn_context *limited(const char *limits, int portable) {
    setenv("SEATTN_TEST_LIMITS", limits, 1);
    if (portable) setenv("SEATTN_PORTABLE", "1", 1);
    seattn_context *ctx = tu_vulkan();
    unsetenv("SEATTN_TEST_LIMITS");
    unsetenv("SEATTN_PORTABLE");
    return ctx;
}

/* Runs d on ctx and on the CPU reference; expects success and agreement; returns the number of
 * dispatches the Vulkan call recorded, its kernel's description in kernel and its id in id. */
static uint32_t agree_id(seattn_context *ctx, const seattn_attention_desc *d, char *kernel,
                         int32_t *id) {
    seattn_context *cpu = tu_cpu();
    seattn_attention_desc r;
    cr_assert_eq(seattn_attention_desc_check(cpu, d, &r), SEATTN_SUCCESS);
    const size_t nq = tu_q_elems(&r), nk = tu_kv_elems(&r, 0), no = tu_out_elems(&r);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4);
    float *a = malloc(no * 4), *b = malloc(no * 4);
    tu_fill(q, nq, 5);
    tu_fill(k, nk, 6);
    tu_fill(v, nk, 7);
    cr_assert_eq(tu_run(ctx, d, q, k, v, a, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_call_stats st;
    seattn_context_last_call(ctx, &st);
    strcpy(kernel, st.kernel);
    if (id) *id = st.kernel_id;
    cr_assert_eq(tu_run(cpu, d, q, k, v, b, NULL), SEATTN_SUCCESS);
    const double e = tu_max_err(&r, a, b);
    cr_expect(e <= 1e-4, "%s: max err %.3e", st.kernel, e);
    free(q);
    free(k);
    free(v);
    free(a);
    free(b);
    seattn_context_destroy(cpu);
    return st.dispatches;
}

static uint32_t agree(seattn_context *ctx, const seattn_attention_desc *d, char *kernel) {
    return agree_id(ctx, d, kernel, NULL);
}

/* maxStorageBufferRange: a view past it is refused, naming the limit, output untouched. */
Test(limits, storage_buffer_range) {
    seattn_context *ctx = limited("storage_range=65536", 1);
    seattn_attention_desc d = {.n_heads = 2,
                               .n_kv_heads = 2,
                               .head_dim = 64,
                               .q_len = 4,
                               .kv_len = 100}; /* K: 2 x 100 x 64 floats = 51200 bytes */
    char kernel[96];
    agree(ctx, &d, kernel); /* within the limit */
    d.kv_len = 200;         /* 102400 bytes */
    float out[2 * 4 * 64];
    for (int i = 0; i < 2 * 4 * 64; i++)
        out[i] = 7.0f;
    seattn_tensor *tq, *tk, *to;
    cr_assert_eq(seattn_tensor_create(ctx, 2 * 4 * 64 * 4, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, 2 * 200 * 64 * 4, &tk), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, sizeof out, &to), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_upload(ctx, to, 0, out, sizeof out), SEATTN_SUCCESS);
    cr_expect_eq(seattn_attention(ctx, &d, tq, tk, tk, to, NULL), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "maxStorageBufferRange"), "%s",
              seattn_context_last_error(ctx));
    float back[2 * 4 * 64];
    cr_assert_eq(seattn_tensor_download(ctx, to, 0, back, sizeof back), SEATTN_SUCCESS);
    cr_expect(memcmp(back, out, sizeof out) == 0, "out was written");
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(to);
    tu_finish(ctx);
}

/* maxTexelBufferElements: the texel kernel steps aside for flash_smem. (The RoPE
 * table, 4096 positions x 32 pairs here, is a texel view too.) */
Test(limits, texel_buffer_elements) {
    seattn_context *ctx = limited("texel_elements=200000", 0);
    seattn_attention_desc d = tu_desc(4, 2, 64, 8, 100, 4, 4);
    char kernel[96];
    int32_t id = -1;
    agree_id(ctx, &d, kernel, &id); /* K: 12800 elements */
    cr_expect_eq(id, SEATTN_KERNEL_TEXEL, "%s", kernel);
    d.kv_len = 2000; /* 256000 elements */
    agree_id(ctx, &d, kernel, &id);
    cr_expect_eq(id, SEATTN_KERNEL_FLASH, "%s", kernel);
    cr_expect(strncmp(kernel, "flash_smem", 10) == 0, "%s", kernel);
    tu_finish(ctx);
}

/* maxComputeWorkGroupCount[0]: long query runs go in chunks of dispatches, on both kernels. */
Test(limits, workgroup_count) {
    for (int portable = 0; portable < 2; portable++) {
        seattn_context *ctx = limited("workgroups_x=3", portable);
        seattn_attention_desc d = tu_desc(8, 2, 64, 300, 300, 4, 32);
        char kernel[96];
        const uint32_t n = agree(ctx, &d, kernel);
        cr_expect_gt(n, 2, "%s: %u dispatches", kernel, n);
        d.q_len = 1; /* decode, split */
        agree(ctx, &d, kernel);
        /* a split prefill: the merge takes one workgroup per token, so its chunks too stay
         * within 3 workgroups: 300 tokens are at least 100 (attention, merge) pairs */
        setenv("SEATTN_SPLIT", "2", 1); /* read once, at context creation */
        seattn_context *split = limited("workgroups_x=3", portable);
        unsetenv("SEATTN_SPLIT");
        d.q_len = 300;
        const uint32_t m = agree(split, &d, kernel);
        tu_finish(split);
        cr_expect(strstr(kernel, "+merge"), "%s", kernel);
        cr_expect_geq(m, 200, "%s: %u dispatches for 300 tokens in chunks of 3", kernel, m);
        tu_finish(ctx);
    }
}

/* maxMemoryAllocationSize, and the largest heap: tensors past them are refused, naming them. */
Test(limits, allocation_size) {
    seattn_context *ctx = limited("alloc_size=1048576", 0);
    seattn_tensor *t = NULL;
    cr_expect_eq(seattn_tensor_create(ctx, 2u << 20, &t), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "maxMemoryAllocationSize"), "%s",
              seattn_context_last_error(ctx));
    cr_expect_null(t);
    cr_expect_eq(seattn_tensor_create(ctx, 1u << 20, &t), SEATTN_SUCCESS);
    seattn_tensor_destroy(t);
    tu_finish(ctx);
    ctx = tu_vulkan();
    seattn_device_info info;
    seattn_context_device_info(ctx, &info);
    cr_expect_neq(seattn_tensor_create(ctx, (size_t)info.device_local_bytes + 4096, &t),
                  SEATTN_SUCCESS);
    cr_expect(strstr(seattn_context_last_error(ctx), "heap") ||
                  strstr(seattn_context_last_error(ctx), "maxMemoryAllocationSize"),
              "%s", seattn_context_last_error(ctx));
    cr_expect_neq(seattn_tensor_create(ctx, SIZE_MAX / 2, &t), SEATTN_SUCCESS);
    tu_finish(ctx);
}

/* Every pipeline binds at most 8 storage buffers a stage (issue 26): a device with 8 runs every
 * kernel, the QK-norm weights, the sinks and a paged batch's metadata included (all copied into
 * one binding); a device with 7 storage buffers or resources a stage is refused at context
 * creation, naming the limit. */
Test(limits, eight_storage_buffers_a_stage) {
    const char *kernels[] = {"texel", "flash_sg", "flash_smem"};
    for (int i = 0; i < 3; i++) {
        setenv("SEATTN_TEST_LIMITS", "storage_buffers=8,stage_resources=8", 1);
        seattn_context_options o = {.kernel = kernels[i]};
        seattn_context *ctx = NULL;
        const seattn_status s = seattn_context_create(&o, &ctx);
        unsetenv("SEATTN_TEST_LIMITS");
        if (s == SEATTN_ERROR_NO_DEVICE) tu_no_device(seattn_last_create_error());
        cr_assert_eq(s, SEATTN_SUCCESS, "%s: %s", kernels[i], seattn_last_create_error());
        seattn_attention_desc d = {.n_heads = 4,
                                   .n_kv_heads = 2,
                                   .head_dim = 32,
                                   .q_len = 3,
                                   .kv_len = 40,
                                   .group_size = 4,
                                   .neighbor_window = 8,
                                   .flags = SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM};
        char kernel[64];
        agree(ctx, &d, kernel);
        cr_expect(strncmp(kernel, i == 2 ? "flash" : kernels[i], 5) == 0, "%s", kernel);
        seattn_context_destroy(ctx);
    }
    const char *low[][2] = {{"storage_buffers=7", "maxPerStageDescriptorStorageBuffers"},
                            {"stage_resources=7", "maxPerStageResources"}};
    for (int i = 0; i < 2; i++) {
        setenv("SEATTN_TEST_LIMITS", low[i][0], 1);
        seattn_context_options o = {0};
        seattn_context *ctx = NULL;
        const seattn_status s = seattn_context_create(&o, &ctx);
        unsetenv("SEATTN_TEST_LIMITS");
        cr_expect_eq(s, SEATTN_ERROR_UNSUPPORTED, "%s", low[i][0]);
        cr_expect(ctx == NULL);
        cr_expect(strstr(seattn_last_create_error(), low[i][1]) != NULL, "%s",
                  seattn_last_create_error());
        seattn_context_destroy(ctx);
    }
}
