/* Batches (seattn_attention_batch): each sequence of a batch against its own single call on the
 * CPU reference, on the CPU reference and on every kernel that takes batches; pages in a
 * shuffled pool against contiguous keys; sequences with nothing to do; bad metadata, which must
 * stay inside the tensors (guard regions) and give NaN rows; the host checks. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The kernels that take batches, and the CPU reference (NULL). */
static const char *const KERNELS[] = {NULL, "texel", "flash_sg", "flash_smem"};
enum { N_KERNELS = sizeof KERNELS / sizeof KERNELS[0] };

/* Whether kernel k runs here: SEATTN_TEST_BATCH_KERNELS, a comma list, narrows the list (run.sh
 * runs the flash kernels on Mesa 22.3 only: Mesa 25's lavapipe compiles them for minutes). */
static bool wanted(int k) {
    const char *only = getenv("SEATTN_TEST_BATCH_KERNELS");
    if (!KERNELS[k] || !only || !*only) return true;
    const size_t n = strlen(KERNELS[k]);
    for (const char *p = only; (p = strstr(p, KERNELS[k])) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

static seattn_context *context(const char *kernel) {
    if (!kernel) return tu_cpu();
    seattn_context_options o = {0};
    o.kernel = kernel;
    if (getenv("SEATTN_TEST_VALIDATION") && atoi(getenv("SEATTN_TEST_VALIDATION")))
        o.flags |= SEATTN_CONTEXT_VALIDATION;
    seattn_context *ctx = NULL;
    if (seattn_context_create(&o, &ctx) != SEATTN_SUCCESS) tu_no_device(seattn_last_create_error());
    return ctx;
}

/* A batch on host arrays: sequence s has its own q [nh, q_len, d] and keys [nkv, kv_len, d]
 * (q_all, k_all, v_all: one after another), packed into the views as the batch describes. */
typedef struct {
    uint32_t nh, nkv, d, n;
    seattn_seq seq[16];
    seattn_batch_desc b;
    uint32_t *bt;              /* block table, b.block_table_len entries */
    float *q, *k, *v;          /* the views: [nh, q_tokens, d], [nkv, kv_tokens, d] */
    size_t q_at[16], k_at[16]; /* where sequence s's own arrays start in q_all, k_all */
    float *q_all, *k_all, *v_all;
} batch;

static uint32_t ceil_div(uint32_t a, uint32_t b) {
    return (a + b - 1) / b;
}

/* Builds the batch of n sequences (q_len, kv_len each; q_pos = kv_len - q_len) with page size
 * P (0: contiguous), the pool's pages in a shuffled order and `spare` unused pages, and gap
 * unused query rows after each sequence's. */
static void make(batch *B, uint32_t nh, uint32_t nkv, uint32_t d, uint32_t n, const uint32_t *ql,
                 const uint32_t *kl, uint32_t P, uint32_t spare, uint32_t gap, uint32_t seed) {
    memset(B, 0, sizeof *B);
    B->nh = nh, B->nkv = nkv, B->d = d, B->n = n;
    uint32_t qt = 0, kt = 0, pages = 0, max_q = 1, max_kv = 1;
    size_t qa = 0, ka = 0;
    for (uint32_t s = 0; s < n; s++) {
        B->seq[s] = (seattn_seq){qt, ql[s], kl[s] - ql[s], kl[s], P ? pages : kt};
        B->q_at[s] = qa, B->k_at[s] = ka;
        qa += (size_t)nh * ql[s] * d, ka += (size_t)nkv * kl[s] * d;
        qt += ql[s] + gap, kt += kl[s], pages += P ? ceil_div(kl[s], P) : 0;
        if (ql[s] > max_q) max_q = ql[s];
        if (kl[s] > max_kv) max_kv = kl[s];
    }
    if (qt == 0) qt = 1;
    const uint32_t pool = P ? (pages + spare) * P : (kt ? kt : 1);
    B->b = (seattn_batch_desc){.n_seqs = n,
                               .max_q_len = max_q,
                               .max_kv_len = max_kv,
                               .q_tokens = qt,
                               .kv_tokens = pool,
                               .page_size = P,
                               .block_table_len = P ? (pages ? pages : 1) : 0};
    B->q_all = malloc((qa + 1) * 4), B->k_all = malloc((ka + 1) * 4),
    B->v_all = malloc((ka + 1) * 4);
    tu_fill(B->q_all, qa, seed);
    tu_fill(B->k_all, ka, seed + 1);
    tu_fill(B->v_all, ka, seed + 2);
    B->q = calloc((size_t)nh * qt * d, 4);
    B->k = calloc((size_t)nkv * pool * d, 4);
    B->v = calloc((size_t)nkv * pool * d, 4);
    /* the pool's pages in a shuffled order */
    uint32_t *perm = malloc(sizeof(uint32_t) * (pages + spare + 1));
    for (uint32_t i = 0; i < pages + spare; i++)
        perm[i] = i;
    srand(seed);
    for (uint32_t i = pages + spare; i > 1; i--) {
        const uint32_t j = (uint32_t)rand() % i, t = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = t;
    }
    B->bt = calloc(B->b.block_table_len + 1, sizeof(uint32_t));
    for (uint32_t i = 0; i < pages; i++)
        B->bt[i] = perm[i];
    free(perm);
    for (uint32_t s = 0; s < n; s++) {
        const seattn_seq *q = &B->seq[s];
        for (uint32_t h = 0; h < nh; h++)
            memcpy(B->q + ((size_t)h * qt + q->q_start) * d,
                   B->q_all + B->q_at[s] + (size_t)h * q->q_len * d, (size_t)q->q_len * d * 4);
        for (uint32_t h = 0; h < nkv; h++)
            for (uint32_t j = 0; j < q->kv_len; j++) {
                const uint32_t tok = P ? B->bt[q->kv_start + j / P] * P + j % P : q->kv_start + j;
                const size_t src = B->k_at[s] + ((size_t)h * q->kv_len + j) * d;
                memcpy(B->k + ((size_t)h * pool + tok) * d, B->k_all + src, (size_t)d * 4);
                memcpy(B->v + ((size_t)h * pool + tok) * d, B->v_all + src, (size_t)d * 4);
            }
    }
}

static void release(batch *B) {
    free(B->bt), free(B->q), free(B->k), free(B->v);
    free(B->q_all), free(B->k_all), free(B->v_all);
}

#define SENTINEL 1234.5f
#define GUARD 37 /* elements of guard before and after every view */

/* Runs the batch on ctx with every tensor inside a guard region of SENTINEL (metadata: of
 * 0xdeadbeef), checks the guards afterwards, and returns out [nh, q_tokens, d] and lse
 * [nh, q_tokens], both SENTINEL where nothing was written. */
static seattn_status run(seattn_context *ctx, const seattn_attention_desc *desc, const batch *B,
                         const seattn_seq *seqs, float *out, float *lse) {
    const seattn_batch_desc *b = &B->b;
    const size_t nq = (size_t)B->nh * b->q_tokens * B->d, nk = (size_t)B->nkv * b->kv_tokens * B->d;
    const size_t nl = (size_t)B->nh * b->q_tokens, ns = 5 * (size_t)b->n_seqs;
    const size_t nb = b->page_size ? b->block_table_len : 1;
    const size_t sizes[7] = {nq, nk, nk, nq, nl, ns, nb};
    const void *src[7] = {B->q, B->k, B->v, NULL, NULL, seqs, B->bt};
    seattn_tensor *t[7];
    uint32_t *init[7];
    for (int i = 0; i < 7; i++) {
        const size_t n = sizes[i] + 2 * GUARD;
        init[i] = malloc(n * 4);
        const float sent = SENTINEL;
        for (size_t j = 0; j < n; j++) {
            if (i >= 5)
                init[i][j] = 0xdeadbeefu;
            else
                memcpy(&init[i][j], &sent, 4);
        }
        if (src[i]) memcpy(init[i] + GUARD, src[i], sizes[i] * 4);
        cr_assert_eq(seattn_tensor_create(ctx, n * 4, &t[i]), SEATTN_SUCCESS);
        cr_assert_eq(seattn_tensor_upload(ctx, t[i], 0, init[i], n * 4), SEATTN_SUCCESS);
    }
    seattn_attention_desc d = *desc;
    d.q_offset = d.k_offset = d.v_offset = d.out_offset = d.lse_offset = GUARD;
    seattn_batch_desc bd = *b;
    bd.seqs_offset = bd.block_table_offset = GUARD;
    const seattn_attention_tensors ts = {.q = t[0], .k = t[1], .v = t[2], .out = t[3], .lse = t[4]};
    seattn_status st = seattn_attention_batch(ctx, &d, &bd, &ts, t[5], b->page_size ? t[6] : NULL);
    for (int i = 0; i < 7; i++) {
        const size_t n = sizes[i] + 2 * GUARD;
        uint32_t *host = malloc(n * 4);
        cr_assert_eq(seattn_tensor_download(ctx, t[i], 0, host, n * 4), SEATTN_SUCCESS);
        /* guards never change, nor do the inputs */
        for (size_t j = 0; j < n; j++)
            if (i < 3 || i >= 5 || j < GUARD || j >= GUARD + sizes[i])
                cr_assert_eq(host[j], init[i][j], "tensor %d: element %zu of %zu changed", i, j, n);
        if (i == 3) memcpy(out, host + GUARD, nq * 4);
        if (i == 4) memcpy(lse, host + GUARD, nl * 4);
        free(host), free(init[i]);
        seattn_tensor_destroy(t[i]);
    }
    return st;
}

/* Sequence s's rows of out and lse against its own seattn_attention() on the CPU reference. */
static double seq_error(const seattn_attention_desc *desc, const batch *B, uint32_t s,
                        const float *out, const float *lse) {
    const seattn_seq *q = &B->seq[s];
    if (q->q_len == 0) return 0.0;
    seattn_context *cpu = tu_cpu();
    seattn_attention_desc d = *desc;
    d.q_len = q->q_len, d.kv_len = q->kv_len, d.q_pos = q->q_pos;
    d.flags |= SEATTN_ATTN_Q_POS;
    const size_t no = (size_t)B->nh * q->q_len * B->d;
    float *ref = malloc(no * 4), *rl = malloc((size_t)B->nh * q->q_len * 4);
    cr_assert_eq(tu_run(cpu, &d, B->q_all + B->q_at[s], B->k_all + B->k_at[s],
                        B->v_all + B->k_at[s], ref, rl),
                 SEATTN_SUCCESS);
    double e = 0.0;
    for (uint32_t h = 0; h < B->nh; h++)
        for (uint32_t r = 0; r < q->q_len; r++) {
            const size_t row = (size_t)h * B->b.q_tokens + q->q_start + r;
            for (uint32_t i = 0; i < B->d; i++) {
                const double x = out[row * B->d + i],
                             y = ref[((size_t)h * q->q_len + r) * B->d + i];
                e = isnan(x) || isnan(y) ? NAN : fmax(e, fabs(x - y));
            }
            const double x = lse[row], y = rl[(size_t)h * q->q_len + r];
            e = isnan(x) || isnan(e) ? NAN : fmax(e, fabs(x - y));
        }
    free(ref), free(rl);
    seattn_context_destroy(cpu);
    return e;
}

/* Every row of sequence s is NaN (out and lse). */
static bool seq_nan(const batch *B, uint32_t s, const float *out, const float *lse) {
    const seattn_seq *q = &B->seq[s];
    for (uint32_t h = 0; h < B->nh; h++)
        for (uint32_t r = 0; r < q->q_len; r++) {
            const size_t row = (size_t)h * B->b.q_tokens + q->q_start + r;
            if (!isnan(lse[row])) return false;
            for (uint32_t i = 0; i < B->d; i++)
                if (!isnan(out[row * B->d + i])) return false;
        }
    return true;
}

static void check_all(const char *what, const seattn_attention_desc *desc, uint32_t nh,
                      uint32_t nkv, uint32_t d, uint32_t n, const uint32_t *ql, const uint32_t *kl,
                      const uint32_t *pages, int n_pages, uint32_t min_splits) {
    for (int k = 0; k < N_KERNELS; k++) {
        if (!wanted(k)) continue;
        seattn_context *ctx = context(KERNELS[k]);
        for (int pi = 0; pi < n_pages; pi++) {
            batch B;
            make(&B, nh, nkv, d, n, ql, kl, pages[pi], 2, 1, 40u + (uint32_t)pi);
            const size_t nq = (size_t)nh * B.b.q_tokens * d;
            float *out = malloc(nq * 4), *lse = malloc((size_t)nh * B.b.q_tokens * 4);
            const seattn_status st = run(ctx, desc, &B, B.seq, out, lse);
            cr_assert_eq(st, SEATTN_SUCCESS, "%s on %s, page size %u: %s", what,
                         KERNELS[k] ? KERNELS[k] : "cpu", pages[pi],
                         seattn_context_last_error(ctx));
            seattn_call_stats cs;
            cr_assert_eq(seattn_context_last_call(ctx, &cs), SEATTN_SUCCESS);
            if (KERNELS[k]) {
                cr_expect(strncmp(cs.kernel, KERNELS[k], strlen(KERNELS[k])) == 0 &&
                              strstr(cs.kernel, " batch"),
                          "%s ran, not %s's batch", cs.kernel, KERNELS[k]);
                cr_expect(cs.key_splits >= min_splits, "%s: %u key splits, expected >= %u",
                          cs.kernel, cs.key_splits, min_splits);
            }
            for (uint32_t s = 0; s < n; s++) {
                const double e = seq_error(desc, &B, s, out, lse);
                cr_expect(e <= 1e-4,
                          "%s on %s, page size %u: sequence %u (q_len %u, kv_len %u) "
                          "max err %.3e",
                          what, KERNELS[k] ? KERNELS[k] : "cpu", pages[pi], s, ql[s], kl[s], e);
            }
            /* the gap rows after each sequence's are not written */
            for (uint32_t h = 0; h < nh; h++)
                for (uint32_t s = 0; s < n; s++) {
                    const size_t row = (size_t)h * B.b.q_tokens + B.seq[s].q_start + ql[s];
                    cr_expect(lse[row] == SENTINEL && out[row * d] == SENTINEL,
                              "%s: a row no sequence covers was written", what);
                }
            free(out), free(lse);
            release(&B);
        }
        cr_expect_eq(seattn_context_validation_errors(ctx), 0);
        seattn_context_destroy(ctx);
    }
}

TestSuite(batch, .timeout = 900);

/* Decode, chunked prefill and whole prompts in one call; GQA; kv_len < W; W % G != 0; the keys
 * contiguous and in pages of 16, 5 and 1 in a shuffled pool. */
Test(batch, each_sequence_equals_its_own_call) {
    seattn_attention_desc d = tu_desc(4, 2, 64, 1, 1, 4, 18);
    const uint32_t ql[] = {1, 7, 1, 33, 1, 12}, kl[] = {40, 7, 300, 90, 9, 12};
    const uint32_t pages[] = {0, 16, 5, 1};
    check_all("mixed", &d, 4, 2, 64, 6, ql, kl, pages, 4, 1);
}

/* Rotated keys (a KV cache), interleaved RoPE, QK-norm off, no GQA, head_dim 128. */
Test(batch, rotated_keys_interleaved) {
    seattn_attention_desc d = tu_desc(2, 2, 128, 1, 1, 8, 32);
    d.key_mode = SEATTN_KEYS_ROTATED;
    d.rope_layout = SEATTN_ROPE_INTERLEAVED;
    const uint32_t ql[] = {1, 20, 1}, kl[] = {100, 60, 33};
    const uint32_t pages[] = {0, 32};
    check_all("rotated", &d, 2, 2, 128, 3, ql, kl, pages, 2, 1);
}

/* One sequence of 1 key next to one of 100k: the long one is split, the short one is not held
 * up by it, and both are right; with pages of one token too, where a key costs the texel
 * kernel two loop iterations on llvmpipe (its budget is 65535 an invocation). */
Test(batch, one_key_next_to_100k) {
    seattn_attention_desc d = tu_desc(2, 1, 64, 1, 1, 16, 512);
    const uint32_t ql[] = {1, 1, 1}, kl[] = {1, 100000, 3000};
    const uint32_t pages[] = {0, 256, 1};
    check_all("long and short", &d, 2, 1, 64, 3, ql, kl, pages, 3, 2);
    /* enough sequences that the split is the loop budget's alone */
    uint32_t ql16[16], kl16[16];
    for (int i = 0; i < 16; i++)
        ql16[i] = 1, kl16[i] = i == 5 ? 100000 : 1 + 7 * (uint32_t)i;
    const uint32_t one[] = {1};
    check_all("long and short, pages of 1", &d, 2, 1, 64, 16, ql16, kl16, one, 1, 2);
}

/* Free slots (q_len 0, kv_len 0 and not) next to live sequences; with a key split. */
Test(batch, sequences_with_nothing_to_do) {
    seattn_attention_desc d = tu_desc(2, 1, 32, 1, 1, 2, 4);
    const uint32_t ql[] = {0, 1, 0, 1, 0}, kl[] = {0, 2000, 50, 1, 0};
    const uint32_t pages[] = {0, 16};
    check_all("free slots", &d, 2, 1, 32, 5, ql, kl, pages, 2, 2);
}

/* Bad metadata, on every kernel: nothing is read or written outside the views (the guards of
 * run()), bad sequences get NaN rows or none, good ones stay right. */
Test(batch, bad_metadata_stays_inside) {
    seattn_attention_desc d = tu_desc(2, 1, 64, 1, 1, 4, 8);
    const uint32_t ql[] = {1, 3, 1, 2, 1, 1, 1, 1}, kl[] = {30, 40, 50, 20, 20, 20, 2000, 20};
    for (int k = 0; k < N_KERNELS; k++) {
        if (!wanted(k)) continue;
        seattn_context *ctx = context(KERNELS[k]);
        for (uint32_t P = 0; P <= 8; P += 8) {
            batch B;
            make(&B, 2, 1, 64, 8, ql, kl, P, 1, 0, 7);
            seattn_seq bad[8];
            memcpy(bad, B.seq, sizeof bad);
            bad[1].q_start = B.b.q_tokens - 2;  /* rows past the view: none written */
            bad[2].kv_len = B.b.max_kv_len + 1; /* past max_kv_len: NaN */
            bad[3].q_pos = bad[3].kv_len;       /* q_pos + q_len > kv_len: NaN */
            bad[4].kv_start = P ? B.b.block_table_len : B.b.kv_tokens - 5; /* past the keys */
            if (P)
                B.bt[bad[5].kv_start + 1] = B.b.kv_tokens / P; /* a page past the pool */
            else
                bad[5].q_len = B.b.max_q_len + 1;             /* past max_q_len: none written */
            if (P) B.bt[bad[6].kv_start + 200] = 0xffffffffu; /* in a later key split */
            const size_t nq = (size_t)2 * B.b.q_tokens * 64;
            float *out = malloc(nq * 4), *lse = malloc((size_t)2 * B.b.q_tokens * 4);
            cr_assert_eq(run(ctx, &d, &B, bad, out, lse), SEATTN_SUCCESS, "%s",
                         seattn_context_last_error(ctx));
            const char *kn = KERNELS[k] ? KERNELS[k] : "cpu";
            cr_expect(seq_error(&d, &B, 0, out, lse) <= 1e-4, "%s P %u: good sequence 0", kn, P);
            cr_expect(seq_error(&d, &B, 7, out, lse) <= 1e-4, "%s P %u: good sequence 7", kn, P);
            for (uint32_t s = 2; s <= 6; s++) {
                if (s == 5 && !P) continue;
                if (s == 6 && !P) {
                    cr_expect(seq_error(&d, &B, 6, out, lse) <= 1e-4, "%s: sequence 6", kn);
                    continue;
                }
                cr_expect(seq_nan(&B, s, out, lse), "%s P %u: bad sequence %u is not NaN", kn, P,
                          s);
            }
            /* sequence 1's rows and, contiguous, sequence 5's stay unwritten */
            cr_expect(out[(size_t)B.seq[1].q_start * 64] == SENTINEL, "%s: sequence 1 written", kn);
            if (!P)
                cr_expect(out[(size_t)B.seq[5].q_start * 64] == SENTINEL, "%s: sequence 5 written",
                          kn);
            free(out), free(lse);
            release(&B);
        }
        cr_expect_eq(seattn_context_validation_errors(ctx), 0);
        seattn_context_destroy(ctx);
    }
}

/* A page past the pool makes every row of its sequence NaN, also the rows that do not reach it
 * (the example of issue 28: q_pos 20, 16 queries, kv_len 36, pages of 8, the fifth entry
 * garbage: rows at positions 20 to 31 never read keys 32 to 35). Every kernel checks the pages
 * of its whole key split, whichever rows a workgroup holds. */
Test(batch, a_bad_page_past_some_rows_reach) {
    seattn_attention_desc d = tu_desc(2, 1, 64, 1, 1, 4, 8);
    const uint32_t ql[] = {16, 1}, kl[] = {36, 20};
    for (int k = 0; k < N_KERNELS; k++) {
        if (!wanted(k)) continue;
        seattn_context *ctx = context(KERNELS[k]);
        batch B;
        make(&B, 2, 1, 64, 2, ql, kl, 8, 1, 0, 11);
        B.bt[B.seq[0].kv_start + 4] = 1747925193u;
        const size_t nq = (size_t)2 * B.b.q_tokens * 64;
        float *out = malloc(nq * 4), *lse = malloc((size_t)2 * B.b.q_tokens * 4);
        cr_assert_eq(run(ctx, &d, &B, B.seq, out, lse), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx));
        const char *kn = KERNELS[k] ? KERNELS[k] : "cpu";
        cr_expect(seq_nan(&B, 0, out, lse), "%s: a row of the sequence with a bad page is not NaN",
                  kn);
        cr_expect(seq_error(&d, &B, 1, out, lse) <= 1e-4, "%s: the good sequence", kn);
        free(out), free(lse);
        release(&B);
        cr_expect_eq(seattn_context_validation_errors(ctx), 0);
        seattn_context_destroy(ctx);
    }
}

/* seattn_batch_check finds what the kernels find, and overlapping query rows. */
Test(batch, host_check) {
    batch B;
    const uint32_t ql[] = {1, 4, 2}, kl[] = {10, 20, 30};
    make(&B, 1, 1, 8, 3, ql, kl, 4, 0, 0, 3);
    char msg[256];
    cr_expect_eq(seattn_batch_check(&B.b, B.seq, B.bt, msg, sizeof msg), SEATTN_SUCCESS, "%s", msg);
    struct {
        uint32_t s, field, value;
        const char *says;
    } cases[] = {{1, 0, 6, "past q_tokens"}, {2, 2, 29, "past kv_len"},
                 {0, 3, 31, "max_kv_len"},   {2, 4, 10, "block_table_len"},
                 {1, 1, 5, "max_q_len"},     {1, 0, 0, "share query rows"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seattn_seq s[3];
        memcpy(s, B.seq, sizeof s);
        ((uint32_t *)&s[cases[i].s])[cases[i].field] = cases[i].value;
        cr_expect_eq(seattn_batch_check(&B.b, s, B.bt, msg, sizeof msg),
                     SEATTN_ERROR_INVALID_ARGUMENT, "case %zu passed", i);
        cr_expect(strstr(msg, cases[i].says), "case %zu: \"%s\" does not say \"%s\"", i, msg,
                  cases[i].says);
    }
    const uint32_t was = B.bt[3];
    B.bt[3] = B.b.kv_tokens / 4;
    cr_expect_eq(seattn_batch_check(&B.b, B.seq, B.bt, msg, sizeof msg),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "entry 3 holds page"), "%s", msg);
    B.bt[3] = was;
    release(&B);
}

/* What the host sees is checked before any work, with the field named. */
Test(batch, bad_arguments) {
    seattn_context *ctx = context(NULL);
    seattn_attention_desc d = tu_desc(2, 1, 8, 1, 1, 2, 4);
    seattn_tensor *t, *small;
    cr_assert_eq(seattn_tensor_create(ctx, 1 << 16, &t), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, 8, &small), SEATTN_SUCCESS);
    const seattn_attention_tensors ts = {.q = t, .k = t, .v = t, .out = small};
    seattn_batch_desc b = {
        .n_seqs = 2, .max_q_len = 1, .max_kv_len = 8, .q_tokens = 2, .kv_tokens = 16};
    cr_expect_eq(seattn_attention_batch(ctx, &d, &b, &ts, t, NULL), SEATTN_ERROR_BUFFER_TOO_SMALL);
    cr_expect(strstr(seattn_context_last_error(ctx), "out"), "%s", seattn_context_last_error(ctx));
    const struct {
        seattn_batch_desc b;
        const char *says;
    } cases[] = {{{0, 1, 8, 2, 16, 0, 0, 0, 0}, "n_seqs"},
                 {{2, 0, 8, 2, 16, 0, 0, 0, 0}, "max_q_len"},
                 {{2, 4, 8, 2, 16, 0, 0, 0, 0}, "max_q_len"},
                 {{2, 1, 0, 2, 16, 0, 0, 0, 0}, "max_kv_len"},
                 {{2, 1, 8, 2, 16, 32, 4, 0, 0}, "page_size"},
                 {{2, 1, 8, 2, 16, 4, 0, 0, 0}, "block_table_len"},
                 {{2, 1, 8, 2, 16, 4, 4, 0, 0}, "block_table is NULL"},
                 {{2, 1, 8, 0, 16, 0, 0, 0, 0}, "q_tokens"}};
    seattn_tensor *out;
    cr_assert_eq(seattn_tensor_create(ctx, 1 << 12, &out), SEATTN_SUCCESS);
    const seattn_attention_tensors ok = {.q = t, .k = t, .v = t, .out = out};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(seattn_attention_batch(ctx, &d, &cases[i].b, &ok, t, NULL),
                     SEATTN_ERROR_INVALID_ARGUMENT, "case %zu", i);
        cr_expect(strstr(seattn_context_last_error(ctx), cases[i].says), "case %zu: %s", i,
                  seattn_context_last_error(ctx));
    }
    cr_expect_eq(seattn_attention_batch(ctx, &d, &b, &ok, small, NULL),
                 SEATTN_ERROR_BUFFER_TOO_SMALL);
    cr_expect(strstr(seattn_context_last_error(ctx), "seqs"), "%s", seattn_context_last_error(ctx));
    cr_expect_eq(seattn_attention_batch(ctx, &d, &b, &ok, out, NULL),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "out overlaps seqs"), "%s",
              seattn_context_last_error(ctx));
    seattn_tensor_destroy(t), seattn_tensor_destroy(small), seattn_tensor_destroy(out);
    seattn_context_destroy(ctx);
}

/* The storage kernel is retired: asked for, it is refused by name; the portable flag runs
 * flash_smem. */
Test(batch, the_portable_kernel_is_flash_smem) {
    seattn_context *ctx = NULL;
    seattn_context_options so = {.kernel = "storage"};
    cr_expect_eq(seattn_context_create(&so, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_last_create_error(), "retired"), "%s", seattn_last_create_error());
    batch B;
    const uint32_t ql[] = {1, 2}, kl[] = {5, 6};
    make(&B, 1, 1, 8, 2, ql, kl, 0, 0, 0, 9);
    seattn_attention_desc d = tu_desc(1, 1, 8, 1, 1, 2, 4);
    float out[64], lse[8];
    seattn_context_options o = {.flags = SEATTN_CONTEXT_PORTABLE};
    cr_assert_eq(seattn_context_create(&o, &ctx), SEATTN_SUCCESS);
    cr_expect_eq(run(ctx, &d, &B, B.seq, out, lse), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_call_stats cs;
    seattn_context_last_call(ctx, &cs);
    cr_expect(strncmp(cs.kernel, "flash_smem", 10) == 0, "%s", cs.kernel);
    seattn_context_destroy(ctx);
    release(&B);
}
