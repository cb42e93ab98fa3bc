/* Separate contexts on separate threads at once (the header's promise): 8 threads each create
 * their own Vulkan context and run many attention calls of different shapes, checked against a
 * CPU reference computed on the thread too. Criterion's assertions stay on the main thread. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 8, CALLS = 12 };

typedef struct {
    int index;
    int validation;
    int calls_ok;
    double worst;
    char error[512];
} job;

static void *work(void *arg) {
    job *j = arg;
    seattn_context_options vo = {0}, co = {0};
    if (j->validation) vo.flags = SEATTN_CONTEXT_VALIDATION;
    co.backend = SEATTN_BACKEND_CPU;
    seattn_context *gpu = NULL, *cpu = NULL;
    if (seattn_context_create(&vo, &gpu) || seattn_context_create(&co, &cpu)) {
        snprintf(j->error, sizeof j->error, "context: %s", seattn_last_create_error());
        seattn_context_destroy(gpu);
        return NULL;
    }
    for (int c = 0; c < CALLS && !j->error[0]; c++) {
        /* shapes vary with the thread and the call: prefill, decode (split), GQA, G = 1 */
        const uint32_t seed = (uint32_t)(j->index * 100 + c);
        seattn_attention_desc d = {0};
        d.n_heads = 4;
        d.n_kv_heads = (c % 3 == 0) ? 4 : 2;
        d.head_dim = (c % 2) ? 64 : 32;
        d.kv_len = 40 + 17 * (uint32_t)((j->index + c) % 7);
        d.q_len = (c % 4 == 1) ? 1 : d.kv_len - (uint32_t)(c % 5);
        d.group_size = (c % 6 == 5) ? 1 : 4;
        d.neighbor_window = 8 + c;
        seattn_attention_desc r;
        if (seattn_attention_desc_check(cpu, &d, &r) != SEATTN_SUCCESS) {
            snprintf(j->error, sizeof j->error, "call %d: %s", c, seattn_context_last_error(cpu));
            break;
        }
        const size_t nq = tu_q_elems(&r), nk = tu_kv_elems(&r, 0), no = tu_out_elems(&r);
        float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4);
        float *o1 = malloc(no * 4), *o2 = malloc(no * 4);
        tu_fill(q, nq, seed);
        tu_fill(k, nk, seed + 1);
        tu_fill(v, nk, seed + 2);
        seattn_status s1 = tu_run(cpu, &d, q, k, v, o1, NULL);
        seattn_status s2 = tu_run(gpu, &d, q, k, v, o2, NULL);
        if (s1 || s2) {
            snprintf(j->error, sizeof j->error, "call %d: %s", c,
                     s2 ? seattn_context_last_error(gpu) : seattn_context_last_error(cpu));
        } else {
            const double e = tu_max_err(&r, o1, o2);
            if (!(e <= j->worst)) j->worst = e;
            j->calls_ok++;
        }
        free(q);
        free(k);
        free(v);
        free(o1);
        free(o2);
    }
    if (seattn_context_validation_errors(gpu) && !j->error[0])
        snprintf(j->error, sizeof j->error, "%u validation messages",
                 seattn_context_validation_errors(gpu));
    seattn_context_destroy(gpu);
    seattn_context_destroy(cpu);
    return NULL;
}

Test(threads, eight_contexts_at_once, .timeout = 600) {
    seattn_context_destroy(tu_vulkan()); /* skips (or fails) without a device */
    const char *val = getenv("SEATTN_TEST_VALIDATION");
    job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].index = i;
        jobs[i].validation = val && strcmp(val, "1") == 0;
        cr_assert_eq(pthread_create(&t[i], NULL, work, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        cr_expect_str_empty(jobs[i].error, "thread %d: %s", i, jobs[i].error);
        cr_expect_eq(jobs[i].calls_ok, CALLS, "thread %d", i);
        cr_expect_leq(jobs[i].worst, 1e-4, "thread %d: max err %.3e", i, jobs[i].worst);
    }
}
