/* seattn bench: verify each shape against the CPU reference, then time it on the device. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4
/* f16 outputs: two results within TOLERANCE may round one f16 ulp apart (at most 2^-10 below
 * 1, and outputs are averages of values in [-1, 1)) */
#define TOLERANCE_F16 (TOLERANCE + 0x1p-10)

typedef struct {
    const bench_options *o;
    int step, steps;
} progress;

static void show(progress *p, const char *label, const char *what) {
    if (p->o->quiet || !seattn__stderr_is_terminal()) return;
    fprintf(stderr, "\r\033[K[%d/%d] %s: %s", p->step, p->steps, label, what);
    fflush(stderr);
}

static seattn_attention_desc shape_desc(const bench_shape *s, uint32_t len, uint32_t n_heads,
                                        uint32_t n_kv_heads) {
    seattn_attention_desc d = {0};
    d.n_heads = n_heads;
    d.n_kv_heads = n_kv_heads;
    d.head_dim = s->head_dim;
    d.q_len = s->kind == BENCH_PREFILL ? len : 1;
    d.kv_len = len;
    d.group_size = s->g;
    d.neighbor_window = s->w;
    d.q_type = d.k_type = d.v_type = d.out_type = s->dtype;
    if (s->kv_typed) {
        d.k_type = d.v_type = s->kv_dtype;
        if (s->kv_dtype == SEATTN_DTYPE_FP8_E4M3) d.k_scale = d.v_scale = 1.0f / 256.0f;
    }
    return d;
}

/* The tensors of one instance, filled with values in [-1, 1). */
typedef struct {
    seattn_attention_desc d;
    seattn_tensor *q, *k, *v, *out, *lse, *out2, *lse2;
    size_t nq, nkv, nrows;
    size_t es; /* bytes an element of q, k, v, out */
} instance;

static void fill(float *x, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
}

static void instance_free(instance *in) {
    seattn_tensor *t[] = {in->q, in->k, in->v, in->out, in->lse, in->out2, in->lse2};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        seattn_tensor_destroy(t[i]);
    memset(in, 0, sizeof *in);
}

static seattn_status instance_make(seattn_context *ctx, const seattn_attention_desc *d,
                                   instance *in) {
    memset(in, 0, sizeof *in);
    in->d = *d;
    in->nq = (size_t)d->n_heads * d->q_len * d->head_dim;
    in->nkv = (size_t)d->n_kv_heads * d->kv_len * d->head_dim;
    in->nrows = (size_t)d->n_heads * d->q_len;
    in->es = d->q_type == SEATTN_DTYPE_F16 ? 2 : 4;
    const size_t es = in->es;
    seattn_status s;
    const size_t kvb = seattn_dtype_bytes(d->k_type, in->nkv);
    if ((s = seattn_tensor_create(ctx, in->nq * es, &in->q)) ||
        (s = seattn_tensor_create(ctx, kvb, &in->k)) ||
        (s = seattn_tensor_create(ctx, kvb, &in->v)) ||
        (s = seattn_tensor_create(ctx, in->nq * es, &in->out)) ||
        (s = seattn_tensor_create(ctx, in->nrows * 4, &in->lse)) ||
        (s = seattn_tensor_create(ctx, in->nq * es, &in->out2)) ||
        (s = seattn_tensor_create(ctx, in->nrows * 4, &in->lse2)))
        return s;
    size_t most = in->nq > in->nkv ? in->nq : in->nkv;
    float *buf = malloc(most * 4);
    unsigned char *raw = malloc(most * 4);
    seattn_tensor *t[3] = {in->q, in->k, in->v};
    const size_t n[3] = {in->nq, in->nkv, in->nkv};
    const seattn_dtype types[3] = {d->q_type, d->k_type, d->v_type};
    const float scales[3] = {1.0f, d->k_scale ? d->k_scale : 1.0f, d->v_scale ? d->v_scale : 1.0f};
    s = buf && raw ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < 3 && !s; i++) { /* values in [-1, 1), stored as the type stores them */
        fill(buf, n[i], (uint32_t)i + 1);
        s = seattn_quantize(types[i], buf, n[i], raw, scales[i]);
        if (!s) s = seattn_tensor_upload(ctx, t[i], 0, raw, seattn_dtype_bytes(types[i], n[i]));
    }
    free(buf);
    free(raw);
    return s;
}

/* An output tensor of n elements as f32 on the host. */
static seattn_status download(seattn_context *ctx, const instance *in, const seattn_tensor *t,
                              size_t n, float *out) {
    if (in->es == 4) return seattn_tensor_download(ctx, t, 0, out, n * 4);
    uint16_t *half = malloc(n * 2);
    if (!half) return SEATTN_ERROR_OUT_OF_MEMORY;
    seattn_status s = seattn_tensor_download(ctx, t, 0, half, n * 2);
    seattn_f16_to_f32(half, out, n);
    free(half);
    return s;
}

typedef enum { V_SE, V_PLAIN, V_TWO_PASS } variant;

/* Runs a variant once; the device and host times of its calls add up in *dev, *host. The two
 * passes write out/lse and out2/lse2, then seattn_attention_merge() merges them into out on
 * the device, timed with them. */
static seattn_status run_variant(seattn_context *ctx, instance *in, variant v, double *dev,
                                 double *host, char *kernel, size_t kernel_size) {
    seattn_attention_desc d = in->d;
    seattn_call_stats st;
    seattn_status s;
    *dev = 0.0;
    *host = 0.0;
    if (v == V_PLAIN) d.group_size = 1;
    if (v != V_TWO_PASS) {
        if ((s = seattn_attention(ctx, &d, in->q, in->k, in->v, in->out, NULL))) return s;
        seattn_context_last_call(ctx, &st);
        *dev = st.device_ms;
        *host = st.host_ms;
        snprintf(kernel, kernel_size, "%s", st.kernel);
        return SEATTN_SUCCESS;
    }
    d.flags = SEATTN_ATTN_NEIGHBOR_ONLY;
    if ((s = seattn_attention(ctx, &d, in->q, in->k, in->v, in->out, in->lse))) return s;
    seattn_context_last_call(ctx, &st);
    *dev = st.device_ms;
    *host = st.host_ms;
    char first[96];
    snprintf(first, sizeof first, "%s", st.kernel);
    d.flags = SEATTN_ATTN_GROUPED_ONLY;
    if ((s = seattn_attention(ctx, &d, in->q, in->k, in->v, in->out2, in->lse2))) return s;
    seattn_context_last_call(ctx, &st);
    *dev = *dev >= 0.0 && st.device_ms >= 0.0 ? *dev + st.device_ms : -1.0;
    *host += st.host_ms;
    char second[96];
    snprintf(second, sizeof second, "%s", st.kernel);
    if ((s = seattn_attention_merge(ctx, &d, in->out, in->lse, in->out2, in->lse2, in->out, NULL)))
        return s;
    seattn_context_last_call(ctx, &st);
    *dev = *dev >= 0.0 && st.device_ms >= 0.0 ? *dev + st.device_ms : -1.0;
    *host += st.host_ms;
    snprintf(kernel, kernel_size, "%s; %s; %s", first, second, st.kernel);
    return SEATTN_SUCCESS;
}

/* The output of a variant on the host. */
static seattn_status read_output(seattn_context *ctx, instance *in, float *out) {
    return download(ctx, in, in->out, in->nq, out);
}

static double max_err(const float *a, const float *b, size_t n) {
    double e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= e)) e = d; /* NaN wins */
    }
    return e;
}

/* Each variant on a small instance of the shape against the CPU reference: the same head_dim,
 * GQA ratio, G and W, few enough tokens for the reference to take about a second, and enough
 * past W that grouped pairs are there. */
static int verify(seattn_context *dev, seattn_context *cpu, const bench_shape *s,
                  bench_result *res) {
    const uint32_t ratio = s->n_heads / s->n_kv_heads;
    uint32_t len = s->kind == BENCH_PREFILL ? (uint32_t)s->w + 256 : (uint32_t)s->w + 2048;
    if (len > s->len) len = s->len;
    seattn_attention_desc d = shape_desc(s, len, ratio, 1);
    instance gi, ci;
    int rc = 1;
    seattn_status st = instance_make(dev, &d, &gi);
    if (!st) st = instance_make(cpu, &d, &ci);
    float *ref = malloc(gi.nq * 4), *got = malloc(gi.nq * 4);
    res->max_err = 0.0;
    const char *names[] = {"Self-Extend", "plain (G = 1)", "two passes merged by LSE"};
    for (int v = 0; !st && v < 3 && ref && got; v++) {
        double t0, t1;
        char kernel[320];
        if ((st = run_variant(cpu, &ci, v == V_PLAIN ? V_PLAIN : V_SE, &t0, &t1, kernel,
                              sizeof kernel)) ||
            (st = download(cpu, &ci, ci.out, ci.nq, ref)) ||
            (st = run_variant(dev, &gi, (variant)v, &t0, &t1, kernel, sizeof kernel)) ||
            (st = read_output(dev, &gi, got)))
            break;
        if (v == V_SE) res->first_call_ms = t1;
        const double e = max_err(ref, got, gi.nq);
        const double tol = s->dtype == SEATTN_DTYPE_F16 ? TOLERANCE_F16 : TOLERANCE;
        if (!(e <= tol)) {
            char label[96];
            bench_shape_label(s, label, sizeof label);
            fprintf(stderr,
                    "\nseattn bench: %s, %s: the device differs from the CPU reference by "
                    "%.3e (tolerance %.0e) on %u tokens; stopping\n",
                    label, names[v], e, tol, len);
            goto done;
        }
        if (e > res->max_err) res->max_err = e;
    }
    if (st) {
        fprintf(stderr, "\nseattn bench: verification failed: %s\n", seattn_status_string(st));
        goto done;
    }
    rc = 0;
done:
    free(ref);
    free(got);
    instance_free(&gi);
    instance_free(&ci);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarize(double *dev, double *host, int n, bench_timing *t) {
    t->done = true;
    t->runs = n;
    qsort(host, (size_t)n, sizeof host[0], cmp_double);
    t->host_med_ms = host[n / 2];
    if (dev[0] >= 0.0) {
        qsort(dev, (size_t)n, sizeof dev[0], cmp_double);
        t->dev_min_ms = dev[0];
        t->dev_med_ms = dev[n / 2];
    } else {
        t->dev_min_ms = t->dev_med_ms = -1.0;
    }
}

enum { MAX_ROUNDS = 1000 }; /* timed rounds of a shape, at most */

/* The median over n rounds of each round's ratio x / y, device times (wall times where the
 * device has none). A round's runs follow each other within seconds, so the drift of a shared
 * machine, which moves whole rounds (lavapipe on the project's VM: one build's prefill 1024
 * from 302 to 499 ms between sweeps), cancels in each round's ratio; the ratio of two medians
 * taken over different rounds keeps it. */
static double paired_ratio(const double *dx, const double *dy, const double *hx, const double *hy,
                           int n) {
    double r[MAX_ROUNDS];
    for (int i = 0; i < n; i++)
        r[i] = dx[0] >= 0.0 && dy[0] >= 0.0 ? dx[i] / dy[i] : hx[i] / hy[i];
    qsort(r, (size_t)n, sizeof r[0], cmp_double);
    return n ? r[n / 2] : -1.0;
}

/* One warm-up run of each variant (it may build pipelines the verification's small instance
 * did not need), then up to o->runs rounds of (a), (b), (c) in turn, so that drift on a shared
 * machine touches all three alike, within the budget of o->budget_s a variant. Every variant
 * gets at least SLOW_ROUNDS timed rounds (o->runs if fewer); when a warm-up's device time (its
 * wall time where the device has no timestamps) was longer than the budget, those are all
 * (warmup_timed marks it "3*"). One round was all before, and prefill 4096's a/b on lavapipe
 * then came from two single runs: 0.84 to 1.11 over three sweeps of one build on each Mesa.
 * The warm-up's wall time also holds the pipeline's compilation, seconds on llvmpipe, so it
 * does not decide. */
enum { SLOW_ROUNDS = 3 };
static int time_variants(seattn_context *ctx, instance *in, const bench_options *o,
                         bench_timing *t[3], double *ratio_ab, double *ratio_ca, progress *p,
                         const char *label) {
    double(*dev)[MAX_ROUNDS] = calloc(3, sizeof *dev);
    double(*host)[MAX_ROUNDS] = calloc(3, sizeof *host);
    int n[3] = {0, 0, 0};
    seattn_status s = dev && host ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    bool slow = false;
    for (int v = 0; v < 3 && !s; v++) {
        s = run_variant(ctx, in, (variant)v, &dev[v][0], &host[v][0], t[v]->kernel,
                        sizeof t[v]->kernel);
        const double took = dev[v][0] >= 0.0 ? dev[v][0] : host[v][0];
        if (!s && took > o->budget_s * 1e3) slow = true;
    }
    for (int v = 0; v < 3 && slow; v++)
        t[v]->warmup_timed = true;
    const double start = seattn__now_ms();
    const int rounds = slow && o->runs > SLOW_ROUNDS ? SLOW_ROUNDS : o->runs;
    for (int round = 0; !s && round < rounds && round < MAX_ROUNDS; round++) {
        char what[64];
        snprintf(what, sizeof what, "timing, round %d of at most %d", round + 1, o->runs);
        show(p, label, what);
        for (int v = 0; v < 3 && !s; v++) {
            s = run_variant(ctx, in, (variant)v, &dev[v][n[v]], &host[v][n[v]], t[v]->kernel,
                            sizeof t[v]->kernel);
            if (!s) n[v]++;
        }
        if (round + 1 >= SLOW_ROUNDS && seattn__now_ms() - start > 3.0 * o->budget_s * 1e3) break;
    }
    if (s) fprintf(stderr, "\nseattn bench: %s\n", seattn_context_last_error(ctx));
    if (!s) { /* before summarize() sorts each variant's times */
        const int both = n[0] < n[1] ? n[0] : n[1];
        *ratio_ab = paired_ratio(dev[0], dev[1], host[0], host[1], both);
        *ratio_ca = paired_ratio(dev[2], dev[0], host[2], host[0], both < n[2] ? both : n[2]);
    }
    for (int v = 0; v < 3 && !s; v++)
        summarize(dev[v], host[v], n[v], t[v]);
    free(dev);
    free(host);
    return s ? 1 : 0;
}

/* The CPU reference, timed once, where the shape is small enough for it. */
static void time_cpu(seattn_context *cpu, const bench_shape *s, bench_timing *t) {
    seattn_attention_desc d = shape_desc(s, s->len, s->n_heads, s->n_kv_heads);
    instance in;
    double dev, host;
    if (instance_make(cpu, &d, &in) == SEATTN_SUCCESS &&
        run_variant(cpu, &in, V_SE, &dev, &host, t->kernel, sizeof t->kernel) == SEATTN_SUCCESS) {
        t->done = true;
        t->runs = 1;
        t->host_med_ms = host;
        t->dev_min_ms = t->dev_med_ms = -1.0;
    }
    instance_free(&in);
}

/* Context creation and the first Self-Extend call of shape s (its small instance, as verify()
 * runs it): first with no pipeline cache file, then again with the file the first context
 * saved at destroy. Mesa's own shader cache also makes a second start fast: run with
 * MESA_SHADER_CACHE_DISABLE=true to see the pipeline cache alone. */
static void measure_startup(const seattn_context_options *vo, const bench_shape *s, double *cold,
                            double *warm) {
    char path[256];
    snprintf(path, sizeof path, "%s/seattn-bench-pipelines-%ld.bin", seattn__temp_dir(),
             seattn__process_id());
    remove(path);
    *cold = *warm = -1.0;
    uint32_t len = s->kind == BENCH_PREFILL ? (uint32_t)s->w + 256 : (uint32_t)s->w + 2048;
    if (len > s->len) len = s->len;
    const seattn_attention_desc d = shape_desc(s, len, s->n_heads / s->n_kv_heads, 1);
    for (int pass = 0; pass < 2; pass++) {
        seattn_context_options o = *vo;
        o.pipeline_cache_path = path;
        seattn_context *ctx = NULL;
        const double t0 = seattn__now_ms();
        if (seattn_context_create(&o, &ctx)) break;
        const double created = seattn__now_ms();
        instance in;
        double dev, host;
        char kernel[320];
        seattn_status st = instance_make(ctx, &d, &in); /* tensors and uploads: not startup */
        const double t1 = seattn__now_ms();
        if (!st) st = run_variant(ctx, &in, V_SE, &dev, &host, kernel, sizeof kernel);
        const double ms = (created - t0) + (seattn__now_ms() - t1);
        instance_free(&in);
        seattn_context_destroy(ctx);
        if (st) break;
        *(pass ? warm : cold) = ms;
    }
    remove(path);
}

static double causal_pairs(const seattn_attention_desc *d) {
    /* query r (position q_pos + r) sees q_pos + r + 1 keys */
    const double q = d->q_len, first = (double)(d->kv_len - d->q_len) + 1.0;
    return q * first + q * (q - 1.0) / 2.0;
}

int bench_execute(const bench_options *o, bench_run *run) {
    memset(run, 0, sizeof *run);
    seattn_context *cpu = NULL;
    seattn_context_options co = {0};
    co.backend = SEATTN_BACKEND_CPU;
    if (seattn_context_create(&co, &cpu)) {
        fprintf(stderr, "seattn bench: %s\n", seattn_last_create_error());
        return 1;
    }
    int chosen[BENCH_MAX_DEVICES], n_chosen = 0;
    if (o->all_devices) {
        uint32_t count = 0;
        if (seattn_device_list(NULL, &count)) {
            fprintf(stderr, "seattn bench: no Vulkan device: %s\n", seattn_last_create_error());
            seattn_context_destroy(cpu);
            return 1;
        }
        for (uint32_t i = 0; i < count && n_chosen < BENCH_MAX_DEVICES; i++)
            chosen[n_chosen++] = (int)i;
    } else if (o->n_devices) {
        memcpy(chosen, o->devices, sizeof(int) * (size_t)o->n_devices);
        n_chosen = o->n_devices;
    } else {
        chosen[n_chosen++] = -1; /* the default device */
    }
    progress p = {o, 0, n_chosen * o->n_shapes};
    int rc = 0;
    for (int di = 0; di < n_chosen && !rc; di++) {
        seattn_context_options vo = {0};
        vo.kernel = o->kernel;
        /* a batch at its real lengths on a CPU device: a call of flash_smem there (--kernel)
         * took over a minute on lavapipe (bench/RESULTS.md) */
        vo.timeout_ms = 600000;
        char idx[16];
        if (chosen[di] >= 0) {
            snprintf(idx, sizeof idx, "%d", chosen[di]);
            vo.device = idx;
        }
        seattn_context *dev = NULL;
        if (seattn_context_create(&vo, &dev)) {
            fprintf(stderr, "seattn bench: device %s: %s\n", chosen[di] >= 0 ? idx : "default",
                    seattn_last_create_error());
            rc = 1;
            break;
        }
        const int slot = run->n_devices++;
        seattn_context_device_info(dev, &run->devices[slot]);
        run->device_index[slot] = chosen[di];
        run->startup_cold_ms[slot] = run->startup_warm_ms[slot] = -1.0;
        if (o->startup && o->n_shapes > 0) { /* with the first single-call shape */
            show(&p, run->devices[slot].name, "startup, cold and with the pipeline cache");
            measure_startup(&vo, &o->shapes[0], &run->startup_cold_ms[slot],
                            &run->startup_warm_ms[slot]);
        }
        for (int si = 0; si < o->n_shapes && !rc; si++) {
            const bench_shape *s = &o->shapes[si];
            bench_result *res = &run->results[run->n_results];
            memset(res, 0, sizeof *res);
            res->shape = *s;
            res->device = slot;
            char label[96];
            bench_shape_label(s, label, sizeof label);
            p.step++;
            show(&p, label, "verifying against the CPU reference");
            if ((rc = verify(dev, cpu, s, res))) break;
            seattn_attention_desc d = shape_desc(s, s->len, s->n_heads, s->n_kv_heads);
            res->flops = 4.0 * d.head_dim * causal_pairs(&d) * d.n_heads;
            res->kv_bytes = 2.0 * (double)seattn_dtype_bytes(
                                      d.k_type, (size_t)d.kv_len * d.n_kv_heads * d.head_dim);
            instance in;
            if (instance_make(dev, &d, &in)) {
                fprintf(stderr, "\nseattn bench: %s: %s\n", label, seattn_context_last_error(dev));
                instance_free(&in);
                rc = 1;
                break;
            }
            show(&p, label, "warm-up of (a), (b), (c)");
            bench_timing *t[3] = {&res->se, &res->plain, &res->two_pass};
            rc = time_variants(dev, &in, o, t, &res->ratio_ab, &res->ratio_ca, &p, label);
            instance_free(&in);
            if (!rc && res->flops <= 1e9) {
                show(&p, label, "CPU reference");
                time_cpu(cpu, s, &res->cpu);
            }
            if (!rc) run->n_results++;
        }
        for (int bi = 0; bi < o->n_batch_shapes && !rc; bi++) {
            bench_batch_result *br = &run->batch[run->n_batch];
            char label[128];
            snprintf(label, sizeof label, "decode batch of %u", o->batch_shapes[bi].n_seqs);
            show(&p, label, "separate calls, one batch, one paged batch");
            rc = bench_batch_execute(dev, o, &o->batch_shapes[bi], br);
            br->device = slot;
            if (!rc) run->n_batch++;
        }
        seattn_context_destroy(dev);
    }
    if (!o->quiet && seattn__stderr_is_terminal()) fprintf(stderr, "\r\033[K");
    seattn_context_destroy(cpu);
    return rc;
}
