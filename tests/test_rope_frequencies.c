/* seattn_rope_frequencies(): a model's RoPE frequencies and attention factor from its
 * configuration, against the values of every case of shared/golden-models that has them
 * (computed there from transformers' formulas, and checked there against a line-by-line
 * transcription of them), and its own relations and refusals. */
#include "file_util.h"
#include "golden_case.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON *o, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : 0.0;
}

static double *array(const cJSON *o, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(it)) return NULL;
    double *a = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(double));
    int i = 0;
    for (const cJSON *x = it->child; x; x = x->next)
        a[i++] = x->valuedouble;
    return a;
}

/* The configuration a case's meta.json records (its rope_scaling dict as config.json has it). */
static seattn_rope_config config_of(const cJSON *meta, double **keep) {
    seattn_rope_config c = {0};
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(meta, "rope_scaling");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    if (!t) t = cJSON_GetObjectItemCaseSensitive(rs, "type");
    static const char *const names[] = {"default", "linear",   "dynamic",
                                        "yarn",    "longrope", "llama3"};
    for (int i = 0; i < 6; i++)
        if (cJSON_IsString(t) && strcmp(t->valuestring, names[i]) == 0) c.type = i;
    c.theta = num(meta, "rope_theta");
    c.rotary_dims =
        (uint32_t)(num(meta, "rotary_dims") ? num(meta, "rotary_dims") : num(meta, "head_dim"));
    c.max_position_embeddings = (uint32_t)num(meta, "rope_max_position_embeddings");
    c.factor = num(rs, "factor");
    c.original_max_position_embeddings =
        (uint32_t)(num(rs, "original_max_position_embeddings")
                       ? num(rs, "original_max_position_embeddings")
                       : num(meta, "rope_original_max_position_embeddings"));
    c.low_freq_factor = num(rs, "low_freq_factor");
    c.high_freq_factor = num(rs, "high_freq_factor");
    c.beta_fast = num(rs, "beta_fast");
    c.beta_slow = num(rs, "beta_slow");
    c.mscale = num(rs, "mscale");
    c.mscale_all_dim = num(rs, "mscale_all_dim");
    c.attention_factor = num(rs, "attention_factor");
    c.yarn_no_truncate = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rs, "truncate"));
    c.short_factor = keep[0] = array(rs, "short_factor");
    c.long_factor = keep[1] = array(rs, "long_factor");
    c.seq_len = (uint32_t)num(meta, "rope_seq_len");
    return c;
}

Test(rope_frequencies, every_model_case) {
    char **dirs;
    const int n = golden_find(SEATTN_GOLDEN_MODELS_DIR, &dirs);
    cr_assert_gt(n, 0, "no cases under %s", SEATTN_GOLDEN_MODELS_DIR);
    int checked = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/meta.json", dirs[i]);
        size_t len;
        char *text = cli_read_file(path, &len);
        cr_assert_not_null(text, "%s", path);
        cJSON *meta = cJSON_ParseWithLength(text, len);
        free(text);
        double *want = array(meta, "rope_inv_freq");
        if (want) {
            double *keep[2] = {0};
            const seattn_rope_config c = config_of(meta, keep);
            double got[256];
            float af = 0.0f;
            cr_assert_eq(seattn_rope_frequencies(&c, got, &af), SEATTN_SUCCESS, "%s: %s", dirs[i],
                         seattn_last_create_error());
            double worst = 0.0;
            for (uint32_t m = 0; m < c.rotary_dims / 2; m++)
                worst = fmax(worst, fabs(got[m] - want[m]) / want[m]);
            cr_expect_leq(worst, 1e-13, "%s: rope_inv_freq off by %g (relative)", dirs[i], worst);
            const double want_af = num(meta, "rope_attention_factor");
            cr_expect_eq(af, (float)want_af, "%s: attention factor %.9g, want %.9g", dirs[i],
                         (double)af, want_af);
            free(keep[0]), free(keep[1]), free(want);
            checked++;
        }
        cJSON_Delete(meta);
    }
    golden_dirs_free(dirs, n);
    /* llama3 twice, yarn four times (truncate off, mscale, an explicit factor), longrope */
    cr_expect_geq(checked, 7, "only %d cases with frequencies", checked);
}

/* The relations between the types: linear is default / s; dynamic within M is default;
 * YaRN's factor is 0.1 ln s + 1 without mscale and 1 with equal mscales. */
Test(rope_frequencies, relations) {
    seattn_rope_config c = {.theta = 10000.0, .rotary_dims = 64, .max_position_embeddings = 2048};
    double def[32], x[32];
    float af;
    cr_assert_eq(seattn_rope_frequencies(&c, def, &af), SEATTN_SUCCESS);
    cr_expect_eq(af, 1.0f);
    for (uint32_t m = 0; m < 32; m++)
        cr_expect_leq(fabs(def[m] - pow(10000.0, -2.0 * m / 64)) / def[m], 1e-15);
    c.type = SEATTN_ROPE_TYPE_LINEAR, c.factor = 4.0;
    cr_assert_eq(seattn_rope_frequencies(&c, x, &af), SEATTN_SUCCESS);
    for (uint32_t m = 0; m < 32; m++)
        cr_expect_leq(fabs(x[m] * 4.0 - def[m]) / def[m], 1e-15);
    c.type = SEATTN_ROPE_TYPE_DYNAMIC, c.seq_len = 1000;
    cr_assert_eq(seattn_rope_frequencies(&c, x, &af), SEATTN_SUCCESS);
    for (uint32_t m = 0; m < 32; m++)
        cr_expect_leq(fabs(x[m] - def[m]) / def[m], 1e-15);
    c.seq_len = 8192; /* past M: lower frequencies, pair 0 unchanged */
    cr_assert_eq(seattn_rope_frequencies(&c, x, &af), SEATTN_SUCCESS);
    cr_expect_eq(x[0], 1.0);
    cr_expect_lt(x[31], def[31]);
    c.type = SEATTN_ROPE_TYPE_YARN, c.factor = 16.0, c.original_max_position_embeddings = 512;
    cr_assert_eq(seattn_rope_frequencies(&c, x, &af), SEATTN_SUCCESS);
    cr_expect_float_eq(af, 0.1 * log(16.0) + 1.0, 1e-7);
    cr_expect_eq(x[0], def[0]);                                   /* high frequencies extrapolate */
    cr_expect_leq(fabs(x[31] * 16.0 - def[31]) / def[31], 1e-15); /* low ones interpolate */
    c.mscale = c.mscale_all_dim = 0.707;
    cr_assert_eq(seattn_rope_frequencies(&c, x, &af), SEATTN_SUCCESS);
    cr_expect_eq(af, 1.0f);
}

/* Bad fields are refused, named. */
Test(rope_frequencies, bad_fields) {
    double x[256];
    float af;
    struct {
        seattn_rope_config c;
        const char *field;
    } bad[] = {
        {{.theta = 0, .rotary_dims = 64, .max_position_embeddings = 1}, "theta"},
        {{.theta = 1e4, .rotary_dims = 63, .max_position_embeddings = 1}, "rotary_dims"},
        {{.type = SEATTN_ROPE_TYPE_YARN, .theta = 1e4, .rotary_dims = 64},
         "max_position_embeddings"},
        {{.type = SEATTN_ROPE_TYPE_LINEAR,
          .theta = 1e4,
          .rotary_dims = 64,
          .max_position_embeddings = 1},
         "factor"},
        {{.type = SEATTN_ROPE_TYPE_LLAMA3,
          .theta = 1e4,
          .rotary_dims = 64,
          .max_position_embeddings = 1,
          .factor = 8,
          .original_max_position_embeddings = 8192,
          .low_freq_factor = 4,
          .high_freq_factor = 1},
         "low_freq_factor"},
        {{.type = SEATTN_ROPE_TYPE_LONGROPE,
          .theta = 1e4,
          .rotary_dims = 64,
          .max_position_embeddings = 1},
         "short_factor"},
        {{.type = (seattn_rope_type)9,
          .theta = 1e4,
          .rotary_dims = 64,
          .max_position_embeddings = 1},
         "type"},
        {{.theta = 1e4, .rotary_dims = 64, .max_position_embeddings = 1, .factor = NAN}, "factor"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(seattn_rope_frequencies(&bad[i].c, x, &af), SEATTN_ERROR_INVALID_ARGUMENT,
                     "%s", bad[i].field);
        cr_expect(strstr(seattn_last_create_error(), bad[i].field), "%s: %s", bad[i].field,
                  seattn_last_create_error());
    }
    cr_expect_eq(seattn_rope_frequencies(NULL, x, &af), SEATTN_ERROR_INVALID_ARGUMENT);
}
