/* seattn bench: the command line and the shapes. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

static const bench_shape defaults[] = {
    {BENCH_PREFILL, 1024, 128, 32, 8, 8, 512},
    {BENCH_PREFILL, 4096, 128, 32, 8, 8, 512},
    {BENCH_DECODE, 4096, 128, 32, 8, 8, 512},
    {BENCH_DECODE, 32768, 128, 32, 8, 8, 512},
    {BENCH_DECODE, 32768, 128, 32, 8, 8, 512, SEATTN_DTYPE_F32, SEATTN_DTYPE_Q8_0, true}};
static const bench_shape full_extra[] = {
    {BENCH_PREFILL, 16384, 128, 32, 8, 8, 512}, {BENCH_PREFILL, 65536, 128, 32, 8, 8, 512},
    {BENCH_DECODE, 65536, 128, 32, 8, 8, 512},  {BENCH_PREFILL, 4096, 64, 32, 8, 8, 512},
    {BENCH_PREFILL, 4096, 256, 16, 8, 8, 512},  {BENCH_DECODE, 32768, 64, 32, 8, 8, 512},
    {BENCH_DECODE, 32768, 256, 16, 8, 8, 512}};

/* The batched decode steps of issue 14: 32 and 128 sequences of 1k to 16k keys. */
static const bench_batch_shape batch_defaults[] = {{32, 1024, 16384, 128, 32, 8, 8, 512, 16},
                                                   {32, 1024, 16384, 128, 32, 8, 8, 512, 64},
                                                   {128, 1024, 16384, 128, 32, 8, 8, 512, 16}};

static void usage(FILE *f) {
    fprintf(f,
            "usage: seattn bench [--full] [--shape KIND:LEN[:D[:H/KV[:G[:W[:TYPE]]]]]]...\n"
            "                    [--device N]... [--all-devices] [--runs N] [--budget SECONDS]\n"
            "                    [--dtype f32|f16|both] [--no-startup] [--kernel NAME]\n"
            "                    [--json FILE] [--plot FILE.png|FILE.svg] [--quiet]\n"
            "                    [--batch N:LMIN-LMAX[:D[:H/KV[:G[:W[:P]]]]]]... [--no-batch]\n"
            "                    [--real-lengths]\n"
            "  KIND is prefill (LEN tokens) or decode (one query, LEN keys); defaults D 128,\n"
            "  H/KV 32/8, G 8, W 512; TYPE the storage of k and v (f32, f16, bf16, q8_0, q4_0,\n"
            "  fp8_e4m3; default: --dtype's). Without --shape: prefill 1024 and 4096, decode\n"
            "  4096 and 32768, and decode 32768 with a q8_0 cache; --full adds 16k and 64k and\n"
            "  head dims 64 and 256. --dtype: storage of q, k, v and out (both: every shape in\n"
            "  f32, then f16). Startup (context\n"
            "  creation and first call, cold and with the pipeline cache file) is measured\n"
            "  first unless --no-startup. --kernel forces a kernel (seattn kernels lists\n"
            "  them) for (a), (b) and (c). --batch: a decode step of N sequences of LMIN to\n"
            "  LMAX keys (f16), as one call a sequence, one batched call, one batched call\n"
            "  over pages of P keys (default 16) in a shuffled pool, and that paged call with\n"
            "  its pool in 4 chunks read by buffer device address; a pool past one view of\n"
            "  the device runs at its real lengths over chunks where the device reads them\n"
            "  and its memory holds the pool (on a CPU device only with --real-lengths: GiBs\n"
            "  of the machine's memory, seconds a call), else with lengths halved until it\n"
            "  fits; without --shape or --batch: 32 sequences of 1024-16384\n"
            "  keys in pages of 16 and of 64, 128 sequences in pages of 16; --no-batch: none.\n");
}

static int parse_u32(const char *t, uint32_t *out) {
    char *end;
    unsigned long v = strtoul(t, &end, 10);
    if (end == t || *end || v == 0 || v > 0xffffffffu) return -1;
    *out = (uint32_t)v;
    return 0;
}

int bench_parse_shape(const char *text, bench_shape *s) {
    char buf[128];
    if (strlen(text) >= sizeof buf) return -1;
    strcpy(buf, text);
    *s = defaults[0];
    char *field[7] = {0};
    int n = 0;
    for (char *p = buf; n < 7;) {
        field[n++] = p;
        char *c = strchr(p, ':');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    int colons = 0;
    for (const char *c = text; *c; c++)
        colons += *c == ':';
    if (colons > 6) return -1;
    if (strcmp(field[0], "prefill") == 0)
        s->kind = BENCH_PREFILL;
    else if (strcmp(field[0], "decode") == 0)
        s->kind = BENCH_DECODE;
    else
        return -1;
    if (n < 2 || parse_u32(field[1], &s->len)) return -1;
    if (n > 2 && parse_u32(field[2], &s->head_dim)) return -1;
    if (n > 3) {
        char *slash = strchr(field[3], '/');
        if (!slash) return -1;
        *slash = '\0';
        if (parse_u32(field[3], &s->n_heads) || parse_u32(slash + 1, &s->n_kv_heads)) return -1;
    }
    uint32_t g = (uint32_t)s->g, w = (uint32_t)s->w;
    if (n > 4 && parse_u32(field[4], &g)) return -1;
    if (n > 5 && parse_u32(field[5], &w)) return -1;
    if (g > 0x7fffffff || w > 0x7fffffff) return -1;
    s->g = (int32_t)g;
    s->w = (int32_t)w;
    if (n > 6) { /* the K/V storage type */
        if (seattn_dtype_from_name(field[6], &s->kv_dtype) != SEATTN_SUCCESS) return -1;
        s->kv_typed = true;
    }
    return 0;
}

void bench_shape_label(const bench_shape *s, char *out, size_t size) {
    snprintf(out, size, "%s %u d%u h%u/%u G%d W%d%s%s%s",
             s->kind == BENCH_PREFILL ? "prefill" : "decode", s->len, s->head_dim, s->n_heads,
             s->n_kv_heads, s->g, s->w, s->dtype == SEATTN_DTYPE_F16 ? " f16" : "",
             s->kv_typed ? " kv " : "", s->kv_typed ? seattn_dtype_name(s->kv_dtype) : "");
}

static int add_shape(bench_options *o, const bench_shape *s, FILE *err) {
    if (o->n_shapes == BENCH_MAX_SHAPES) {
        fprintf(err, "seattn bench: at most %d shapes\n", BENCH_MAX_SHAPES);
        return 2;
    }
    o->shapes[o->n_shapes++] = *s;
    return 0;
}

int bench_parse_args(int argc, char **argv, bench_options *o, FILE *err) {
    memset(o, 0, sizeof *o);
    o->runs = 15;
    o->budget_s = 3.0;
    o->startup = true;
    bool full = false, shapes_given = false, no_batch = false;
    int dtypes = 1; /* 1 f32, 2 f16, 3 both */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--full") == 0) {
            full = true;
        } else if (strcmp(a, "--all-devices") == 0) {
            o->all_devices = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "--no-batch") == 0) {
            no_batch = true;
        } else if (strcmp(a, "--real-lengths") == 0) {
            o->real_lengths = true;
        } else if (strcmp(a, "--no-startup") == 0) {
            o->startup = false;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(err);
            return 2;
        } else if (!val) {
            fprintf(err, "seattn bench: '%s' needs a value or is unknown\n", a);
            usage(err);
            return 2;
        } else if (strcmp(a, "--shape") == 0) {
            bench_shape s;
            if (bench_parse_shape(val, &s)) {
                fprintf(err, "seattn bench: bad shape '%s'\n", val);
                usage(err);
                return 2;
            }
            if (add_shape(o, &s, err)) return 2;
            shapes_given = true;
            i++;
        } else if (strcmp(a, "--batch") == 0) {
            bench_batch_shape b;
            if (bench_parse_batch_shape(val, &b) || o->n_batch_shapes == BENCH_MAX_BATCH) {
                fprintf(err, "seattn bench: bad or too many batch shapes ('%s')\n", val);
                usage(err);
                return 2;
            }
            o->batch_shapes[o->n_batch_shapes++] = b;
            shapes_given = true;
            i++;
        } else if (strcmp(a, "--kernel") == 0) {
            o->kernel = val;
            i++;
        } else if (strcmp(a, "--device") == 0) {
            uint32_t d;
            if (strcmp(val, "0") == 0)
                d = 0;
            else if (parse_u32(val, &d)) {
                fprintf(err, "seattn bench: --device takes an index (see seattn devices)\n");
                return 2;
            }
            if (o->n_devices == BENCH_MAX_DEVICES) {
                fprintf(err, "seattn bench: at most %d devices\n", BENCH_MAX_DEVICES);
                return 2;
            }
            o->devices[o->n_devices++] = (int)d;
            i++;
        } else if (strcmp(a, "--runs") == 0) {
            uint32_t n;
            if (parse_u32(val, &n) || n > 1000) {
                fprintf(err, "seattn bench: --runs takes 1..1000\n");
                return 2;
            }
            o->runs = (int)n;
            i++;
        } else if (strcmp(a, "--budget") == 0) {
            char *end;
            o->budget_s = strtod(val, &end);
            if (end == val || *end || !(o->budget_s > 0.0)) {
                fprintf(err, "seattn bench: --budget takes seconds > 0\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--dtype") == 0) {
            dtypes = strcmp(val, "f32") == 0    ? 1
                     : strcmp(val, "f16") == 0  ? 2
                     : strcmp(val, "both") == 0 ? 3
                                                : 0;
            if (!dtypes) {
                fprintf(err, "seattn bench: --dtype takes f32, f16 or both\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o->json_path = val;
            i++;
        } else if (strcmp(a, "--plot") == 0) {
            const char *dot = strrchr(val, '.');
            if (!dot || (strcmp(dot, ".png") != 0 && strcmp(dot, ".svg") != 0)) {
                fprintf(err, "seattn bench: --plot FILE must end in .png or .svg\n");
                return 2;
            }
            o->plot_path = val;
            i++;
        } else {
            fprintf(err, "seattn bench: unknown option '%s'\n", a);
            usage(err);
            return 2;
        }
    }
    if (no_batch) o->n_batch_shapes = 0;
    if (o->all_devices && o->n_devices) {
        fprintf(err, "seattn bench: --device and --all-devices exclude each other\n");
        return 2;
    }
    if (!shapes_given) {
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            add_shape(o, &defaults[i], err);
        if (!no_batch)
            for (size_t i = 0; i < sizeof batch_defaults / sizeof batch_defaults[0]; i++)
                o->batch_shapes[o->n_batch_shapes++] = batch_defaults[i];
        if (full)
            for (size_t i = 0; i < sizeof full_extra / sizeof full_extra[0]; i++)
                add_shape(o, &full_extra[i], err);
    }
    if (dtypes != 1) { /* f16 only, or each shape in f32 then in f16 */
        const int n = o->n_shapes;
        bench_shape given[BENCH_MAX_SHAPES];
        memcpy(given, o->shapes, sizeof given);
        o->n_shapes = 0;
        for (int i = 0; i < n; i++) {
            bench_shape s = given[i];
            if (dtypes == 3 && add_shape(o, &s, err)) return 2;
            s.dtype = SEATTN_DTYPE_F16;
            if (add_shape(o, &s, err)) return 2;
        }
    }
    return 0;
}
