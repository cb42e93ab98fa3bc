/* The model-config reader of `seattn model` (cli/model_config.c): from each real config of
 * shared/golden-models/configs, the attention its cases were computed with (their rotated
 * slice and layout, v head size, softmax scale, softcap, sinks, frequencies and attention
 * factor); the layer types of every config; the G and W rule; and refusals. */
#define _POSIX_C_SOURCE 200809L
#include "file_util.h"
#include "golden_case.h"
#include "model_config.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *read_json(const char *path) {
    size_t len = 0;
    char *text = cli_read_file(path, &len);
    cr_assert_not_null(text, "%s", path);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    cr_assert_not_null(j, "%s", path);
    return j;
}

static double num(const cJSON *o, const char *key, double dflt) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

/* Every case that names its model's config: the config's full-attention layers as the reader
 * makes them are the case's attention (but for the reduced head counts). */
Test(model_config, the_cases_from_their_configs) {
    char path[4096];
    int checked = 0;
    for (int i = 1; i <= 12; i++) {
        char **dirs = NULL;
        const int n = golden_find(SEATTN_GOLDEN_MODELS_DIR, &dirs);
        cr_assert_gt(n, 0);
        for (int c = 0; c < n; c++) {
            char want[8];
            snprintf(want, sizeof want, "/m%02d_", i);
            if (!strstr(dirs[c], want)) continue;
            snprintf(path, sizeof path, "%s/meta.json", dirs[c]);
            cJSON *meta = read_json(path);
            const cJSON *mc = cJSON_GetObjectItemCaseSensitive(meta, "model_config");
            if (!cJSON_IsString(mc)) {
                cJSON_Delete(meta);
                continue; /* the synthetic case */
            }
            const char *file = strrchr(mc->valuestring, '/');
            snprintf(path, sizeof path, "%s/configs%s", SEATTN_GOLDEN_MODELS_DIR, file);
            model_info m;
            char err[512];
            const uint32_t seq_len = (uint32_t)num(meta, "rope_seq_len", 0);
            cr_assert_eq(model_config_load(path, seq_len, &m, err, sizeof err), 0, "%s: %s", path,
                         err);
            const model_layer_type *t = NULL;
            for (int k = 0; k < m.n_types; k++)
                if (!m.types[k].sliding) t = &m.types[k];
            cr_assert_not_null(t, "%s: no full-attention layers", path);
            const seattn_attention_desc *d = &t->desc;
            const double hd = num(meta, "head_dim", 0);
            cr_expect_eq(d->head_dim, (uint32_t)hd, "%s", path);
            cr_expect_eq(d->v_head_dim, (uint32_t)num(meta, "v_head_dim", hd), "%s", path);
            cr_expect_eq(d->rotary_dims, (uint32_t)num(meta, "rotary_dims", hd), "%s", path);
            cr_expect_eq(d->rotary_offset, (uint32_t)num(meta, "rotary_offset", 0), "%s", path);
            const cJSON *lay = cJSON_GetObjectItemCaseSensitive(meta, "rope_layout");
            const bool inter = cJSON_IsString(lay) && strcmp(lay->valuestring, "interleaved") == 0;
            cr_expect_eq(d->rope_layout == SEATTN_ROPE_INTERLEAVED, inter, "%s", path);
            cr_expect_eq(d->scale, (float)num(meta, "softmax_scale", 0), "%s: scale %.9g vs %.9g",
                         path, d->scale, num(meta, "softmax_scale", 0));
            cr_expect_eq(d->logit_softcap, (float)num(meta, "logit_softcap", 0), "%s", path);
            const bool sinks = cJSON_GetObjectItemCaseSensitive(meta, "sinks") != NULL;
            cr_expect_eq((d->flags & SEATTN_ATTN_SINKS) != 0, sinks, "%s", path);
            cr_expect_eq(d->rope_theta, (float)num(meta, "rope_theta", 0), "%s", path);
            const cJSON *inv = cJSON_GetObjectItemCaseSensitive(meta, "rope_inv_freq");
            if (inv) {
                cr_expect_eq(d->rope_attention_factor, (float)num(meta, "rope_attention_factor", 1),
                             "%s", path);
                int k = 0;
                for (const cJSON *x = inv->child; x; x = x->next, k++)
                    cr_expect(fabs(d->rope_inv_freq[k] - x->valuedouble) <= 1e-13 * x->valuedouble,
                              "%s: inv_freq[%d] %.17g vs %.17g", path, k, d->rope_inv_freq[k],
                              x->valuedouble);
                cr_expect_eq((uint32_t)k, d->rotary_dims / 2, "%s", path);
            } else { /* theta's own frequencies */
                for (uint32_t k = 0; k < d->rotary_dims / 2; k++)
                    cr_expect(fabs(d->rope_inv_freq[k] - pow(num(meta, "rope_theta", 0),
                                                             -2.0 * k / d->rotary_dims)) <= 1e-15,
                              "%s", path);
            }
            checked++;
            cJSON_Delete(meta);
        }
        golden_dirs_free(dirs, n);
    }
    cr_expect_geq(checked, 11, "%d cases checked", checked);
}

/* The layer types of the configs with sliding windows, and of one without. */
Test(model_config, layer_types) {
    const struct {
        const char *file;
        uint32_t full, sliding, window, first_full;
        bool qk_norm;
        float local_theta;
    } want[] = {{"gemma-2-2b.json", 13, 13, 4096, 1, false, 10000},
                {"gemma-3-1b.json", 4, 22, 512, 5, true, 10000},
                {"gemma-3-4b.json", 5, 29, 1024, 5, true, 10000},
                {"gpt-oss-20b.json", 12, 12, 128, 1, false, 150000},
                {"phi-3.5-mini-instruct.json", 32, 0, 0, 0, false, 0},
                {"qwen2.5-7b.json", 28, 0, 0, 0, false, 0},
                {"qwen3-8b.json", 36, 0, 0, 0, true, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[4096], err[512];
        snprintf(path, sizeof path, "%s/configs/%s", SEATTN_GOLDEN_MODELS_DIR, want[i].file);
        model_info m;
        cr_assert_eq(model_config_load(path, 0, &m, err, sizeof err), 0, "%s: %s", path, err);
        uint32_t full = 0, sliding = 0;
        for (int k = 0; k < m.n_types; k++) {
            const model_layer_type *t = &m.types[k];
            cr_expect_eq(t->qk_norm, want[i].qk_norm, "%s", want[i].file);
            if (t->sliding) {
                sliding = t->count;
                cr_expect_eq(t->window, want[i].window, "%s", want[i].file);
                cr_expect(t->desc.flags & SEATTN_ATTN_NEIGHBOR_ONLY, "%s", want[i].file);
                cr_expect_eq(t->desc.rope_theta, want[i].local_theta, "%s", want[i].file);
            } else {
                full = t->count;
                cr_expect_eq(t->first, want[i].first_full, "%s", want[i].file);
            }
        }
        cr_expect_eq(full, want[i].full, "%s: %u full layers", want[i].file, full);
        cr_expect_eq(sliding, want[i].sliding, "%s: %u sliding layers", want[i].file, sliding);
        cr_expect_eq(full + sliding, m.n_layers, "%s", want[i].file);
    }
}

/* Gemma 3 4B: linear scaling on the global layers only (their frequencies theta's / 8). */
Test(model_config, gemma3_scales_only_its_global_layers) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/configs/gemma-3-4b.json", SEATTN_GOLDEN_MODELS_DIR);
    model_info m;
    cr_assert_eq(model_config_load(path, 0, &m, err, sizeof err), 0, "%s", err);
    for (int k = 0; k < m.n_types; k++) {
        const model_layer_type *t = &m.types[k];
        const double theta = t->sliding ? 10000.0 : 1e6, s = t->sliding ? 1.0 : 8.0;
        for (uint32_t j = 0; j < 128; j++)
            cr_expect(fabs(t->inv_freq[j] - pow(theta, -2.0 * j / 256) / s) <= 1e-15,
                      "%s layers, pair %u", t->name, j);
    }
}

Test(model_config, the_g_and_w_rule) {
    int32_t g, w;
    model_recommend(4096, 4096, &g, &w);
    cr_expect(g == 1 && w == 0);
    model_recommend(3, 100, &g, &w); /* too short a training for a window */
    cr_expect(g == 1 && w == 0);
    model_recommend(4, 100, &g, &w);
    cr_expect(g == 33 && w == 1, "G %d W %d", g, w); /* 3 G + 1 >= 100 */
    model_recommend(4096, 16384, &g, &w);
    cr_expect(g == 5 && w == 1024, "G %d W %d", g, w); /* (4096 - 1024) 5 + 1024 = 16384 */
    model_recommend(131072, 262144, &g, &w);
    cr_expect(g == 3 && w == 4096, "G %d W %d", g, w);
    model_recommend(2048, 8192, &g, &w);
    cr_expect(g == 5 && w == 512, "G %d W %d", g, w);
    for (uint32_t l = 64; l < 300000; l = l * 3 + 7)
        for (uint32_t n = l; n < (1u << 24) && n < 40 * l; n = n * 2 + 1) {
            model_recommend(l, n, &g, &w);
            cr_assert(
                (uint64_t)(l - (uint32_t)w) * (uint64_t)g + (uint64_t)w >= n &&
                    (g == 1 || (uint64_t)(l - (uint32_t)w) * (uint64_t)(g - 1) + (uint64_t)w < n),
                "L %u N %u: G %d W %d", l, n, g, w);
            cr_assert(g == 1 || ((uint32_t)w <= l / 4 && w >= 1), "L %u: W %d", l, w);
        }
}

static int load_text(const char *text, char *err, size_t n) {
    char path[] = "/tmp/seattn_model_XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    model_info m;
    const int rc = model_config_load(path, 0, &m, err, n);
    remove(path);
    return rc;
}

Test(model_config, refusals) {
    char err[512];
    cr_expect_eq(load_text("{\"num_attention_heads\": 8}", err, sizeof err), -1);
    cr_expect(strstr(err, "num_hidden_layers"), "%s", err);
    const char *base = "{\"num_attention_heads\": 8, \"num_hidden_layers\": 2, "
                       "\"max_position_embeddings\": 4096, \"hidden_size\": 512";
    char text[1024];
    snprintf(text, sizeof text, "%s}", base);
    cr_expect_eq(load_text(text, err, sizeof err), 0, "%s", err);
    snprintf(text, sizeof text, "%s, \"rope_scaling\": {\"rope_type\": \"ntk-by-parts\"}}", base);
    cr_expect_eq(load_text(text, err, sizeof err), -2);
    cr_expect(strstr(err, "ntk-by-parts"), "%s", err);
    snprintf(text, sizeof text, "%s, \"attention_chunk_size\": 8192}", base);
    cr_expect_eq(load_text(text, err, sizeof err), -2);
    cr_expect(strstr(err, "attention_chunk_size"), "%s", err);
    snprintf(text, sizeof text, "%s, \"layer_types\": [\"full_attention\", \"chunked\"]}", base);
    cr_expect_eq(load_text(text, err, sizeof err), -2);
    cr_expect(strstr(err, "layer_types[1]"), "%s", err);
    snprintf(text, sizeof text, "%s, \"head_dim\": \"64\"}", base);
    cr_expect_eq(load_text(text, err, sizeof err), -1);
    cr_expect(strstr(err, "head_dim"), "%s", err);
    snprintf(text, sizeof text, "%s, \"rope_scaling\": {\"rope_type\": \"linear\"}}", base);
    cr_expect_eq(load_text(text, err, sizeof err), -1); /* linear needs its factor */
    cr_expect(strstr(err, "factor"), "%s", err);
    cr_expect_eq(load_text("[1, 2]", err, sizeof err), -1);
}
