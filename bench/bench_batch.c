/* seattn bench, batched shapes: a decode step of many sequences of mixed lengths, timed three
 * ways on one device, interleaved run by run: (s) one seattn_attention() a sequence, (B) one
 * seattn_attention_batch() over contiguous keys, (P) the same batch with the keys in pages of 16
 * tokens in a shuffled pool. All three read the same keys (s and B the same tensors), f16 as a
 * serving cache holds them, and their outputs are compared. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bench_parse_batch_shape(const char *text, bench_batch_shape *s) {
    /* N:LMIN-LMAX[:D[:H/KV[:G[:W[:P]]]]], all of it */
    unsigned n, lo, hi, d = 128, h = 32, kv = 8, g = 8, w = 512, page = 16;
    int at = 0;
    if (sscanf(text, "%u:%u-%u%n", &n, &lo, &hi, &at) != 3) return -1;
    const char *p = text + at;
    unsigned *const one[] = {&d, NULL, &g, &w, &page};
    for (int f = 0; f < 5 && *p; f++, p += at) {
        if (one[f] ? sscanf(p, ":%u%n", one[f], &at) != 1
                   : sscanf(p, ":%u/%u%n", &h, &kv, &at) != 2)
            return -1;
    }
    if (*p || n == 0 || lo == 0 || hi < lo || hi >= (1u << 24) || d == 0 || h == 0 || kv == 0 ||
        g == 0 || w == 0 || g > 0x7fffffff || w > 0x7fffffff || page == 0 || page > 65536)
        return -1;
    *s = (bench_batch_shape){n, lo, hi, d, h, kv, (int32_t)g, (int32_t)w, page};
    return 0;
}

void bench_batch_label(const bench_batch_result *r, char *out, size_t size) {
    const bench_batch_shape *s = &r->shape;
    snprintf(out, size, "decode %u seqs %u-%u keys d%u h%u/%u G%d W%d f16 P%u", s->n_seqs,
             s->min_len / r->scale, s->max_len / r->scale, s->head_dim, s->n_heads, s->n_kv_heads,
             s->g, s->w, s->page_size);
}

/* Sequence i's keys: mixed lengths in [lo, hi] from a fixed generator. */
static uint32_t seq_len(const bench_batch_shape *s, uint32_t i, uint32_t scale) {
    uint32_t x = i * 2654435761u + 12345u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    const uint32_t lo = s->min_len / scale, hi = s->max_len / scale;
    return lo + (uint32_t)((uint64_t)x * (hi - lo + 1) >> 32);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

typedef struct {
    seattn_tensor *q, *k, *v, *kp, *vp, *out, *out_b, *out_p, *out_a, *seqs, *seqs_p, *bt;
} tensors;

static void tensors_free(tensors *t) {
    seattn_tensor **all = (seattn_tensor **)t;
    for (size_t i = 0; i < sizeof *t / sizeof(seattn_tensor *); i++)
        seattn_tensor_destroy(all[i]);
}

/* n f16 values from a fixed generator. */
static void fill_random(uint16_t *h, size_t n, uint32_t seed) {
    float f[4096];
    uint32_t x = seed * 747796405u + 1u;
    for (size_t i = 0; i < n; i += 4096) {
        const size_t m = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < m; j++) {
            x = x * 1664525u + 1013904223u;
            f[j] = (float)(x >> 8) / 8388608.0f - 1.0f;
        }
        seattn_f32_to_f16(f, h + i, m);
    }
}

static seattn_status make_tensor(seattn_context *dev, const void *src, size_t bytes,
                                 seattn_tensor **t) {
    seattn_status s = seattn_tensor_create(dev, bytes, t);
    if (!s && src) s = seattn_tensor_upload(dev, *t, 0, src, bytes);
    return s;
}

/* A pool's K and V ([nkv, tokens, d] f16, head-major) in chunks of `per` tokens, each
 * [nkv, per, d] (the last one's unused tokens left undefined): so a chunk's head stride is
 * per * d, the same in every chunk (seattn_kv_chunk). */
typedef struct {
    uint32_t n;
    seattn_kv_chunk ch[SEATTN_MAX_KV_CHUNKS];
    seattn_tensor *t[2 * SEATTN_MAX_KV_CHUNKS];
} chunks;

static void chunks_free(chunks *c) {
    for (uint32_t i = 0; i < 2 * c->n; i++)
        seattn_tensor_destroy(c->t[i]);
    c->n = 0;
}

static seattn_status make_chunks(seattn_context *dev, const uint16_t *k, const uint16_t *v,
                                 uint32_t nkv, uint64_t tokens, uint32_t d, uint64_t per,
                                 chunks *c) {
    memset(c, 0, sizeof *c);
    if ((tokens + per - 1) / per > SEATTN_MAX_KV_CHUNKS) return SEATTN_ERROR_UNSUPPORTED;
    uint16_t *buf = malloc((size_t)nkv * per * d * 2);
    if (!buf) return SEATTN_ERROR_OUT_OF_MEMORY;
    seattn_status s = SEATTN_SUCCESS;
    for (uint64_t t0 = 0; t0 < tokens && !s; t0 += per) {
        const uint64_t n = tokens - t0 < per ? tokens - t0 : per;
        for (int w = 0; w < 2 && !s; w++) {
            const uint16_t *src = w ? v : k;
            for (uint32_t h = 0; h < nkv; h++)
                memcpy(buf + (size_t)h * per * d, src + ((size_t)h * tokens + t0) * d,
                       (size_t)n * d * 2);
            s = make_tensor(dev, buf, (size_t)nkv * per * d * 2, &c->t[2 * c->n + w]);
        }
        c->ch[c->n] =
            (seattn_kv_chunk){c->t[2 * c->n], c->t[2 * c->n + 1], (uint32_t)t0, (uint32_t)n};
        c->n++;
    }
    free(buf);
    return s;
}

/* Whether dev reads K and V in chunks (buffer device address): a call of one key. */
static bool reads_chunks(seattn_context *dev) {
    seattn_tensor *t[5] = {0};
    seattn_status s = SEATTN_SUCCESS;
    const float x[2] = {1.0f, 0.0f};
    for (int i = 0; i < 5 && !s; i++)
        s = make_tensor(dev, x, sizeof x, &t[i]);
    if (!s) {
        const seattn_attention_desc d = {.n_heads = 1, .head_dim = 2, .q_len = 1, .kv_len = 1};
        const seattn_kv_chunk ch = {t[1], t[2], 0, 1};
        const seattn_attention_tensors ts = {
            .q = t[0], .out = t[3], .kv_chunks = &ch, .n_kv_chunks = 1};
        s = seattn_attention_run(dev, &d, &ts);
    }
    for (int i = 0; i < 5; i++)
        seattn_tensor_destroy(t[i]);
    return s == SEATTN_SUCCESS;
}

static double max_err(const uint16_t *a, const uint16_t *b, size_t n) {
    float x, y;
    double e = 0.0;
    for (size_t i = 0; i < n; i++) {
        seattn_f16_to_f32(&a[i], &x, 1);
        seattn_f16_to_f32(&b[i], &y, 1);
        const double d = fabs((double)x - y);
        if (!(d <= e)) e = d; /* NaN sticks */
    }
    return e;
}

int bench_batch_execute(seattn_context *dev, const bench_options *o, const bench_batch_shape *s,
                        bench_batch_result *r) {
    memset(r, 0, sizeof *r);
    r->shape = *s;
    const uint32_t PAGE = s->page_size;
    seattn_device_info info;
    seattn_context_device_info(dev, &info);
    const uint64_t per_tok = (uint64_t)s->n_kv_heads * s->head_dim; /* f16 values a token */
    /* one view of every KV head: the descriptor path's pool, and the address path's chunks */
    uint64_t fit = info.max_storage_buffer_range / (per_tok * 2);
    if (info.max_texel_buffer_elements / per_tok < fit)
        fit = info.max_texel_buffer_elements / per_tok;
    const bool chunked = reads_chunks(dev);
    r->scale = 1;
    for (;;) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < s->n_seqs; i++)
            total += (seq_len(s, i, r->scale) + PAGE - 1) / PAGE * PAGE;
        /* real lengths over chunks where the device reads them and its memory holds one pool
         * (K and V); on a CPU device (lavapipe) only when asked: there the pools take GiBs of
         * the machine's memory and a call takes seconds */
        r->address = r->scale == 1 && total > fit && chunked &&
                     2 * total * per_tok * 2 <= info.device_local_bytes &&
                     (info.type != 4 /* VK_PHYSICAL_DEVICE_TYPE_CPU */ || o->real_lengths);
        if (total <= fit || r->address || s->min_len / r->scale <= 1) {
            r->kv_tokens = total;
            break;
        }
        r->scale *= 2;
    }
    const uint32_t n = s->n_seqs, d = s->head_dim, nh = s->n_heads, nkv = s->n_kv_heads;
    seattn_seq *seqs = calloc(n, sizeof *seqs), *seqs_p = calloc(n, sizeof *seqs_p);
    uint32_t tok = 0, pages = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t len = seq_len(s, i, r->scale);
        seqs[i] = (seattn_seq){i, 1, len - 1, len, tok};
        seqs_p[i] = (seattn_seq){i, 1, len - 1, len, pages};
        tok += len;
        pages += (len + PAGE - 1) / PAGE;
        if (len > r->max_len) r->max_len = len;
        r->keys += len;
    }
    uint32_t *bt = malloc(sizeof *bt * pages);
    for (uint32_t i = 0; i < pages; i++)
        bt[i] = i;
    srand(7);
    for (uint32_t i = pages; i > 1; i--) {
        const uint32_t j = (uint32_t)rand() % i, t = bt[i - 1];
        bt[i - 1] = bt[j], bt[j] = t;
    }
    const size_t nq = (size_t)nh * n * d, nk = (size_t)nkv * tok * d;
    const size_t nkp = (size_t)nkv * pages * PAGE * d;
    /* the keys and values, contiguous [nkv, tok, d] and paged [nkv, pages * PAGE, d]: each
     * sequence's keys page by page where the block table puts them */
    uint16_t *hq = malloc(nq * 2), *hk = malloc(nk * 2 + 2), *hv = malloc(nk * 2 + 2);
    uint16_t *hkp = calloc(nkp + 1, 2), *hvp = calloc(nkp + 1, 2);
    seattn_status st = hq && hk && hv && hkp && hvp ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    tensors t = {0};
    chunks cb = {0}, cp = {0}, ca = {0};
    if (!st) {
        fill_random(hq, nq, 1);
        fill_random(hk, nk, 2);
        fill_random(hv, nk, 3);
        for (int w = 0; w < 2; w++)
            for (uint32_t h = 0; h < nkv; h++)
                for (uint32_t i = 0; i < n; i++)
                    for (uint32_t j = 0; j < seqs[i].kv_len; j++) {
                        const size_t a = (size_t)h * tok + seqs[i].kv_start + j;
                        const size_t b = (size_t)h * pages * PAGE +
                                         (size_t)bt[seqs_p[i].kv_start + j / PAGE] * PAGE +
                                         j % PAGE;
                        memcpy((w ? hvp : hkp) + b * d, (w ? hv : hk) + a * d, (size_t)d * 2);
                    }
    }
    seattn_tensor **slot[] = {&t.q,     &t.out,  &t.out_b,  &t.out_p,
                              &t.out_a, &t.seqs, &t.seqs_p, &t.bt};
    const void *src[] = {hq, NULL, NULL, NULL, NULL, seqs, seqs_p, bt};
    const size_t bytes[] = {nq * 2, nq * 2,           nq * 2,           nq * 2,
                            nq * 2, n * sizeof *seqs, n * sizeof *seqs, pages * 4u};
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0] && !st; i++)
        st = make_tensor(dev, src[i], bytes[i], slot[i]);
    if (r->address) { /* (1) and (2) over chunks of one view, whole pages */
        const uint64_t per = fit / PAGE * PAGE;
        if (!st) st = make_chunks(dev, hk, hv, nkv, tok, d, per, &cb);
        if (!st) st = make_chunks(dev, hkp, hvp, nkv, (uint64_t)pages * PAGE, d, per, &cp);
        r->chunks[1] = cb.n, r->chunks[2] = cp.n;
    } else {
        if (!st) st = make_tensor(dev, hk, nk * 2, &t.k);
        if (!st) st = make_tensor(dev, hv, nk * 2, &t.v);
        if (!st) st = make_tensor(dev, hkp, nkp * 2, &t.kp);
        if (!st) st = make_tensor(dev, hvp, nkp * 2, &t.vp);
        if (chunked && !st) { /* (3): the paged pool in 4 chunks of whole pages */
            const uint64_t per = (uint64_t)(pages + 3) / 4 * PAGE;
            st = make_chunks(dev, hkp, hvp, nkv, (uint64_t)pages * PAGE, d, per, &ca);
            r->chunks[3] = ca.n;
        }
    }
    free(hq), free(hk), free(hv), free(hkp), free(hvp);
    r->ran[0] = !r->address;
    r->ran[1] = r->ran[2] = true;
    r->ran[3] = !r->address && chunked;
    seattn_attention_desc desc = {.n_heads = nh,
                                  .n_kv_heads = nkv,
                                  .head_dim = d,
                                  .group_size = s->g,
                                  .neighbor_window = s->w,
                                  .q_type = SEATTN_DTYPE_F16,
                                  .k_type = SEATTN_DTYPE_F16,
                                  .v_type = SEATTN_DTYPE_F16,
                                  .out_type = SEATTN_DTYPE_F16};
    const seattn_batch_desc bd = {
        .n_seqs = n, .max_q_len = 1, .max_kv_len = r->max_len, .q_tokens = n, .kv_tokens = tok};
    seattn_batch_desc bp = bd;
    bp.kv_tokens = pages * PAGE, bp.page_size = PAGE, bp.block_table_len = pages;
    /* chunks are head-major like the single pools: a head stride of their `per` tokens */
    seattn_attention_desc dch[BENCH_BATCH_VARIANTS];
    const chunks *const cv[BENCH_BATCH_VARIANTS] = {NULL, &cb, &cp, &ca};
    seattn_attention_tensors tv[BENCH_BATCH_VARIANTS] = {
        {0},
        {.q = t.q, .k = t.k, .v = t.v, .out = t.out_b},
        {.q = t.q, .k = t.kp, .v = t.vp, .out = t.out_p},
        {.q = t.q, .out = t.out_a}};
    for (int v = 1; v < BENCH_BATCH_VARIANTS; v++) {
        dch[v] = desc;
        if (!cv[v]->n) continue;
        const uint64_t per = cv[v]->n > 1 ? cv[v]->ch[1].first_token : cv[v]->ch[0].tokens;
        dch[v].k_strides = dch[v].v_strides = (seattn_strides){per * d, d};
        tv[v].k = tv[v].v = NULL;
        tv[v].kv_chunks = cv[v]->ch, tv[v].n_kv_chunks = cv[v]->n;
    }
    double *dev_t[BENCH_BATCH_VARIANTS], *host_t[BENCH_BATCH_VARIANTS];
    const int runs = o->runs > 0 ? o->runs : 1;
    for (int v = 0; v < BENCH_BATCH_VARIANTS; v++)
        dev_t[v] = calloc((size_t)runs, sizeof(double)),
        host_t[v] = calloc((size_t)runs, sizeof(double));
    int done = 0, n_ran = 0;
    for (int v = 0; v < BENCH_BATCH_VARIANTS; v++)
        n_ran += r->ran[v];
    double t_start = 0.0;
    /* run -1 warms up (pipelines, RoPE tables); then the variants interleave */
    for (int run = -1; run < runs && !st; run++) {
        for (int v = 0; v < BENCH_BATCH_VARIANTS && !st; v++) {
            if (!r->ran[v]) continue;
            seattn_call_stats cs;
            double dsum = 0.0;
            const double h0 = seattn__now_ms();
            if (v == 0) {
                for (uint32_t i = 0; i < n && !st; i++) { /* one call a sequence */
                    seattn_attention_desc one = desc;
                    one.q_len = 1, one.kv_len = seqs[i].kv_len;
                    one.q_offset = one.out_offset = (uint64_t)i * d;
                    one.q_strides = one.out_strides = (seattn_strides){(uint64_t)n * d, d};
                    one.k_offset = one.v_offset = (uint64_t)seqs[i].kv_start * d;
                    one.k_strides = one.v_strides = (seattn_strides){(uint64_t)tok * d, d};
                    st = seattn_attention(dev, &one, t.q, t.k, t.v, t.out, NULL);
                    if (!st) seattn_context_last_call(dev, &cs);
                    if (!st) dsum = dsum >= 0.0 && cs.device_ms >= 0.0 ? dsum + cs.device_ms : -1.0;
                    if (!st && i == 0) snprintf(r->kernel[0], sizeof r->kernel[0], "%s", cs.kernel);
                }
            } else {
                st = seattn_attention_batch(dev, &dch[v], v == 1 ? &bd : &bp, &tv[v],
                                            v == 1 ? t.seqs : t.seqs_p, v == 1 ? NULL : t.bt);
                if (!st) seattn_context_last_call(dev, &cs);
                if (!st) dsum = cs.device_ms;
                if (!st) snprintf(r->kernel[v], sizeof r->kernel[v], "%s", cs.kernel);
            }
            if (run >= 0 && !st) dev_t[v][run] = dsum, host_t[v][run] = seattn__now_ms() - h0;
        }
        if (run < 0) t_start = seattn__now_ms(); /* the budget counts timed runs only */
        if (run >= 0 && !st) done = run + 1;
        if (run >= 0 && seattn__now_ms() - t_start > o->budget_s * 1e3 * n_ran) break;
    }
    if (!st && done) {
        r->runs = done;
        for (int v = 0; v < BENCH_BATCH_VARIANTS; v++) {
            r->dev_ms[v] = r->ran[v] ? median(dev_t[v], done) : 0.0;
            r->host_ms[v] = r->ran[v] ? median(host_t[v], done) : 0.0;
        }
        seattn_tensor *outs[BENCH_BATCH_VARIANTS] = {t.out, t.out_b, t.out_p, t.out_a};
        uint16_t *o16[BENCH_BATCH_VARIANTS] = {0};
        for (int v = 0; v < BENCH_BATCH_VARIANTS && !st; v++) {
            if (!r->ran[v]) continue;
            o16[v] = malloc(nq * 2);
            st = o16[v] ? seattn_tensor_download(dev, outs[v], 0, o16[v], nq * 2)
                        : SEATTN_ERROR_OUT_OF_MEMORY;
        }
        if (!st) {
            if (r->ran[0]) r->err_batch = max_err(o16[0], o16[1], nq);
            r->err_paged = max_err(o16[1], o16[2], nq);
            if (r->ran[3]) r->err_address = max_err(o16[2], o16[3], nq);
        }
        for (int v = 0; v < BENCH_BATCH_VARIANTS; v++)
            free(o16[v]);
    }
    if (st)
        fprintf(stderr, "\nseattn bench: batched decode of %u sequences: %s: %s\n", n,
                seattn_status_string(st), seattn_context_last_error(dev));
    for (int v = 0; v < BENCH_BATCH_VARIANTS; v++)
        free(dev_t[v]), free(host_t[v]);
    tensors_free(&t);
    chunks_free(&cb), chunks_free(&cp), chunks_free(&ca);
    free(seqs), free(seqs_p), free(bt);
    /* f16 outputs of different kernel plans may differ by an f16 rounding */
    if (!st && (r->err_batch > 2e-3 || r->err_paged > 2e-3 || r->err_address > 2e-3)) {
        fprintf(stderr,
                "\nseattn bench: batched decode of %u sequences: outputs differ (batch vs "
                "separate %.3e, paged vs contiguous %.3e, address vs paged %.3e)\n",
                n, r->err_batch, r->err_paged, r->err_address);
        return 1;
    }
    r->done = !st;
    return st ? 1 : 0;
}
