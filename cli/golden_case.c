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
    cJSON_Delete(meta);
    if (bad) return -1;
    if (kp != 0) {
        snprintf(err, err_len, "meta.json: k_pos_start %g is not 0 (unsupported)", kp);
        return -1;
    }
    if (nh < 1 || nkv < 1 || hd < 1 || ql < 1 || kl < 1 || nh * ql * hd > 1e9 ||
        nkv * kl * hd > 1e9) {
        snprintf(err, err_len, "meta.json: shapes are empty or too large");
        return -1;
    }
    seattn_attention_desc *d = &c->desc;
    d->n_heads = (uint32_t)nh;
    d->n_kv_heads = (uint32_t)nkv;
    d->head_dim = (uint32_t)hd;
    d->q_len = (uint32_t)ql;
    d->kv_len = (uint32_t)kl;
    d->flags = SEATTN_ATTN_Q_POS;
    d->q_pos = (uint32_t)qp;
    d->group_size = (int32_t)g;
    d->neighbor_window = (int32_t)w;
    d->rope_theta = (float)theta;
    d->scale = (float)scale;
    d->scale_base = sb > 0 ? (float)sb : 0.0f;
    c->q_n = (size_t)nh * (size_t)ql * (size_t)hd;
    c->k_n = c->v_n = (size_t)nkv * (size_t)kl * (size_t)hd;
    c->out_n = c->q_n;
    if (!(c->q = read_array(dir, "q.f32", c->q_n, err, err_len)) ||
        !(c->k = read_array(dir, "k.f32", c->k_n, err, err_len)) ||
        !(c->v = read_array(dir, "v.f32", c->v_n, err, err_len)) ||
        !(c->out = read_array(dir, "out.f32", c->out_n, err, err_len))) {
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
    c->q = c->k = c->v = c->out = NULL;
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

seattn_status golden_case_run(seattn_context *ctx, const golden_case *c, double *max_err) {
    *max_err = INFINITY;
    seattn_tensor *q = NULL, *k = NULL, *v = NULL, *o = NULL;
    float *got = malloc(c->out_n * sizeof(float));
    seattn_status s = got ? SEATTN_SUCCESS : SEATTN_ERROR_OUT_OF_MEMORY;
    if (!s) s = seattn_tensor_create(ctx, c->q_n * 4, &q);
    if (!s) s = seattn_tensor_create(ctx, c->k_n * 4, &k);
    if (!s) s = seattn_tensor_create(ctx, c->v_n * 4, &v);
    if (!s) s = seattn_tensor_create(ctx, c->out_n * 4, &o);
    if (!s) s = seattn_tensor_upload(ctx, q, 0, c->q, c->q_n * 4);
    if (!s) s = seattn_tensor_upload(ctx, k, 0, c->k, c->k_n * 4);
    if (!s) s = seattn_tensor_upload(ctx, v, 0, c->v, c->v_n * 4);
    if (!s) {
        for (size_t i = 0; i < c->out_n; i++)
            got[i] = NAN;
        s = seattn_tensor_upload(ctx, o, 0, got, c->out_n * 4);
    }
    if (!s) s = seattn_attention(ctx, &c->desc, q, k, v, o, NULL);
    if (!s) s = seattn_tensor_download(ctx, o, 0, got, c->out_n * 4);
    if (!s) {
        double m = 0.0;
        for (size_t i = 0; i < c->out_n; i++) {
            double e = fabs((double)got[i] - (double)c->out[i]);
            if (isnan(e)) {
                m = NAN; /* an unwritten (poisoned) or broken element */
                break;
            }
            if (e > m) m = e;
        }
        *max_err = m;
    }
    seattn_tensor_destroy(q);
    seattn_tensor_destroy(k);
    seattn_tensor_destroy(v);
    seattn_tensor_destroy(o);
    free(got);
    return s;
}
