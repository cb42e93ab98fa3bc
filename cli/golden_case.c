#include "golden_case.h"
#include "file_util.h"
#include "platform.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A non-negative integer field below 2^31, or a double field when integer is false. */
static int get_num(const cJSON *meta, const char *key, int integer, double *out, char *err,
                   size_t err_len) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(meta, key);
    if (!cJSON_IsNumber(it)) {
        snprintf(err, err_len, "meta.json: \"%s\" is missing or not a number", key);
        return -1;
    }
    double x = it->valuedouble;
    if (!isfinite(x) || (integer && (x < 0 || x > 2147483647.0 || x != floor(x)))) {
        snprintf(err, err_len, "meta.json: \"%s\" = %g is out of range", key, x);
        return -1;
    }
    *out = x;
    return 0;
}

static float *read_array(const char *dir, const char *file, size_t n, char *err, size_t err_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len = 0;
    char *data = cli_read_file(path, &len);
    if (!data) {
        snprintf(err, err_len, "%s: cannot be read", file);
        return NULL;
    }
    if (len != n * sizeof(float)) {
        snprintf(err, err_len, "%s: %zu bytes, but the shapes in meta.json need %zu%s", file, len,
                 n * sizeof(float), len < n * sizeof(float) ? " (truncated)" : "");
        free(data);
        return NULL;
    }
    return (float *)data; /* malloc'd memory is aligned for float */
}

/* Every key of meta.json in both case formats (shared/golden/README.md and
 * shared/golden-models/README.md), those that only describe the case included. */
static const char *const known_keys[] = {"name",
                                         "mode",
                                         "note",
                                         "n_heads",
                                         "n_kv_heads",
                                         "head_dim",
                                         "q_len",
                                         "kv_len",
                                         "q_pos_start",
                                         "k_pos_start",
                                         "group_size_G",
                                         "neighbor_window_W",
                                         "rope_theta",
                                         "rope_style",
                                         "softmax_scale",
                                         "scale_base",
                                         "gqa_map",
                                         "dtype",
                                         "layout",
                                         "files",
                                         "golden",
                                         "checks_maxabs",
                                         "sensitivity_maxabs_vs_wrong_variants",
                                         "features",
                                         "model",
                                         "model_config",
                                         "rope_inv_freq",
                                         "rope_attention_factor",
                                         "rope_scaling",
                                         "rope_max_position_embeddings",
                                         "rope_original_max_position_embeddings",
                                         "rope_seq_len",
                                         "rotary_offset",
                                         "rotary_dims",
                                         "rope_layout",
                                         "v_head_dim",
                                         "logit_softcap",
                                         "sinks",
                                         "q_dtype",
                                         "k_dtype",
                                         "v_dtype",
                                         "k_scale",
                                         "v_scale"};

/* The model features seattn has; -2 and a message for one it has not yet (named in err). */
static int read_features(const cJSON *meta, golden_case *c, char *err, size_t err_len) {
    for (const cJSON *it = meta->child; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0] && !known; i++)
            known = strcmp(it->string, known_keys[i]) == 0;
        if (!known) {
            snprintf(err, err_len, "meta.json: unknown key \"%s\" (refused, not ignored)",
                     it->string);
            return -1;
        }
    }
    seattn_attention_desc *d = &c->desc;
    const cJSON *it;
    static const char *const scales[2] = {"k_scale", "v_scale"};
    float *const scale_of[2] = {&d->k_scale, &d->v_scale};
    for (int i = 0; i < 2; i++)
        if ((it = cJSON_GetObjectItemCaseSensitive(meta, scales[i]))) {
            if (!cJSON_IsNumber(it)) {
                snprintf(err, err_len, "meta.json: \"%s\" is not a number", scales[i]);
                return -1;
            }
            *scale_of[i] = (float)it->valuedouble; /* a float32 (the case format); checked by
                                                    * the library */
        }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "rotary_offset"))) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > d->head_dim ||
            it->valuedouble != floor(it->valuedouble)) {
            snprintf(err, err_len, "meta.json: \"rotary_offset\" is not an integer in 0..head_dim");
            return -1;
        }
        d->rotary_offset = (uint32_t)it->valuedouble;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "v_head_dim"))) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 512 ||
            it->valuedouble != floor(it->valuedouble)) {
            snprintf(err, err_len, "meta.json: \"v_head_dim\" is not an integer in 1..512");
            return -1;
        }
        d->v_head_dim = (uint32_t)it->valuedouble; /* checked by the library */
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "sinks"))) {
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != (int)d->n_heads) {
            snprintf(err, err_len, "meta.json: \"sinks\" is not an array of n_heads (%u) numbers",
                     d->n_heads);
            return -1;
        }
        if (!(c->sinks = malloc(sizeof(float) * d->n_heads))) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        uint32_t h = 0;
        for (const cJSON *f = it->child; f; f = f->next, h++) {
            if (!cJSON_IsNumber(f)) {
                snprintf(err, err_len, "meta.json: sinks[%u] is not a number", h);
                return -1;
            }
            c->sinks[h] = (float)f->valuedouble; /* exactly a float32 (the case format) */
        }
        d->flags |= SEATTN_ATTN_SINKS;
    }
    const char *tensors[3] = {"q_dtype", "k_dtype", "v_dtype"};
    seattn_dtype *types[3] = {&d->q_type, &d->k_type, &d->v_type};
    for (int i = 0; i < 3; i++) {
        if (!(it = cJSON_GetObjectItemCaseSensitive(meta, tensors[i]))) continue;
        if (!cJSON_IsString(it)) {
            snprintf(err, err_len, "meta.json: \"%s\" is not a string", tensors[i]);
            return -1;
        }
        if (seattn_dtype_from_name(it->valuestring, types[i]) != SEATTN_SUCCESS) {
            snprintf(err, err_len, "uses %s %s, which seattn does not support yet", tensors[i],
                     it->valuestring);
            return -2;
        }
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "rotary_dims"))) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 2 || it->valuedouble > d->head_dim ||
            it->valuedouble != floor(it->valuedouble)) {
            snprintf(err, err_len, "meta.json: \"rotary_dims\" is not an integer in 2..head_dim");
            return -1;
        }
        d->rotary_dims = (uint32_t)it->valuedouble;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "rope_layout"))) {
        if (cJSON_IsString(it) && strcmp(it->valuestring, "rotate_half") == 0) {
            d->rope_layout = SEATTN_ROPE_ROTATE_HALF;
        } else if (cJSON_IsString(it) && strcmp(it->valuestring, "interleaved") == 0) {
            d->rope_layout = SEATTN_ROPE_INTERLEAVED;
        } else {
            snprintf(err, err_len, "meta.json: \"rope_layout\" is not rotate_half or interleaved");
            return -1;
        }
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "logit_softcap"))) {
        if (!cJSON_IsNumber(it)) {
            snprintf(err, err_len, "meta.json: \"logit_softcap\" is not a number");
            return -1;
        }
        d->logit_softcap = (float)it->valuedouble; /* checked by the library */
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "rope_attention_factor"))) {
        if (!cJSON_IsNumber(it)) {
            snprintf(err, err_len, "meta.json: \"rope_attention_factor\" is not a number");
            return -1;
        }
        d->rope_attention_factor = (float)it->valuedouble; /* checked by the library */
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(meta, "rope_inv_freq"))) {
        const uint32_t half = (d->rotary_dims ? d->rotary_dims : d->head_dim) / 2;
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != (int)half) {
            snprintf(err, err_len, "meta.json: \"rope_inv_freq\" is not an array of %u numbers",
                     half);
            return -1;
        }
        if (!(c->inv_freq = malloc(sizeof(double) * half))) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        uint32_t m = 0;
        for (const cJSON *f = it->child; f; f = f->next, m++) {
            if (!cJSON_IsNumber(f)) {
                snprintf(err, err_len, "meta.json: rope_inv_freq[%u] is not a number", m);
                return -1;
            }
            c->inv_freq[m] = f->valuedouble; /* checked by the library */
        }
        d->rope_inv_freq = c->inv_freq;
    }
    return 0;
}

/* Each of q, k, v as stored: the raw file <t>.<dtype> of a type other than f32, which must
 * decode to the .f32 values bit for bit, else the f32 values themselves. */
static int read_raw(const char *dir, golden_case *c, char *err, size_t err_len) {
    static const char *const names[3] = {"q", "k", "v"};
    const seattn_dtype types[3] = {c->desc.q_type, c->desc.k_type, c->desc.v_type};
    const float scales[3] = {1.0f, c->desc.k_scale ? c->desc.k_scale : 1.0f,
                             c->desc.v_scale ? c->desc.v_scale : 1.0f};
    const float *f32[3] = {c->q, c->k, c->v};
    const size_t n[3] = {c->q_n, c->k_n, c->v_n};
    for (int i = 0; i < 3; i++) {
        const size_t bytes = seattn_dtype_bytes(types[i], n[i]);
        c->raw_bytes[i] = bytes;
        if (types[i] == SEATTN_DTYPE_F32) {
            if (!(c->raw[i] = malloc(bytes))) return -1;
            memcpy(c->raw[i], f32[i], bytes);
            continue;
        }
        char file[64], path[4096];
        snprintf(file, sizeof file, "%s.%s", names[i], seattn_dtype_name(types[i]));
        snprintf(path, sizeof path, "%s/%s", dir, file);
        size_t len = 0;
        if (!(c->raw[i] = (unsigned char *)cli_read_file(path, &len))) {
            snprintf(err, err_len, "%s: cannot be read", file);
            return -1;
        }
        if (len != bytes) {
            snprintf(err, err_len, "%s: %zu bytes, but the shapes in meta.json need %zu", file, len,
                     bytes);
            return -1;
        }
        float *dec = malloc(n[i] * sizeof(float) + 1);
        if (!dec) return -1;
        const seattn_status s = seattn_dequantize(types[i], c->raw[i], n[i], dec, scales[i]);
        size_t bad = n[i];
        for (size_t e = 0; s == SEATTN_SUCCESS && e < n[i] && bad == n[i]; e++)
            if (memcmp(&dec[e], &f32[i][e], sizeof(float)) != 0) bad = e;
        free(dec);
        if (s != SEATTN_SUCCESS || bad != n[i]) {
            snprintf(err, err_len, "%s does not decode to %s.f32 (element %zu differs)", file,
                     names[i], bad);
            return -1;
        }
    }
    return 0;
}

int golden_case_load(const char *dir, golden_case *c, char *err, size_t err_len) {
    memset(c, 0, sizeof *c);
    const char *base = strrchr(dir, '/');
    snprintf(c->name, sizeof c->name, "%s", base && base[1] ? base + 1 : dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    size_t len = 0;
    char *text = cli_read_file(path, &len);
    if (!text) {
        snprintf(err, err_len, "meta.json: cannot be read");
        return -1;
    }
    cJSON *meta = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(meta)) {
        snprintf(err, err_len, "meta.json: not a JSON object (malformed)");
        cJSON_Delete(meta);
        return -1;
    }
    double nh, nkv, hd, ql, kl, qp, kp, g, w, theta, scale, sb;
    int bad = get_num(meta, "n_heads", 1, &nh, err, err_len) ||
              get_num(meta, "n_kv_heads", 1, &nkv, err, err_len) ||
              get_num(meta, "head_dim", 1, &hd, err, err_len) ||
              get_num(meta, "q_len", 1, &ql, err, err_len) ||
              get_num(meta, "kv_len", 1, &kl, err, err_len) ||
              get_num(meta, "q_pos_start", 1, &qp, err, err_len) ||
              get_num(meta, "k_pos_start", 1, &kp, err, err_len) ||
              get_num(meta, "group_size_G", 1, &g, err, err_len) ||
              get_num(meta, "neighbor_window_W", 1, &w, err, err_len) ||
              get_num(meta, "rope_theta", 0, &theta, err, err_len) ||
              get_num(meta, "softmax_scale", 0, &scale, err, err_len) ||
              get_num(meta, "scale_base", 0, &sb, err, err_len);
    if (!bad) {
        c->desc.head_dim = hd >= 1 && hd <= 512 ? (uint32_t)hd : 0;
        c->desc.n_heads = nh >= 1 && nh <= 65536 ? (uint32_t)nh : 0;
        bad = read_features(meta, c, err, err_len);
    }
    cJSON_Delete(meta);
    if (bad) {
        golden_case_free(c);
        return bad == -2 ? -2 : -1; /* get_num's chain gives 1 */
    }
    if (kp != 0) {
        snprintf(err, err_len, "meta.json: k_pos_start %g is not 0 (unsupported)", kp);
        golden_case_free(c);
        return -1;
    }
    if (nh < 1 || nkv < 1 || hd < 1 || ql < 1 || kl < 1 || nh * ql * hd > 1e9 ||
        nkv * kl * hd > 1e9) {
        snprintf(err, err_len, "meta.json: shapes are empty or too large");
        golden_case_free(c);
        return -1;
    }
    seattn_attention_desc *d = &c->desc;
    d->n_heads = (uint32_t)nh;
    d->n_kv_heads = (uint32_t)nkv;
    d->head_dim = (uint32_t)hd;
    d->q_len = (uint32_t)ql;
    d->kv_len = (uint32_t)kl;
    d->flags |= SEATTN_ATTN_Q_POS;
    d->q_pos = (uint32_t)qp;
    d->group_size = (int32_t)g;
    d->neighbor_window = (int32_t)w;
    d->rope_theta = (float)theta;
    d->scale = (float)scale;
    d->scale_base = sb > 0 ? (float)sb : 0.0f;
    const size_t dv = d->v_head_dim ? d->v_head_dim : d->head_dim;
    c->q_n = (size_t)nh * (size_t)ql * (size_t)hd;
    c->k_n = (size_t)nkv * (size_t)kl * (size_t)hd;
    c->v_n = (size_t)nkv * (size_t)kl * dv;
    c->out_n = (size_t)nh * (size_t)ql * dv;
    if (!(c->q = read_array(dir, "q.f32", c->q_n, err, err_len)) ||
        !(c->k = read_array(dir, "k.f32", c->k_n, err, err_len)) ||
        !(c->v = read_array(dir, "v.f32", c->v_n, err, err_len)) ||
        !(c->out = read_array(dir, "out.f32", c->out_n, err, err_len))) {
        golden_case_free(c);
        return -1;
    }
    if (read_raw(dir, c, err, err_len)) {
        golden_case_free(c);
        return -1;
    }
    snprintf(path, sizeof path, "%s/lse.f32", dir);
    if (seattn__path_kind(path) == 1 &&
        !(c->lse = read_array(dir, "lse.f32", (size_t)nh * (size_t)ql, err, err_len))) {
        golden_case_free(c);
        return -1;
    }
    return 0;
}

void golden_case_free(golden_case *c) {
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->out);
    free(c->inv_freq);
    free(c->sinks);
    free(c->lse);
    for (int i = 0; i < 3; i++) {
        free(c->raw[i]);
        c->raw[i] = NULL;
    }
    c->q = c->k = c->v = c->out = c->sinks = c->lse = NULL;
    c->inv_freq = NULL;
    c->desc.rope_inv_freq = NULL;
}

seattn_status golden_tensor(seattn_context *ctx, const float *x, size_t n, seattn_dtype dt,
                            seattn_tensor **out) {
    *out = NULL;
    const size_t es = dt == SEATTN_DTYPE_F16 ? 2 : 4;
    void *h = NULL;
    if (dt == SEATTN_DTYPE_F16) {
        if (!(h = malloc(n * 2 + 2))) return SEATTN_ERROR_OUT_OF_MEMORY;
        seattn_f32_to_f16(x, h, n);
    }
    seattn_status s = seattn_tensor_create(ctx, n * es, out);
    if (!s) s = seattn_tensor_upload(ctx, *out, 0, h ? h : (const void *)x, n * es);
    free(h);
    return s;
}

seattn_status golden_bytes_tensor(seattn_context *ctx, const void *bytes, size_t n,
                                  seattn_tensor **out) {
    *out = NULL;
    seattn_status s = seattn_tensor_create(ctx, n, out);
    if (!s) s = seattn_tensor_upload(ctx, *out, 0, bytes, n);
    return s;
}

typedef struct {
    char **v;
    int n, cap;
} str_list;

static int push(str_list *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, sizeof(char *) * (size_t)cap);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    const size_t n = strlen(s) + 1;
    if (!(l->v[l->n] = malloc(n))) return -1;
    memcpy(l->v[l->n++], s, n);
    return 0;
}

static int walk(const char *dir, str_list *l, int depth);

typedef struct {
    const char *dir;
    str_list *l;
    int depth;
} walk_state;

static int walk_entry(const char *name, void *arg) {
    const walk_state *w = arg;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    return seattn__path_kind(path) == 2 ? walk(path, w->l, w->depth + 1) : 0;
}

static int walk(const char *dir, str_list *l, int depth) {
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (seattn__path_kind(path) == 1) return push(l, dir) ? -2 : 0; /* -2: out of memory */
    if (depth > 8) return 0;
    walk_state w = {dir, l, depth};
    const int rc = seattn__list_dir(dir, walk_entry, &w);
    return rc == -1 && depth > 0 ? 0 : rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int golden_find(const char *root, char ***dirs) {
    str_list l = {0};
    if (walk(root, &l, 0) != 0) {
        golden_dirs_free(l.v, l.n);
        *dirs = NULL;
        return -1;
    }
    if (l.n) qsort(l.v, (size_t)l.n, sizeof(char *), cmp_str);
    *dirs = l.v;
    return l.n;
}

void golden_dirs_free(char **dirs, int n) {
    for (int i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
}

/* The largest absolute difference of n values (NaN sticks: an unwritten or broken element). */
static double max_abs_diff(const float *got, const float *want, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)got[i] - (double)want[i]);
        if (!(e <= m)) m = e;
    }
    return m;
}

seattn_status golden_case_run(seattn_context *ctx, const golden_case *c, double *max_err) {
    *max_err = INFINITY;
    const size_t n_lse = c->lse ? (size_t)c->desc.n_heads * c->desc.q_len : 0;
    seattn_tensor *q = NULL, *k = NULL, *v = NULL, *o = NULL, *l = NULL, *sk = NULL;
    float *got = malloc((c->out_n + n_lse) * sizeof(float));
    seattn_status s = got ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    if (!s) s = golden_bytes_tensor(ctx, c->raw[0], c->raw_bytes[0], &q);
    if (!s) s = golden_bytes_tensor(ctx, c->raw[1], c->raw_bytes[1], &k);
    if (!s) s = golden_bytes_tensor(ctx, c->raw[2], c->raw_bytes[2], &v);
    if (!s && c->sinks) s = golden_tensor(ctx, c->sinks, c->desc.n_heads, SEATTN_DTYPE_F32, &sk);
    if (!s) s = seattn_tensor_create(ctx, c->out_n * 4, &o);
    if (!s && n_lse) s = seattn_tensor_create(ctx, n_lse * 4, &l);
    if (!s) {
        for (size_t i = 0; i < c->out_n + n_lse; i++)
            got[i] = NAN;
        s = seattn_tensor_upload(ctx, o, 0, got, c->out_n * 4);
        if (!s && l) s = seattn_tensor_upload(ctx, l, 0, got, n_lse * 4);
    }
    const seattn_attention_tensors ts = {.q = q, .k = k, .v = v, .out = o, .lse = l, .sinks = sk};
    if (!s) s = seattn_attention_run(ctx, &c->desc, &ts);
    if (!s) s = seattn_tensor_download(ctx, o, 0, got, c->out_n * 4);
    if (!s && l) s = seattn_tensor_download(ctx, l, 0, got + c->out_n, n_lse * 4);
    if (!s) {
        const double eo = max_abs_diff(got, c->out, c->out_n);
        const double el = n_lse ? max_abs_diff(got + c->out_n, c->lse, n_lse) : 0.0;
        *max_err = !(eo <= el) ? eo : el; /* NaN sticks */
    }
    seattn_tensor_destroy(q);
    seattn_tensor_destroy(k);
    seattn_tensor_destroy(v);
    seattn_tensor_destroy(o);
    seattn_tensor_destroy(l);
    seattn_tensor_destroy(sk);
    free(got);
    return s;
}
