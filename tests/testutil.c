#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_log(seattn_log_level level, const char *message, void *user) {
    (void)user;
    if (level >= SEATTN_LOG_WARNING) cr_log_info("seattn: %s", message);
}

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

seattn_context *tu_cpu(void) {
    seattn_context_options o = {0};
    o.backend = SEATTN_BACKEND_CPU;
    seattn_context *ctx = NULL;
    cr_assert_eq(seattn_context_create(&o, &ctx), SEATTN_SUCCESS);
    return ctx;
}

seattn_context *tu_vulkan(void) {
    seattn_context_options o = {0};
    o.log = test_log;
    if (env_on("SEATTN_TEST_VALIDATION")) o.flags |= SEATTN_CONTEXT_VALIDATION;
    seattn_context *ctx = NULL;
    seattn_status s = seattn_context_create(&o, &ctx);
    if (s != SEATTN_SUCCESS) {
        char why[1100];
        snprintf(why, sizeof why, "%s (%s)", seattn_status_string(s), seattn_last_create_error());
        tu_no_device(why);
    }
    return ctx;
}

void tu_no_device(const char *why) {
    if (env_on("SEATTN_TEST_REQUIRE_DEVICE"))
        cr_assert_fail("no Vulkan device, and SEATTN_TEST_REQUIRE_DEVICE=1: %s", why);
    cr_skip_test("no Vulkan device: %s", why);
}

void tu_expect_forced_kernel(const seattn_context *ctx) {
    const char *want = getenv("SEATTN_KERNEL");
    seattn_call_stats st;
    if (!want || !*want || seattn_context_last_call(ctx, &st) != SEATTN_SUCCESS ||
        st.kernel_id == SEATTN_KERNEL_CPU_REFERENCE)
        return;
    cr_expect(strncmp(st.kernel, want, strlen(want)) == 0, "SEATTN_KERNEL=%s, but %s ran", want,
              st.kernel);
}

void tu_finish(seattn_context *ctx) {
    uint32_t n = seattn_context_validation_errors(ctx);
    seattn_context_destroy(ctx);
    cr_expect_eq(n, 0, "%u Vulkan validation messages (see the log)", n);
}

seattn_attention_desc tu_desc(uint32_t nh, uint32_t nkv, uint32_t d, uint32_t ql, uint32_t kl,
                              int g, int w) {
    seattn_attention_desc x = {.n_heads = nh,
                               .n_kv_heads = nkv,
                               .head_dim = d,
                               .q_len = ql,
                               .kv_len = kl,
                               .group_size = g,
                               .neighbor_window = w};
    return x;
}

void tu_fill(float *x, size_t n, uint32_t seed) {
    uint64_t s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

static size_t span(uint64_t off, seattn_strides s, uint64_t heads, uint64_t len, uint64_t vec) {
    return (size_t)(off + (heads - 1) * s.head + (len - 1) * s.token + vec);
}

size_t tu_q_elems(const seattn_attention_desc *r) {
    return span(r->q_offset, r->q_strides, r->n_heads, r->q_len, r->head_dim);
}
size_t tu_kv_elems(const seattn_attention_desc *r, int v) {
    return v ? span(r->v_offset, r->v_strides, r->n_kv_heads, r->kv_len, r->v_head_dim)
             : span(r->k_offset, r->k_strides, r->n_kv_heads, r->kv_len, r->head_dim);
}
size_t tu_out_elems(const seattn_attention_desc *r) {
    return span(r->out_offset, r->out_strides, r->n_heads, r->q_len, r->v_head_dim);
}
size_t tu_lse_elems(const seattn_attention_desc *r) {
    return span(r->lse_offset, r->lse_strides, r->n_heads, r->q_len, 1);
}

/* f16 through the compiler's _Float16 (round to nearest even): independent of the library's
 * own conversion. */
float tu_round_half(float x) {
    return (float)(_Float16)x;
}

/* A tensor of n elements of type dt (fp8: with scale) holding data as seattn_quantize() stores
 * it (a block type's last block padded with zeros). */
static seattn_status make_scaled(seattn_context *ctx, size_t n, const float *data, seattn_dtype dt,
                                 float scale, seattn_tensor **t) {
    const size_t n32 = (n + 31) / 32 * 32, bytes = seattn_dtype_bytes(dt, n32);
    float *x = calloc(n32, sizeof(float));
    unsigned char *raw = malloc(bytes + 4);
    seattn_status s = x && raw ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    if (!s) {
        memcpy(x, data, n * sizeof(float));
        s = seattn_quantize(dt, x, n32, raw, scale ? scale : 1.0f);
    }
    if (!s) s = seattn_tensor_create(ctx, bytes, t);
    if (!s) s = seattn_tensor_upload(ctx, *t, 0, raw, bytes);
    free(x);
    free(raw);
    return s;
}

static seattn_status make(seattn_context *ctx, size_t n, const float *data, seattn_dtype dt,
                          seattn_tensor **t) {
    return make_scaled(ctx, n, data, dt, 1.0f, t);
}

/* n elements of a tensor of type dt, decoded. */
static seattn_status fetch(seattn_context *ctx, const seattn_tensor *t, size_t n, seattn_dtype dt,
                           float *dst) {
    const size_t bytes = seattn_dtype_bytes(dt, n);
    unsigned char *raw = malloc(bytes + 4);
    if (!raw) return SEATTN_ERROR_OUT_OF_MEMORY;
    seattn_status s = seattn_tensor_download(ctx, t, 0, raw, bytes);
    if (!s) s = seattn_dequantize(dt, raw, n, dst, 1.0f);
    free(raw);
    return s;
}

seattn_status tu_run(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                     const float *k, const float *v, float *out, float *lse) {
    return tu_run_norm(ctx, desc, q, k, v, out, lse, NULL, NULL);
}

seattn_status tu_run_norm(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                          const float *k, const float *v, float *out, float *lse,
                          const float *q_weight, const float *k_weight) {
    return tu_run_full(ctx, desc, q, k, v, out, lse, q_weight, k_weight, NULL);
}

seattn_status tu_run_full(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                          const float *k, const float *v, float *out, float *lse,
                          const float *q_weight, const float *k_weight, const float *sinks) {
    seattn_attention_desc r;
    seattn_status s = seattn_attention_desc_check(ctx, desc, &r);
    if (s != SEATTN_SUCCESS) return s;
    size_t no = tu_out_elems(&r), nl = tu_lse_elems(&r);
    for (size_t i = 0; i < no; i++)
        out[i] = NAN;
    if (lse)
        for (size_t i = 0; i < nl; i++)
            lse[i] = NAN;
    seattn_tensor *tq = NULL, *tk = NULL, *tv = NULL, *to = NULL, *tl = NULL, *tqw = NULL,
                  *tkw = NULL, *tsk = NULL;
    const size_t nqw = r.q_norm_offset + r.head_dim, nkw = r.k_norm_offset + r.head_dim;
    const seattn_dtype f32 = SEATTN_DTYPE_F32;
    if (!(s = make(ctx, tu_q_elems(&r), q, r.q_type, &tq)) &&
        !(s = make_scaled(ctx, tu_kv_elems(&r, 0), k, r.k_type, r.k_scale, &tk)) &&
        !(s = make_scaled(ctx, tu_kv_elems(&r, 1), v, r.v_type, r.v_scale, &tv)) &&
        !(s = make(ctx, no, out, r.out_type, &to)) &&
        !(s = (lse ? make(ctx, nl, lse, f32, &tl) : SEATTN_SUCCESS)) &&
        !(s = (q_weight ? make(ctx, nqw, q_weight, f32, &tqw) : SEATTN_SUCCESS)) &&
        !(s = (k_weight ? make(ctx, nkw, k_weight, f32, &tkw) : SEATTN_SUCCESS)) &&
        !(s = (sinks ? make(ctx, r.sinks_offset + r.n_heads, sinks, f32, &tsk) : SEATTN_SUCCESS))) {
        const seattn_attention_tensors t = {.q = tq,
                                            .k = tk,
                                            .v = tv,
                                            .out = to,
                                            .lse = tl,
                                            .q_norm_weight = tqw,
                                            .k_norm_weight = tkw,
                                            .sinks = tsk};
        if (!(s = seattn_attention_run(ctx, desc, &t)) &&
            !(s = fetch(ctx, to, no, r.out_type, out)) && lse)
            s = seattn_tensor_download(ctx, tl, 0, lse, nl * 4);
    }
    seattn_tensor *all[] = {tq, tk, tv, to, tl, tqw, tkw, tsk};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    return s;
}

seattn_status tu_merge(seattn_context *ctx, const seattn_attention_desc *desc, const float *out_a,
                       const float *lse_a, const float *out_b, const float *lse_b, float *out,
                       float *lse, int in_place) {
    seattn_attention_desc r;
    seattn_status s = seattn_attention_desc_check(ctx, desc, &r);
    if (s != SEATTN_SUCCESS) return s;
    const size_t no = tu_out_elems(&r), nl = tu_lse_elems(&r);
    const seattn_dtype f32 = SEATTN_DTYPE_F32;
    seattn_tensor *ta = NULL, *tla = NULL, *tb = NULL, *tlb = NULL, *to = NULL, *tl = NULL;
    float *poison = malloc(no * 4);
    if (!poison) return SEATTN_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; i < no; i++)
        poison[i] = NAN;
    if (!(s = make(ctx, no, out_a, r.out_type, &ta)) && !(s = make(ctx, nl, lse_a, f32, &tla)) &&
        !(s = make(ctx, no, out_b, r.out_type, &tb)) && !(s = make(ctx, nl, lse_b, f32, &tlb)) &&
        !(s = in_place ? SEATTN_SUCCESS : make(ctx, no, poison, r.out_type, &to)) &&
        !(s = in_place || !lse ? SEATTN_SUCCESS : make(ctx, nl, poison, f32, &tl))) {
        seattn_tensor *dst = in_place ? ta : to, *dst_l = lse ? (in_place ? tla : tl) : NULL;
        if (!(s = seattn_attention_merge(ctx, desc, ta, tla, tb, tlb, dst, dst_l)) &&
            !(s = fetch(ctx, dst, no, r.out_type, out)) && lse)
            s = seattn_tensor_download(ctx, dst_l, 0, lse, nl * 4);
    }
    free(poison);
    seattn_tensor *all[] = {ta, tla, tb, tlb, to, tl};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    return s;
}

double tu_max_err(const seattn_attention_desc *r, const float *a, const float *b) {
    double m = 0.0;
    for (uint32_t h = 0; h < r->n_heads; h++)
        for (uint32_t t = 0; t < r->q_len; t++)
            for (uint32_t i = 0; i < r->v_head_dim; i++) {
                size_t at = r->out_offset + h * r->out_strides.head + t * r->out_strides.token + i;
                double e = fabs((double)a[at] - (double)b[at]);
                if (isnan(e)) return NAN;
                if (e > m) m = e;
            }
    return m;
}
