/* libFuzzer target: the golden-case reader of `seattn check`. The input is meta.json, a NUL,
 * then the bytes every array file (q.f32, k.f32, v.f32, out.f32) gets; a case that loads runs
 * on the CPU reference when it is small. */
#define _POSIX_C_SOURCE 200809L
#include "golden_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void put(const char *name, const uint8_t *data, size_t n) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static seattn_context *ctx;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/seattn-fuzz-case-XXXXXX");
        if (!mkdtemp(dir)) abort();
        seattn_context_options o = {.backend = SEATTN_BACKEND_CPU};
        if (seattn_context_create(&o, &ctx) != SEATTN_SUCCESS) abort();
    }
    const uint8_t *nul = memchr(data, 0, size);
    const size_t meta = nul ? (size_t)(nul - data) : size;
    const uint8_t *arrays = nul ? nul + 1 : data + size;
    const size_t n = nul ? size - meta - 1 : 0;
    put("meta.json", data, meta);
    const char *files[] = {"q.f32", "k.f32", "v.f32", "out.f32"};
    for (int i = 0; i < 4; i++)
        put(files[i], arrays, n);
    golden_case c;
    char err[512];
    if (golden_case_load(dir, &c, err, sizeof err) == 0) {
        const seattn_attention_desc *d = &c.desc;
        if ((double)d->q_len * d->kv_len * d->n_heads * d->head_dim < (1 << 18)) {
            double e;
            golden_case_run(ctx, &c, &e);
        }
        golden_case_free(&c);
    }
    return 0;
}
