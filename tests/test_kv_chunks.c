/* K and V over several tensors (seattn_kv_chunk, issue 26): every kernel's address build reads
 * them by buffer device address, the CPU reference gathers them; single calls and paged
 * batches agree with the same keys in one tensor, a block-table entry into a gap between
 * chunks or past them gives NaN rows and reads nothing (NaN guards around every chunk's view
 * would show), and bad layouts are refused by name. */
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
    /* a 1 GiB pool on a busy 2-core machine under a sanitizer: minutes, not the default 60 s */
    seattn_context_options o = {.kernel = kernel, .timeout_ms = 600000};
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

/* The batched benchmark's decode at its real lengths (issue 26): 32 sequences of 1k to 16k keys,
 * 8 KV heads of head_dim 128 (the benchmark's pool: 8 query heads here, not its 32, to keep
 * the work a quarter), f16 keys and values in pages of 16 tokens, a 1.1 GiB pool (K and V) in
 * chunks of 32 MiB (2048 pages) with a page left unused between chunks, against the CPU
 * reference on each sequence alone. Unused pages hold NaN: a read of one would show. One
 * kernel: the default one (lavapipe: texel). */
static float val(uint32_t s, uint32_t j, uint32_t h, uint32_t e, uint32_t which) {
    uint32_t x = s * 0x9E3779B1u ^ j * 0x85EBCA77u ^ h * 0xC2B2AE3Du ^ e * 0x27D4EB2Fu ^ which;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (float)(x >> 8) / 8388608.0f - 1.0f;
}

Test(kv_chunks, decode_32_sequences_1k_to_16k_in_a_1gib_pool) {
    enum { S = 32, H = 8, KVH = 8, D = 128, P = 16, PER = 2048, LO = 1024, HI = 16384 };
    seattn_context *ctx = vulkan(NULL, NULL), *cpu = tu_cpu();
    uint32_t len[S], first_page[S], pages = 0;
    for (uint32_t s = 0; s < S; s++) {
        uint32_t x = s * 2654435761u + 12345u;
        x ^= x >> 15;
        x *= 2246822519u;
        x ^= x >> 13;
        len[s] = LO + (uint32_t)((uint64_t)x * (HI - LO + 1) >> 32);
        first_page[s] = pages;
        pages += (len[s] + P - 1) / P;
    }
    /* logical page i (sequence-major) lies at pool page perm[i]; a chunk of PER pages, then
     * one unused page */
    uint32_t *perm = malloc(pages * sizeof *perm), *owner = malloc(pages * sizeof *owner);
    for (uint32_t i = 0; i < pages; i++)
        perm[i] = i;
    srand(11);
    for (uint32_t i = pages; i > 1; i--) {
        const uint32_t j = (uint32_t)rand() % i, t = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = t;
    }
    for (uint32_t i = 0; i < pages; i++)
        owner[perm[i]] = i;
    const uint32_t n_chunks = (pages + PER - 1) / PER;
    cr_assert(n_chunks <= SEATTN_MAX_KV_CHUNKS);
    uint32_t *bt = malloc(pages * sizeof *bt);
    for (uint32_t i = 0; i < pages; i++)
        bt[i] = perm[i] / PER * (PER + 1) + perm[i] % PER;
    seattn_kv_chunk ch[SEATTN_MAX_KV_CHUNKS];
    seattn_tensor *kt[SEATTN_MAX_KV_CHUNKS], *vt[SEATTN_MAX_KV_CHUNKS];
    uint64_t pool_bytes = 0;
    const uint16_t nan16 = 0x7e00;
    for (uint32_t c = 0; c < n_chunks; c++) {
        const uint32_t np = pages - c * PER < PER ? pages - c * PER : PER;
        const size_t vals = (size_t)np * P * KVH * D;
        uint16_t *hk = malloc(vals * 2), *hv = malloc(vals * 2);
        float *row = malloc(D * sizeof *row);
        for (uint32_t p = 0; p < np; p++) {
            const uint32_t lp = owner[c * PER + p]; /* the logical page here */
            uint32_t s = 0;
            while (s + 1 < S && first_page[s + 1] <= lp)
                s++;
            for (uint32_t i = 0; i < P; i++)
                for (uint32_t h = 0; h < KVH; h++) {
                    const uint32_t j = (lp - first_page[s]) * P + i;
                    const size_t at = (((size_t)p * P + i) * KVH + h) * D;
                    for (int w = 0; w < 2; w++) {
                        uint16_t *dst = (w ? hv : hk) + at;
                        if (j >= len[s]) { /* past the sequence: never read */
                            for (uint32_t e = 0; e < D; e++)
                                dst[e] = nan16;
                            continue;
                        }
                        for (uint32_t e = 0; e < D; e++)
                            row[e] = val(s, j, h, e, (uint32_t)w);
                        seattn_f32_to_f16(row, dst, D);
                    }
                }
        }
        kt[c] = tensor(ctx, hk, vals * 2);
        vt[c] = tensor(ctx, hv, vals * 2);
        ch[c] = (seattn_kv_chunk){kt[c], vt[c], c * (PER + 1) * P, np * P};
        pool_bytes += 4 * (uint64_t)vals;
        free(hk), free(hv), free(row);
    }
    cr_assert(pool_bytes >= (UINT64_C(1) << 30), "the pool is %llu bytes",
              (unsigned long long)pool_bytes);
    /* queries f16, one a sequence; outputs f32 */
    const size_t nq = (size_t)H * S * D;
    float *q = malloc(nq * 4), *out = malloc(nq * 4);
    uint16_t *qh = malloc(nq * 2);
    tu_fill(q, nq, 9);
    seattn_f32_to_f16(q, qh, nq);
    seattn_f16_to_f32(qh, q, nq); /* the reference takes the stored values */
    seattn_seq seqs[S];
    for (uint32_t s = 0; s < S; s++)
        seqs[s] = (seattn_seq){s, 1, len[s] - 1, len[s], first_page[s]};
    seattn_tensor *tq = tensor(ctx, qh, nq * 2), *to = tensor(ctx, NULL, nq * 4);
    seattn_tensor *ts = tensor(ctx, seqs, sizeof seqs), *tb = tensor(ctx, bt, pages * 4);
    seattn_attention_desc d = tu_desc(H, KVH, D, 0, 0, 8, 512);
    d.q_type = d.k_type = d.v_type = SEATTN_DTYPE_F16;
    const seattn_batch_desc bd = {.n_seqs = S,
                                  .max_q_len = 1,
                                  .max_kv_len = HI,
                                  .q_tokens = S,
                                  .kv_tokens =
                                      ch[n_chunks - 1].first_token + ch[n_chunks - 1].tokens,
                                  .page_size = P,
                                  .block_table_len = pages};
    const seattn_attention_tensors t = {
        .q = tq, .out = to, .kv_chunks = ch, .n_kv_chunks = n_chunks};
    cr_assert_eq(seattn_attention_batch(ctx, &d, &bd, &t, ts, tb), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_call_stats st;
    seattn_context_last_call(ctx, &st);
    cr_assert_eq(seattn_tensor_download(ctx, to, 0, out, nq * 4), SEATTN_SUCCESS);
    float *sq = malloc((size_t)H * D * 4), *ref = malloc((size_t)H * D * 4);
    float *sk = malloc((size_t)KVH * HI * D * 4), *sv = malloc((size_t)KVH * HI * D * 4);
    uint16_t *h16 = malloc(D * 2);
    double worst = 0.0;
    for (uint32_t s = 0; s < S; s++) {
        for (uint32_t h = 0; h < H; h++)
            memcpy(sq + (size_t)h * D, q + ((size_t)h * S + s) * D, D * 4);
        for (uint32_t h = 0; h < KVH; h++)
            for (uint32_t j = 0; j < len[s]; j++)
                for (int w = 0; w < 2; w++) {
                    float *dst = (w ? sv : sk) + ((size_t)h * len[s] + j) * D;
                    for (uint32_t e = 0; e < D; e++)
                        dst[e] = val(s, j, h, e, (uint32_t)w);
                    seattn_f32_to_f16(dst, h16, D);
                    seattn_f16_to_f32(h16, dst, D);
                }
        seattn_attention_desc one = tu_desc(H, KVH, D, 1, len[s], 8, 512);
        cr_assert_eq(tu_run(cpu, &one, sq, sk, sv, ref, NULL), SEATTN_SUCCESS);
        for (uint32_t h = 0; h < H; h++)
            for (uint32_t e = 0; e < D; e++) {
                const double x = out[((size_t)h * S + s) * D + e], y = ref[(size_t)h * D + e];
                const double a = fabs(x - y);
                if (!(a <= worst)) worst = a; /* NaN sticks */
            }
    }
    cr_expect(worst <= 1e-4, "%s, %u chunks, %u pages: max err %.3e", st.kernel, n_chunks, pages,
              worst);
    cr_log_info(
        "%s: %u sequences, %u pages, %u chunks, %llu MiB pool, the call %.0f ms: max err %.3e",
        st.kernel, S, pages, n_chunks, (unsigned long long)(pool_bytes >> 20), st.host_ms, worst);
    for (uint32_t c = 0; c < n_chunks; c++)
        seattn_tensor_destroy(kt[c]), seattn_tensor_destroy(vt[c]);
    seattn_tensor_destroy(tq), seattn_tensor_destroy(to), seattn_tensor_destroy(ts);
    seattn_tensor_destroy(tb);
    free(perm), free(owner), free(bt), free(q), free(out), free(qh);
    free(sq), free(ref), free(sk), free(sv), free(h16);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
}

/* A chunk of a prompt (prefill) whose K and V exceed one view: 40,000 keys of 8 heads x 128 f32
 * are 156 MiB each, above lavapipe's 128 MiB maxStorageBufferRange: refused as one tensor by
 * the flash kernel, naming the limit (the texel kernel's texel views reach further), and right
 * over two chunks. */
Test(kv_chunks, prefill_past_one_view) {
    enum { H = 8, KVH = 8, D = 128, QL = 16, KL = 40000 };
    seattn_context *ctx = vulkan("flash_smem", NULL), *cpu = tu_cpu();
    seattn_device_info info;
    seattn_context_device_info(ctx, &info);
    const size_t nk = (size_t)KVH * KL * D, nq = (size_t)H * QL * D;
    if ((uint64_t)nk * 4 <= info.max_storage_buffer_range)
        cr_skip_test("this device's views hold %llu bytes: one tensor would do",
                     (unsigned long long)info.max_storage_buffer_range);
    seattn_attention_desc d = tu_desc(H, KVH, D, QL, KL, 8, 512);
    float *q = malloc(nq * 4), *kk = malloc(nk * 4), *vv = malloc(nk * 4);
    float *a = malloc(nq * 4), *b = malloc(nq * 4);
    tu_fill(q, nq, 21);
    tu_fill(kk, nk, 22);
    tu_fill(vv, nk, 23);
    const seattn_status one = tu_run(ctx, &d, q, kk, vv, a, NULL);
    cr_expect_eq(one, SEATTN_ERROR_UNSUPPORTED, "%s", seattn_context_last_error(ctx));
    cr_expect(strstr(seattn_context_last_error(ctx), "maxStorageBufferRange") != NULL, "%s",
              seattn_context_last_error(ctx));
    chunked C;
    const uint32_t first[2] = {0, 24000}, n[2] = {24000, KL - 24000};
    make_chunks(ctx, &C, &d, SEATTN_DTYPE_F32, KL, kk, vv, 2, first, n);
    d.k_offset = d.v_offset = GUARD;
    cr_assert_eq(run_single(ctx, &d, &C, q, a), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_call_stats st;
    seattn_context_last_call(ctx, &st);
    d.k_offset = d.v_offset = 0;
    cr_assert_eq(tu_run(cpu, &d, q, kk, vv, b, NULL), SEATTN_SUCCESS);
    double e = 0.0;
    for (size_t i = 0; i < nq; i++) {
        const double x = fabs((double)a[i] - b[i]);
        if (!(x <= e)) e = x;
    }
    cr_expect(e <= 1e-4, "%s: max err %.3e", st.kernel, e);
    free_chunks(&C);
    free(q), free(kk), free(vv), free(a), free(b);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
}
