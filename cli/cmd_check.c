/* seattn check DIR...: every golden case under DIR on every backend, max abs error each; with
 * --batch, the cases as batched calls over a paged KV cache. */
#include "cli.h"
#include "golden_case.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4

typedef struct {
    char label[300];
    seattn_context *ctx;
} backend;

/* cpu, and each Vulkan device; or those `which` names. Returns the count. */
static int open_backends(const char *which, uint32_t flags, const char *kernel, backend *out,
                         int cap) {
    int n = 0;
    if (!which || strcmp(which, "cpu") == 0 || strcmp(which, "all") == 0) {
        if (cli_context("cpu", flags, NULL, &out[n].ctx) == SEATTN_SUCCESS)
            snprintf(out[n++].label, sizeof out[0].label, "cpu");
        if (which && strcmp(which, "cpu") == 0) return n;
    }
    uint32_t count = 0;
    if (!which || strcmp(which, "all") == 0 || strcmp(which, "vulkan") == 0) {
        if (seattn_device_list(NULL, &count) != SEATTN_SUCCESS) {
            fprintf(stderr, "seattn check: no Vulkan device: %s\n", seattn_last_create_error());
            return n;
        }
        for (uint32_t i = 0; i < count && n < cap; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%u", i);
            if (cli_context(idx, flags, kernel, &out[n].ctx) != SEATTN_SUCCESS) {
                fprintf(stderr, "seattn check: device %u: %s\n", i, seattn_last_create_error());
                continue;
            }
            seattn_device_info info;
            seattn_context_device_info(out[n].ctx, &info);
            snprintf(out[n++].label, sizeof out[0].label, "vulkan%u:%s", i, info.name);
        }
        return n;
    }
    if (cli_context(which, flags, kernel, &out[n].ctx) != SEATTN_SUCCESS) {
        fprintf(stderr, "seattn check: device '%s': %s\n", which, seattn_last_create_error());
        return n;
    }
    seattn_device_info info;
    seattn_context_device_info(out[n].ctx, &info);
    snprintf(out[n++].label, sizeof out[0].label, "vulkan:%s", info.name);
    return n;
}

/* The fields a batch shares: the descriptor without its lengths, position and layout. */
static seattn_attention_desc shared_fields(const seattn_attention_desc *d) {
    seattn_attention_desc s = *d;
    s.q_len = s.kv_len = s.q_pos = 0;
    s.flags &= ~SEATTN_ATTN_Q_POS;
    s.q_strides = s.k_strides = s.v_strides = s.out_strides = s.lse_strides =
        (seattn_strides){0, 0};
    return s;
}

/* The same sinks (none, or the same values). */
static bool same_sinks(const golden_case *a, const golden_case *b) {
    if (!a->sinks || !b->sinks) return a->sinks == b->sinks;
    return a->desc.n_heads == b->desc.n_heads &&
           memcmp(a->sinks, b->sinks, sizeof(float) * a->desc.n_heads) == 0;
}

/* The same RoPE frequencies (both theta's, or the same rope_inv_freq values). */
static bool same_freqs(const seattn_attention_desc *a, const seattn_attention_desc *b) {
    if (!a->rope_inv_freq || !b->rope_inv_freq) return a->rope_inv_freq == b->rope_inv_freq;
    const uint32_t half = (a->rotary_dims ? a->rotary_dims : a->head_dim) / 2;
    return memcmp(a->rope_inv_freq, b->rope_inv_freq, sizeof(double) * half) == 0;
}

static bool same_fields(const seattn_attention_desc *a, const seattn_attention_desc *b) {
    const seattn_attention_desc x = shared_fields(a), y = shared_fields(b);
    return x.n_heads == y.n_heads && x.n_kv_heads == y.n_kv_heads && x.head_dim == y.head_dim &&
           x.flags == y.flags && x.group_size == y.group_size &&
           x.neighbor_window == y.neighbor_window && x.rope_theta == y.rope_theta &&
           x.rotary_dims == y.rotary_dims && x.rope_layout == y.rope_layout && x.scale == y.scale &&
           x.scale_base == y.scale_base && x.key_mode == y.key_mode && x.q_type == y.q_type &&
           x.k_type == y.k_type && x.v_type == y.v_type && x.out_type == y.out_type &&
           x.k_scale == y.k_scale && x.v_scale == y.v_scale && x.qk_norm_eps == y.qk_norm_eps &&
           x.rope_attention_factor == y.rope_attention_factor && same_freqs(&x, &y) &&
           x.logit_softcap == y.logit_softcap && x.rotary_offset == y.rotary_offset &&
           x.v_head_dim == y.v_head_dim;
}

/* The pool split into n_chunks chunks (seattn_kv_chunk), each [tokens, n_kv_heads, row] as a
 * chunk's dense layout is: paged, pages [c per, (c + 1) per) of the pool become chunk c at pages
 * c (per + 1) ..., so that a page of the token space lies unused between chunks (bt is
 * renumbered alike); contiguous, the tokens split evenly. Returns the token space. */
typedef struct {
    uint32_t n;
    seattn_kv_chunk ch[SEATTN_MAX_KV_CHUNKS];
    seattn_tensor *t[2 * SEATTN_MAX_KV_CHUNKS];
} pool_chunks;

static seattn_status split_pool(seattn_context *ctx, uint32_t n_chunks, uint32_t P, uint32_t nkv,
                                uint32_t kv_tokens, uint32_t pages, uint32_t *bt,
                                const unsigned char *k, size_t kr, const unsigned char *v,
                                size_t vr, pool_chunks *pc, uint32_t *space) {
    const uint32_t units = P ? pages : kv_tokens; /* what is split: pages or tokens */
    const uint32_t per = (units + n_chunks - 1) / n_chunks, unit = P ? P : 1;
    const uint32_t stride = P ? per + 1 : per; /* a chunk's units in the token space */
    for (uint32_t i = 0; P && i < pages; i++)
        bt[i] = bt[i] / per * stride + bt[i] % per;
    pc->n = 0;
    *space = 0;
    seattn_status s = SEATTN_SUCCESS;
    for (uint32_t c = 0; c * per < units && s == SEATTN_SUCCESS; c++) {
        const uint32_t nu = units - c * per < per ? units - c * per : per, toks = nu * unit;
        const size_t kb = (size_t)toks * nkv * kr, vb = (size_t)toks * nkv * vr;
        unsigned char *ck = malloc(kb), *cv = malloc(vb);
        for (uint32_t i = 0; i < toks; i++)
            for (uint32_t h = 0; h < nkv; h++) {
                const size_t src = (size_t)h * kv_tokens + (size_t)c * per * unit + i;
                memcpy(ck + ((size_t)i * nkv + h) * kr, k + src * kr, kr);
                memcpy(cv + ((size_t)i * nkv + h) * vr, v + src * vr, vr);
            }
        seattn_tensor **tk = &pc->t[2 * c], **tv = &pc->t[2 * c + 1];
        if ((s = seattn_tensor_create(ctx, kb, tk)) == SEATTN_SUCCESS &&
            (s = seattn_tensor_upload(ctx, *tk, 0, ck, kb)) == SEATTN_SUCCESS &&
            (s = seattn_tensor_create(ctx, vb, tv)) == SEATTN_SUCCESS)
            s = seattn_tensor_upload(ctx, *tv, 0, cv, vb);
        pc->ch[c] = (seattn_kv_chunk){*tk, *tv, c * stride * unit, toks};
        pc->n = c + 1;
        *space = c * stride * unit + toks;
        free(ck), free(cv);
    }
    return s;
}

/* The cases c[0..n) (one group of shared fields) as one batched call on ctx: queries packed one
 * after another, keys in pages of P tokens (0: contiguous) in a shuffled pool, which n_chunks
 * > 0 splits into chunks (split_pool). Writes each case's max abs error to err[]. */
static seattn_status run_batch(seattn_context *ctx, golden_case *const *c, int n, uint32_t P,
                               uint32_t n_chunks, double *err) {
    const seattn_attention_desc *d0 = &c[0]->desc;
    const uint32_t nh = d0->n_heads, nkv = d0->n_kv_heads, d = d0->head_dim;
    const uint32_t dv = d0->v_head_dim ? d0->v_head_dim : d;
    seattn_seq *seqs = calloc((size_t)n, sizeof *seqs);
    seattn_batch_desc b = {.n_seqs = (uint32_t)n, .max_q_len = 1, .max_kv_len = 1, .page_size = P};
    uint32_t pages = 0;
    for (int i = 0; i < n; i++) {
        const seattn_attention_desc *di = &c[i]->desc;
        seqs[i] =
            (seattn_seq){b.q_tokens, di->q_len, di->q_pos, di->kv_len, P ? pages : b.kv_tokens};
        b.q_tokens += di->q_len;
        b.kv_tokens += P ? 0 : di->kv_len;
        pages += P ? (di->kv_len + P - 1) / P : 0;
        if (di->q_len > b.max_q_len) b.max_q_len = di->q_len;
        if (di->kv_len > b.max_kv_len) b.max_kv_len = di->kv_len;
    }
    if (P) b.kv_tokens = pages * P, b.block_table_len = pages;
    uint32_t *bt = calloc(pages + 1, sizeof *bt);
    for (uint32_t i = 0; i < pages; i++)
        bt[i] = i;
    srand(12345);
    for (uint32_t i = pages; i > 1; i--) { /* the pool's pages in a shuffled order */
        const uint32_t j = (uint32_t)rand() % i, t = bt[i - 1];
        bt[i - 1] = bt[j], bt[j] = t;
    }
    const size_t nq = (size_t)nh * b.q_tokens * d, nk = (size_t)nkv * b.kv_tokens * d;
    const size_t nv = (size_t)nkv * b.kv_tokens * dv, no = (size_t)nh * b.q_tokens * dv;
    const size_t nl = (size_t)nh * b.q_tokens;
    /* the pools of q, k and v rows as the cases store them (a block type's row is whole
     * blocks), copied row by row from the cases' raw storage */
    const size_t qr = seattn_dtype_bytes(d0->q_type, d), kr = seattn_dtype_bytes(d0->k_type, d);
    const size_t vr = seattn_dtype_bytes(d0->v_type, dv);
    unsigned char *q = calloc(nq / d, qr), *k = calloc(nk / d, kr), *v = calloc(nv / dv, vr);
    float *out = calloc(no, 4), *lse = calloc(nl, 4);
    for (int i = 0; i < n; i++) {
        const seattn_seq *sq = &seqs[i];
        for (uint32_t h = 0; h < nh; h++)
            memcpy(q + ((size_t)h * b.q_tokens + sq->q_start) * qr,
                   c[i]->raw[0] + (size_t)h * sq->q_len * qr, (size_t)sq->q_len * qr);
        for (uint32_t h = 0; h < nkv; h++)
            for (uint32_t j = 0; j < sq->kv_len; j++) {
                const uint32_t tok = P ? bt[sq->kv_start + j / P] * P + j % P : sq->kv_start + j;
                const size_t src = (size_t)h * sq->kv_len + j, dst = (size_t)h * b.kv_tokens + tok;
                memcpy(k + dst * kr, c[i]->raw[1] + src * kr, kr);
                memcpy(v + dst * vr, c[i]->raw[2] + src * vr, vr);
            }
    }
    /* q, k, v, out, seqs, block table, lse, sinks */
    seattn_tensor *t[8] = {0};
    const size_t bytes[8] = {
        nq / d * qr,     nk / d * kr, nv / dv * vr,  no * 4, (size_t)n * sizeof *seqs,
        (pages + 1) * 4, nl * 4,      (size_t)nh * 4};
    const void *src[8] = {q, k, v, NULL, seqs, bt, NULL, c[0]->sinks};
    seattn_status s = SEATTN_SUCCESS;
    pool_chunks *pc = n_chunks ? calloc(1, sizeof *pc) : NULL;
    if (pc) { /* before the block table's upload: it is renumbered */
        uint32_t space;
        s = split_pool(ctx, n_chunks, P, nkv, b.kv_tokens, pages, bt, k, kr, v, vr, pc, &space);
        b.kv_tokens = space;
    }
    for (int i = 0; i < 8 && s == SEATTN_SUCCESS; i++) {
        if (i == 7 && !src[i]) continue;        /* no sinks */
        if (pc && (i == 1 || i == 2)) continue; /* k and v are the chunks */
        s = seattn_tensor_create(ctx, bytes[i], &t[i]);
        if (s == SEATTN_SUCCESS && src[i]) s = seattn_tensor_upload(ctx, t[i], 0, src[i], bytes[i]);
    }
    if (s == SEATTN_SUCCESS) {
        const seattn_attention_desc shared = shared_fields(d0);
        const seattn_attention_tensors ts = {.q = t[0],
                                             .k = t[1],
                                             .v = t[2],
                                             .out = t[3],
                                             .lse = t[6],
                                             .sinks = t[7],
                                             .kv_chunks = pc ? pc->ch : NULL,
                                             .n_kv_chunks = pc ? pc->n : 0};
        s = seattn_attention_batch(ctx, &shared, &b, &ts, t[4], P ? t[5] : NULL);
    }
    if (s == SEATTN_SUCCESS) s = seattn_tensor_download(ctx, t[3], 0, out, no * 4);
    if (s == SEATTN_SUCCESS) s = seattn_tensor_download(ctx, t[6], 0, lse, nl * 4);
    for (int i = 0; i < n && s == SEATTN_SUCCESS; i++) {
        double e = 0.0;
        for (uint32_t h = 0; h < nh; h++)
            for (uint32_t r = 0; r < seqs[i].q_len; r++) {
                const size_t row = (size_t)h * b.q_tokens + seqs[i].q_start + r;
                const size_t want_row = (size_t)h * seqs[i].q_len + r;
                for (uint32_t x = 0; x <= dv; x++) { /* x = dv: the lse, where the case has it */
                    if (x == dv && !c[i]->lse) continue;
                    const double got = x < dv ? out[row * dv + x] : lse[row];
                    const double want = x < dv ? c[i]->out[want_row * dv + x] : c[i]->lse[want_row];
                    const double a = got > want ? got - want : want - got;
                    if (!(a <= e)) e = a; /* NaN sticks */
                }
            }
        err[i] = e;
    }
    for (int i = 0; i < 8; i++)
        seattn_tensor_destroy(t[i]);
    for (uint32_t i = 0; pc && i < 2 * pc->n; i++)
        seattn_tensor_destroy(pc->t[i]);
    free(pc);
    free(seqs), free(bt), free(q), free(k), free(v), free(out), free(lse);
    return s;
}

/* --batch: the cases grouped by shared fields, each group one batched call per backend. */
static int check_batches(golden_case *cases, int n, backend *bk, int n_bk, uint32_t P,
                         uint32_t n_chunks) {
    int failures = 0;
    bool *done = calloc((size_t)n + 1, 1);
    golden_case **group = calloc((size_t)n + 1, sizeof *group);
    double *err = calloc((size_t)n + 1, sizeof *err);
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        int g = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && same_fields(&cases[i].desc, &cases[j].desc) &&
                same_sinks(&cases[i], &cases[j])) {
                group[g++] = &cases[j];
                done[j] = true;
            }
        for (int b = 0; b < n_bk; b++) {
            seattn_status s = run_batch(bk[b].ctx, group, g, P, n_chunks, err);
            if (s != SEATTN_SUCCESS) {
                printf("batch of %d from %-22s %-28s ERROR: %s: %s\n", g, group[0]->name,
                       bk[b].label, seattn_status_string(s), seattn_context_last_error(bk[b].ctx));
                failures++;
                continue;
            }
            seattn_call_stats st;
            seattn_context_last_call(bk[b].ctx, &st);
            for (int j = 0; j < g; j++) {
                const bool ok = err[j] <= TOLERANCE;
                failures += !ok;
                printf("%-36s %-28s max_abs_err %.3e %s (batch of %d, page size %u%s, %s)\n",
                       group[j]->name, bk[b].label, err[j], ok ? "ok" : "FAIL", g, P,
                       n_chunks ? ", pool in chunks" : "", st.kernel);
            }
        }
    }
    free(done), free(group), free(err);
    return failures;
}

int cmd_check(int argc, char **argv) {
    const char *which = NULL, *kernel = NULL;
    uint32_t flags = 0, page_size = 16, pool_chunks_n = 0;
    bool batch = false;
    char **roots = calloc((size_t)argc, sizeof(char *));
    int n_roots = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            which = argv[++i];
        else if (strcmp(argv[i], "--validation") == 0)
            flags |= SEATTN_CONTEXT_VALIDATION;
        else if (strcmp(argv[i], "--batch") == 0)
            batch = true;
        else if (strcmp(argv[i], "--page-size") == 0 && i + 1 < argc)
            page_size = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--pool-chunks") == 0 && i + 1 < argc) {
            pool_chunks_n = (uint32_t)strtoul(argv[++i], NULL, 10);
            if (pool_chunks_n < 1 || pool_chunks_n > SEATTN_MAX_KV_CHUNKS) {
                fprintf(stderr, "seattn check: --pool-chunks takes 1..%u\n", SEATTN_MAX_KV_CHUNKS);
                free(roots);
                return 2;
            }
            batch = true;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "seattn check: unknown option '%s'\n", argv[i]);
            free(roots);
            return 2;
        } else
            roots[n_roots++] = argv[i];
    }
    if (n_roots == 0) {
        fprintf(stderr, "usage: seattn check DIR... [--backend cpu|vulkan|N|NAME] [--validation] "
                        "[--kernel NAME] [--batch [--page-size P] [--pool-chunks N]]\n"
                        "  --batch: the cases as batched calls (one per group of cases that share "
                        "their\n  descriptor fields), keys in pages of P tokens (default 16; 0: "
                        "contiguous)\n  in a shuffled pool; --pool-chunks N: that pool split "
                        "over N tensors (a\n  page left unused between them), read by buffer "
                        "device address\n");
        free(roots);
        return 2;
    }
    backend bk[17];
    int n_bk = open_backends(which, flags, kernel, bk, 16);
    int failures = 0, cases = 0;
    if (n_bk == 0) {
        fprintf(stderr, "seattn check: no backend could be opened\n");
        failures++;
    }
    for (int r = 0; r < n_roots; r++) {
        char **dirs = NULL;
        int n = golden_find(roots[r], &dirs);
        if (n <= 0) {
            fprintf(stderr, "seattn check: %s: %s\n", roots[r],
                    n < 0 ? "cannot be read" : "holds no case (no meta.json)");
            failures++;
            continue;
        }
        if (batch) {
            golden_case *all = calloc((size_t)n, sizeof *all);
            int loaded = 0;
            for (int i = 0; i < n; i++) {
                char err[512];
                cases++;
                const int rc = golden_case_load(dirs[i], &all[loaded], err, sizeof err);
                if (rc != 0) {
                    printf("%-36s %-28s %s: %s\n", dirs[i], "-",
                           rc == -2 ? "UNSUPPORTED" : "MALFORMED", err);
                    failures++;
                } else {
                    loaded++;
                }
            }
            failures += check_batches(all, loaded, bk, n_bk, page_size, pool_chunks_n);
            for (int i = 0; i < loaded; i++)
                golden_case_free(&all[i]);
            free(all);
            golden_dirs_free(dirs, n);
            continue;
        }
        for (int i = 0; i < n; i++) {
            golden_case c;
            char err[512];
            cases++;
            const int rc = golden_case_load(dirs[i], &c, err, sizeof err);
            if (rc != 0) {
                printf("%-36s %-28s %s: %s\n", dirs[i], "-", rc == -2 ? "UNSUPPORTED" : "MALFORMED",
                       err);
                failures++;
                continue;
            }
            for (int b = 0; b < n_bk; b++) {
                double e;
                seattn_status s = golden_case_run(bk[b].ctx, &c, &e);
                if (s != SEATTN_SUCCESS) {
                    printf("%-36s %-28s ERROR: %s: %s\n", c.name, bk[b].label,
                           seattn_status_string(s), seattn_context_last_error(bk[b].ctx));
                    failures++;
                    continue;
                }
                bool ok = e <= TOLERANCE;
                failures += !ok;
                printf("%-36s %-28s max_abs_err %.3e %s\n", c.name, bk[b].label, e,
                       ok ? "ok" : "FAIL");
            }
            golden_case_free(&c);
        }
        golden_dirs_free(dirs, n);
    }
    for (int b = 0; b < n_bk; b++) {
        uint32_t ve = seattn_context_validation_errors(bk[b].ctx);
        if (ve) {
            printf("%s: %u validation messages\n", bk[b].label, ve);
            failures++;
        }
        seattn_context_destroy(bk[b].ctx);
    }
    printf("%d cases, %d backends, %d failures (tolerance %.0e)\n", cases, n_bk, failures,
           TOLERANCE);
    free(roots);
    return failures ? 1 : 0;
}
