/* Fault injection (seattn_debug_fault): the n-th host allocation, the n-th device memory
 * allocation and the n-th queue submission fail, for every n that context creation, tensor
 * creation, uploads, an attention call and a download reach. Each failure must come back as
 * its status, free what it took (seattn_debug_live_allocations() returns to where it was),
 * and leave the context working for the next call (out of memory) or failing fast with the
 * same status until it is destroyed (device lost). */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

enum { H = 4, KVH = 2, D = 64, L = 40, NQ = H * L * D, NK = KVH * L * D };
static const seattn_attention_desc desc = {.n_heads = H,
                                           .n_kv_heads = KVH,
                                           .head_dim = D,
                                           .q_len = L,
                                           .kv_len = L,
                                           .group_size = 4,
                                           .neighbor_window = 8};
static float q[NQ], k[NK], v[NK], ref[NQ];

static void setup(void) {
    tu_fill(q, NQ, 1);
    tu_fill(k, NK, 2);
    tu_fill(v, NK, 3);
    seattn_context *cpu = tu_cpu();
    cr_assert_eq(tu_run(cpu, &desc, q, k, v, ref, NULL), SEATTN_SUCCESS);
    seattn_context_destroy(cpu);
}

static seattn_context *make_context(seattn_backend backend, seattn_status *s) {
    seattn_context_options o = {.backend = backend};
    if (backend == SEATTN_BACKEND_VULKAN && getenv("SEATTN_TEST_VALIDATION"))
        o.flags = SEATTN_CONTEXT_VALIDATION;
    seattn_context *ctx = NULL;
    *s = seattn_context_create(&o, &ctx);
    return ctx;
}

/* The whole use of a context: tensors, uploads, the attention, the download. Stops at the
 * first failure and returns its status; *out holds the output on success. */
static seattn_status use(seattn_context *ctx, float *out) {
    seattn_tensor *t[4] = {0};
    const size_t bytes[4] = {sizeof q, sizeof k, sizeof v, sizeof q};
    const float *src[3] = {q, k, v};
    seattn_status s = SEATTN_SUCCESS;
    for (int i = 0; i < 4 && !s; i++)
        s = seattn_tensor_create(ctx, bytes[i], &t[i]);
    for (int i = 0; i < 3 && !s; i++)
        s = seattn_tensor_upload(ctx, t[i], 0, src[i], bytes[i]);
    if (!s) s = seattn_attention(ctx, &desc, t[0], t[1], t[2], t[3], NULL);
    if (!s) s = seattn_tensor_download(ctx, t[3], 0, out, sizeof q);
    for (int i = 0; i < 4; i++)
        seattn_tensor_destroy(t[i]);
    return s;
}

static void expect_correct(const float *out, const char *when) {
    double e = 0;
    for (int i = 0; i < NQ; i++) {
        const double d = out[i] > ref[i] ? out[i] - ref[i] : ref[i] - out[i];
        if (!(d <= e)) e = d;
    }
    cr_expect(e <= 1e-4, "%s: max err %.3e", when, e);
}

/* Steps n from 1 until the sequence runs without the fault firing; returns the last n. */
static uint64_t sweep(seattn_backend backend, seattn_fault kind, seattn_status want) {
    static float out[NQ];
    uint64_t n = 1;
    for (;; n++) {
        cr_assert_lt(n, 2000, "the sequence never got past the fault");
        const int64_t before = seattn_debug_live_allocations();
        seattn_debug_fault(kind, n);
        seattn_status s;
        seattn_context *ctx = make_context(backend, &s);
        if (s == SEATTN_SUCCESS) s = use(ctx, out);
        const int fired = seattn_debug_fault(kind, 0);
        if (!fired) {
            cr_expect_eq(s, SEATTN_SUCCESS, "n %llu: %s", (unsigned long long)n,
                         seattn_status_string(s));
            expect_correct(out, "no fault");
            cr_expect_eq(seattn_context_validation_errors(ctx), 0);
            seattn_context_destroy(ctx);
            cr_expect_eq(seattn_debug_live_allocations(), before);
            return n;
        }
        cr_expect_eq(s, want, "n %llu: status %d (%s), want %d: %s", (unsigned long long)n, s,
                     seattn_status_string(s), want,
                     ctx ? seattn_context_last_error(ctx) : seattn_last_create_error());
        if (ctx && want == SEATTN_ERROR_OUT_OF_MEMORY) { /* the context still works */
            memset(out, 0, sizeof out);
            cr_expect_eq(use(ctx, out), SEATTN_SUCCESS, "n %llu, the next call: %s",
                         (unsigned long long)n, seattn_context_last_error(ctx));
            expect_correct(out, "the call after the fault");
        } else if (ctx) { /* lost: every later call fails fast with the same status */
            seattn_tensor *t = NULL;
            cr_expect_eq(use(ctx, out), want, "n %llu: a call after the loss",
                         (unsigned long long)n);
            if (seattn_tensor_create(ctx, 64, &t) == SEATTN_SUCCESS) {
                cr_expect_eq(seattn_tensor_upload(ctx, t, 0, q, 64), want);
                seattn_tensor_destroy(t);
            }
        }
        if (ctx)
            cr_expect_eq(seattn_context_validation_errors(ctx), 0, "n %llu: validation",
                         (unsigned long long)n);
        seattn_context_destroy(ctx);
        cr_expect_eq(seattn_debug_live_allocations(), before,
                     "n %llu: %lld host allocations not freed", (unsigned long long)n,
                     (long long)(seattn_debug_live_allocations() - before));
    }
}

TestSuite(faults, .init = setup, .timeout = 900);

Test(faults, host_allocations_cpu) {
    const uint64_t n =
        sweep(SEATTN_BACKEND_CPU, SEATTN_FAULT_HOST_ALLOC, SEATTN_ERROR_OUT_OF_MEMORY);
    cr_log_info("CPU backend: %llu host allocations in the sequence", (unsigned long long)n - 1);
    cr_expect_gt(n, 5);
}

Test(faults, host_allocations_vulkan) {
    const uint64_t n =
        sweep(SEATTN_BACKEND_VULKAN, SEATTN_FAULT_HOST_ALLOC, SEATTN_ERROR_OUT_OF_MEMORY);
    cr_log_info("Vulkan: %llu host allocations in the sequence", (unsigned long long)n - 1);
    cr_expect_gt(n, 10);
}

Test(faults, device_memory_vulkan) {
    const uint64_t n =
        sweep(SEATTN_BACKEND_VULKAN, SEATTN_FAULT_DEVICE_MEMORY, SEATTN_ERROR_OUT_OF_MEMORY);
    cr_log_info("Vulkan: %llu device allocations in the sequence", (unsigned long long)n - 1);
    cr_expect_gt(n, 5);
}

Test(faults, device_lost_vulkan) {
    const uint64_t n =
        sweep(SEATTN_BACKEND_VULKAN, SEATTN_FAULT_DEVICE_LOST, SEATTN_ERROR_DEVICE_LOST);
    cr_log_info("Vulkan: %llu submissions in the sequence", (unsigned long long)n - 1);
    cr_expect_gt(n, 1);
}
