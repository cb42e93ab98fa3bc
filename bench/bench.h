/* seattn bench: options, shapes and results, shared by the bench's sources and its tests. */
#ifndef SEATTN_BENCH_H
#define SEATTN_BENCH_H

#include <seattn/seattn.h>

#include "platform.h"
#include <stdbool.h>
#include <stdio.h>

enum { BENCH_MAX_SHAPES = 32, BENCH_MAX_DEVICES = 8 };

typedef enum { BENCH_PREFILL = 0, BENCH_DECODE = 1 } bench_kind;

typedef struct {
    bench_kind kind;
    uint32_t len; /* prefill: tokens (q_len = kv_len); decode: keys (q_len = 1) */
    uint32_t head_dim, n_heads, n_kv_heads;
    int32_t g, w;
    seattn_dtype dtype;    /* of q, k, v and out */
    seattn_dtype kv_dtype; /* of k and v when kv_typed (a shape's TYPE field), else dtype */
    bool kv_typed;
} bench_shape;

/* A batched decode step: n_seqs sequences of min_len..max_len keys, paged in pages of
 * page_size tokens (bench_batch.c). */
typedef struct {
    uint32_t n_seqs, min_len, max_len, head_dim, n_heads, n_kv_heads;
    int32_t g, w;
    uint32_t page_size;
} bench_batch_shape;

enum { BENCH_MAX_BATCH = 8 };

typedef struct {
    bench_shape shapes[BENCH_MAX_SHAPES];
    int n_shapes;
    bench_batch_shape batch_shapes[BENCH_MAX_BATCH];
    int n_batch_shapes;
    int devices[BENCH_MAX_DEVICES]; /* Vulkan device indices; none: the default device */
    int n_devices;
    bool all_devices;
    int runs;              /* timed runs a variant, at most */
    double budget_s;       /* time for one variant's timed runs; fewer runs past it */
    const char *json_path; /* NULL: none */
    const char *plot_path; /* NULL: none */
    bool quiet;            /* no progress line even on a terminal */
    bool startup;          /* measure context creation + first call, cold and warm */
    bool real_lengths;  /* batches past one view at real lengths over chunks on CPU devices too */
    const char *kernel; /* --kernel: the kernel every Vulkan call runs; NULL: the library's */
} bench_options;

/* Parses argv[1..] of `seattn bench`. Returns 0, or 2 after printing why to err. */
int bench_parse_args(int argc, char **argv, bench_options *o, FILE *err);
/* "prefill:4096:128:32/8:8:512" (fields after the length optional); 0 or -1. */
int bench_parse_shape(const char *text, bench_shape *s);
void bench_shape_label(const bench_shape *s, char *out, size_t size);

/* The timing of one variant: device times from GPU timestamps (< 0 if none), host wall time. */
typedef struct {
    bool done;
    bool warmup_timed; /* the one run was the warm-up (it took longer than the budget) */
    int runs;
    double dev_min_ms, dev_med_ms, host_med_ms;
    char kernel[320]; /* the kernel each call of the variant ran, "; " between */
} bench_timing;

typedef struct {
    bench_shape shape;
    int device;           /* index into bench_run.devices */
    double max_err;       /* verification on the small instance, worst of (a), (b), (c) */
    double first_call_ms; /* host time of the device's first (a) call on the small instance:
                           * pipeline creation (unless cached) and a small run */
    bench_timing se, plain, two_pass, cpu;
    /* a/b and c/a: the median over the timed rounds of each round's own ratio (bench_run.c) */
    double ratio_ab, ratio_ca;
    double flops;    /* the work of a causal attention of the shape */
    double kv_bytes; /* K and V bytes read (decode) */
} bench_result;

/* One batched shape on one device: (0) a call a sequence, (1) one batch over contiguous keys,
 * (2) the batch over pages of P tokens in a shuffled pool, (3) that paged batch with its pool
 * in 4 chunks read by buffer device address (seattn_kv_chunk); medians of interleaved runs.
 * Where the pool passes one view of the device, a device that reads chunks runs the shape at
 * its real lengths with (1) and (2) over chunks of one view each (address set; (0) and (3) are
 * not run); any other device halves the lengths until the pool fits (scale). */
enum { BENCH_BATCH_VARIANTS = 4 };
typedef struct {
    bench_batch_shape shape;
    int device;
    bool done;
    bool address;     /* real lengths: (1) and (2) over chunks read by address */
    uint32_t scale;   /* lengths divided by this to fit one view in the device's limits */
    uint32_t max_len; /* the longest sequence as run */
    uint64_t keys;    /* keys of all sequences */
    uint64_t kv_tokens;
    uint32_t chunks[BENCH_BATCH_VARIANTS]; /* K (and V) chunks a variant reads; 0: one tensor */
    bool ran[BENCH_BATCH_VARIANTS];
    int runs;
    double dev_ms[BENCH_BATCH_VARIANTS], host_ms[BENCH_BATCH_VARIANTS];
    /* max abs difference: batch vs separate, paged vs batch, address vs paged */
    double err_batch, err_paged, err_address;
    char kernel[BENCH_BATCH_VARIANTS][96];
} bench_batch_result;

int bench_parse_batch_shape(const char *text, bench_batch_shape *s);
void bench_batch_label(const bench_batch_result *r, char *out, size_t size);

typedef struct {
    seattn_device_info devices[BENCH_MAX_DEVICES];
    int device_index[BENCH_MAX_DEVICES];
    /* context creation + first call of the first shape (small instance), without and then
     * with the pipeline cache file the first start saved; < 0: not measured */
    double startup_cold_ms[BENCH_MAX_DEVICES], startup_warm_ms[BENCH_MAX_DEVICES];
    int n_devices;
    bench_result results[BENCH_MAX_SHAPES * BENCH_MAX_DEVICES];
    int n_results;
    bench_batch_result batch[BENCH_MAX_BATCH * BENCH_MAX_DEVICES];
    int n_batch;
} bench_run;

/* Times one batched shape on dev (bench_batch.c); 0, or 1 after printing why. */
int bench_batch_execute(seattn_context *dev, const bench_options *o, const bench_batch_shape *s,
                        bench_batch_result *r);

/* Verifies then times every shape on every chosen device. Returns 0, or 1 after printing the
 * failure (a verification mismatch stops the run). */
int bench_execute(const bench_options *o, bench_run *run);
void bench_print_table(const bench_run *run, FILE *out);
/* Writes run as JSON; 0 or -1 (message on stderr). */
int bench_write_json(const bench_run *run, const char *path);
/* Draws time against length with gnuplot; a missing gnuplot prints a note and returns 0. */
int bench_plot(const bench_run *run, const char *path);

int cmd_bench(int argc, char **argv);

#endif
