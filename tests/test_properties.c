/* Properties of the CPU reference on random inputs, against an independent plain RoPE
 * attention written here. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Independent RoPE (rotate_half or interleaved) of a float vector, in double: pair m turns by
 * pos * inv[m] (pos / theta^(2m/rot) when inv is NULL), then the rotated components are
 * multiplied by af. */
static void rope_f(float *x, uint32_t rot, int interleaved, double theta, const double *inv,
                   double af, double pos) {
    for (uint32_t m = 0; m < rot / 2; m++) {
        double a = inv ? pos * inv[m] : pos / pow(theta, 2.0 * m / rot), c = cos(a), s = sin(a);
        uint32_t i0 = interleaved ? 2 * m : m, i1 = interleaved ? 2 * m + 1 : m + rot / 2;
        double x0 = x[i0], x1 = x[i1];
        x[i0] = (float)((x0 * c - x1 * s) * af);
        x[i1] = (float)((x1 * c + x0 * s) * af);
    }
}
static void rope(float *x, uint32_t d, uint32_t rot, int interleaved, double theta, double pos) {
    rope_f(x, rot, interleaved, theta, NULL, 1.0, pos);
    (void)d;
}

/* Plain causal RoPE attention, dense layouts, n_heads == n_kv_heads * rep. */
static void plain(const seattn_attention_desc *r, const float *q, const float *k, const float *v,
                  float *out, float *lse) {
    const uint32_t d = r->head_dim, rep = r->n_heads / r->n_kv_heads;
    double *s = malloc(sizeof(double) * r->kv_len);
    float *qr = malloc(sizeof(float) * d), *kr = malloc(sizeof(float) * d);
    for (uint32_t h = 0; h < r->n_heads; h++)
        for (uint32_t t = 0; t < r->q_len; t++) {
            uint32_t p = r->q_pos + t;
            memcpy(qr, q + ((size_t)h * r->q_len + t) * d, sizeof(float) * d);
            rope_f(qr, r->rotary_dims, r->rope_layout, r->rope_theta, r->rope_inv_freq,
                   r->rope_attention_factor, p);
            double mx = -INFINITY, sum = 0;
            for (uint32_t j = 0; j <= p; j++) {
                memcpy(kr, k + ((size_t)(h / rep) * r->kv_len + j) * d, sizeof(float) * d);
                rope_f(kr, r->rotary_dims, r->rope_layout, r->rope_theta, r->rope_inv_freq,
                       r->rope_attention_factor, j);
                double dot = 0;
                for (uint32_t i = 0; i < d; i++)
                    dot += (double)qr[i] * kr[i];
                s[j] = dot * r->scale;
                if (r->logit_softcap > 0.0f)
                    s[j] = r->logit_softcap * tanh(s[j] / r->logit_softcap);
                if (s[j] > mx) mx = s[j];
            }
            for (uint32_t i = 0; i < d; i++) {
                double a = 0;
                sum = 0;
                for (uint32_t j = 0; j <= p; j++) {
                    double e = exp(s[j] - mx);
                    sum += e;
                    a += e * v[((size_t)(h / rep) * r->kv_len + j) * d + i];
                }
                out[((size_t)h * r->q_len + t) * d + i] = (float)(a / sum);
            }
            if (lse) lse[(size_t)h * r->q_len + t] = (float)(mx + log(sum));
        }
    free(s);
    free(qr);
    free(kr);
}

typedef struct {
    seattn_attention_desc r;
    float *q, *k, *v, *out, *ref, *lse, *lse_ref;
} fixture;

static fixture make(uint32_t nh, uint32_t nkv, uint32_t d, uint32_t ql, uint32_t kl, int g, int w,
                    uint32_t seed) {
    fixture f = {0};
    seattn_attention_desc desc = {0};
    desc.n_heads = nh;
    desc.n_kv_heads = nkv;
    desc.head_dim = d;
    desc.q_len = ql;
    desc.kv_len = kl;
    desc.group_size = g;
    desc.neighbor_window = w;
    cr_assert_eq(seattn_attention_desc_check(NULL, &desc, &f.r), SEATTN_SUCCESS);
    size_t nq = (size_t)nh * ql * d, nk = (size_t)nkv * kl * d;
    f.q = malloc(nq * 4);
    f.k = malloc(nk * 4);
    f.v = malloc(nk * 4);
    f.out = malloc(nq * 4);
    f.ref = malloc(nq * 4);
    f.lse = malloc((size_t)nh * ql * 4);
    f.lse_ref = malloc((size_t)nh * ql * 4);
    tu_fill(f.q, nq, seed);
    tu_fill(f.k, nk, seed + 1);
    tu_fill(f.v, nk, seed + 2);
    return f;
}

static void drop(fixture *f) {
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->out);
    free(f->ref);
    free(f->lse);
    free(f->lse_ref);
}

Test(properties, g1_equals_plain_rope_attention) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(4, 2, 32, 37, 37, 1, 5, 11);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, f.lse), SEATTN_SUCCESS);
    plain(&f.r, f.q, f.k, f.v, f.ref, f.lse_ref);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5);
    for (uint32_t i = 0; i < f.r.n_heads * f.r.q_len; i++)
        cr_expect_float_eq(f.lse[i], f.lse_ref[i], 1e-4, "lse row %u", i);
    drop(&f);
    seattn_context_destroy(ctx);
}

Test(properties, w_at_least_kv_len_equals_plain) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(2, 2, 16, 20, 50, 4, 50, 12);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    plain(&f.r, f.q, f.k, f.v, f.ref, NULL);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5);
    /* and W < kv_len must differ from plain, or the property above proves nothing */
    f.r.neighbor_window = 8;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_gt(tu_max_err(&f.r, f.out, f.ref), 1e-3);
    drop(&f);
    seattn_context_destroy(ctx);
}

Test(properties, rotated_keys_equal_raw_keys) {
    seattn_context *ctx = tu_cpu();
    for (int layout = 0; layout < 2; layout++)
        for (uint32_t rot = 16; rot <= 32; rot += 16) {
            fixture f = make(2, 1, 32, 9, 40, 4, 6, 13 + rot);
            f.r.rope_layout = (seattn_rope_layout)layout;
            f.r.rotary_dims = rot;
            cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
            for (uint32_t j = 0; j < f.r.kv_len; j++)
                rope(f.k + (size_t)j * 32, 32, rot, layout, f.r.rope_theta, j);
            f.r.key_mode = SEATTN_KEYS_ROTATED;
            cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
            cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5, "layout %d rot %u", layout, rot);
            drop(&f);
        }
    seattn_context_destroy(ctx);
}

/* Scaled RoPE frequencies and an attention factor, with part of the head not rotated: G = 1
 * equals the plain attention written above; frequencies equal to theta's equal no frequencies;
 * and each of the two changes the result (or the checks above prove nothing). */
Test(properties, rope_frequencies_and_factor) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(4, 2, 32, 21, 40, 1, 5, 21);
    double inv[12], theta_inv[12];
    for (uint32_t m = 0; m < 12; m++) {
        inv[m] = pow(10000.0, -2.0 * m / 24) / (m > 6 ? 8.0 : 1.0); /* llama3-like */
        theta_inv[m] = pow(10000.0, -2.0 * m / 24);
    }
    f.r.rotary_dims = 24;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
    f.r.rope_inv_freq = theta_inv;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-6, "theta's frequencies given");
    f.r.rope_inv_freq = inv;
    f.r.rope_attention_factor = 1.3f;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_gt(tu_max_err(&f.r, f.out, f.ref), 1e-3, "frequencies and factor change nothing");
    plain(&f.r, f.q, f.k, f.v, f.ref, NULL);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5, "against the plain attention");
    f.r.rope_attention_factor = 1.0f;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_gt(tu_max_err(&f.r, f.out, f.ref), 1e-3, "the factor changes nothing");
    drop(&f);
    seattn_context_destroy(ctx);
}

/* The logit softcap: G = 1 equals the plain attention written above with c tanh(s / c) on
 * each scaled score, and a cap near the scores' size changes the result. */
Test(properties, logit_softcap) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(2, 1, 16, 12, 30, 1, 5, 41);
    f.r.scale = 3.0f; /* scores of a few units, so that the cap bends them */
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
    f.r.logit_softcap = 2.0f;
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, f.lse), SEATTN_SUCCESS);
    cr_expect_gt(tu_max_err(&f.r, f.out, f.ref), 1e-3, "the softcap changes nothing");
    plain(&f.r, f.q, f.k, f.v, f.ref, f.lse_ref);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5, "against the plain attention");
    for (uint32_t i = 0; i < f.r.n_heads * f.r.q_len; i++)
        cr_expect_float_eq(f.lse[i], f.lse_ref[i], 1e-4, "lse row %u", i);
    drop(&f);
    seattn_context_destroy(ctx);
}

/* A cache of keys rotated with the frequencies and the factor (as an engine keeps them) equals
 * raw keys, Self-Extend on: the grouped move of a rotated key is a pure rotation. */
Test(properties, rotated_keys_with_frequencies_and_factor) {
    seattn_context *ctx = tu_cpu();
    for (int layout = 0; layout < 2; layout++) {
        fixture f = make(2, 1, 32, 9, 40, 4, 6, 31);
        double inv[8];
        for (uint32_t m = 0; m < 8; m++)
            inv[m] = 0.9 / (1.0 + 3.0 * m);
        f.r.rope_layout = (seattn_rope_layout)layout;
        f.r.rotary_dims = 16;
        f.r.rope_inv_freq = inv;
        f.r.rope_attention_factor = 1.25f;
        cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
        for (uint32_t j = 0; j < f.r.kv_len; j++)
            rope_f(f.k + (size_t)j * 32, 16, layout, 0, inv, 1.25, j);
        f.r.key_mode = SEATTN_KEYS_ROTATED;
        cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
        cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5, "layout %d", layout);
        drop(&f);
    }
    seattn_context_destroy(ctx);
}

Test(properties, token_major_strides_equal_dense) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(4, 2, 16, 11, 23, 2, 3, 14);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
    /* transpose everything to [tokens, heads, dim] */
    seattn_attention_desc t = f.r;
    const uint32_t d = 16;
    t.q_strides = t.out_strides = (seattn_strides){d, (uint64_t)f.r.n_heads * d};
    t.k_strides = t.v_strides = (seattn_strides){d, (uint64_t)f.r.n_kv_heads * d};
    size_t nq = (size_t)4 * 11 * d, nk = (size_t)2 * 23 * d;
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *o = malloc(nq * 4);
    for (uint32_t h = 0; h < 4; h++)
        for (uint32_t s = 0; s < 11; s++)
            memcpy(q + ((size_t)s * 4 + h) * d, f.q + ((size_t)h * 11 + s) * d, d * 4);
    for (uint32_t h = 0; h < 2; h++)
        for (uint32_t s = 0; s < 23; s++) {
            memcpy(k + ((size_t)s * 2 + h) * d, f.k + ((size_t)h * 23 + s) * d, d * 4);
            memcpy(v + ((size_t)s * 2 + h) * d, f.v + ((size_t)h * 23 + s) * d, d * 4);
        }
    cr_assert_eq(tu_run(ctx, &t, q, k, v, o, NULL), SEATTN_SUCCESS);
    for (uint32_t h = 0; h < 4; h++)
        for (uint32_t s = 0; s < 11; s++)
            for (uint32_t i = 0; i < d; i++)
                cr_expect_float_eq(o[((size_t)s * 4 + h) * d + i],
                                   f.ref[((size_t)h * 11 + s) * d + i], 1e-6);
    free(q);
    free(k);
    free(v);
    free(o);
    drop(&f);
    seattn_context_destroy(ctx);
}

Test(properties, gqa_equals_repeated_kv_heads) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(8, 2, 16, 7, 30, 4, 5, 15);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
    seattn_attention_desc m = f.r; /* MHA with every KV head repeated 4 times */
    m.n_kv_heads = 8;
    m.k_strides = m.v_strides = (seattn_strides){0, 0};
    cr_assert_eq(seattn_attention_desc_check(NULL, &m, &m), SEATTN_SUCCESS);
    size_t per = (size_t)30 * 16;
    float *k = malloc(8 * per * 4), *v = malloc(8 * per * 4);
    for (uint32_t h = 0; h < 8; h++) {
        memcpy(k + h * per, f.k + (h / 4) * per, per * 4);
        memcpy(v + h * per, f.v + (h / 4) * per, per * 4);
    }
    cr_assert_eq(tu_run(ctx, &m, f.q, k, v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-7);
    free(k);
    free(v);
    drop(&f);
    seattn_context_destroy(ctx);
}

Test(properties, chunked_prefill_equals_prefill_rows) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(2, 1, 16, 40, 40, 4, 6, 16);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, NULL), SEATTN_SUCCESS);
    /* queries 25..34 alone, against the keys 0..34 they can see */
    seattn_attention_desc c = f.r;
    c.q_len = 10;
    c.q_pos = 25;
    c.q_offset = 25 * 16;
    c.out_offset = 25 * 16;
    cr_assert_eq(tu_run(ctx, &c, f.q, f.k, f.v, f.out, NULL), SEATTN_SUCCESS);
    cr_expect_leq(tu_max_err(&c, f.out, f.ref), 1e-7);
    drop(&f);
    seattn_context_destroy(ctx);
}

/* The authors' two-pass method: neighbor-only and grouped-only attention, each with its LSE,
 * merged by log-sum-exp, is the fused Self-Extend attention. */
Test(properties, two_halves_merged_by_lse_equal_fused) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(4, 2, 32, 30, 30, 4, 6, 17);
    const size_t nq = (size_t)f.r.n_heads * f.r.q_len * f.r.head_dim;
    const size_t nl = (size_t)f.r.n_heads * f.r.q_len;
    float *on = malloc(nq * 4), *og = malloc(nq * 4), *ln = malloc(nl * 4), *lg = malloc(nl * 4);
    cr_assert_eq(tu_run(ctx, &f.r, f.q, f.k, f.v, f.ref, f.lse_ref), SEATTN_SUCCESS);
    seattn_attention_desc half = f.r;
    half.flags |= SEATTN_ATTN_NEIGHBOR_ONLY;
    cr_assert_eq(tu_run(ctx, &half, f.q, f.k, f.v, on, ln), SEATTN_SUCCESS);
    half.flags = f.r.flags | SEATTN_ATTN_GROUPED_ONLY;
    cr_assert_eq(tu_run(ctx, &half, f.q, f.k, f.v, og, lg), SEATTN_SUCCESS);
    int empty_rows = 0;
    for (size_t row = 0; row < nl; row++) {
        const double m = ln[row] > lg[row] ? ln[row] : lg[row];
        const double a = exp(ln[row] - m), b = isinf(lg[row]) ? 0.0 : exp(lg[row] - m);
        if (isinf(lg[row])) {
            empty_rows++;
            for (uint32_t i = 0; i < f.r.head_dim; i++)
                cr_expect_eq(og[row * f.r.head_dim + i], 0.0f, "empty grouped row %zu", row);
        }
        for (uint32_t i = 0; i < f.r.head_dim; i++)
            f.out[row * f.r.head_dim + i] =
                (float)((a * on[row * f.r.head_dim + i] + b * og[row * f.r.head_dim + i]) /
                        (a + b));
        cr_expect_float_eq(m + log(a + b), f.lse_ref[row], 1e-4, "lse row %zu", row);
    }
    cr_expect_gt(empty_rows, 0, "rows with p < W have no grouped pair");
    cr_expect_leq(tu_max_err(&f.r, f.out, f.ref), 1e-5);
    free(on);
    free(og);
    free(ln);
    free(lg);
    drop(&f);
    seattn_context_destroy(ctx);
}

/* RMSNorm of every head_dim vector in place, in double: x w / sqrt(mean(x^2) + eps). */
static void rms_rows(float *x, size_t n, uint32_t d, const float *w, double eps) {
    for (size_t at = 0; at < n; at += d) {
        double ss = 0;
        for (uint32_t i = 0; i < d; i++)
            ss += (double)x[at + i] * x[at + i];
        for (uint32_t i = 0; i < d; i++)
            x[at + i] = (float)(x[at + i] * w[i] / sqrt(ss / d + eps));
    }
}

/* QK-norm equals plain attention (G = 1) on queries and keys normed beforehand. */
Test(properties, qk_norm_equals_prenormed_inputs) {
    seattn_context *ctx = tu_cpu();
    fixture f = make(4, 2, 16, 9, 9, 1, 0, 90);
    float qw[16], kw[16];
    tu_fill(qw, 16, 91);
    tu_fill(kw, 16, 92);
    for (int i = 0; i < 16; i++)
        qw[i] += 1.5f, kw[i] += 1.5f;
    seattn_attention_desc n = f.r;
    n.flags |= SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM;
    n.qk_norm_eps = 1e-3f;
    cr_assert_eq(tu_run_norm(ctx, &n, f.q, f.k, f.v, f.out, NULL, qw, kw), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    rms_rows(f.q, (size_t)4 * 9 * 16, 16, qw, 1e-3f);
    rms_rows(f.k, (size_t)2 * 9 * 16, 16, kw, 1e-3f);
    plain(&f.r, f.q, f.k, f.v, f.ref, NULL);
    double e = tu_max_err(&f.r, f.out, f.ref);
    cr_expect(e < 1e-5, "max err %.3e", e);
    drop(&f);
    seattn_context_destroy(ctx);
}

/* One key: out = v exactly, so an f16 output is v rounded to f16 by the library's own
 * conversion, checked here against the compiler's _Float16 on normals, subnormals, ties and
 * zero (a sum: -0 comes out as +0); outputs past 65504 saturate there (seattn.h), while
 * seattn_f32_to_f16 rounds them to inf as IEEE does. */
Test(properties, f16_output_rounds_like_float16) {
    seattn_context *ctx = tu_cpu();
    enum { D = 256, H = 64 };
    seattn_attention_desc d = {
        .n_heads = H, .head_dim = D, .q_len = 1, .kv_len = 1, .out_type = SEATTN_DTYPE_F16};
    float *q = calloc(H * D, 4), *k = calloc(H * D, 4), *v = malloc(H * D * 4);
    float *out = malloc(H * D * 4);
    tu_fill(v, H * D, 95);
    const float special[] = {65504.0f,   65519.99f,  65520.0f,   -65520.0f,  0x1p-24f, 0x1p-25f,
                             0x1.8p-25f, 0x1p-26f,   0x1.8p-24f, 0x1.4p-24f, 0.0f,     0x1.002p0f,
                             0x1.003p0f, 0x1.001p0f, 6.1e-5f,    3.0e-8f};
    for (size_t i = 0; i < H * D; i++) {
        const int kind = (int)(i % 4);
        if (kind == 1) v[i] = ldexpf(v[i], (int)(i % 40) - 30);  /* tiny to large */
        if (kind == 2) v[i] = ldexpf(v[i], -(int)(i % 12) - 14); /* subnormal range */
    }
    memcpy(v, special, sizeof special);
    cr_assert_eq(tu_run(ctx, &d, q, k, v, out, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    int bad = 0;
    uint16_t *bits = malloc(H * D * 2);
    float *wide = malloc(H * D * 4);
    seattn_f32_to_f16(v, bits, H * D);
    seattn_f16_to_f32(bits, wide, H * D);
    for (size_t i = 0; i < H * D && bad < 5; i++) {
        const float ieee = tu_round_half(v[i]);
        if (memcmp(&ieee, &wide[i], 4) != 0) {
            bad++;
            cr_expect_fail("seattn_f32_to_f16(%a) = %a, want %a", (double)v[i], (double)wide[i],
                           (double)ieee);
        }
    }
    free(bits);
    free(wide);
    for (size_t i = 0; i < H * D && bad < 5; i++) {
        const float sat = v[i] > 65504.0f ? 65504.0f : v[i] < -65504.0f ? -65504.0f : v[i];
        const float want = tu_round_half(sat);
        if (memcmp(&want, &out[i], 4) != 0) {
            bad++;
            cr_expect_fail("v %a: got %a, want %a", (double)v[i], (double)out[i], (double)want);
        }
    }
    free(q);
    free(k);
    free(v);
    free(out);
    seattn_context_destroy(ctx);
}
