/* seattn on an app's own Vulkan objects (seattn_vulkan.h): importing its device, wrapping its
 * buffers, recording into its command buffers, and the checks on each. */
#define _POSIX_C_SOURCE 200809L
#include "../examples/app_vulkan.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static app_vulkan app; /* examples/app_vulkan.h: the examples' app, validation as the tests ask */

static void setup(void) {
    const char *v = getenv("SEATTN_TEST_VALIDATION");
    app_name = "test_interop";
    if (app_vulkan_create(&app,
                          v && strcmp(v, "1") == 0 ? APP_VALIDATION_REQUIRED : APP_VALIDATION_OFF,
                          1) != 0) {
        app_vulkan_destroy(&app);
        tu_no_device("the app could not make its instance and device");
    }
}
static void teardown(void) {
    app_vulkan_destroy(&app);
}
/* seattn's view of the app's device, with enabled as given. */
static seattn_vulkan_device app_import(uint32_t enabled) {
    seattn_vulkan_device d = app_vulkan_import(&app);
    d.enabled = enabled;
    return d;
}
/* A full memory barrier (the app's side of seattn_vulkan.h's rules, at its widest). */
static void full_barrier(VkCommandBuffer cb) {
    app_barrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
                VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}
/* Criterion does not fail a test for an assertion in its .fini (seen: a test with
 * synchronization hazards passed), so every test ends with this. */
static void expect_no_messages(void) {
    cr_expect_eq(app.messages, 0, "%d validation messages (on stderr)", app.messages);
}

static seattn_context *imported(uint32_t enabled) {
    seattn_vulkan_device d = app_import(enabled);
    seattn_context *ctx = NULL;
    cr_assert_eq(seattn_context_create_vulkan(NULL, &d, &ctx), SEATTN_SUCCESS, "%s",
                 seattn_last_create_error());
    return ctx;
}

static const VkBufferUsageFlags USE =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
    VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

TestSuite(interop, .init = setup, .fini = teardown, .timeout = 600);

Test(interop, import_is_checked) {
    seattn_context *ctx = (seattn_context *)1;
    cr_expect_eq(seattn_context_create_vulkan(NULL, NULL, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_null(ctx);
    seattn_vulkan_device d = app_import(0);
    d.device = VK_NULL_HANDLE;
    cr_expect_eq(seattn_context_create_vulkan(NULL, &d, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_last_create_error(), "device"));
    d = app_import(0);
    d.instance_api_version = VK_API_VERSION_1_0;
    cr_expect_eq(seattn_context_create_vulkan(NULL, &d, &ctx), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_last_create_error(), "1.1"));
    d = app_import(0);
    d.queue_family = 99;
    cr_expect_eq(seattn_context_create_vulkan(NULL, &d, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_last_create_error(), "queue_family"));
    d = app_import(0x80);
    cr_expect_eq(seattn_context_create_vulkan(NULL, &d, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    d = app_import(0);
    seattn_context_options o = {.backend = SEATTN_BACKEND_CPU};
    cr_expect_eq(seattn_context_create_vulkan(&o, &d, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_null(ctx);
    /* and a good one: destroying it leaves the app's device working */
    ctx = imported(0);
    seattn_context_destroy(ctx);
    cr_expect_eq(vkDeviceWaitIdle(app.dev), VK_SUCCESS);
    expect_no_messages();
}

Test(interop, wrapped_buffers_are_checked) {
    seattn_context *ctx = imported(0);
    app_buffer b = app_buffer_create(&app, 4096, USE, 1);
    app_buffer ro = app_buffer_create(&app, 4096, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 1);
    seattn_tensor *t = NULL;
    cr_expect_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 2, 64, USE, &t),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "multiple of 4"));
    cr_expect_eq(
        seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, 64, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &t),
        SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "STORAGE_BUFFER"));
    cr_expect_eq(seattn_tensor_wrap_vulkan(ctx, VK_NULL_HANDLE, 0, 64, USE, &t),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, 0, USE, &t),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_null(t);
    /* copies through a wrapped buffer need its transfer usage */
    cr_assert_eq(
        seattn_tensor_wrap_vulkan(ctx, ro.buffer, 0, 4096, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &t),
        SEATTN_SUCCESS);
    float x[4] = {1, 2, 3, 4};
    cr_expect_eq(seattn_tensor_upload(ctx, t, 0, x, sizeof x), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "TRANSFER_DST"));
    seattn_tensor_destroy(t);
    /* ... and with it, they land at the wrapped offset of the app's buffer */
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 256, 1024, USE, &t), SEATTN_SUCCESS);
    cr_expect_eq(seattn_tensor_upload(ctx, t, 16, x, sizeof x), SEATTN_SUCCESS);
    cr_expect(memcmp((char *)b.mapped + 256 + 16, x, sizeof x) == 0);
    VkBuffer got = VK_NULL_HANDLE;
    VkDeviceSize off = 0;
    cr_expect_eq(seattn_tensor_vulkan_buffer(t, &got, &off), SEATTN_SUCCESS);
    cr_expect(got == b.buffer && off == 256);
    seattn_tensor_destroy(t);
    seattn_context_destroy(ctx);
    app_buffer_destroy(&app, &b);
    app_buffer_destroy(&app, &ro);
    expect_no_messages();
}

/* Two wrapped views of one buffer overlap: an output over the keys is refused. */
Test(interop, overlap_across_wrapped_tensors) {
    seattn_context *ctx = imported(0);
    app_buffer b = app_buffer_create(&app, 1 << 16, USE, 1);
    seattn_tensor *q, *kv, *out;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, 4096, USE, &q), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 4096, 8192, USE, &kv), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 8192, 4096, USE, &out), SEATTN_SUCCESS);
    /* k spans bytes 4096 .. 12287 of the buffer, out 8192 .. 8447 */
    seattn_attention_desc d = {.n_heads = 1, .head_dim = 16, .q_len = 4, .kv_len = 128};
    cr_expect_eq(seattn_attention(ctx, &d, q, kv, kv, out, NULL), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "out overlaps k"), "%s",
              seattn_context_last_error(ctx));
    seattn_tensor_destroy(q);
    seattn_tensor_destroy(kv);
    seattn_tensor_destroy(out);
    seattn_context_destroy(ctx);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}

/* On a device the app made without storageBuffer16BitAccess, f16 is refused before any work. */
Test(interop, f16_needs_the_feature) {
    seattn_context *ctx = imported(0);
    app_buffer b = app_buffer_create(&app, 1 << 16, USE, 1);
    memset(b.mapped, 0x55, 1 << 16);
    seattn_tensor *t;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, 1 << 14, USE, &t), SEATTN_SUCCESS);
    seattn_tensor *o;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 1 << 15, 1 << 14, USE, &o),
                 SEATTN_SUCCESS);
    seattn_attention_desc d = {
        .n_heads = 2, .head_dim = 32, .q_len = 8, .kv_len = 8, .k_type = SEATTN_DTYPE_F16};
    cr_expect_eq(seattn_attention(ctx, &d, t, t, t, o, NULL), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "storageBuffer16BitAccess"), "%s",
              seattn_context_last_error(ctx));
    const seattn_attention_tensors ts = {.q = t, .k = t, .v = t, .out = o};
    VkCommandBuffer cb = app_begin(&app);
    cr_expect_eq(seattn_attention_record(ctx, cb, &d, &ts), SEATTN_ERROR_UNSUPPORTED);
    app_finish(&app, cb);
    const unsigned char *p = (const unsigned char *)b.mapped + (1 << 15);
    for (int i = 0; i < 1 << 14; i++)
        cr_assert_eq(p[i], 0x55, "out was written");
    seattn_tensor_destroy(t);
    seattn_tensor_destroy(o);
    seattn_context_destroy(ctx);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}

/* The storage types read as 32-bit words (bf16 q and out, q8_0 k, q4_0 v) run on that same
 * device without 16-bit storage, as the CPU reference computes them; a wrapped k whose view
 * would end inside its last word is refused, saying how many bytes to wrap more. */
Test(interop, word_types_need_no_16bit_storage) {
    seattn_context *ctx = imported(0), *cpu = tu_cpu();
    seattn_attention_desc d = {.n_heads = 2,
                               .n_kv_heads = 1,
                               .head_dim = 32,
                               .q_len = 4,
                               .kv_len = 40,
                               .group_size = 2,
                               .neighbor_window = 5,
                               .q_type = SEATTN_DTYPE_BF16,
                               .k_type = SEATTN_DTYPE_Q8_0,
                               .v_type = SEATTN_DTYPE_Q4_0,
                               .out_type = SEATTN_DTYPE_BF16};
    seattn_attention_desc r;
    cr_assert_eq(seattn_attention_desc_check(cpu, &d, &r), SEATTN_SUCCESS);
    const size_t nq = tu_q_elems(&r), nk = tu_kv_elems(&r, 0), no = tu_out_elems(&r);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4);
    float *ref = malloc(no * 4), *got = malloc(no * 4);
    tu_fill(q, nq, 3);
    tu_fill(k, nk, 5);
    tu_fill(v, nk, 7);
    cr_assert_eq(tu_run(cpu, &d, q, k, v, ref, NULL), SEATTN_SUCCESS);
    cr_assert_eq(tu_run(ctx, &d, q, k, v, got, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    /* the same bf16 rounding of f32 results within 1e-4 of each other: one bf16 ulp apart */
    cr_expect_leq(tu_max_err(&r, ref, got), 1e-4 + 0x1p-7);
    free(q), free(k), free(v), free(ref), free(got);

    /* one q4_0 row of 32 values is 18 bytes: a k of exactly those ends mid-word */
    app_buffer b = app_buffer_create(&app, 1 << 12, USE, 1);
    memset(b.mapped, 0, 1 << 12);
    seattn_tensor *tq, *tk, *to;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, 256, USE, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 1024, 18, USE, &tk), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 2048, 256, USE, &to), SEATTN_SUCCESS);
    seattn_attention_desc one = {
        .n_heads = 1, .head_dim = 32, .q_len = 1, .kv_len = 1, .k_type = SEATTN_DTYPE_Q4_0};
    cr_expect_eq(seattn_attention(ctx, &one, tq, tk, tq, to, NULL), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "wrap 2 more bytes"), "%s",
              seattn_context_last_error(ctx));
    seattn_tensor_destroy(tk);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 1024, 20, USE, &tk), SEATTN_SUCCESS);
    cr_expect_eq(seattn_attention(ctx, &one, tq, tk, tq, to, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(to);
    app_buffer_destroy(&app, &b);
    seattn_context_destroy(cpu);
    seattn_context_destroy(ctx);
    expect_no_messages();
}

/* Many calls recorded into one command buffer before one submit, each a decode step over a
 * longer cache (so the RoPE table and the split scratch grow while earlier recordings still
 * use the old ones), descriptor pools past their first 64 sets, a self-submitting call in
 * between, then a recycle and more recordings. Every output is checked. */
Test(interop, many_recordings_then_one_submit) {
    seattn_context *ctx = imported(app.has16 ? SEATTN_VULKAN_STORAGE_16BIT : 0);
    seattn_context *cpu = tu_cpu();
    enum { N = 90, H = 4, KVH = 1, D = 64, MAXKV = 50 + 5 * N + 200 };
    const size_t qn = (size_t)H * D, kvn = (size_t)KVH * MAXKV * D;
    app_buffer b = app_buffer_create(&app, (qn + 2 * kvn + (N + 1) * qn) * 4, USE, 1);
    float *host = b.mapped, *q = host, *k = host + qn, *v = k + kvn, *outs = v + kvn;
    tu_fill(q, qn, 1);
    tu_fill(k, kvn, 2);
    tu_fill(v, kvn, 3);
    seattn_tensor *tq, *tk, *tv, *to[N + 1];
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, qn * 4, USE, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, qn * 4, kvn * 4, USE, &tk),
                 SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, (qn + kvn) * 4, kvn * 4, USE, &tv),
                 SEATTN_SUCCESS);
    for (int i = 0; i <= N; i++)
        cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, (qn + 2 * kvn + i * qn) * 4, qn * 4,
                                               USE, &to[i]),
                     SEATTN_SUCCESS);
    for (size_t i = 0; i < (N + 1) * qn; i++)
        outs[i] = NAN;
    for (int round = 0; round < 2; round++) {
        const int n = round == 0 ? N : 3;
        VkCommandBuffer cb = app_begin(&app);
        full_barrier(cb);
        for (int i = 0; i < n; i++) {
            seattn_attention_desc d = tu_desc(H, KVH, D, 1, 50u + 5u * (uint32_t)i, 4, 16);
            const seattn_attention_tensors t = {.q = tq, .k = tk, .v = tv, .out = to[i]};
            cr_assert_eq(seattn_attention_record(ctx, cb, &d, &t), SEATTN_SUCCESS, "%s",
                         seattn_context_last_error(ctx));
            if (round == 0 && i == N / 2) { /* a self-submitting call over a longer cache */
                seattn_attention_desc l = d;
                l.kv_len = MAXKV;
                cr_assert_eq(seattn_attention(ctx, &l, tq, tk, tv, to[N], NULL), SEATTN_SUCCESS,
                             "%s", seattn_context_last_error(ctx));
            }
        }
        full_barrier(cb);
        app_finish(&app, cb);
        cr_assert_eq(seattn_context_recycle(ctx), SEATTN_SUCCESS);
        for (int i = 0; i <= n; i++) {
            seattn_attention_desc d = tu_desc(H, KVH, D, 1, 50u + 5u * (uint32_t)i, 4, 16);
            if (i == n) {
                if (round) break;
                d.kv_len = MAXKV;
            }
            float ref[H * D];
            cr_assert_eq(tu_run(cpu, &d, q, k, v, ref, NULL), SEATTN_SUCCESS);
            const float *got = outs + (i == n ? N : i) * qn;
            double e = 0;
            for (size_t j = 0; j < qn; j++)
                e = fmax(e, fabs((double)got[j] - ref[j]));
            for (size_t j = 0; j < qn; j++)
                if (isnan(got[j])) e = NAN;
            cr_expect(e <= 1e-4, "round %d call %d (kv %u): max err %.3e", round, i, d.kv_len, e);
        }
        for (size_t i = 0; i < (N + 1) * qn; i++)
            outs[i] = NAN;
    }
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(tv);
    for (int i = 0; i <= N; i++)
        seattn_tensor_destroy(to[i]);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}

/* Recording never submits: with seattn's device buffers unmapped (as on a discrete GPU), calls
 * with new RoPE tables (three thetas, a growing cache) are recorded while any queue submission
 * would fail (SEATTN_FAULT_DEVICE_LOST); the tables are copied by commands in the app's
 * command buffer, and every output is right once the app submits it. */
Test(interop, recording_never_submits) {
    setenv("SEATTN_TEST_LIMITS", "device_local=1", 1);
    seattn_context *ctx = imported(0);
    unsetenv("SEATTN_TEST_LIMITS");
    seattn_context *cpu = tu_cpu();
    enum { N = 6, H = 4, KVH = 2, D = 64, MAXKV = 700 };
    const float thetas[3] = {10000.0f, 1000000.0f, 500000.0f};
    const size_t qn = (size_t)H * D, kvn = (size_t)KVH * MAXKV * D;
    app_buffer b = app_buffer_create(&app, (qn + 2 * kvn + N * qn) * 4, USE, 1);
    float *host = b.mapped, *q = host, *k = host + qn, *v = k + kvn, *outs = v + kvn;
    tu_fill(q, qn, 4);
    tu_fill(k, kvn, 5);
    tu_fill(v, kvn, 6);
    for (size_t i = 0; i < N * qn; i++)
        outs[i] = NAN;
    seattn_tensor *tq, *tk, *tv, *to[N];
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, 0, qn * 4, USE, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, qn * 4, kvn * 4, USE, &tk),
                 SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, (qn + kvn) * 4, kvn * 4, USE, &tv),
                 SEATTN_SUCCESS);
    for (int i = 0; i < N; i++)
        cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, (qn + 2 * kvn + i * qn) * 4, qn * 4,
                                               USE, &to[i]),
                     SEATTN_SUCCESS);
    seattn_attention_desc d[N];
    VkCommandBuffer cb = app_begin(&app);
    full_barrier(cb);
    seattn_debug_fault(SEATTN_FAULT_DEVICE_LOST, 1); /* the first submission would fail */
    for (int i = 0; i < N; i++) {
        d[i] = tu_desc(H, KVH, D, 1, 100u + 120u * (uint32_t)i, 4, 16);
        d[i].rope_theta = thetas[i % 3];
        const seattn_attention_tensors t = {.q = tq, .k = tk, .v = tv, .out = to[i]};
        cr_assert_eq(seattn_attention_record(ctx, cb, &d[i], &t), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx));
    }
    cr_expect_eq(seattn_debug_fault(0, 0), 0, "recording submitted work");
    full_barrier(cb);
    app_finish(&app, cb);
    cr_assert_eq(seattn_context_recycle(ctx), SEATTN_SUCCESS);
    for (int i = 0; i < N; i++) {
        float ref[H * D];
        cr_assert_eq(tu_run(cpu, &d[i], q, k, v, ref, NULL), SEATTN_SUCCESS);
        double e = 0;
        for (size_t j = 0; j < qn; j++)
            e = isnan(outs[i * qn + j]) ? NAN : fmax(e, fabs((double)outs[i * qn + j] - ref[j]));
        cr_expect(e <= 1e-4, "call %d (theta %g, kv %u): max err %.3e", i, d[i].rope_theta,
                  d[i].kv_len, e);
    }
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(tv);
    for (int i = 0; i < N; i++)
        seattn_tensor_destroy(to[i]);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}

/* The authors' two-pass method inside an app's command buffer: the neighbor-only and the
 * grouped-only halves recorded, then merged by seattn_attention_merge_record(), one submit;
 * the merge equals the fused attention (out and lse). */
Test(interop, two_halves_and_their_merge_recorded) {
    seattn_context *ctx = imported(0);
    seattn_context *cpu = tu_cpu();
    enum { H = 4, KVH = 2, D = 64, T = 40 };
    seattn_attention_desc d = tu_desc(H, KVH, D, T, T, 4, 8);
    const size_t qn = (size_t)H * T * D, kvn = (size_t)KVH * T * D, ln = (size_t)H * T;
    app_buffer b = app_buffer_create(&app, (qn + 2 * kvn + 3 * qn + 3 * ln) * 4, USE, 1);
    float *q = b.mapped, *k = q + qn, *v = k + kvn, *o = v + kvn, *l = o + 3 * qn;
    tu_fill(q, qn, 31);
    tu_fill(k, kvn, 32);
    tu_fill(v, kvn, 33);
    for (size_t i = 0; i < 3 * qn + 3 * ln; i++)
        o[i] = NAN;
    seattn_tensor *tq, *tk, *tv, *to[3], *tl[3];
    size_t at = 0;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, qn * 4, USE, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at += qn * 4, kvn * 4, USE, &tk),
                 SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at += kvn * 4, kvn * 4, USE, &tv),
                 SEATTN_SUCCESS);
    at += kvn * 4;
    for (int i = 0; i < 3; i++, at += qn * 4)
        cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, qn * 4, USE, &to[i]),
                     SEATTN_SUCCESS);
    for (int i = 0; i < 3; i++, at += ln * 4)
        cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, ln * 4, USE, &tl[i]),
                     SEATTN_SUCCESS);
    VkCommandBuffer cb = app_begin(&app);
    full_barrier(cb);
    const uint32_t halves[2] = {SEATTN_ATTN_NEIGHBOR_ONLY, SEATTN_ATTN_GROUPED_ONLY};
    for (int i = 0; i < 2; i++) {
        seattn_attention_desc h = d;
        h.flags |= halves[i];
        const seattn_attention_tensors t = {.q = tq, .k = tk, .v = tv, .out = to[i], .lse = tl[i]};
        cr_assert_eq(seattn_attention_record(ctx, cb, &h, &t), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx));
    }
    cr_assert_eq(
        seattn_attention_merge_record(ctx, cb, &d, to[0], tl[0], to[1], tl[1], to[2], tl[2]),
        SEATTN_SUCCESS, "%s", seattn_context_last_error(ctx));
    seattn_call_stats st;
    cr_assert_eq(seattn_context_last_call(ctx, &st), SEATTN_SUCCESS);
    cr_expect_eq(st.kernel_id, SEATTN_KERNEL_MERGE, "%s", st.kernel);
    cr_expect(st.device_ms < 0, "a recorded call has no device time");
    full_barrier(cb);
    app_finish(&app, cb);
    cr_assert_eq(seattn_context_recycle(ctx), SEATTN_SUCCESS);
    float *ref = malloc(qn * 4), *ref_l = malloc(ln * 4);
    cr_assert_eq(tu_run(cpu, &d, q, k, v, ref, ref_l), SEATTN_SUCCESS);
    const float *got = o + 2 * qn, *got_l = l + 2 * ln;
    double e = 0, el = 0;
    for (size_t i = 0; i < qn; i++)
        e = isnan(got[i]) ? NAN : fmax(e, fabs((double)got[i] - ref[i]));
    for (size_t i = 0; i < ln; i++)
        el = isnan(got_l[i]) ? NAN : fmax(el, fabs((double)got_l[i] - ref_l[i]));
    cr_expect(e <= 1e-4, "merged out: max err %.3e", e);
    cr_expect(el <= 1e-4, "merged lse: max err %.3e", el);
    /* a CPU context cannot record */
    cr_expect_eq(seattn_attention_merge_record(cpu, cb, &d, NULL, NULL, NULL, NULL, NULL, NULL),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    free(ref);
    free(ref_l);
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(tv);
    for (int i = 0; i < 3; i++) {
        seattn_tensor_destroy(to[i]);
        seattn_tensor_destroy(tl[i]);
    }
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}

/* A serving engine's step: a batch recorded once into the app's command buffer and replayed,
 * the metadata (lengths, positions, free slots, the block table) changed in place between
 * replays by host writes; every replay gives every sequence its own attention. */
Test(interop, batch_recorded_once_replayed) {
    seattn_context *ctx = imported(0);
    seattn_context *cpu = tu_cpu();
    enum { H = 2, KVH = 1, D = 32, P = 4, PAGES = 32, POOL = P * PAGES, S = 3, QT = 6 };
    const size_t qn = (size_t)H * QT * D, kn = (size_t)KVH * POOL * D;
    const size_t words = 5 * S + PAGES;
    app_buffer b = app_buffer_create(&app, (qn * 2 + kn * 2 + words) * 4, USE, 1);
    float *q = b.mapped, *k = q + qn, *v = k + kn, *out = v + kn;
    uint32_t *seqs = (uint32_t *)(out + qn), *bt = seqs + 5 * S;
    tu_fill(q, qn, 5);
    tu_fill(k, kn, 6);
    tu_fill(v, kn, 7);
    seattn_tensor *tq, *tk, *tv, *to, *ts, *tb;
    size_t at = 0;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, qn * 4, USE, &tq), SEATTN_SUCCESS);
    at += qn * 4;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, kn * 4, USE, &tk), SEATTN_SUCCESS);
    at += kn * 4;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, kn * 4, USE, &tv), SEATTN_SUCCESS);
    at += kn * 4;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, qn * 4, USE, &to), SEATTN_SUCCESS);
    at += qn * 4;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, 5 * S * 4, USE, &ts), SEATTN_SUCCESS);
    at += 5 * S * 4;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, PAGES * 4, USE, &tb), SEATTN_SUCCESS);
    seattn_attention_desc d = tu_desc(H, KVH, D, 1, 1, 4, 8);
    d.q_len = d.kv_len = 0;
    const seattn_batch_desc bd = {.n_seqs = S,
                                  .max_q_len = 2,
                                  .max_kv_len = 40,
                                  .q_tokens = QT,
                                  .kv_tokens = POOL,
                                  .page_size = P,
                                  .block_table_len = PAGES};
    const seattn_attention_tensors t = {.q = tq, .k = tk, .v = tv, .out = to};
    VkCommandBuffer cb = app_begin(&app);
    full_barrier(cb);
    cr_assert_eq(seattn_attention_batch_record(ctx, cb, &d, &bd, &t, ts, tb), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    full_barrier(cb);
    vkEndCommandBuffer(cb);
    /* three steps: (q_start, q_len, q_pos, kv_len, kv_start) per sequence, and the pages */
    const uint32_t steps[3][S][5] = {{{0, 1, 4, 5, 0}, {2, 2, 15, 17, 10}, {4, 1, 0, 1, 20}},
                                     {{0, 1, 5, 6, 0}, {2, 1, 18, 19, 10}, {4, 0, 0, 0, 20}},
                                     {{1, 1, 6, 7, 0}, {3, 2, 18, 20, 10}, {5, 1, 39, 40, 20}}};
    for (int step = 0; step < 3; step++) {
        memcpy(seqs, steps[step], sizeof steps[step]);
        for (uint32_t i = 0; i < PAGES; i++) /* pages move between steps */
            bt[i] = (i * 7u + (uint32_t)step * 5u) % PAGES;
        for (size_t i = 0; i < qn; i++)
            out[i] = NAN;
        app_submit_wait(&app, cb);
        for (int s = 0; s < S; s++) {
            const uint32_t *m = steps[step][s];
            if (m[1] == 0) continue;
            /* the sequence alone: its queries and its keys gathered from their pages */
            float sq[H * 2 * D], sk[40 * D], sv[40 * D], ref[H * 2 * D];
            for (uint32_t h = 0; h < H; h++)
                memcpy(sq + h * m[1] * D, q + ((size_t)h * QT + m[0]) * D, m[1] * D * 4);
            for (uint32_t j = 0; j < m[3]; j++) {
                const uint32_t tok = bt[m[4] + j / P] * P + j % P;
                memcpy(sk + j * D, k + (size_t)tok * D, D * 4);
                memcpy(sv + j * D, v + (size_t)tok * D, D * 4);
            }
            seattn_attention_desc one = tu_desc(H, KVH, D, m[1], m[3], 4, 8);
            one.q_pos = m[2];
            one.flags |= SEATTN_ATTN_Q_POS;
            cr_assert_eq(tu_run(cpu, &one, sq, sk, sv, ref, NULL), SEATTN_SUCCESS);
            double e = 0.0;
            for (uint32_t h = 0; h < H; h++)
                for (uint32_t i = 0; i < m[1] * D; i++) {
                    const double x = out[((size_t)h * QT + m[0]) * D + i],
                                 y = ref[h * m[1] * D + i];
                    e = isnan(x) ? NAN : fmax(e, fabs(x - y));
                }
            cr_expect(e <= 1e-4, "step %d sequence %d: max err %.3e", step, s, e);
        }
    }
    vkFreeCommandBuffers(app.dev, app.pool, 1, &cb);
    /* seattn copies the metadata into a binding of its own: a buffer wrapped without
     * TRANSFER_SRC is refused by name, and nothing is recorded */
    seattn_tensor *tb_ro;
    cr_assert_eq(seattn_tensor_wrap_vulkan(ctx, b.buffer, at, PAGES * 4,
                                           VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &tb_ro),
                 SEATTN_SUCCESS);
    cb = app_begin(&app);
    cr_expect_eq(seattn_attention_batch_record(ctx, cb, &d, &bd, &t, ts, tb_ro),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "block_table") &&
                  strstr(seattn_context_last_error(ctx), "TRANSFER_SRC"),
              "%s", seattn_context_last_error(ctx));
    vkEndCommandBuffer(cb);
    vkFreeCommandBuffers(app.dev, app.pool, 1, &cb);
    seattn_tensor_destroy(tb_ro);
    cr_assert_eq(seattn_context_recycle(ctx), SEATTN_SUCCESS);
    seattn_tensor_destroy(tq), seattn_tensor_destroy(tk), seattn_tensor_destroy(tv);
    seattn_tensor_destroy(to), seattn_tensor_destroy(ts), seattn_tensor_destroy(tb);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
    app_buffer_destroy(&app, &b);
    expect_no_messages();
}
