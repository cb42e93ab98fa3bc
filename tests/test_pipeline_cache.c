/* The pipeline cache file: saved at destroy, loaded by the next context, a foreign or broken
 * file ignored with a message, and results the same either way. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char log_text[8192];

static void capture(seattn_log_level level, const char *message, void *user) {
    (void)level;
    (void)user;
    const size_t n = strlen(log_text);
    snprintf(log_text + n, sizeof log_text - n, "%s\n", message);
}

/* A context with the cache file, one attention checked against the CPU reference, destroyed. */
static void run_once(const char *path) {
    log_text[0] = '\0';
    seattn_context_options o = {.log = capture, .pipeline_cache_path = path};
    seattn_context *ctx = NULL;
    seattn_status s = seattn_context_create(&o, &ctx);
    if (s != SEATTN_SUCCESS) tu_no_device(seattn_last_create_error());
    seattn_context *cpu = tu_cpu();
    seattn_attention_desc d = tu_desc(4, 2, 64, 9, 40, 4, 8);
    enum { NQ = 4 * 9 * 64, NK = 2 * 40 * 64 };
    static float q[NQ], k[NK], v[NK], a[NQ], b[NQ];
    tu_fill(q, NQ, 1);
    tu_fill(k, NK, 2);
    tu_fill(v, NK, 3);
    cr_assert_eq(tu_run(ctx, &d, q, k, v, a, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    cr_assert_eq(tu_run(cpu, &d, q, k, v, b, NULL), SEATTN_SUCCESS);
    cr_expect(tu_max_err(&d, a, b) <= 1e-4);
    seattn_context_destroy(cpu);
    seattn_context_destroy(ctx);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

Test(pipeline_cache, saved_loaded_and_foreign_files_ignored, .timeout = 300) {
    char dir[] = "/tmp/seattn-cache-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/pipelines.bin", dir);

    run_once(path); /* no file yet: built and saved */
    cr_expect(strstr(log_text, "saved"), "log: %s", log_text);
    /* at least the 32-byte header (lavapipe keeps no pipelines in it: Mesa caches them on disk
     * itself; GPU drivers add their pipelines after it) */
    const long size = file_size(path);
    cr_expect_geq(size, 32, "cache file of %ld bytes", size);
    uint32_t head[2] = {0, 0};
    FILE *h = fopen(path, "rb");
    cr_assert_not_null(h);
    cr_expect_eq(fread(head, 4, 2, h), 2);
    fclose(h);
    cr_expect(head[0] == 32 && head[1] == 1, "header %u %u", head[0], head[1]);

    run_once(path); /* loaded */
    char want[64];
    snprintf(want, sizeof want, "%ld bytes loaded", size);
    cr_expect(strstr(log_text, want), "log (want '%s'): %s", want, log_text);

    FILE *f = fopen(path, "wb"); /* a foreign file: ignored, the context still works */
    cr_assert_not_null(f);
    for (int i = 0; i < 1000; i++)
        fputc(i * 7, f);
    fclose(f);
    run_once(path);
    cr_expect(strstr(log_text, "another device or driver"), "log: %s", log_text);
    cr_expect_eq(file_size(path), size, "the foreign file was replaced at destroy");

    remove(path);
    rmdir(dir);
}
