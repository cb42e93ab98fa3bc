/* seattn model CONFIG.json...: a model's attention layer types as seattn computes them, the
 * Self-Extend G and W for a target context, a check of each layer type on the device against
 * the CPU reference, and the time of a decode step and a prefill chunk at that context with
 * the model's real head counts. */
#include "cli.h"
#include "golden_case.h"
#include "model_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4

static uint64_t rng = 88172645463325252ull;
static float rnd_unit(void) { /* [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

/* n random values a + b u, u in [-1, 1) (malloc'd; NULL when out of memory). */
static float *random_values(size_t n, float a, float b) {
    float *x = malloc(n * sizeof *x + 4);
    for (size_t i = 0; x && i < n; i++)
        x[i] = a + b * rnd_unit();
    return x;
}

/* One call of d on both contexts with the same random inputs; the largest difference of out
 * and lse into *err. */
static seattn_status check_one(seattn_context *const ctx[2], const seattn_attention_desc *d,
                               double *err) {
    seattn_attention_desc r;
    seattn_status s = seattn_attention_desc_check(ctx[0], d, &r);
    if (s) return s;
    const size_t nq = (size_t)r.n_heads * r.q_len * r.head_dim;
    const size_t nk = (size_t)r.n_kv_heads * r.kv_len * r.head_dim;
    const size_t nv = (size_t)r.n_kv_heads * r.kv_len * r.v_head_dim;
    const size_t no = (size_t)r.n_heads * r.q_len * r.v_head_dim, nl = (size_t)r.n_heads * r.q_len;
    const size_t counts[6] = {nq, nk, nv, r.head_dim, r.head_dim, r.n_heads};
    const float base[6] = {0, 0, 0, 1, 1, 4}, spread[6] = {1, 1, 1, 0.5f, 0.5f, 3};
    float *host[6] = {0}, *out[2] = {0}, *lse[2] = {0};
    seattn_tensor *t[2][8] = {{0}};
    for (int i = 0; i < 6 && !s; i++)
        if (!(host[i] = random_values(counts[i], base[i], spread[i])))
            s = SEATTN_ERROR_OUT_OF_MEMORY;
    for (int c = 0; c < 2 && !s; c++) {
        for (int i = 0; i < 6 && !s; i++)
            s = golden_tensor(ctx[c], host[i], counts[i], SEATTN_DTYPE_F32, &t[c][i]);
        if (!s) s = seattn_tensor_create(ctx[c], no * 4, &t[c][6]);
        if (!s) s = seattn_tensor_create(ctx[c], nl * 4, &t[c][7]);
        if (!s && !((out[c] = malloc(no * 4)) && (lse[c] = malloc(nl * 4))))
            s = SEATTN_ERROR_OUT_OF_MEMORY;
        const bool norm = (r.flags & (SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM)) != 0;
        const seattn_attention_tensors ts = {.q = t[c][0],
                                             .k = t[c][1],
                                             .v = t[c][2],
                                             .out = t[c][6],
                                             .lse = t[c][7],
                                             .q_norm_weight = norm ? t[c][3] : NULL,
                                             .k_norm_weight = norm ? t[c][4] : NULL,
                                             .sinks = t[c][5]};
        if (!s) s = seattn_attention_run(ctx[c], d, &ts);
        if (!s) s = seattn_tensor_download(ctx[c], t[c][6], 0, out[c], no * 4);
        if (!s) s = seattn_tensor_download(ctx[c], t[c][7], 0, lse[c], nl * 4);
    }
    double e = 0.0;
    for (size_t i = 0; !s && i < no + nl; i++) {
        const double a = i < no ? out[0][i] : lse[0][i - no];
        const double b = i < no ? out[1][i] : lse[1][i - no];
        const double x = fabs(a - b);
        if (!(x <= e)) e = x; /* NaN sticks */
    }
    *err = e;
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 8; i++)
            seattn_tensor_destroy(t[c][i]);
        free(out[c]);
        free(lse[c]);
    }
    for (int i = 0; i < 6; i++)
        free(host[i]);
    return s;
}

/* The layer type's call at a length: q_len queries (the last ones) over kv_len keys. */
static seattn_attention_desc at_length(const model_layer_type *t, uint32_t q_len, uint32_t kv_len,
                                       int32_t g, int32_t w) {
    seattn_attention_desc d = t->desc;
    d.q_len = q_len;
    d.kv_len = kv_len;
    d.group_size = t->sliding ? 1 : g;
    d.neighbor_window = t->sliding ? (int32_t)t->window : w;
    return d;
}

/* Checks the layer type on the device against the CPU reference: a KV head with its query
 * heads (at most 8), the type's features, its G at a window of at most 32 tokens (48 for a
 * sliding layer) so that short random sequences reach the grouped positions. */
static int check_type(seattn_context *const ctx[2], const model_layer_type *t, int32_t g,
                      bool full) {
    const uint32_t lens[][2] = {{96, 96}, {16, 400}, {1, 1100}, {300, 300}, {1, 5000}};
    const uint32_t n_rep = t->desc.n_heads / t->desc.n_kv_heads;
    const int32_t w = t->sliding ? (int32_t)(t->window < 48 ? t->window : 48) : 32;
    int bad = 0;
    printf("    exact on the device:");
    for (int i = 0; i < (full ? 5 : 3); i++) {
        seattn_attention_desc d = at_length(t, lens[i][0], lens[i][1], g, w);
        d.neighbor_window = w;
        d.n_kv_heads = 1;
        d.n_heads = n_rep < 8 ? n_rep : 8;
        double e = INFINITY;
        const seattn_status s = check_one(ctx, &d, &e);
        if (s) {
            printf(" %s at %u: ERROR %s: %s", lens[i][0] == lens[i][1] ? "prefill" : "queries",
                   lens[i][1], seattn_status_string(s), seattn_context_last_error(ctx[1]));
            bad++;
            continue;
        }
        const bool ok = e <= TOLERANCE;
        bad += !ok;
        printf(" %u of %u keys %.1e%s%s", lens[i][0], lens[i][1], e, ok ? "" : " FAIL",
               i + 1 < (full ? 5 : 3) ? "," : "");
    }
    const uint32_t nh = n_rep < 8 ? n_rep : 8;
    printf(" (G %d, W %d, %u query head%s over 1 KV head: %s)\n", t->sliding ? 1 : g, w, nh,
           nh == 1 ? "" : "s", bad ? "NOT EXACT" : "exact within 1e-4");
    return bad;
}

/* Median device time (host time where the device has no timestamps) of 3 runs after one. */
static double time_call(seattn_context *ctx, const seattn_attention_desc *d,
                        const seattn_attention_tensors *ts, char *kernel, size_t kn,
                        seattn_status *s) {
    double ms[3];
    for (int i = 0; i < 4; i++) {
        if ((*s = seattn_attention_run(ctx, d, ts))) return NAN;
        seattn_call_stats st;
        seattn_context_last_call(ctx, &st);
        if (i > 0) ms[i - 1] = st.device_ms >= 0 ? st.device_ms : st.host_ms;
        snprintf(kernel, kn, "%s", st.kernel);
    }
    for (int i = 0; i < 2; i++) /* sort 3 */
        for (int j = 0; j + 1 < 3 - i; j++)
            if (ms[j] > ms[j + 1]) {
                const double x = ms[j];
                ms[j] = ms[j + 1], ms[j + 1] = x;
            }
    return ms[1];
}

/* A tensor of n f16 values of a 64 KiB random pattern (the values do not change the time). */
static seattn_status pattern_tensor(seattn_context *ctx, size_t n, seattn_tensor **t) {
    enum { BLOCK = 32768 };
    static uint16_t block[BLOCK];
    static bool made;
    if (!made) {
        float f[BLOCK];
        for (int i = 0; i < BLOCK; i++)
            f[i] = rnd_unit();
        seattn_f32_to_f16(f, block, BLOCK);
        made = true;
    }
    seattn_status s = seattn_tensor_create(ctx, n * 2 + 2, t);
    for (size_t i = 0; !s && i < n; i += BLOCK) {
        const size_t m = n - i < BLOCK ? n - i : BLOCK;
        s = seattn_tensor_upload(ctx, *t, i * 2, block, m * 2);
    }
    return s;
}

/* Times a decode step and a prefill chunk of the layer type at its context with the model's
 * head counts, q, k, v and out in f16 as engines keep them. A K or V view larger than the
 * device's maxStorageBufferRange is timed as calls over groups of KV heads (one timed, times
 * the number of groups). */
static int time_type(seattn_context *ctx, const model_layer_type *t, uint32_t n, int32_t g,
                     int32_t w, uint32_t chunk) {
    seattn_device_info info;
    seattn_context_device_info(ctx, &info);
    const uint32_t kv_len = t->sliding && t->window + chunk < n ? t->window + chunk : n;
    const uint32_t n_rep = t->desc.n_heads / t->desc.n_kv_heads;
    const uint64_t per_head = (uint64_t)kv_len * t->desc.head_dim * 2;
    uint32_t hk = t->desc.n_kv_heads;
    while (hk > 1 && (hk * per_head > info.max_storage_buffer_range || t->desc.n_kv_heads % hk))
        hk--;
    const uint32_t groups = t->desc.n_kv_heads / hk;
    const uint32_t q_lens[2] = {1, chunk < kv_len ? chunk : kv_len};
    const seattn_dtype F16 = SEATTN_DTYPE_F16;
    seattn_tensor *tq = NULL, *tk = NULL, *tv = NULL, *to = NULL, *tw = NULL, *tsk = NULL;
    const size_t nq = (size_t)hk * n_rep * q_lens[1] * t->desc.head_dim;
    const size_t nk = (size_t)hk * kv_len * t->desc.head_dim;
    const size_t nv = (size_t)hk * kv_len * t->desc.v_head_dim;
    seattn_status s = pattern_tensor(ctx, nq, &tq);
    if (!s) s = pattern_tensor(ctx, nk, &tk);
    if (!s) s = pattern_tensor(ctx, nv, &tv);
    if (!s)
        s = seattn_tensor_create(ctx, (size_t)hk * n_rep * q_lens[1] * t->desc.v_head_dim * 2, &to);
    float *w_host = random_values(t->desc.head_dim, 1, 0.5f);
    float *sk_host = random_values(t->desc.n_heads, 4, 3);
    if (!s && !(w_host && sk_host)) s = SEATTN_ERROR_OUT_OF_MEMORY;
    if (!s) s = golden_tensor(ctx, w_host, t->desc.head_dim, SEATTN_DTYPE_F32, &tw);
    if (!s) s = golden_tensor(ctx, sk_host, t->desc.n_heads, SEATTN_DTYPE_F32, &tsk);
    free(w_host);
    free(sk_host);
    double ms[2] = {NAN, NAN};
    char kernel[2][96] = {"", ""};
    const seattn_attention_tensors ts = {.q = tq,
                                         .k = tk,
                                         .v = tv,
                                         .out = to,
                                         .q_norm_weight = tw,
                                         .k_norm_weight = tw,
                                         .sinks = tsk};
    for (int i = 0; i < 2 && !s; i++) {
        seattn_attention_desc d = at_length(t, q_lens[i], kv_len, g, w);
        d.n_kv_heads = hk;
        d.n_heads = hk * n_rep;
        d.q_type = d.k_type = d.v_type = d.out_type = F16;
        ms[i] = time_call(ctx, &d, &ts, kernel[i], sizeof kernel[i], &s) * groups;
    }
    if (s)
        printf("    time: ERROR %s: %s\n", seattn_status_string(s), seattn_context_last_error(ctx));
    else {
        printf("    time at %u keys (%u/%u heads, f16): decode %.2f ms (%s), prefill chunk of %u "
               "%.2f ms (%s)",
               kv_len, t->desc.n_heads, t->desc.n_kv_heads, ms[0], kernel[0], q_lens[1], ms[1],
               kernel[1]);
        if (groups > 1) /* K or V of all heads past one storage view */
            printf(" [as %u calls of %u KV head%s: one timed, times %u]", groups, hk,
                   hk == 1 ? "" : "s", groups);
        printf("\n");
    }
    seattn_tensor *all[] = {tq, tk, tv, to, tw, tsk};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    return s != SEATTN_SUCCESS;
}

static void describe(const model_layer_type *t) {
    const seattn_attention_desc *d = &t->desc;
    printf("  %s x%u (layer %u first): %u/%u heads, head_dim %u", t->name, t->count, t->first,
           d->n_heads, d->n_kv_heads, d->head_dim);
    if (d->v_head_dim != d->head_dim) printf(" (v %u)", d->v_head_dim);
    printf(", RoPE %s theta %g on dims %u..%u %s", t->rope_type, t->rope_theta, d->rotary_offset,
           d->rotary_offset + d->rotary_dims - 1,
           d->rope_layout == SEATTN_ROPE_INTERLEAVED ? "interleaved" : "rotate_half");
    if (d->rope_attention_factor != 1.0f)
        printf(", attention factor %.6g", d->rope_attention_factor);
    printf(", scale %.6g", d->scale);
    if (d->logit_softcap > 0) printf(", softcap %g", d->logit_softcap);
    if (t->sinks) printf(", sinks");
    if (t->qk_norm) printf(", QK-norm");
    if (t->sliding) printf(", window %u", t->window);
    printf("\n");
}

static void usage(FILE *f) {
    fprintf(f, "usage: seattn model CONFIG.json... [--context N] [--full] [--device N|NAME]\n"
               "                    [--kernel NAME] [--validation] [--no-time]\n"
               "  Prints each attention layer type of a Hugging Face config.json as seattn\n"
               "  computes it, the Self-Extend G and W for a context of N tokens (default: twice\n"
               "  the trained max_position_embeddings), checks each type on the device against\n"
               "  the CPU reference, and times a decode step and a prefill chunk (16 queries;\n"
               "  --full: 512, and more check lengths) at N with the model's head counts.\n"
               "  Rule: W = the trained length L / 4 rounded down to a multiple of 256, at most\n"
               "  4096; G the smallest with (L - W) G + W >= N (G 1 when N <= L). Sliding-window\n"
               "  layers run as G 1, neighbor pairs only, W their window.\n");
}

int cmd_model(int argc, char **argv) {
    const char *device = "", *kernel = NULL;
    uint32_t flags = 0, context = 0;
    bool full = false, timing = true;
    const char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0;
    if (!files) return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--context") == 0 && i + 1 < argc) {
            char *end;
            const unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v < 1 || v >= (1u << 24)) {
                fprintf(stderr, "seattn model: --context %s: a token count in 1 .. 2^24 - 1\n",
                        argv[i]);
                free(files);
                return 2;
            }
            context = (uint32_t)v;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel = argv[++i];
        else if (strcmp(argv[i], "--validation") == 0)
            flags |= SEATTN_CONTEXT_VALIDATION;
        else if (strcmp(argv[i], "--full") == 0)
            full = true;
        else if (strcmp(argv[i], "--no-time") == 0)
            timing = false;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            free(files);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "seattn model: unknown option '%s'\n", argv[i]);
            usage(stderr);
            free(files);
            return 2;
        } else
            files[n_files++] = argv[i];
    }
    if (n_files == 0) {
        usage(stderr);
        free(files);
        return 2;
    }
    seattn_context *ctx[2] = {NULL, NULL};
    if (cli_context("cpu", 0, NULL, &ctx[0]) || cli_context(device, flags, kernel, &ctx[1])) {
        fprintf(stderr, "seattn model: %s\n", seattn_last_create_error());
        seattn_context_destroy(ctx[0]);
        free(files);
        return 1;
    }
    seattn_device_info info;
    seattn_context_device_info(ctx[1], &info);
    printf("device: %s (%s)\n", info.name, info.driver);
    int failures = 0;
    for (int i = 0; i < n_files; i++) {
        const char *path = files[i];
        model_info m;
        char err[512];
        /* the frequencies are those for the target context (longrope, dynamic) */
        int rc = model_config_load(path, 0, &m, err, sizeof err);
        const uint32_t n =
            context ? context : (m.trained < (1u << 23) ? 2 * m.trained : (1u << 24) - 1);
        if (rc == 0) rc = model_config_load(path, n, &m, err, sizeof err);
        if (rc != 0) {
            printf("%s: %s: %s\n", path, rc == -2 ? "UNSUPPORTED" : "MALFORMED", err);
            failures++;
            continue;
        }
        int32_t g, w;
        model_recommend(m.trained, n, &g, &w);
        printf("%s (%s): %u layers, trained for %u tokens; context %u\n", m.name, m.model_type,
               m.n_layers, m.trained, n);
        if (g == 1 && n <= m.trained)
            printf("  Self-Extend: not needed (%u <= %u): G 1, plain attention\n", n, m.trained);
        else if (g == 1)
            printf("  Self-Extend: a model trained on %u tokens keeps no window: G 1\n", m.trained);
        else
            printf("  Self-Extend for the full-attention layers: G %d, W %d ((%u - %d) x %d + %d "
                   "= %llu >= %u)\n",
                   g, w, m.trained, w, g, w,
                   (unsigned long long)(m.trained - (uint32_t)w) * (uint64_t)g + (uint64_t)w, n);
        for (int ti = 0; ti < m.n_types; ti++) {
            const model_layer_type *t = &m.types[ti];
            describe(t);
            failures += check_type(ctx, t, g, full);
            if (timing) failures += time_type(ctx[1], t, n, g, w, full ? 512 : 16);
        }
    }
    const uint32_t ve = seattn_context_validation_errors(ctx[1]);
    if (ve) {
        printf("%u validation messages\n", ve);
        failures++;
    }
    seattn_context_destroy(ctx[0]);
    seattn_context_destroy(ctx[1]);
    free(files);
    return failures ? 1 : 0;
}
