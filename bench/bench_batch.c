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
    seattn_tensor *q, *k, *v, *kp, *vp, *out, *out_b, *out_p, *seqs, *seqs_p, *bt;
} tensors;

static void tensors_free(tensors *t) {
    seattn_tensor **all = (seattn_tensor **)t;
    for (size_t i = 0; i < sizeof *t / sizeof(seattn_tensor *); i++)
        seattn_tensor_destroy(all[i]);
}

static seattn_status upload_random(seattn_context *ctx, seattn_tensor *t, size_t n, uint32_t seed) {
    uint16_t *h = malloc(n * 2);
    float *f = malloc(4096 * 4);
    if (!h || !f) {
        free(h), free(f);
        return SEATTN_ERROR_OUT_OF_MEMORY;
    }
    uint32_t x = seed * 747796405u + 1u;
    for (size_t i = 0; i < n; i += 4096) {
        const size_t m = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < m; j++) {
            x = x * 1664525u + 1013904223u;
            f[j] = (float)(x >> 8) / 8388608.0f - 1.0f;
        }
        seattn_f32_to_f16(f, h + i, m);
    }
    seattn_status s = seattn_tensor_upload(ctx, t, 0, h, n * 2);
    free(h), free(f);
    return s;
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
    /* the pool is one view of every KV head: lengths shrink by powers of 2 until it fits */
    const uint64_t per_tok = (uint64_t)s->n_kv_heads * s->head_dim;
    uint64_t fit = info.max_storage_buffer_range / (per_tok * 2);
    if (info.max_texel_buffer_elements / per_tok < fit)
        fit = info.max_texel_buffer_elements / per_tok;
    r->scale = 1;
    for (;;) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < s->n_seqs; i++)
            total += (seq_len(s, i, r->scale) + PAGE - 1) / PAGE * PAGE;
        if (total <= fit || s->min_len / r->scale <= 1) {
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
    tensors t = {0};
    const size_t nq = (size_t)nh * n * d, nk = (size_t)nkv * tok * d;
    const size_t nkp = (size_t)nkv * pages * PAGE * d;
    seattn_status st = SEATTN_SUCCESS;
    seattn_tensor **slot[] = {&t.q,     &t.k,     &t.v,    &t.kp,     &t.vp, &t.out,
                              &t.out_b, &t.out_p, &t.seqs, &t.seqs_p, &t.bt};
    const size_t bytes[] = {nq * 2, nk * 2, nk * 2,           nkp * 2,          nkp * 2,   nq * 2,
                            nq * 2, nq * 2, n * sizeof *seqs, n * sizeof *seqs, pages * 4u};
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0] && !st; i++)
        st = seattn_tensor_create(dev, bytes[i], slot[i]);
    if (!st) st = upload_random(dev, t.q, nq, 1);
    if (!st) st = upload_random(dev, t.k, nk, 2);
    if (!st) st = upload_random(dev, t.v, nk, 3);
    if (!st) st = seattn_tensor_upload(dev, t.seqs, 0, seqs, bytes[8]);
    if (!st) st = seattn_tensor_upload(dev, t.seqs_p, 0, seqs_p, bytes[9]);
    if (!st) st = seattn_tensor_upload(dev, t.bt, 0, bt, bytes[10]);
    /* the paged pool: each sequence's keys, page by page, where the block table puts them */
    uint16_t *from = malloc(nk * 2 + 1), *to = calloc(nkp + 1, 2);
    if (!from || !to) st = SEATTN_ERROR_OUT_OF_MEMORY;
    for (int which = 0; which < 2 && !st; which++) {
        st = seattn_tensor_download(dev, which ? t.v : t.k, 0, from, nk * 2);
        for (uint32_t h = 0; h < nkv && !st; h++)
            for (uint32_t i = 0; i < n; i++)
                for (uint32_t j = 0; j < seqs[i].kv_len; j++) {
                    const size_t a = (size_t)h * tok + seqs[i].kv_start + j;
                    const size_t b = (size_t)h * pages * PAGE +
                                     (size_t)bt[seqs_p[i].kv_start + j / PAGE] * PAGE + j % PAGE;
                    memcpy(to + b * d, from + a * d, (size_t)d * 2);
                }
        if (!st) st = seattn_tensor_upload(dev, which ? t.vp : t.kp, 0, to, nkp * 2);
    }
    free(from), free(to);
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
    const seattn_attention_tensors tb = {.q = t.q, .k = t.k, .v = t.v, .out = t.out_b};
    const seattn_attention_tensors tp = {.q = t.q, .k = t.kp, .v = t.vp, .out = t.out_p};
    double *dev_t[3], *host_t[3];
    const int runs = o->runs > 0 ? o->runs : 1;
    for (int v = 0; v < 3; v++)
        dev_t[v] = calloc((size_t)runs, sizeof(double)),
        host_t[v] = calloc((size_t)runs, sizeof(double));
    int done = 0;
    double t_start = 0.0;
    /* run -1 warms up (pipelines, RoPE tables); then the variants interleave */
    for (int run = -1; run < runs && !st; run++) {
        for (int v = 0; v < 3 && !st; v++) {
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
                    if (!st && i == 0)
                        snprintf(r->kernel_sep, sizeof r->kernel_sep, "%s", cs.kernel);
                }
            } else {
                st = seattn_attention_batch(dev, &desc, v == 1 ? &bd : &bp, v == 1 ? &tb : &tp,
                                            v == 1 ? t.seqs : t.seqs_p, v == 1 ? NULL : t.bt);
                if (!st) seattn_context_last_call(dev, &cs);
                if (!st) dsum = cs.device_ms;
                if (!st)
                    snprintf(v == 1 ? r->kernel_batch : r->kernel_paged, sizeof r->kernel_batch,
                             "%s", cs.kernel);
            }
            if (run >= 0 && !st) dev_t[v][run] = dsum, host_t[v][run] = seattn__now_ms() - h0;
        }
        if (run < 0) t_start = seattn__now_ms(); /* the budget counts timed runs only */
        if (run >= 0 && !st) done = run + 1;
        if (run >= 0 && seattn__now_ms() - t_start > o->budget_s * 3e3) break; /* three variants */
    }
    if (!st && done) {
        r->runs = done;
        for (int v = 0; v < 3; v++) {
            r->dev_ms[v] = median(dev_t[v], done);
            r->host_ms[v] = median(host_t[v], done);
        }
        uint16_t *a = malloc(nq * 2), *b = malloc(nq * 2), *c = malloc(nq * 2);
        st = seattn_tensor_download(dev, t.out, 0, a, nq * 2);
        if (!st) st = seattn_tensor_download(dev, t.out_b, 0, b, nq * 2);
        if (!st) st = seattn_tensor_download(dev, t.out_p, 0, c, nq * 2);
        if (!st) {
            r->err_batch = max_err(a, b, nq);
            r->err_paged = max_err(b, c, nq);
        }
        free(a), free(b), free(c);
    }
    if (st)
        fprintf(stderr, "\nseattn bench: batched decode of %u sequences: %s: %s\n", n,
                seattn_status_string(st), seattn_context_last_error(dev));
    for (int v = 0; v < 3; v++)
        free(dev_t[v]), free(host_t[v]);
    tensors_free(&t);
    free(seqs), free(seqs_p), free(bt);
    /* f16 outputs of different kernel plans may differ by an f16 rounding */
    if (!st && (r->err_batch > 2e-3 || r->err_paged > 2e9)) {
        fprintf(stderr,
                "\nseattn bench: batched decode of %u sequences: outputs differ (batch vs "
                "separate %.3e, paged vs contiguous %.3e)\n",
                n, r->err_batch, r->err_paged);
        return 1;
    }
    r->done = !st;
    return st ? 1 : 0;
}
