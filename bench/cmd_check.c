/* seattn check DIR...: every golden case under DIR on every backend, max abs error each. */
#include "cli.h"
#include "golden_case.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4

typedef struct {
    char label[300];
    seattn_context *ctx;
} backend;

/* cpu, and each Vulkan device; or those `which` names. Returns the count. */
static int open_backends(const char *which, uint32_t flags, const char *kernel, backend *out,
                         int cap) {
    int n = 0;
    if (!which || strcmp(which, "cpu") == 0 || strcmp(which, "all") == 0) {
        if (cli_context("cpu", flags, NULL, &out[n].ctx) == SEATTN_SUCCESS)
            snprintf(out[n++].label, sizeof out[0].label, "cpu");
        if (which && strcmp(which, "cpu") == 0) return n;
    }
    uint32_t count = 0;
    if (!which || strcmp(which, "all") == 0 || strcmp(which, "vulkan") == 0) {
        if (seattn_device_list(NULL, &count) != SEATTN_SUCCESS) {
            fprintf(stderr, "seattn check: no Vulkan device: %s\n", seattn_last_create_error());
            return n;
        }
        for (uint32_t i = 0; i < count && n < cap; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%u", i);
            if (cli_context(idx, flags, kernel, &out[n].ctx) != SEATTN_SUCCESS) {
                fprintf(stderr, "seattn check: device %u: %s\n", i, seattn_last_create_error());
                continue;
            }
            seattn_device_info info;
            seattn_context_device_info(out[n].ctx, &info);
            snprintf(out[n++].label, sizeof out[0].label, "vulkan%u:%s", i, info.name);
        }
        return n;
    }
    if (cli_context(which, flags, kernel, &out[n].ctx) != SEATTN_SUCCESS) {
        fprintf(stderr, "seattn check: device '%s': %s\n", which, seattn_last_create_error());
        return n;
    }
    seattn_device_info info;
    seattn_context_device_info(out[n].ctx, &info);
    snprintf(out[n++].label, sizeof out[0].label, "vulkan:%s", info.name);
    return n;
}

int cmd_check(int argc, char **argv) {
    const char *which = NULL, *kernel = NULL;
    uint32_t flags = 0;
    char **roots = calloc((size_t)argc, sizeof(char *));
    int n_roots = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            which = argv[++i];
        else if (strcmp(argv[i], "--validation") == 0)
            flags |= SEATTN_CONTEXT_VALIDATION;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "seattn check: unknown option '%s'\n", argv[i]);
            free(roots);
            return 2;
        } else
            roots[n_roots++] = argv[i];
    }
    if (n_roots == 0) {
        fprintf(stderr, "usage: seattn check DIR... [--backend cpu|vulkan|N|NAME] [--validation] "
                        "[--kernel NAME]\n");
        free(roots);
        return 2;
    }
    backend bk[17];
    int n_bk = open_backends(which, flags, kernel, bk, 16);
    int failures = 0, cases = 0;
    if (n_bk == 0) {
        fprintf(stderr, "seattn check: no backend could be opened\n");
        failures++;
    }
    for (int r = 0; r < n_roots; r++) {
        char **dirs = NULL;
        int n = golden_find(roots[r], &dirs);
        if (n <= 0) {
            fprintf(stderr, "seattn check: %s: %s\n", roots[r],
                    n < 0 ? "cannot be read" : "holds no case (no meta.json)");
            failures++;
            continue;
        }
        for (int i = 0; i < n; i++) {
            golden_case c;
            char err[512];
            cases++;
            if (golden_case_load(dirs[i], &c, err, sizeof err) != 0) {
                printf("%-36s %-28s MALFORMED: %s\n", dirs[i], "-", err);
                failures++;
                continue;
            }
            for (int b = 0; b < n_bk; b++) {
                double e;
                seattn_status s = golden_case_run(bk[b].ctx, &c, &e);
                if (s != SEATTN_SUCCESS) {
                    printf("%-36s %-28s ERROR: %s: %s\n", c.name, bk[b].label,
                           seattn_status_string(s), seattn_context_last_error(bk[b].ctx));
                    failures++;
                    continue;
                }
                bool ok = e <= TOLERANCE;
                failures += !ok;
                printf("%-36s %-28s max_abs_err %.3e %s\n", c.name, bk[b].label, e,
                       ok ? "ok" : "FAIL");
            }
            golden_case_free(&c);
        }
        golden_dirs_free(dirs, n);
    }
    for (int b = 0; b < n_bk; b++) {
        uint32_t ve = seattn_context_validation_errors(bk[b].ctx);
        if (ve) {
            printf("%s: %u validation messages\n", bk[b].label, ve);
            failures++;
        }
        seattn_context_destroy(bk[b].ctx);
    }
    printf("%d cases, %d backends, %d failures (tolerance %.0e)\n", cases, n_bk, failures,
           TOLERANCE);
    free(roots);
    return failures ? 1 : 0;
}
