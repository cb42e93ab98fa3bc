/* The passkey model end to end: its logits match the reference forward within 1e-3 (plain and
 * Self-Extend, on lavapipe and on the CPU reference backend), and on the 1024-token set, four
 * times its trained length, Self-Extend G = 16, W = 64 keeps the passkey while plain RoPE loses
 * it. What the model does is asserted, not how fast. */
#include "passkey.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pk_model model;

static void load(void) {
    cr_assert_eq(pk_model_load(SEATTN_PASSKEY_DIR, &model), 0);
}
static void unload(void) {
    pk_model_free(&model);
}

TestSuite(passkey, .init = load, .fini = unload, .timeout = 900);

/* logits_L_MODE.f32: [2 prompts, 5 positions, 40], teacher-forced answers. */
static void check_logits(seattn_context *ctx, uint32_t len, int32_t g, int32_t w,
                         const char *mode) {
    char path[4096];
    snprintf(path, sizeof path, "%s/logits_%u_%s.f32", SEATTN_PASSKEY_DIR, len, mode);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    float ref[2 * PK_ANSWER * PK_VOCAB];
    cr_assert_eq(fread(ref, sizeof ref, 1, f), 1);
    fclose(f);
    uint8_t *rows = NULL;
    cr_assert_geq(pk_prompts_load(SEATTN_PASSKEY_DIR, len, &rows), 2);
    pk_session *s;
    cr_assert_eq(pk_session_create(ctx, &model, len, &s), SEATTN_SUCCESS);
    for (int p = 0; p < 2; p++) {
        const uint8_t *row = rows + (size_t)p * len;
        float logits[PK_ANSWER * PK_VOCAB];
        uint8_t answer[PK_ANSWER];
        cr_assert_eq(
            pk_answer(s, row, len - PK_ANSWER, g, w, row + len - PK_ANSWER, answer, logits),
            SEATTN_SUCCESS, "%s", seattn_context_last_error(ctx));
        double e = 0.0;
        for (int i = 0; i < PK_ANSWER * PK_VOCAB; i++) {
            const double d = fabs((double)logits[i] - ref[p * PK_ANSWER * PK_VOCAB + i]);
            if (!(d <= e)) e = d;
        }
        cr_expect_leq(e, 1e-3, "%u tokens, %s, prompt %d: logits differ by %.3e", len, mode, p, e);
    }
    pk_session_destroy(s);
    free(rows);
}

static void all_logits(seattn_context *ctx) {
    const uint32_t lens[] = {256, 1024};
    for (int i = 0; i < 2; i++) {
        check_logits(ctx, lens[i], 1, 0, "plain");
        check_logits(ctx, lens[i], 16, 64, "se_G16_W64");
    }
}

Test(passkey, logits_match_the_reference_on_vulkan) {
    seattn_context *ctx = tu_vulkan();
    all_logits(ctx);
    tu_finish(ctx);
}

Test(passkey, logits_match_the_reference_on_the_cpu_reference) {
    seattn_context *ctx = tu_cpu();
    all_logits(ctx);
    seattn_context_destroy(ctx);
}

static double accuracy(seattn_context *ctx, uint32_t len, int32_t g, int32_t w) {
    uint8_t *rows = NULL;
    const uint32_t n = pk_prompts_load(SEATTN_PASSKEY_DIR, len, &rows);
    cr_assert_eq(n, 100);
    pk_session *s;
    cr_assert_eq(pk_session_create(ctx, &model, len, &s), SEATTN_SUCCESS);
    int right = 0;
    for (uint32_t p = 0; p < n; p++) {
        const uint8_t *row = rows + (size_t)p * len;
        uint8_t answer[PK_ANSWER];
        cr_assert_eq(pk_answer(s, row, len - PK_ANSWER, g, w, NULL, answer, NULL), SEATTN_SUCCESS,
                     "%s", seattn_context_last_error(ctx));
        right += memcmp(answer, row + len - PK_ANSWER, PK_ANSWER) == 0;
    }
    pk_session_destroy(s);
    free(rows);
    return right / (double)n;
}

Test(passkey, self_extend_keeps_the_passkey_at_four_times_the_trained_length) {
    seattn_context *ctx = tu_vulkan();
    const double se = accuracy(ctx, 1024, 16, 64), plain = accuracy(ctx, 1024, 1, 0);
    cr_log_info("1024 tokens, 100 prompts: Self-Extend G=16 W=64 %.2f, plain RoPE %.2f", se, plain);
    cr_expect_geq(se, 0.97, "Self-Extend G=16 W=64 at 1024: %.2f", se);
    cr_expect_leq(plain, 0.25, "plain RoPE at 1024: %.2f", plain);
    tu_finish(ctx);
}

/* The model batched as a serving engine runs it (every prompt of a set in one batched prefill,
 * then batched decode steps, the caches in shuffled pages of 16 and of 5 tokens) gives each
 * prompt the answer and logits of its own sequential run. */
Test(passkey, a_batch_answers_as_each_prompt_alone) {
    seattn_context *ctx = tu_vulkan();
    enum { N = 6, LEN = 1024 };
    uint8_t *rows = NULL;
    cr_assert_geq(pk_prompts_load(SEATTN_PASSKEY_DIR, LEN, &rows), N);
    pk_session *s;
    cr_assert_eq(pk_session_create(ctx, &model, LEN, &s), SEATTN_SUCCESS);
    static float want[N * PK_ANSWER * PK_VOCAB], got[N * PK_ANSWER * PK_VOCAB];
    uint8_t a_want[N * PK_ANSWER], a_got[N * PK_ANSWER];
    for (int p = 0; p < N; p++)
        cr_assert_eq(pk_answer(s, rows + (size_t)p * LEN, LEN - PK_ANSWER, 16, 64, NULL,
                               a_want + p * PK_ANSWER, want + p * PK_ANSWER * PK_VOCAB),
                     SEATTN_SUCCESS, "%s", seattn_context_last_error(ctx));
    pk_session_destroy(s);
    const uint32_t pages[] = {16, 5};
    for (int i = 0; i < 2; i++) {
        pk_batch *b;
        cr_assert_eq(pk_batch_create(ctx, &model, N, LEN, pages[i], &b), SEATTN_SUCCESS);
        cr_assert_eq(pk_answer_batch(b, rows, LEN, LEN - PK_ANSWER, 16, 64, a_got, got),
                     SEATTN_SUCCESS, "%s", seattn_context_last_error(ctx));
        pk_batch_destroy(b);
        cr_expect_arr_eq(a_got, a_want, sizeof a_want, "page size %u: other answers", pages[i]);
        double e = 0.0;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            const double d = fabs((double)got[k] - want[k]);
            if (!(d <= e)) e = d;
        }
        cr_expect_leq(e, 1e-3, "page size %u: logits differ by %.3e", pages[i], e);
    }
    free(rows);
    tu_finish(ctx);
}
