/* seattn passkey: the paper's passkey claim, end to end, on a real (tiny) RoPE model. */
#include "cli.h"
#include "passkey.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MODES = 8, MAX_LENS = 8 };
static const uint32_t all_lengths[] = {256, 512, 1024, 2048};
#define TRAINED_LEN 256

typedef struct {
    int32_t g, w; /* g 1: plain RoPE */
} mode;

static double now_s(void) {
    return seattn__now_ms() * 1e-3;
}

static void usage(FILE *f) {
    fprintf(f, "usage: seattn passkey [--se G,W]... [--length L]... [--all] [--limit N]\n"
               "                      [--backend cpu|vulkan|N|NAME] [--dir DIR] [--plot FILE]\n"
               "                      [--batch [--page-size P]]\n"
               "  Plain RoPE and each --se setting (default 16,64) on the prompt sets of DIR\n"
               "  (default ../shared/passkey): 1024 and 2048 tokens, or every length with --all.\n"
               "  --batch: each prompt set also as one batch (batched prefill and decode, every\n"
               "  layer's cache in pages of P tokens, default 16, in a shuffled pool), with both\n"
               "  times, both accuracies and the largest difference of their logits.\n");
}

static void mode_label(const mode *m, char *out, size_t size) {
    if (m->g == 1)
        snprintf(out, size, "plain RoPE");
    else
        snprintf(out, size, "Self-Extend G=%d W=%d", m->g, m->w);
}

static int plot(const char *path, const mode *modes, int n_modes, const uint32_t *lens, int n_lens,
                double acc[MAX_MODES][MAX_LENS], const char *device) {
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr,
                "seattn passkey: gnuplot not found, so no %s (apt-get install gnuplot-nox)\n",
                path);
        return 0;
    }
    const char *dot = strrchr(path, '.');
    FILE *g = seattn__pipe_to("gnuplot 2>/dev/null");
    if (!g) return -1;
    fprintf(g, "set terminal %s size 800,500\nset output '%s'\n",
            dot && strcmp(dot, ".svg") == 0 ? "svg" : "pngcairo", path);
    fprintf(g,
            "set logscale x 2\nset xrange [180:2900]\nset yrange [-0.05:1.05]\nset grid\n"
            "set xlabel 'context length (tokens)'\nset ylabel 'passkey accuracy (exact match)'\n"
            "set title 'Passkey retrieval, model trained on <= %d tokens (%s)'\n"
            "set arrow from %d,-0.05 to %d,1.05 nohead dashtype 2\n"
            "set label 'trained length' at %d,0.5 rotate by 90 offset -1,0\n"
            "set key bottom left\nplot ",
            TRAINED_LEN, device, TRAINED_LEN, TRAINED_LEN, TRAINED_LEN);
    for (int i = 0; i < n_modes; i++) {
        char label[64];
        mode_label(&modes[i], label, sizeof label);
        fprintf(g, "%s'-' using 1:2 with linespoints lw 2 title '%s'", i ? ", " : "", label);
    }
    fprintf(g, "\n");
    for (int i = 0; i < n_modes; i++) {
        for (int j = 0; j < n_lens; j++)
            fprintf(g, "%u %g\n", lens[j], acc[i][j]);
        fprintf(g, "e\n");
    }
    return seattn__pipe_close(g) == 0 ? 0 : -1;
}

/* --batch: for each mode and length, the prompts one by one and then all as one batch; the
 * same answers and logits are expected of both. Returns 0, or 1 after printing why. */
static int batch_table(seattn_context *ctx, const pk_model *model, const char *dir,
                       const mode *modes, int n_modes, const uint32_t *lens, int n_lens, int limit,
                       uint32_t page) {
    printf("%-24s %6s %7s %9s %9s %9s %9s %12s\n", "attention", "tokens", "prompts", "seq acc",
           "seq s", "batch acc", "batch s", "max |dlogit|");
    int rc = 0;
    for (int i = 0; i < n_modes && !rc; i++)
        for (int j = 0; j < n_lens && !rc; j++) {
            char label[64];
            mode_label(&modes[i], label, sizeof label);
            uint8_t *rows = NULL;
            uint32_t n = pk_prompts_load(dir, lens[j], &rows);
            if (limit && n > (uint32_t)limit) n = (uint32_t)limit;
            const uint32_t len = lens[j], plen = len - PK_ANSWER;
            uint8_t *ans[2] = {malloc((size_t)n * PK_ANSWER + 1),
                               malloc((size_t)n * PK_ANSWER + 1)};
            float *lg[2] = {malloc(sizeof(float) * n * PK_ANSWER * PK_VOCAB + 4),
                            malloc(sizeof(float) * n * PK_ANSWER * PK_VOCAB + 4)};
            double secs[2] = {0, 0};
            pk_session *s = NULL;
            pk_batch *b = NULL;
            seattn_status st = n ? pk_session_create(ctx, model, len, &s) : SEATTN_ERROR_IO;
            double t0 = now_s();
            for (uint32_t p = 0; p < n && !st; p++)
                st = pk_answer(s, rows + (size_t)p * len, plen, modes[i].g, modes[i].w, NULL,
                               ans[0] + (size_t)p * PK_ANSWER,
                               lg[0] + (size_t)p * PK_ANSWER * PK_VOCAB);
            secs[0] = now_s() - t0;
            pk_session_destroy(s);
            t0 = now_s();
            if (!st) st = pk_batch_create(ctx, model, n, len, page, &b);
            if (!st)
                st = pk_answer_batch(b, rows, len, plen, modes[i].g, modes[i].w, ans[1], lg[1]);
            secs[1] = now_s() - t0;
            pk_batch_destroy(b);
            if (st) {
                fprintf(stderr, "seattn passkey: %s, %u tokens: %s: %s\n", label, len,
                        seattn_status_string(st), seattn_context_last_error(ctx));
                rc = 1;
            } else {
                int right[2] = {0, 0};
                double diff = 0.0;
                for (uint32_t p = 0; p < n; p++)
                    for (int v = 0; v < 2; v++)
                        right[v] += memcmp(ans[v] + (size_t)p * PK_ANSWER,
                                           rows + (size_t)p * len + plen, PK_ANSWER) == 0;
                for (size_t e = 0; e < (size_t)n * PK_ANSWER * PK_VOCAB; e++) {
                    const double d =
                        lg[0][e] > lg[1][e] ? lg[0][e] - lg[1][e] : lg[1][e] - lg[0][e];
                    if (!(d <= diff)) diff = d; /* NaN sticks */
                }
                const bool same = right[0] == right[1] &&
                                  memcmp(ans[0], ans[1], (size_t)n * PK_ANSWER) == 0 &&
                                  diff <= 1e-3;
                printf("%-24s %6u %7u %9.3f %9.1f %9.3f %9.1f %12.2e%s\n", label, len, n,
                       (double)right[0] / n, secs[0], (double)right[1] / n, secs[1], diff,
                       same ? "" : "  DIFFERENT");
                fflush(stdout);
                if (!same) rc = 1;
            }
            free(ans[0]), free(ans[1]), free(lg[0]), free(lg[1]), free(rows);
        }
    return rc;
}

int cmd_passkey(int argc, char **argv) {
    const char *dir = "../shared/passkey", *backend = "", *plot_path = NULL;
    mode modes[MAX_MODES] = {{1, 0}};
    int n_modes = 1, limit = 0, n_lens = 0;
    uint32_t lens[MAX_LENS];
    bool all = false, batch = false;
    uint32_t page = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--all") == 0 || strcmp(a, "--batch") == 0) {
            *(strcmp(a, "--all") == 0 ? &all : &batch) = true;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!val) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--se") == 0) {
            int g, w;
            char extra;
            if (sscanf(val, "%d,%d%c", &g, &w, &extra) != 2 || g < 2 || w < 1 ||
                n_modes == MAX_MODES) {
                fprintf(stderr, "seattn passkey: --se takes G,W with G >= 2 and W >= 1\n");
                return 2;
            }
            modes[n_modes++] = (mode){g, w};
        } else if (strcmp(a, "--length") == 0) {
            int l = atoi(val), known = 0;
            for (size_t k = 0; k < sizeof all_lengths / sizeof all_lengths[0]; k++)
                known |= all_lengths[k] == (uint32_t)l;
            if (!known || n_lens == MAX_LENS) {
                fprintf(stderr, "seattn passkey: --length takes 256, 512, 1024 or 2048\n");
                return 2;
            }
            lens[n_lens++] = (uint32_t)l;
        } else if (strcmp(a, "--limit") == 0) {
            limit = atoi(val);
            if (limit < 1) {
                fprintf(stderr, "seattn passkey: --limit takes N >= 1\n");
                return 2;
            }
        } else if (strcmp(a, "--backend") == 0) {
            backend = strcmp(val, "vulkan") == 0 ? "" : val;
        } else if (strcmp(a, "--page-size") == 0) {
            page = (uint32_t)atoi(val);
            if (page < 1) {
                fprintf(stderr, "seattn passkey: --page-size takes P >= 1\n");
                return 2;
            }
        } else if (strcmp(a, "--dir") == 0) {
            dir = val;
        } else if (strcmp(a, "--plot") == 0) {
            plot_path = val;
        } else {
            fprintf(stderr, "seattn passkey: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (n_modes == 1) modes[n_modes++] = (mode){16, 64};
    if (all || n_lens == 0) {
        n_lens = 0;
        for (size_t k = 0; k < sizeof all_lengths / sizeof all_lengths[0]; k++)
            if (all || all_lengths[k] >= 1024) lens[n_lens++] = all_lengths[k];
    }
    pk_model model;
    if (pk_model_load(dir, &model)) return 1;
    seattn_context *ctx = NULL;
    if (cli_context(backend, 0, NULL, &ctx)) {
        fprintf(stderr, "seattn passkey: %s\n", seattn_last_create_error());
        pk_model_free(&model);
        return 1;
    }
    seattn_device_info info;
    seattn_context_device_info(ctx, &info);
    printf("passkey accuracy (exact match of 5 digits, greedy), model trained on <= %d tokens\n"
           "device: %s; attention by seattn, keys cached rotated at their own positions\n\n",
           TRAINED_LEN, info.name);
    if (batch) {
        printf("each prompt set one prompt at a time (seq) and as one batch over a paged cache "
               "(pages of %u tokens, shuffled)\n\n",
               page);
        const int rc = batch_table(ctx, &model, dir, modes, n_modes, lens, n_lens, limit, page);
        seattn_context_destroy(ctx);
        pk_model_free(&model);
        return rc;
    }
    printf("%-24s", "attention");
    for (int j = 0; j < n_lens; j++)
        printf(" %8u", lens[j]);
    printf("   prompts  seconds\n");
    double acc[MAX_MODES][MAX_LENS] = {{0}};
    int rc = 0, prompts = 0;
    const double t_all = now_s();
    for (int i = 0; i < n_modes && !rc; i++) {
        char label[64];
        mode_label(&modes[i], label, sizeof label);
        printf("%-24s", label);
        fflush(stdout);
        const double t0 = now_s();
        for (int j = 0; j < n_lens && !rc; j++) {
            uint8_t *rows = NULL;
            uint32_t n = pk_prompts_load(dir, lens[j], &rows);
            if (limit && n > (uint32_t)limit) n = (uint32_t)limit;
            pk_session *s = NULL;
            if (n == 0 || pk_session_create(ctx, &model, lens[j], &s)) {
                fprintf(stderr, "\nseattn passkey: cannot load or run prompts_%u.u8\n", lens[j]);
                free(rows);
                rc = 1;
                break;
            }
            int right = 0;
            for (uint32_t p = 0; p < n && !rc; p++) {
                const uint8_t *row = rows + (size_t)p * lens[j];
                uint8_t answer[PK_ANSWER];
                if (pk_answer(s, row, lens[j] - PK_ANSWER, modes[i].g, modes[i].w, NULL, answer,
                              NULL)) {
                    fprintf(stderr, "\nseattn passkey: %s\n", seattn_context_last_error(ctx));
                    rc = 1;
                }
                right += memcmp(answer, row + lens[j] - PK_ANSWER, PK_ANSWER) == 0;
                if (seattn__stderr_is_terminal())
                    fprintf(stderr, "\r\033[K%s, %u tokens: prompt %u of %u", label, lens[j], p + 1,
                            n);
            }
            if (seattn__stderr_is_terminal()) fprintf(stderr, "\r\033[K");
            prompts = (int)n;
            acc[i][j] = (double)right / n;
            printf(" %8.3f", acc[i][j]);
            fflush(stdout);
            pk_session_destroy(s);
            free(rows);
        }
        if (!rc) printf("   %7d  %7.1f\n", prompts, now_s() - t0);
    }
    if (!rc) printf("\ntotal %.1f s\n", now_s() - t_all);
    if (!rc && plot_path && plot(plot_path, modes, n_modes, lens, n_lens, acc, info.name) != 0) {
        fprintf(stderr, "seattn passkey: gnuplot failed to draw %s\n", plot_path);
        rc = 1;
    }
    seattn_context_destroy(ctx);
    pk_model_free(&model);
    return rc;
}
