/* seattn bench: its command line, and its JSON on a tiny sweep (valid, complete, numbers
 * positive). No test here asserts a time. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(bench_options *o, const char *const *args, int n) {
    char *argv[32];
    argv[0] = "bench";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    FILE *devnull = fopen("/dev/null", "w");
    int rc = bench_parse_args(n + 1, argv, o, devnull);
    fclose(devnull);
    return rc;
}

Test(bench_args, defaults_are_the_issue_sweep) {
    bench_options o;
    cr_assert_eq(parse(&o, NULL, 0), 0);
    cr_assert_eq(o.n_shapes, 5);
    cr_expect_eq(o.shapes[0].kind, BENCH_PREFILL);
    cr_expect_eq(o.shapes[0].len, 1024);
    cr_expect_eq(o.shapes[1].len, 4096);
    cr_expect_eq(o.shapes[3].kind, BENCH_DECODE);
    cr_expect_eq(o.shapes[3].len, 32768);
    /* and decode 32768 over a q8_0 cache (issue 25) */
    cr_expect(o.shapes[4].kind == BENCH_DECODE && o.shapes[4].len == 32768);
    cr_expect(o.shapes[4].kv_typed && o.shapes[4].kv_dtype == SEATTN_DTYPE_Q8_0);
    for (int i = 0; i < 4; i++)
        cr_expect(!o.shapes[i].kv_typed);
    bench_shape s;
    cr_expect_eq(bench_parse_shape("decode:32768:128:32/8:8:512:q4_0", &s), 0);
    cr_expect(s.kv_typed && s.kv_dtype == SEATTN_DTYPE_Q4_0);
    cr_expect_neq(bench_parse_shape("decode:32768:128:32/8:8:512:q5_1", &s), 0);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(o.shapes[i].head_dim, 128);
        cr_expect_eq(o.shapes[i].n_heads, 32);
        cr_expect_eq(o.shapes[i].n_kv_heads, 8);
        cr_expect_eq(o.shapes[i].g, 8);
        cr_expect_eq(o.shapes[i].w, 512);
    }
    cr_expect_eq(o.n_devices, 0);
    cr_expect(!o.all_devices && !o.json_path && !o.plot_path);
    const char *full[] = {"--full"};
    cr_assert_eq(parse(&o, full, 1), 0);
    cr_expect_gt(o.n_shapes, 5);
}

Test(bench_args, shapes_devices_and_files) {
    bench_options o;
    const char *args[] = {"--shape",  "decode:300:64:8/2:4:16",
                          "--shape",  "prefill:77",
                          "--device", "0",
                          "--device", "2",
                          "--runs",   "3",
                          "--json",   "x.json",
                          "--plot",   "x.svg"};
    cr_assert_eq(parse(&o, args, 14), 0);
    cr_assert_eq(o.n_shapes, 2);
    cr_expect_eq(o.shapes[0].kind, BENCH_DECODE);
    cr_expect_eq(o.shapes[0].len, 300);
    cr_expect_eq(o.shapes[0].head_dim, 64);
    cr_expect_eq(o.shapes[0].n_heads, 8);
    cr_expect_eq(o.shapes[0].n_kv_heads, 2);
    cr_expect_eq(o.shapes[0].g, 4);
    cr_expect_eq(o.shapes[0].w, 16);
    cr_expect_eq(o.shapes[1].len, 77);
    cr_expect_eq(o.shapes[1].head_dim, 128); /* the rest default */
    cr_expect_eq(o.n_devices, 2);
    cr_expect_eq(o.devices[1], 2);
    cr_expect_eq(o.runs, 3);
    cr_expect_str_eq(o.json_path, "x.json");
    cr_expect_str_eq(o.plot_path, "x.svg");
}

Test(bench_args, bad_input_is_refused) {
    bench_options o;
    const char *const bad[][3] = {{"--shape", "train:100", NULL},
                                  {"--shape", "prefill:0", NULL},
                                  {"--shape", "prefill:x", NULL},
                                  {"--shape", "decode:10:64:8", NULL},
                                  {"--shape", "prefill:1:2:3/4:5:6:7", NULL},
                                  {"--runs", "0", NULL},
                                  {"--device", "gpu", NULL},
                                  {"--plot", "x.pdf", NULL},
                                  {"--budget", "-1", NULL},
                                  {"--bogus", NULL, NULL},
                                  {"--json", NULL, NULL},
                                  {"--all-devices", "--device", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = bad[i][1] ? (bad[i][2] ? 3 : 2) : 1;
        cr_expect_eq(parse(&o, bad[i], n), 2, "case %zu (%s %s)", i, bad[i][0],
                     bad[i][1] ? bad[i][1] : "");
    }
}

static double number(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(x), "missing number '%s'", key);
    return x->valuedouble;
}

/* A variant's median: device time, or wall time where the device has no timestamps */
static double median_ms(const cJSON *t) {
    const double d = number(t, "device_ms_median");
    return d >= 0.0 ? d : number(t, "host_ms_median");
}

/* Runs seattn bench with args (which write --json path) on the default device and returns the
 * JSON it wrote, parsed (cJSON_Delete it); n_results and n_batch: what the run must hold. */
static cJSON *bench_json(const char *const *args, int n, const char *path, int n_results,
                         int n_batch) {
    bench_options o;
    cr_assert_eq(parse(&o, args, n), 0);
    bench_run *run = calloc(1, sizeof *run);
    cr_assert_eq(bench_execute(&o, run), 0);
    cr_assert_eq(run->n_results, n_results);
    cr_assert_eq(run->n_batch, n_batch);
    cr_assert_eq(bench_write_json(run, o.json_path), 0);
    free(run);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char text[65536];
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    cJSON *root = cJSON_Parse(text);
    cr_assert(root, "not JSON");
    return root;
}

Test(bench_json, tiny_sweep_is_valid_complete_and_positive, .timeout = 300) {
    seattn_context_destroy(tu_vulkan()); /* skips (or fails) the test without a device */
    const char *args[] = {"--shape",        "prefill:96:32:4/2:4:16",
                          "--shape",        "decode:300:32:4/2:4:16",
                          "--runs",         "2",
                          "--quiet",        "--json",
                          "tiny-bench.json"};
    cJSON *root = bench_json(args, 9, "tiny-bench.json", 2, 0);
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(root, "seattn_version")));
    const cJSON *devs = cJSON_GetObjectItem(root, "devices");
    cr_assert(cJSON_IsArray(devs) && cJSON_GetArraySize(devs) == 1);
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(devs, 0), "name")));
    const cJSON *results = cJSON_GetObjectItem(root, "results");
    cr_assert(cJSON_IsArray(results) && cJSON_GetArraySize(results) == 2);
    const char *variants[] = {"self_extend", "plain", "two_pass"};
    for (int i = 0; i < 2; i++) {
        const cJSON *r = cJSON_GetArrayItem(results, i);
        const cJSON *shape = cJSON_GetObjectItem(r, "shape");
        cr_expect_eq(number(shape, "head_dim"), 32);
        cr_expect_eq(number(shape, "kv_len"), i ? 300 : 96);
        cr_expect_leq(number(r, "verify_max_abs_err"), 1e-4);
        cr_expect_gt(number(r, "flops"), 0);
        cr_expect_gt(number(r, "ratio_self_extend_over_plain"), 0);
        cr_expect_gt(number(r, "ratio_two_pass_over_self_extend"), 0);
        /* a/b is the median of the rounds' own ratios; the ratio of the medians is beside it */
        const double ab = median_ms(cJSON_GetObjectItem(r, "self_extend")) /
                          median_ms(cJSON_GetObjectItem(r, "plain"));
        cr_expect(fabs(number(r, "ratio_of_medians_self_extend_over_plain") - ab) <= 1e-9 * ab,
                  "%g against %g", number(r, "ratio_of_medians_self_extend_over_plain"), ab);
        cr_expect_gt(number(r, "ratio_of_medians_two_pass_over_self_extend"), 0);
        for (int v = 0; v < 3; v++) {
            const cJSON *t = cJSON_GetObjectItem(r, variants[v]);
            cr_assert(cJSON_IsObject(t), "missing %s", variants[v]);
            cr_expect_geq(number(t, "runs"), 1);
            cr_expect_gt(number(t, "host_ms_median"), 0);
            cr_expect_gt(number(t, "gflops"), 0);
            const cJSON *dev = cJSON_GetObjectItem(t, "device_ms_median");
            if (dev) cr_expect_gt(dev->valuedouble, 0);
            cr_expect(cJSON_IsString(cJSON_GetObjectItem(t, "kernel")));
        }
        if (i == 1) cr_expect_gt(number(cJSON_GetObjectItem(r, "self_extend"), "kv_gb_per_s"), 0);
    }
    cJSON_Delete(root);
    remove("tiny-bench.json");
}

/* Batched shapes: the defaults of issue 14, every field of a given shape (its page size too),
 * bad ones refused, and a tiny batched run whose JSON is complete and positive. */
Test(bench_args, batch_shapes) {
    bench_options o;
    cr_assert_eq(parse(&o, NULL, 0), 0);
    cr_assert_eq(o.n_batch_shapes, 3);
    cr_expect_eq(o.batch_shapes[0].n_seqs, 32);
    cr_expect_eq(o.batch_shapes[1].page_size, 64);
    cr_expect_eq(o.batch_shapes[2].n_seqs, 128);
    cr_expect_eq(o.batch_shapes[2].min_len, 1024);
    cr_expect_eq(o.batch_shapes[2].max_len, 16384);
    cr_expect_eq(o.batch_shapes[2].page_size, 16);
    const char *no[] = {"--no-batch"};
    cr_assert_eq(parse(&o, no, 1), 0);
    cr_expect_eq(o.n_batch_shapes, 0);
    const char *one[] = {"--batch", "8:100-900:64:8/2:4:32:5"};
    cr_assert_eq(parse(&o, one, 2), 0);
    cr_assert_eq(o.n_batch_shapes, 1);
    cr_expect_eq(o.n_shapes, 0, "a --batch alone runs no single-call shape");
    const bench_batch_shape *b = &o.batch_shapes[0];
    cr_expect(b->n_seqs == 8 && b->min_len == 100 && b->max_len == 900 && b->head_dim == 64 &&
              b->n_heads == 8 && b->n_kv_heads == 2 && b->g == 4 && b->w == 32 &&
              b->page_size == 5);
    const char *bad[] = {"0:1-2", "4:9-2", "4:1-2:64:8/2:4:32:0", "4:1-2:x",
                         "4:1-2:64:8/2:4:32:5:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--batch", bad[i]};
        cr_expect_eq(parse(&o, args, 2), 2, "'%s' was taken", bad[i]);
    }
}

Test(bench_json, tiny_batch_is_complete_and_positive, .timeout = 300) {
    seattn_context_destroy(tu_vulkan());
    const char *args[] = {"--batch", "3:20-200:32:4/2:4:16:8", "--runs", "2", "--quiet",
                          "--json",  "tiny-batch.json"};
    cJSON *root = bench_json(args, 7, "tiny-batch.json", 0, 1);
    const cJSON *batches = cJSON_GetObjectItem(root, "batched_decode");
    cr_assert(cJSON_IsArray(batches) && cJSON_GetArraySize(batches) == 1);
    const cJSON *r = cJSON_GetArrayItem(batches, 0);
    cr_expect_eq(number(r, "n_seqs"), 3);
    cr_expect_eq(number(r, "page_size"), 8);
    cr_expect_gt(number(r, "keys"), 0);
    cr_expect_leq(number(r, "max_abs_diff_batch_vs_separate"), 2e-3);
    cr_expect_leq(number(r, "max_abs_diff_paged_vs_batch"), 2e-3);
    cr_expect_gt(number(r, "ratio_batch_over_separate"), 0);
    cr_expect_gt(number(r, "ratio_paged_over_batch"), 0);
    /* lavapipe reads chunks: the paged batch again over its pool in chunks, by address */
    cr_expect_gt(number(r, "ratio_address_over_descriptor"), 0);
    cr_expect_leq(number(r, "max_abs_diff_address_vs_paged"), 2e-3);
    const char *variants[] = {"separate_calls", "batch", "paged_batch", "paged_batch_address"};
    for (int v = 0; v < 4; v++) {
        const cJSON *t = cJSON_GetObjectItem(r, variants[v]);
        cr_expect_gt(number(t, "device_ms_median"), 0, "%s", variants[v]);
        cr_expect(cJSON_IsString(cJSON_GetObjectItem(t, "kernel")), "%s", variants[v]);
    }
    cJSON_Delete(root);
    remove("tiny-batch.json");
}
