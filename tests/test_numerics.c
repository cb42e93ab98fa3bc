/* Numerics at the edges (seattn.h, "Numerics"): huge, tiny, infinite and NaN inputs, and
 * positions near 2^24, on both kernels and the CPU reference. Nothing may hang or read out of
 * bounds (the sanitizer build runs these too), finite inputs give finite outputs, and a NaN
 * reaches only the rows that use it. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static seattn_context *cpu, *texel, *portable;

static void setup(void) {
    cpu = tu_cpu();
    texel = tu_vulkan();
    setenv("SEATTN_PORTABLE", "1", 1);
    portable = tu_vulkan();
    unsetenv("SEATTN_PORTABLE");
}
static void teardown(void) {
    seattn_context_destroy(cpu);
    if (texel) tu_finish(texel);
    if (portable) tu_finish(portable);
}

TestSuite(numerics, .init = setup, .fini = teardown, .timeout = 600);

enum { H = 4, KVH = 2, D = 64, L = 48, NQ = H * L * D, NK = KVH * L * D };
static const seattn_attention_desc base = {.n_heads = H,
                                           .n_kv_heads = KVH,
                                           .head_dim = D,
                                           .q_len = L,
                                           .kv_len = L,
                                           .group_size = 4,
                                           .neighbor_window = 8};

/* Runs d on the three contexts; outs[c] get the outputs. */
static void run3(const seattn_attention_desc *d, const float *q, const float *k, const float *v,
                 float outs[3][NQ], float lses[3][H * L]) {
    seattn_context *ctx[3] = {cpu, texel, portable};
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(tu_run(ctx[c], d, q, k, v, outs[c], lses[c]), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx[c]));
        /* here, not only in .fini: Criterion does not fail a test for a .fini assertion */
        cr_expect_eq(seattn_context_validation_errors(ctx[c]), 0,
                     "validation messages (see the log)");
    }
}

/* Finite inputs of every magnitude f32 holds: outputs are finite, and each is within the range
 * of the (clamped) values, as a convex combination must be. */
Test(numerics, huge_and_tiny_inputs_give_finite_outputs) {
    static float q[NQ], k[NK], v[NK], outs[3][NQ], lses[3][H * L];
    const float scales[] = {FLT_MAX, 1e30f, 1e20f, 1.0f, 1e-30f, 1e-40f /* subnormal */};
    for (size_t a = 0; a < sizeof scales / sizeof scales[0]; a++) {
        tu_fill(q, NQ, 1);
        tu_fill(k, NK, 2);
        tu_fill(v, NK, 3);
        for (int i = 0; i < NQ; i++)
            q[i] *= scales[a];
        for (int i = 0; i < NK; i++)
            k[i] *= scales[(a + 1) % 6], v[i] *= scales[(a + 2) % 6];
        seattn_attention_desc d = base;
        d.scale = a == 3 ? 3e38f : 0.0f; /* a huge softmax scale too */
        run3(&d, q, k, v, outs, lses);
        double vmax = 0;
        for (int i = 0; i < NK; i++)
            vmax = fmax(vmax, fmin(fabs(v[i]), 0x1p56));
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < NQ; i++) {
                if (!isfinite(outs[c][i]) || fabs(outs[c][i]) > vmax * (1 + 1e-5)) {
                    cr_assert_fail("scales %d, context %d: out[%d] = %g, |v| <= %g", (int)a, c, i,
                                   outs[c][i], vmax);
                }
            }
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < H * L; i++)
                cr_assert(!isnan(lses[c][i]), "scales %d context %d: lse NaN", (int)a, c);
    }
}

/* Scaled-down ordinary inputs still agree with the reference (tiny values, subnormal
 * products): the clamps change nothing below 2^56. */
Test(numerics, tiny_inputs_agree_with_the_reference) {
    static float q[NQ], k[NK], v[NK], outs[3][NQ], lses[3][H * L];
    tu_fill(q, NQ, 4);
    tu_fill(k, NK, 5);
    tu_fill(v, NK, 6);
    for (int i = 0; i < NK; i++)
        v[i] *= 1e-30f, k[i] *= 1e-3f;
    run3(&base, q, k, v, outs, lses);
    for (int c = 1; c < 3; c++) {
        double e = 0;
        for (int i = 0; i < NQ; i++)
            e = fmax(e, fabs((double)outs[c][i] - outs[0][i]));
        cr_expect(e <= 1e-4 * 1e-30, "context %d: max err %.3e", c, e);
    }
}

/* Infinities are the clamp's +-2^56: finite outputs, the same on every context. */
Test(numerics, infinities_are_clamped) {
    static float q[NQ], k[NK], v[NK], outs[3][NQ], lses[3][H * L];
    tu_fill(q, NQ, 7);
    tu_fill(k, NK, 8);
    tu_fill(v, NK, 9);
    v[5 * D + 3] = INFINITY; /* KV head 0, token 5 */
    v[9 * D + 1] = -INFINITY;
    seattn_attention_desc d = base;
    d.scale = 1e-20f; /* keep the scores moderate so every context weighs alike */
    run3(&d, q, k, v, outs, lses);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < NQ; i++)
            cr_assert(isfinite(outs[c][i]) && fabs(outs[c][i]) <= 0x1p56, "context %d: %g", c,
                      outs[c][i]);
    for (int c = 1; c < 3; c++) {
        double e = 0;
        for (int i = 0; i < NQ; i++)
            e = fmax(e, fabs((double)outs[c][i] - outs[0][i]) / fmax(1.0, fabs(outs[0][i])));
        cr_expect(e <= 1e-4, "context %d: max relative err %.3e", c, e);
    }
}

/* A NaN reaches only the rows that use it: a query row's own output, and the rows at or after
 * a key or value that holds one. Every other row equals the NaN-free run. */
Test(numerics, nan_stays_in_the_rows_that_use_it) {
    static float q[NQ], k[NK], v[NK], clean[3][NQ], dirty[3][NQ], l1[3][H * L], l2[3][H * L];
    tu_fill(q, NQ, 10);
    tu_fill(k, NK, 11);
    tu_fill(v, NK, 12);
    run3(&base, q, k, v, clean, l1);
    const int bad_row = 7, bad_key = 30; /* head 1's query 7; key 30 of KV head 0 */
    q[(1 * L + bad_row) * D + 2] = NAN;
    k[bad_key * D + 5] = NAN;
    v[(bad_key + 1) * D + 9] = NAN;
    run3(&base, q, k, v, dirty, l2);
    for (int c = 0; c < 3; c++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < L; t++) {
                const int reads_nan = (h == 1 && t == bad_row) || (h / 2 == 0 && t >= bad_key);
                if (reads_nan) continue; /* unspecified: NaN or a finite value */
                const float *a = clean[c] + (h * L + t) * D, *b = dirty[c] + (h * L + t) * D;
                cr_expect(memcmp(a, b, D * 4) == 0, "context %d: head %d row %d changed", c, h, t);
            }
}

/* Positions near 2^24: a decode step at position 2^24 - 2 over 2^24 - 1 keys. Every key is one
 * vector (token stride 0), so out must be v, and the log-sum-exp is computed here in double
 * from the scores' closed form: score(j) = scale * sum_m P_m cos(d f_m) - Q_m sin(d f_m), with
 * d the position difference of the pair's class (SPEC.md). */
static double expected_lse(const float *q, const float *k, uint32_t p, int g, int w, float scale) {
    enum { HD = 16, HALF = 8 };
    double pm[HALF], qm[HALF], f[HALF];
    for (int m = 0; m < HALF; m++) {
        pm[m] = (double)q[m] * k[m] + (double)q[m + HALF] * k[m + HALF];
        qm[m] = (double)q[m + HALF] * k[m] - (double)q[m] * k[m + HALF];
        f[m] = pow(10000.0, -2.0 * m / HD);
    }
    const int64_t pg = (int64_t)p / g + w - w / g;
    double mx = -INFINITY, sum = 0, last_delta = NAN, last_s = 0;
    for (int pass = 0; pass < 2; pass++) /* max, then the sum */
        for (int64_t j = 0; j <= (int64_t)p; j++) {
            const double delta =
                (int64_t)p - j < w ? (double)((int64_t)p - j) : (double)(pg - j / g);
            if (delta != last_delta) {
                double s = 0;
                for (int m = 0; m < HALF; m++)
                    s += pm[m] * cos(delta * f[m]) - qm[m] * sin(delta * f[m]);
                last_s = s * scale;
                last_delta = delta;
            }
            if (pass == 0)
                mx = fmax(mx, last_s);
            else
                sum += exp(last_s - mx);
        }
    return mx + log(sum);
}

Test(numerics, positions_near_2_to_the_24, .timeout = 600) {
    const uint32_t kv = (1u << 24) - 1;
    float q[16], k[16], v[16], out[16], lse[1];
    tu_fill(q, 16, 13);
    tu_fill(k, 16, 14);
    tu_fill(v, 16, 15);
    for (int i = 0; i < 16; i++)
        q[i] *= 2.0f, k[i] *= 2.0f;
    seattn_attention_desc d = {.n_heads = 1,
                               .head_dim = 16,
                               .q_len = 1,
                               .kv_len = kv,
                               .group_size = 8,
                               .neighbor_window = 512,
                               .k_strides = {16, 0},
                               .v_strides = {16, 0}};
    seattn_attention_desc r;
    cr_assert_eq(seattn_attention_desc_check(cpu, &d, &r), SEATTN_SUCCESS);
    const double want = expected_lse(q, k, kv - 1, 8, 512, r.scale);
    seattn_context *ctx[2] = {texel, portable};
    for (int c = 0; c < 2; c++) {
        cr_assert_eq(tu_run(ctx[c], &d, q, k, v, out, lse), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx[c]));
        seattn_call_stats st;
        seattn_context_last_call(ctx[c], &st);
        for (int i = 0; i < 16; i++)
            cr_expect(fabsf(out[i] - v[i]) <= 1e-5f, "%s: out[%d] %g, v %g", st.kernel, i, out[i],
                      v[i]);
        cr_expect(fabs(lse[0] - want) <= 1e-3, "%s: lse %.6f, want %.6f", st.kernel, lse[0], want);
        cr_log_info("%s: lse %.6f, closed form %.6f", st.kernel, lse[0], want);
    }
}
