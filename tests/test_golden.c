/* Every golden case (shared/golden, computed by the paper authors' code) on each backend. */
#include "golden_case.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

/* Calls check(case, user) on every golden case. */
static void each_case(void (*check)(const golden_case *c, void *user), void *user) {
    char **dirs = NULL;
    int n = golden_find(SEATTN_GOLDEN_DIR, &dirs);
    cr_assert_gt(n, 0, "no golden cases under %s", SEATTN_GOLDEN_DIR);
    for (int i = 0; i < n; i++) {
        golden_case c;
        char err[512];
        cr_assert_eq(golden_case_load(dirs[i], &c, err, sizeof err), 0, "%s: %s", dirs[i], err);
        check(&c, user);
        golden_case_free(&c);
    }
    golden_dirs_free(dirs, n);
}

typedef struct {
    seattn_context *ctx;
    double tol;
} within;

static void check_within(const golden_case *c, void *user) {
    const within *w = user;
    double e = INFINITY;
    seattn_status s = golden_case_run(w->ctx, c, &e);
    cr_expect_eq(s, SEATTN_SUCCESS, "%s: %s", c->name, seattn_context_last_error(w->ctx));
    cr_expect(e <= w->tol, "%s: max abs error %.3e > %.0e", c->name, e, w->tol);
    tu_expect_forced_kernel(w->ctx);
}

static void run_all(seattn_context *ctx, double tol) {
    within w = {ctx, tol};
    each_case(check_within, &w);
}

Test(golden, cpu_reference_within_1e5) {
    seattn_context *ctx = tu_cpu();
    run_all(ctx, 1e-5);
    seattn_context_destroy(ctx);
}

Test(golden, vulkan_within_1e4, .timeout = 600) {
    seattn_context *ctx = tu_vulkan();
    run_all(ctx, 1e-4);
    tu_finish(ctx);
}

/* The larger error, NaN if either is (fmax would drop a NaN). */
static double worse(double a, double b) {
    return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
}

/* How far f16 storage of q, k and v may move an exact output, derived from the rounding alone
 * (u = 2^-11, the unit roundoff of f16; f16 subnormals below 2^-14 err by at most 2^-25):
 *  - each input element x becomes x (1 + d) with |d| <= u, or x + a with |a| <= 2^-25;
 *  - RoPE rotates pairs, so a query's or key's perturbation keeps its norm through it, and a
 *    score s = scale f <q', k'> (f: the scale_base factor) moves by at most
 *    e = scale f (|dq| |k| + |q| |dk| + |dq| |dk|), with |dq| <= u |q| + 2^-25 sqrt(D);
 *  - softmax weights p_j ~ exp(s_j) then change by a factor within exp(+-2e), so
 *    sum_j |p'_j - p_j| <= exp(2e) - 1;
 *  - out = sum_j p_j v_j moves by at most (u max|v| + 2^-25) + (exp(2e) - 1) max|v|.
 * The bound takes the largest |q|, |k| and |v| of the case. */
static double f16_bound(const golden_case *c) {
    const seattn_attention_desc *d = &c->desc;
    const double u = 0x1p-11, tiny = 0x1p-25, dim = d->head_dim;
    double qn = 0, kn = 0, vmax = 0;
    for (size_t at = 0; at + d->head_dim <= c->q_n; at += d->head_dim) {
        double s = 0;
        for (uint32_t i = 0; i < d->head_dim; i++)
            s += (double)c->q[at + i] * c->q[at + i];
        qn = fmax(qn, sqrt(s));
    }
    for (size_t at = 0; at + d->head_dim <= c->k_n; at += d->head_dim) {
        double s = 0;
        for (uint32_t i = 0; i < d->head_dim; i++)
            s += (double)c->k[at + i] * c->k[at + i];
        kn = fmax(kn, sqrt(s));
    }
    for (size_t i = 0; i < c->v_n; i++)
        vmax = fmax(vmax, fabs((double)c->v[i]));
    double f = 1.0;
    if (d->scale_base > 0.0f) f = fmax(1.0, log((double)d->kv_len) / log((double)d->scale_base));
    const double dq = u * qn + tiny * sqrt(dim), dk = u * kn + tiny * sqrt(dim);
    const double e = (double)d->scale * f * (dq * kn + qn * dk + dq * dk);
    return u * vmax + tiny + expm1(2.0 * e) * vmax;
}

typedef struct {
    seattn_context *cpu, *gpu;
} pair;

static void check_f16(const golden_case *cp, void *user) {
    const pair *ctx = user;
    const golden_case c = *cp; /* a shallow copy, for brevity below */
    seattn_context *cpu = ctx->cpu, *gpu = ctx->gpu;
    seattn_attention_desc d = c.desc;
    d.q_type = d.k_type = d.v_type = SEATTN_DTYPE_F16;
    float *ref = malloc(c.out_n * 4), *got = malloc(c.out_n * 4);
    cr_assert_eq(tu_run(cpu, &d, c.q, c.k, c.v, ref, NULL), SEATTN_SUCCESS, "%s", c.name);
    cr_assert_eq(tu_run(gpu, &d, c.q, c.k, c.v, got, NULL), SEATTN_SUCCESS, "%s: %s", c.name,
                 seattn_context_last_error(gpu));
    const double bound = f16_bound(&c);
    double e_ref = 0, e_got = 0, e_pair = 0;
    for (size_t j = 0; j < c.out_n; j++) {
        e_ref = worse(e_ref, fabs((double)ref[j] - c.out[j]));
        e_got = worse(e_got, fabs((double)got[j] - c.out[j]));
        e_pair = worse(e_pair, fabs((double)got[j] - ref[j]));
    }
    cr_expect(e_ref <= bound + 1e-5, "%s: cpu f16 %.3e > bound %.3e", c.name, e_ref, bound);
    cr_expect(e_got <= bound + 1e-4, "%s: vulkan f16 %.3e > bound %.3e", c.name, e_got, bound);
    cr_expect(e_pair <= 1e-4, "%s: vulkan vs cpu on f16 inputs %.3e", c.name, e_pair);
    cr_log_info("%s: f16 error %.2e, bound %.2e", c.name, e_got, bound);
    free(ref);
    free(got);
}

/* q, k and v stored as f16 (the golden inputs rounded): the output stays within the derived
 * bound of the authors' output (plus the f32 kernels' own 1e-4), and the Vulkan kernels match
 * the CPU reference fed the same f16 values within 1e-4. */
Test(golden, f16_inputs_within_derived_bound, .timeout = 600) {
    pair ctx = {tu_cpu(), tu_vulkan()};
    each_case(check_f16, &ctx);
    seattn_context_destroy(ctx.cpu);
    tu_finish(ctx.gpu);
}
