/* K and V over several tensors (seattn_kv_chunk, issue 26): the flash kernels read them by
 * buffer device address, the CPU reference gathers them; single calls and paged batches agree
 * with the same keys in one tensor, a block-table entry into a gap between chunks or past them
 * gives NaN rows and reads nothing (NaN guards around every chunk's view would show), and bad
 * layouts are refused by name. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TestSuite(kv_chunks, .timeout = 900);

static const char *const KERNELS[] = {"texel", "flash_sg", "flash_smem"};

static seattn_context *vulkan(const char *kernel, const char *limits) {
    if (limits) setenv("SEATTN_TEST_LIMITS", limits, 1);
    seattn_context_options o = {.kernel = kernel};
    if (getenv("SEATTN_TEST_VALIDATION")) o.flags |= SEATTN_CONTEXT_VALIDATION;
    seattn_context *ctx = NULL;
    const seattn_status s = seattn_context_create(&o, &ctx);
    unsetenv("SEATTN_TEST_LIMITS");
    if (s == SEATTN_ERROR_NO_DEVICE) tu_no_device(seattn_last_create_error());
    cr_assert_eq(s, SEATTN_SUCCESS, "%s", seattn_last_create_error());
    return ctx;
}

static seattn_tensor *tensor(seattn_context *ctx, const void *data, size_t bytes) {
    seattn_tensor *t = NULL;
    cr_assert_eq(seattn_tensor_create(ctx, bytes, &t), SEATTN_SUCCESS);
    if (data) cr_assert_eq(seattn_tensor_upload(ctx, t, 0, data, bytes), SEATTN_SUCCESS);
    return t;
}

/* A pool of `space` tokens, [n_kv_heads, space, d] f32 in k and v, split into chunks: chunk c
 * holds tokens first[c] .. first[c] + n[c] - 1, [tokens, n_kv_heads, d] with GUARD NaN values
 * before its view and after it, stored as type dt (f32, f16 or q8_0). */
enum { GUARD = 64, MAXC = 4 };
typedef struct {
    uint32_t n_chunks;
    seattn_kv_chunk ch[MAXC];
    seattn_tensor *t[2 * MAXC];
} chunked;

static void *encode(seattn_dtype dt, const float *x, size_t n, size_t *bytes) {
    *bytes = seattn_dtype_bytes(dt, n);
    void *raw = malloc(*bytes);
    if (dt == SEATTN_DTYPE_F32)
        memcpy(raw, x, *bytes);
    else
        cr_assert_eq(seattn_quantize(dt, x, n, raw, 0.0f), SEATTN_SUCCESS);
    return raw;
}

static void make_chunks(seattn_context *ctx, chunked *C, const seattn_attention_desc *d,
                        seattn_dtype dt, uint32_t space, const float *k, const float *v,
                        uint32_t n_chunks, const uint32_t *first, const uint32_t *n) {
    C->n_chunks = n_chunks;
    const uint32_t nkv = d->n_kv_heads, hd = d->head_dim;
    for (uint32_t c = 0; c < n_chunks; c++) {
        for (int which = 0; which < 2; which++) {
            const float *src = which ? v : k;
            const size_t vals = (size_t)n[c] * nkv * hd + 2 * GUARD;
            float *x = malloc(vals * sizeof *x);
            for (size_t i = 0; i < vals; i++)
                x[i] = NAN;
            for (uint32_t i = 0; i < n[c]; i++)
                for (uint32_t h = 0; h < nkv; h++)
                    memcpy(x + GUARD + ((size_t)i * nkv + h) * hd,
                           src + ((size_t)h * space + first[c] + i) * hd, hd * sizeof *x);
            size_t bytes;
            void *raw = encode(dt, x, vals, &bytes);
            C->t[2 * c + which] = tensor(ctx, raw, bytes);
            free(raw);
            free(x);
        }
        C->ch[c] = (seattn_kv_chunk){C->t[2 * c], C->t[2 * c + 1], first[c], n[c]};
    }
}

static void free_chunks(chunked *C) {
    for (uint32_t i = 0; i < 2 * C->n_chunks; i++)
        seattn_tensor_destroy(C->t[i]);
}

/* The single call of d over the chunks on ctx, out into *out. */
static seattn_status run_single(seattn_context *ctx, const seattn_attention_desc *d,
                                const chunked *C, const float *q, float *out) {
    const size_t nq = (size_t)d->n_heads * d->q_len * d->head_dim, no = nq; /* v_head_dim d */
    seattn_tensor *tq = tensor(ctx, q, nq * 4), *to = tensor(ctx, NULL, no * 4);
    const seattn_attention_tensors t = {
        .q = tq, .out = to, .kv_chunks = C->ch, .n_kv_chunks = C->n_chunks};
    const seattn_status s = seattn_attention_run(ctx, d, &t);
    if (s == SEATTN_SUCCESS)
        cr_assert_eq(seattn_tensor_download(ctx, to, 0, out, no * 4), SEATTN_SUCCESS);
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(to);
    return s;
}

/* Keys in three chunks (two with NaN guards past their views), each kernel and storage type,
 * against the CPU reference over the same keys in one tensor. */
Test(kv_chunks, single_call_equals_one_tensor) {
    seattn_context *cpu = tu_cpu();
    const seattn_dtype types[] = {SEATTN_DTYPE_F32, SEATTN_DTYPE_F16, SEATTN_DTYPE_Q8_0};
    for (int k = 0; k < 3; k++) {
        seattn_context *ctx = vulkan(KERNELS[k], NULL);
        for (int ti = 0; ti < 3; ti++) {
            seattn_attention_desc d = tu_desc(4, 2, 64, 5, 300, 4, 32);
            d.k_type = d.v_type = types[ti];
            d.k_offset = d.v_offset = GUARD;
            seattn_attention_desc r; /* sizes: d resolved (dense, heads first) */
            cr_assert_eq(seattn_attention_desc_check(cpu, &d, &r), SEATTN_SUCCESS);
            r.k_offset = r.v_offset = 0;
            const size_t nk = tu_kv_elems(&r, 0);
            float *q = malloc(tu_q_elems(&r) * 4), *kk = malloc(nk * 4), *vv = malloc(nk * 4);
            float *a = malloc(tu_out_elems(&r) * 4), *b = malloc(tu_out_elems(&r) * 4);
            tu_fill(q, tu_q_elems(&r), 1);
            tu_fill(kk, nk, 2);
            tu_fill(vv, nk, 3);
            /* the reference: the same stored values in one dense tensor */
            size_t kb, vb;
            void *kr = encode(d.k_type, kk, nk, &kb), *vr = encode(d.v_type, vv, nk, &vb);
            float *kd = malloc(nk * 4), *vd = malloc(nk * 4);
            seattn_dequantize(d.k_type, kr, nk, kd, 0.0f);
            seattn_dequantize(d.v_type, vr, nk, vd, 0.0f);
            seattn_attention_desc plain = d;
            plain.k_type = plain.v_type = SEATTN_DTYPE_F32;
            plain.k_offset = plain.v_offset = 0;
            cr_assert_eq(tu_run(cpu, &plain, q, kd, vd, b, NULL), SEATTN_SUCCESS);
            chunked C;
            const uint32_t first[3] = {0, 96, 256}, n[3] = {96, 160, 44};
            make_chunks(ctx, &C, &d, d.k_type, 300, kk, vv, 3, first, n);
            cr_assert_eq(run_single(ctx, &d, &C, q, a), SEATTN_SUCCESS, "%s",
                         seattn_context_last_error(ctx));
            seattn_call_stats st;
            seattn_context_last_call(ctx, &st);
            cr_expect(strstr(st.kernel, "chunks3") != NULL, "%s", st.kernel);
            const double e = tu_max_err(&r, a, b);
            cr_expect(e <= 1e-4, "%s %s: max err %.3e", st.kernel, seattn_dtype_name(d.k_type), e);
            /* the CPU backend takes chunks too */
            chunked Cc;
            make_chunks(cpu, &Cc, &d, d.k_type, 300, kk, vv, 3, first, n);
            cr_assert_eq(run_single(cpu, &d, &Cc, q, a), SEATTN_SUCCESS, "%s",
                         seattn_context_last_error(cpu));
            cr_expect(tu_max_err(&r, a, b) == 0.0, "cpu %s", seattn_dtype_name(d.k_type));
            free_chunks(&Cc);
            free_chunks(&C);
            free(kr), free(vr), free(kd), free(vd);
            free(q), free(kk), free(vv), free(a), free(b);
        }
        seattn_context_destroy(ctx);
    }
    seattn_context_destroy(cpu);
}

/* A paged decode batch over a pool of 40 pages in three chunks with gaps (pages 10-11 and
 * 25-29): sequences whose pages lie in chunks equal their own calls; one with a page in a gap
 * and one with a page past the pool get NaN rows. NaN guards around every chunk's view would
 * poison any row that read them. */
Test(kv_chunks, paged_batch_with_gaps) {
    enum { H = 4, KVH = 2, D = 64, P = 16, PAGES = 40, POOL = P * PAGES, S = 4, BT = 8 };
    seattn_context *cpu = tu_cpu();
    for (int k = 0; k < 3; k++) {
        seattn_context *ctx = vulkan(KERNELS[k], NULL);
        seattn_attention_desc d = tu_desc(H, KVH, D, 0, 0, 4, 16);
        d.k_offset = d.v_offset = GUARD;
        const size_t pool = (size_t)KVH * POOL * D, nq = (size_t)H * S * D;
        float *q = malloc(nq * 4), *kk = malloc(pool * 4), *vv = malloc(pool * 4);
        float *out = malloc(nq * 4);
        tu_fill(q, nq, 4);
        tu_fill(kk, pool, 5);
        tu_fill(vv, pool, 6);
        chunked C;
        const uint32_t first[3] = {0, 12 * P, 30 * P}, n[3] = {10 * P, 13 * P, 10 * P};
        make_chunks(ctx, &C, &d, SEATTN_DTYPE_F32, POOL, kk, vv, 3, first, n);
        /* q_start, q_len, q_pos, kv_len, kv_start; the table: each sequence's 8 entries */
        const uint32_t seqs[S][5] = {
            {0, 1, 99, 100, 0}, {1, 1, 40, 41, 8}, {2, 1, 127, 128, 16}, {3, 1, 30, 31, 24}};
        const uint32_t bt[S * BT] = {0,  13, 2,  31, 39, 5,  24, 12, /* all in chunks */
                                     1,  9,  30, 0,  0,  0,  0,  0,  /* 3 pages */
                                     3,  4,  10, 14, 15, 16, 17, 18, /* page 10: a gap */
                                     40, 0,  0,  0,  0,  0,  0,  0}; /* page 40: past */
        seattn_tensor *tq = tensor(ctx, q, nq * 4), *to = tensor(ctx, NULL, nq * 4);
        seattn_tensor *ts = tensor(ctx, seqs, sizeof seqs), *tb = tensor(ctx, bt, sizeof bt);
        const seattn_batch_desc bd = {.n_seqs = S,
                                      .max_q_len = 1,
                                      .max_kv_len = 128,
                                      .q_tokens = S,
                                      .kv_tokens = POOL,
                                      .page_size = P,
                                      .block_table_len = S * BT};
        const seattn_attention_tensors t = {
            .q = tq, .out = to, .kv_chunks = C.ch, .n_kv_chunks = 3};
        cr_assert_eq(seattn_attention_batch(ctx, &d, &bd, &t, ts, tb), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx));
        seattn_call_stats st;
        seattn_context_last_call(ctx, &st);
        cr_assert_eq(seattn_tensor_download(ctx, to, 0, out, nq * 4), SEATTN_SUCCESS);
        for (uint32_t s = 0; s < S; s++) {
            const uint32_t *m = seqs[s];
            bool nan_all = true, nan_any = false;
            for (uint32_t h = 0; h < H; h++)
                for (uint32_t i = 0; i < D; i++) {
                    const float x = out[((size_t)h * S + m[0]) * D + i];
                    nan_all = nan_all && isnan(x);
                    nan_any = nan_any || isnan(x);
                }
            if (s >= 2) {
                cr_expect(nan_all, "%s: sequence %u has a page outside the chunks", st.kernel, s);
                continue;
            }
            cr_expect(!nan_any, "%s: sequence %u read outside its chunks", st.kernel, s);
            /* the sequence alone: its query and its keys gathered from their pages */
            float sq[H * D], sk[128 * KVH * D], sv[128 * KVH * D], ref[H * D];
            for (uint32_t h = 0; h < H; h++)
                memcpy(sq + h * D, q + ((size_t)h * S + m[0]) * D, D * 4);
            for (uint32_t h = 0; h < KVH; h++)
                for (uint32_t j = 0; j < m[3]; j++) {
                    const uint32_t tok = bt[m[4] + j / P] * P + j % P;
                    memcpy(sk + ((size_t)h * m[3] + j) * D, kk + ((size_t)h * POOL + tok) * D,
                           D * 4);
                    memcpy(sv + ((size_t)h * m[3] + j) * D, vv + ((size_t)h * POOL + tok) * D,
                           D * 4);
                }
            seattn_attention_desc one = tu_desc(H, KVH, D, 1, m[3], 4, 16);
            cr_assert_eq(tu_run(cpu, &one, sq, sk, sv, ref, NULL), SEATTN_SUCCESS);
            double e = 0.0;
            for (uint32_t h = 0; h < H; h++)
                for (uint32_t i = 0; i < D; i++)
                    e = fmax(e, fabs(out[((size_t)h * S + m[0]) * D + i] - ref[h * D + i]));
            cr_expect(e <= 1e-4, "%s: sequence %u: max err %.3e", st.kernel, s, e);
        }
        /* the CPU backend gives the same NaN rows */
        chunked Cc;
        make_chunks(cpu, &Cc, &d, SEATTN_DTYPE_F32, POOL, kk, vv, 3, first, n);
        seattn_tensor *cq = tensor(cpu, q, nq * 4), *co = tensor(cpu, NULL, nq * 4);
        seattn_tensor *cs = tensor(cpu, seqs, sizeof seqs), *cb = tensor(cpu, bt, sizeof bt);
        const seattn_attention_tensors ct = {
            .q = cq, .out = co, .kv_chunks = Cc.ch, .n_kv_chunks = 3};
        cr_assert_eq(seattn_attention_batch(cpu, &d, &bd, &ct, cs, cb), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(cpu));
        float *cout = malloc(nq * 4);
        cr_assert_eq(seattn_tensor_download(cpu, co, 0, cout, nq * 4), SEATTN_SUCCESS);
        for (size_t i = 0; i < nq; i++)
            cr_expect(isnan(cout[i]) == isnan(out[i]) &&
                          (isnan(out[i]) || fabs(cout[i] - out[i]) <= 1e-4),
                      "%s: element %zu: cpu %g, vulkan %g", st.kernel, i, cout[i], out[i]);
        free(cout);
        seattn_tensor_destroy(cq), seattn_tensor_destroy(co), seattn_tensor_destroy(cs);
        seattn_tensor_destroy(cb);
        free_chunks(&Cc);
        seattn_tensor_destroy(tq), seattn_tensor_destroy(to), seattn_tensor_destroy(ts);
        seattn_tensor_destroy(tb);
        free_chunks(&C);
        free(q), free(kk), free(vv), free(out);
        seattn_context_destroy(ctx);
    }
    seattn_context_destroy(cpu);
}

/* Refused by name: chunks on a device without buffer device address, k or v given besides
 * chunks, tokens shared by two chunks, a gap in a single call's keys, chunks off whole pages. */
Test(kv_chunks, bad_layouts_are_refused) {
    seattn_attention_desc d = tu_desc(2, 1, 32, 1, 64, 1, 0);
    const size_t nk = (size_t)80 * 32; /* 80 tokens: a chunk may reach past the call's 64 */
    float *q = calloc(64, 4), *kk = calloc(nk, 4), *vv = calloc(nk, 4), *out = calloc(64, 4);
    seattn_context *ctx = vulkan(NULL, "address=0");
    chunked C;
    const uint32_t first[2] = {0, 32}, n[2] = {32, 32};
    make_chunks(ctx, &C, &d, SEATTN_DTYPE_F32, 80, kk, vv, 2, first, n);
    cr_expect_eq(run_single(ctx, &d, &C, q, out), SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(seattn_context_last_error(ctx), "buffer device address") != NULL, "%s",
              seattn_context_last_error(ctx));
    free_chunks(&C);
    seattn_context_destroy(ctx);

    ctx = vulkan(NULL, NULL);
    const struct {
        uint32_t first[2], n[2];
        const char *says;
    } bad[] = {{{0, 16}, {32, 48}, "share tokens"},
               {{0, 40}, {32, 24}, "cover 56 of the 64"},
               {{0, 32}, {32, 33}, "past the 64 tokens"}};
    for (int i = 0; i < 3; i++) {
        make_chunks(ctx, &C, &d, SEATTN_DTYPE_F32, 80, kk, vv, 2, bad[i].first, bad[i].n);
        cr_expect_eq(run_single(ctx, &d, &C, q, out), SEATTN_ERROR_INVALID_ARGUMENT, "%s",
                     bad[i].says);
        cr_expect(strstr(seattn_context_last_error(ctx), bad[i].says) != NULL, "%s",
                  seattn_context_last_error(ctx));
        free_chunks(&C);
    }
    /* k given besides chunks */
    make_chunks(ctx, &C, &d, SEATTN_DTYPE_F32, 80, kk, vv, 2, first, n);
    seattn_tensor *tq = tensor(ctx, q, 64 * 4), *to = tensor(ctx, NULL, 64 * 4);
    seattn_attention_tensors t = {
        .q = tq, .k = C.ch[0].k, .out = to, .kv_chunks = C.ch, .n_kv_chunks = 2};
    cr_expect_eq(seattn_attention_run(ctx, &d, &t), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "must be NULL") != NULL, "%s",
              seattn_context_last_error(ctx));
    seattn_tensor_destroy(tq), seattn_tensor_destroy(to);
    free_chunks(&C);
    seattn_context_destroy(ctx);
    free(q), free(kk), free(vv), free(out);
}
