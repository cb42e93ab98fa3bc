/* seattn bench: the table, the JSON file and the plot. */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *type_name(int32_t t) {
    switch (t) {
    case 1:
        return "integrated GPU";
    case 2:
        return "discrete GPU";
    case 3:
        return "virtual GPU";
    case 4:
        return "CPU";
    default:
        return "other";
    }
}

/* The time a variant is judged by: device time where the queue has timestamps, else wall. */
static double ms(const bench_timing *t) {
    return t->dev_med_ms >= 0.0 ? t->dev_med_ms : t->host_med_ms;
}

static void print_device(const seattn_device_info *d, int index, FILE *out) {
    char which[16] = "default";
    if (index >= 0) snprintf(which, sizeof which, "%d", index);
    fprintf(out, "device %s: %s (%s), %s, Vulkan %u.%u.%u, driver version 0x%x\n", which, d->name,
            d->driver[0] ? d->driver : "no driver info", type_name(d->type), d->api_version >> 22,
            (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff, d->driver_version);
}

/* A short name that tells devices apart where their names are the same (two identical GPUs,
 * one CPU under two drivers): the index seattn_device_list() gives it, and its driver. */
static void device_label(const bench_run *run, int di, char *out, size_t size) {
    const seattn_device_info *d = &run->devices[di];
    char idx[16] = "";
    const long at = run->device_index[di] >= 0 ? run->device_index[di]
                    : d->index != UINT32_MAX   ? (long)d->index
                                               : -1;
    if (at >= 0) snprintf(idx, sizeof idx, "#%ld ", at);
    snprintf(out, size, "%s%.60s", idx, d->driver[0] ? d->driver : d->name);
}

/* device_label() cut short for a plot's legend: "#index Mesa X.Y.Z" for Mesa drivers, else
 * the first 20 characters of the driver. */
static void device_tag(const bench_run *run, int di, char *out, size_t size) {
    char full[96];
    device_label(run, di, full, sizeof full);
    const char *mesa = strstr(full, "Mesa ");
    const char *sp = strchr(full, ' ');
    if (mesa && sp)
        snprintf(out, size, "%.*s %.*s", (int)(sp - full), full, (int)strcspn(mesa + 5, "-( ") + 5,
                 mesa);
    else
        snprintf(out, size, "%.24s", full);
}

/* Device ms where timestamps exist, else wall ms. */
static double batch_ms(const bench_batch_result *r, int v) {
    return r->dev_ms[v] >= 0.0 ? r->dev_ms[v] : r->host_ms[v];
}

/* A column of the batch table: the value, or "-" for a variant that did not run. */
static void cell(FILE *out, bool ran, double x, int width, int prec) {
    if (ran)
        fprintf(out, " %*.*f", width, prec, x);
    else
        fprintf(out, " %*s", width, "-");
}

static void print_batches(const bench_run *run, int di, FILE *out) {
    bool any = false;
    for (int i = 0; i < run->n_batch; i++) {
        const bench_batch_result *r = &run->batch[i];
        if (r->device != di || !r->done) continue;
        if (!any)
            fprintf(out,
                    "batched decode, median device ms over interleaved runs: (s) one call a "
                    "sequence (device times summed),\n(B) one seattn_attention_batch() "
                    "over contiguous keys, (P) the same batch over pages of P keys in a\n"
                    "shuffled pool, (A) that paged batch with its pool in chunks read by "
                    "buffer device address;\nKV GB/s of (B)\n"
                    "%-50s %4s %9s %9s %9s %9s %6s %6s %6s %7s\n",
                    "shape", "runs", "(s) ms", "(B) ms", "(P) ms", "(A) ms", "B/s", "P/B", "A/P",
                    "GB/s");
        any = true;
        char label[128];
        bench_batch_label(r, label, sizeof label);
        const double kv = 2.0 * (double)r->keys * r->shape.n_kv_heads * r->shape.head_dim * 2.0;
        fprintf(out, "%-50s %4d", label, r->runs);
        for (int v = 0; v < BENCH_BATCH_VARIANTS; v++)
            cell(out, r->ran[v], batch_ms(r, v), 9, 3);
        cell(out, r->ran[0], batch_ms(r, 1) / batch_ms(r, 0), 6, 3);
        cell(out, true, batch_ms(r, 2) / batch_ms(r, 1), 6, 3);
        cell(out, r->ran[3], batch_ms(r, 3) / batch_ms(r, 2), 6, 3);
        fprintf(out, " %7.2f\n", kv / batch_ms(r, 1) * 1e-6);
        if (r->scale > 1)
            fprintf(out,
                    "  (lengths divided by %u from %u-%u so that the %llu-token key pool "
                    "fits one view of the device)\n",
                    r->scale, r->shape.min_len, r->shape.max_len, (unsigned long long)r->kv_tokens);
        if (r->address)
            fprintf(out,
                    "  (real lengths: the %llu-token pool passes one view; (B) and (P) read it "
                    "in %u and %u chunks by address)\n",
                    (unsigned long long)r->kv_tokens, r->chunks[1], r->chunks[2]);
        static const char *const tag[BENCH_BATCH_VARIANTS] = {"s", "B", "P", "A"};
        fprintf(out, "  kernels:");
        for (int v = 0, first = 1; v < BENCH_BATCH_VARIANTS; v++)
            if (r->ran[v]) {
                fprintf(out, "%s (%s) %s", first ? "" : ";", tag[v], r->kernel[v]);
                first = 0;
            }
        fprintf(out, "\n");
    }
    if (any) fprintf(out, "\n");
}

void bench_print_table(const bench_run *run, FILE *out) {
    for (int di = 0; di < run->n_devices; di++) {
        print_device(&run->devices[di], run->device_index[di], out);
        if (run->startup_cold_ms[di] >= 0.0)
            fprintf(out,
                    "startup (context creation + first call of the first shape): %.0f ms "
                    "cold, %.0f ms with the pipeline cache file\n",
                    run->startup_cold_ms[di], run->startup_warm_ms[di]);
        const bench_result *last = NULL;
        for (int i = 0; i < run->n_results; i++)
            if (run->results[i].device == di) last = &run->results[i];
        if (last)
            fprintf(out,
                    "kernels of the last shape (every shape's in --json):\n  (a) %s\n"
                    "  (b) %s\n  (c) %s\n",
                    last->se.kernel, last->plain.kernel, last->two_pass.kernel);
        fprintf(out, "median device ms (GPU timestamps; wall ms of the call beside (a)) over "
                     "the runs: (a) Self-Extend fused,\n(b) plain RoPE attention (G = 1: the "
                     "plain kernel, one score a pair), (c) the authors' method:\nneighbor-only "
                     "and grouped-only passes and their LSE merge, all on the device and timed; "
                     "a/b, c/a:\nthe median of each round's own ratio (a round runs (a), (b), "
                     "(c) in turn); runs 3*: a warm-up longer\nthan the budget (device time), "
                     "so three timed rounds and no more\n");
        fprintf(out, "%-38s %5s %10s %10s %9s %10s %6s %10s %6s %8s %9s\n", "shape", "runs",
                "(a) ms", "(a) wall", "GFLOP/s", "(b) ms", "a/b", "(c) ms", "c/a", "KV GB/s",
                "CPU ms");
        for (int i = 0; i < run->n_results; i++) {
            const bench_result *r = &run->results[i];
            if (r->device != di) continue;
            char label[96], gbs[16] = "-", cpu[16] = "-";
            bench_shape_label(&r->shape, label, sizeof label);
            const double a = ms(&r->se), b = ms(&r->plain), c = ms(&r->two_pass);
            if (r->shape.kind == BENCH_DECODE)
                snprintf(gbs, sizeof gbs, "%.2f", r->kv_bytes / a * 1e-6);
            if (r->cpu.done) snprintf(cpu, sizeof cpu, "%.1f", r->cpu.host_med_ms);
            char runs[16];
            snprintf(runs, sizeof runs, "%d%s", r->se.runs, r->se.warmup_timed ? "*" : "");
            fprintf(out, "%-38s %5s %10.3f %10.3f %9.2f %10.3f %6.3f %10.3f %6.3f %8s %9s\n", label,
                    runs, a, r->se.host_med_ms, r->flops / a * 1e-6, b, r->ratio_ab, c, r->ratio_ca,
                    gbs, cpu);
        }
        fprintf(out, "\n");
        print_batches(run, di, out);
    }
    if (run->n_devices < 2) return;
    fprintf(out, "side by side: (a) Self-Extend median ms, and a/b, by device (#index driver)\n");
    for (int di = 0; di < run->n_devices; di++) {
        char label[80];
        device_label(run, di, label, sizeof label);
        fprintf(out, "  [%d] %s: %s\n", di, label, run->devices[di].name);
    }
    fprintf(out, "%-38s", "shape");
    for (int di = 0; di < run->n_devices; di++) {
        char head[32];
        snprintf(head, sizeof head, "[%d] (a) ms", di);
        fprintf(out, " %14s %6s", head, "a/b");
    }
    fprintf(out, "\n");
    for (int i = 0; i < run->n_results; i++) {
        if (run->results[i].device != 0) continue;
        char label[96];
        bench_shape_label(&run->results[i].shape, label, sizeof label);
        fprintf(out, "%-38s", label);
        for (int di = 0; di < run->n_devices; di++) {
            const bench_result *r = NULL;
            for (int k = 0; k < run->n_results; k++)
                if (run->results[k].device == di &&
                    memcmp(&run->results[k].shape, &run->results[i].shape, sizeof(bench_shape)) ==
                        0)
                    r = &run->results[k];
            if (r)
                fprintf(out, " %14.3f %6.3f", ms(&r->se), r->ratio_ab);
            else
                fprintf(out, " %14s %6s", "-", "-");
        }
        fprintf(out, "\n");
    }
}

static cJSON *timing_json(const bench_timing *t, const bench_result *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "runs", t->runs);
    cJSON_AddBoolToObject(o, "warmup_timed", t->warmup_timed);
    if (t->dev_med_ms >= 0.0) {
        cJSON_AddNumberToObject(o, "device_ms_median", t->dev_med_ms);
        cJSON_AddNumberToObject(o, "device_ms_min", t->dev_min_ms);
    }
    cJSON_AddNumberToObject(o, "host_ms_median", t->host_med_ms);
    const double m = ms(t);
    cJSON_AddNumberToObject(o, "gflops", r->flops / m * 1e-6);
    if (r->shape.kind == BENCH_DECODE)
        cJSON_AddNumberToObject(o, "kv_gb_per_s", r->kv_bytes / m * 1e-6);
    cJSON_AddStringToObject(o, "kernel", t->kernel);
    return o;
}

int bench_write_json(const bench_run *run, const char *path) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "seattn_version", seattn_version_string());
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(root, "date", when);
    char host[256];
    seattn__host_name(host, sizeof host);
    cJSON_AddStringToObject(root, "host", host);
    cJSON_AddNumberToObject(root, "cpu_threads", (double)seattn__cpu_threads());
    cJSON *devs = cJSON_AddArrayToObject(root, "devices");
    for (int i = 0; i < run->n_devices; i++) {
        const seattn_device_info *d = &run->devices[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", run->device_index[i]);
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddStringToObject(o, "driver", d->driver);
        cJSON_AddStringToObject(o, "type", type_name(d->type));
        char api[32];
        snprintf(api, sizeof api, "%u.%u.%u", d->api_version >> 22, (d->api_version >> 12) & 0x3ff,
                 d->api_version & 0xfff);
        cJSON_AddStringToObject(o, "vulkan", api);
        cJSON_AddNumberToObject(o, "driver_version", d->driver_version);
        cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
        cJSON_AddNumberToObject(o, "device_id", d->device_id);
        cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
        char uuid[2][33];
        for (int u = 0; u < 2; u++)
            for (int k = 0; k < 16; k++)
                snprintf(uuid[u] + 2 * k, 3, "%02x", (u ? d->driver_uuid : d->device_uuid)[k]);
        cJSON_AddStringToObject(o, "device_uuid", uuid[0]);
        cJSON_AddStringToObject(o, "driver_uuid", uuid[1]);
        cJSON_AddNumberToObject(o, "startup_cold_ms", run->startup_cold_ms[i]);
        cJSON_AddNumberToObject(o, "startup_warm_ms", run->startup_warm_ms[i]);
        cJSON_AddItemToArray(devs, o);
    }
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < run->n_results; i++) {
        const bench_result *r = &run->results[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "device", r->device);
        cJSON *s = cJSON_AddObjectToObject(o, "shape");
        cJSON_AddStringToObject(s, "kind", r->shape.kind == BENCH_PREFILL ? "prefill" : "decode");
        cJSON_AddNumberToObject(s, "q_len", r->shape.kind == BENCH_PREFILL ? r->shape.len : 1);
        cJSON_AddNumberToObject(s, "kv_len", r->shape.len);
        cJSON_AddNumberToObject(s, "head_dim", r->shape.head_dim);
        cJSON_AddNumberToObject(s, "n_heads", r->shape.n_heads);
        cJSON_AddNumberToObject(s, "n_kv_heads", r->shape.n_kv_heads);
        cJSON_AddNumberToObject(s, "group_size", r->shape.g);
        cJSON_AddNumberToObject(s, "neighbor_window", r->shape.w);
        cJSON_AddStringToObject(s, "dtype", r->shape.dtype == SEATTN_DTYPE_F16 ? "f16" : "f32");
        cJSON_AddNumberToObject(o, "verify_max_abs_err", r->max_err);
        cJSON_AddNumberToObject(o, "first_call_ms", r->first_call_ms);
        cJSON_AddNumberToObject(o, "flops", r->flops);
        cJSON_AddNumberToObject(o, "kv_bytes", r->kv_bytes);
        cJSON_AddItemToObject(o, "self_extend", timing_json(&r->se, r));
        cJSON_AddItemToObject(o, "plain", timing_json(&r->plain, r));
        cJSON_AddItemToObject(o, "two_pass", timing_json(&r->two_pass, r));
        if (r->cpu.done) cJSON_AddItemToObject(o, "cpu_reference", timing_json(&r->cpu, r));
        /* the median of the rounds' own ratios, as printed; and the ratio of the medians */
        cJSON_AddNumberToObject(o, "ratio_self_extend_over_plain", r->ratio_ab);
        cJSON_AddNumberToObject(o, "ratio_two_pass_over_self_extend", r->ratio_ca);
        cJSON_AddNumberToObject(o, "ratio_of_medians_self_extend_over_plain",
                                ms(&r->se) / ms(&r->plain));
        cJSON_AddNumberToObject(o, "ratio_of_medians_two_pass_over_self_extend",
                                ms(&r->two_pass) / ms(&r->se));
        cJSON_AddItemToArray(results, o);
    }
    cJSON *batches = cJSON_AddArrayToObject(root, "batched_decode");
    static const char *const names[BENCH_BATCH_VARIANTS] = {"separate_calls", "batch",
                                                            "paged_batch", "paged_batch_address"};
    for (int i = 0; i < run->n_batch; i++) {
        const bench_batch_result *r = &run->batch[i];
        if (!r->done) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "device", r->device);
        cJSON_AddNumberToObject(o, "n_seqs", r->shape.n_seqs);
        cJSON_AddNumberToObject(o, "min_len", r->shape.min_len / r->scale);
        cJSON_AddNumberToObject(o, "max_len", r->shape.max_len / r->scale);
        cJSON_AddNumberToObject(o, "length_divisor", r->scale);
        cJSON_AddNumberToObject(o, "keys", (double)r->keys);
        cJSON_AddNumberToObject(o, "head_dim", r->shape.head_dim);
        cJSON_AddNumberToObject(o, "n_heads", r->shape.n_heads);
        cJSON_AddNumberToObject(o, "n_kv_heads", r->shape.n_kv_heads);
        cJSON_AddNumberToObject(o, "group_size", r->shape.g);
        cJSON_AddNumberToObject(o, "neighbor_window", r->shape.w);
        cJSON_AddStringToObject(o, "dtype", "f16");
        cJSON_AddNumberToObject(o, "page_size", r->shape.page_size);
        cJSON_AddNumberToObject(o, "runs", r->runs);
        cJSON_AddBoolToObject(o, "real_lengths_by_address", r->address);
        for (int v = 0; v < BENCH_BATCH_VARIANTS; v++) {
            if (!r->ran[v]) continue;
            cJSON *t = cJSON_AddObjectToObject(o, names[v]);
            if (r->dev_ms[v] >= 0.0) cJSON_AddNumberToObject(t, "device_ms_median", r->dev_ms[v]);
            cJSON_AddNumberToObject(t, "host_ms_median", r->host_ms[v]);
            cJSON_AddStringToObject(t, "kernel", r->kernel[v]);
            cJSON_AddNumberToObject(t, "kv_chunks", r->chunks[v]);
        }
        if (r->ran[0])
            cJSON_AddNumberToObject(o, "ratio_batch_over_separate",
                                    batch_ms(r, 1) / batch_ms(r, 0));
        cJSON_AddNumberToObject(o, "ratio_paged_over_batch", batch_ms(r, 2) / batch_ms(r, 1));
        if (r->ran[3])
            cJSON_AddNumberToObject(o, "ratio_address_over_descriptor",
                                    batch_ms(r, 3) / batch_ms(r, 2));
        if (r->ran[0]) cJSON_AddNumberToObject(o, "max_abs_diff_batch_vs_separate", r->err_batch);
        cJSON_AddNumberToObject(o, "max_abs_diff_paged_vs_batch", r->err_paged);
        if (r->ran[3]) cJSON_AddNumberToObject(o, "max_abs_diff_address_vs_paged", r->err_address);
        cJSON_AddItemToArray(batches, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(path, "w") : NULL;
    int rc = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "seattn bench: cannot write %s\n", path);
    free(text);
    return rc;
}

int bench_plot(const bench_run *run, const char *path) {
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr,
                "seattn bench: gnuplot not found, so no %s (apt-get install gnuplot-nox); "
                "the results above are complete\n",
                path);
        return 0;
    }
    char data[1024];
    FILE *f = seattn__temp_file(data, sizeof data, "seattn-bench");
    if (!f) {
        fprintf(stderr, "seattn bench: no temporary file for the plot\n");
        return -1;
    }
    /* one block per (device, kind): length, (a), (b), (c) in ms */
    int blocks = 0;
    char titles[2 * BENCH_MAX_DEVICES][300];
    int kinds[2 * BENCH_MAX_DEVICES];
    for (int di = 0; di < run->n_devices; di++)
        for (int kind = 0; kind < 2; kind++) {
            int rows = 0;
            for (int i = 0; i < run->n_results; i++) {
                const bench_result *r = &run->results[i];
                if (r->device != di || (int)r->shape.kind != kind) continue;
                fprintf(f, "%u %g %g %g\n", r->shape.len, ms(&r->se), ms(&r->plain),
                        ms(&r->two_pass));
                rows++;
            }
            if (!rows) continue;
            fprintf(f, "\n\n");
            device_tag(run, di, titles[blocks], sizeof titles[0]);
            kinds[blocks++] = kind;
        }
    fclose(f);
    const char *dot = strrchr(path, '.');
    FILE *g =
        seattn__pipe_to("gnuplot 2>/dev/null"); /* its warnings; failure shows in the status */
    if (!g) {
        remove(data);
        fprintf(stderr, "seattn bench: cannot run gnuplot\n");
        return -1;
    }
    /* Three panels: time against length for prefill and for decode, then the ratios this
     * library promises (Self-Extend / plain, and the two-pass method / Self-Extend). Each
     * panel's legend sits below it, over no data; (b) is dashed so that it shows where it lies
     * on (a). */
    fprintf(g, "set terminal %s size 1500,800 font ',10'\nset output '%s'\n",
            strcmp(dot, ".svg") == 0 ? "svg" : "pngcairo", path);
    fprintf(g, "set multiplot layout 1,3\nset grid\nset key below vertical maxcols 1\n");
    const char *what[3] = {"(a) Self-Extend", "(b) plain G=1", "(c) two passes + merge"};
    const char *style[3] = {"lw 2 pt 7", "lw 2 dt 2 pt 4", "lw 1 pt 2"};
    for (int kind = 0; kind < 2; kind++) {
        fprintf(g,
                "set logscale xy\nset ylabel 'ms (device, median)'\nset title '%s'\n"
                "set xlabel '%s'\nplot ",
                kind ? "decode (1 query)" : "prefill", kind ? "keys" : "tokens");
        int first = 1;
        for (int b = 0; b < blocks; b++) {
            if (kinds[b] != kind) continue;
            for (int c = 0; c < 3; c++) {
                fprintf(g, "%s'%s' index %d using 1:%d with linespoints %s title '%s %s'",
                        first ? "" : ", ", data, b, c + 2, style[c], titles[b], what[c]);
                first = 0;
            }
        }
        if (first) fprintf(g, "NaN notitle");
        fprintf(g, "\n");
    }
    fprintf(g, "set key below vertical maxcols 1\nunset logscale y\nset logscale x\n"
               "set ylabel 'ratio'\nset xlabel 'tokens "
               "(prefill) or keys (decode)'\nset title 'Self-Extend / plain, and two passes / "
               "Self-Extend'\nset arrow from graph 0, first 1 to graph 1, first 1 nohead "
               "dt 3\nplot ");
    for (int b = 0; b < blocks; b++)
        fprintf(g,
                "%s'%s' index %d using 1:($2/$3) with linespoints lw 2 pt %d title '%s %s "
                "a/b', '%s' index %d using 1:($4/$2) with linespoints lw 1 dt 2 pt %d "
                "title '%s %s c/a'",
                b ? ", " : "", data, b, 7 + kinds[b], titles[b], kinds[b] ? "decode" : "prefill",
                data, b, 7 + kinds[b], titles[b], kinds[b] ? "decode" : "prefill");
    if (!blocks) fprintf(g, "NaN notitle");
    fprintf(g, "\n");
    fprintf(g, "unset multiplot\n");
    int rc = seattn__pipe_close(g);
    remove(data);
    if (rc != 0) {
        fprintf(stderr, "seattn bench: gnuplot failed to draw %s\n", path);
        return -1;
    }
    return 0;
}
