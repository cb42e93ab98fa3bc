/* The passkey model: loading, the CPU parts of its forward, and its attention through seattn. */
#include "file_util.h"
#include "passkey.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tensor called name, checked against the expected element count. */
static const float *tensor(const cJSON *list, const float *data, size_t bytes, const char *name,
                           size_t numel) {
    const cJSON *t;
    cJSON_ArrayForEach(t, list) {
        const cJSON *n = cJSON_GetObjectItem(t, "name"),
                    *off = cJSON_GetObjectItem(t, "offset_bytes"),
                    *cnt = cJSON_GetObjectItem(t, "numel");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0) continue;
        if (!cJSON_IsNumber(off) || !cJSON_IsNumber(cnt) || (size_t)cnt->valuedouble != numel ||
            off->valuedouble < 0 || (size_t)off->valuedouble % 4 != 0 ||
            (size_t)off->valuedouble + numel * 4 > bytes) {
            fprintf(stderr, "seattn passkey: tensor %s: wrong size or offset\n", name);
            return NULL;
        }
        return data + (size_t)off->valuedouble / 4;
    }
    fprintf(stderr, "seattn passkey: model.json has no tensor %s\n", name);
    return NULL;
}

int pk_model_load(const char *dir, pk_model *m) {
    memset(m, 0, sizeof *m);
    char path[4096];
    size_t json_size = 0, bytes = 0;
    snprintf(path, sizeof path, "%s/model.json", dir);
    char *json = bench_read_file(path, &json_size);
    snprintf(path, sizeof path, "%s/model.f32", dir);
    m->data = (float *)bench_read_file(path, &bytes);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    free(json);
    if (!root || !m->data) {
        fprintf(stderr, "seattn passkey: cannot read %s/model.json and model.f32\n", dir);
        cJSON_Delete(root);
        pk_model_free(m);
        return -1;
    }
    const cJSON *cfg = cJSON_GetObjectItem(root, "config");
    const cJSON *list = cJSON_GetObjectItem(root, "tensors");
    const int want[5] = {PK_D, PK_HEADS, PK_LAYERS, PK_FF, PK_VOCAB};
    const char *keys[5] = {"d", "h", "nl", "ff", "vocab"};
    int ok = cJSON_IsArray(list);
    for (int i = 0; i < 5 && ok; i++) {
        const cJSON *x = cJSON_GetObjectItem(cfg, keys[i]);
        ok = cJSON_IsNumber(x) && x->valueint == want[i];
    }
    const cJSON *th = cJSON_GetObjectItem(cfg, "rope_theta");
    m->theta = cJSON_IsNumber(th) ? th->valuedouble : 10000.0;
    if (!ok) fprintf(stderr, "seattn passkey: model.json is not the d 64, 4 x 16, 3-layer model\n");
    m->emb = ok ? tensor(list, m->data, bytes, "emb.weight", PK_VOCAB * PK_D) : NULL;
    m->ln_f = ok ? tensor(list, m->data, bytes, "ln_f.weight", PK_D) : NULL;
    m->head = ok ? tensor(list, m->data, bytes, "head.weight", PK_VOCAB * PK_D) : NULL;
    ok = ok && m->emb && m->ln_f && m->head;
    for (int l = 0; l < PK_LAYERS && ok; l++) {
        pk_layer *y = &m->layers[l];
        char n[64];
#define PK_T(field, name, count)                                                                   \
    snprintf(n, sizeof n, "blocks.%d.%s.weight", l, name);                                         \
    ok = ok && (y->field = tensor(list, m->data, bytes, n, count)) != NULL;
        PK_T(ln1, "ln1", PK_D)
        PK_T(wq, "wq", PK_D * PK_D)
        PK_T(wk, "wk", PK_D * PK_D)
        PK_T(wv, "wv", PK_D * PK_D)
        PK_T(wo, "wo", PK_D * PK_D)
        PK_T(ln2, "ln2", PK_D)
        PK_T(w1, "w1", PK_FF * PK_D)
        PK_T(w2, "w2", PK_D * PK_FF)
#undef PK_T
    }
    cJSON_Delete(root);
    if (!ok) {
        pk_model_free(m);
        return -1;
    }
    return 0;
}

void pk_model_free(pk_model *m) {
    free(m->data);
    memset(m, 0, sizeof *m);
}

struct pk_session {
    seattn_context *ctx;
    const pk_model *m;
    uint32_t max_len;
    seattn_tensor *k[PK_LAYERS], *v[PK_LAYERS]; /* [max_len, 64]: token-major, 4 heads of 16 */
    seattn_tensor *q, *out;                     /* [max_len, 64] */
    float *x, *y, *q_h, *k_h, *v_h, *att, *ff;  /* host rows */
    float *cos_t, *sin_t;                       /* RoPE of positions 0 .. max_len - 1 */
};

void pk_session_destroy(pk_session *s) {
    if (!s) return;
    for (int l = 0; l < PK_LAYERS; l++) {
        seattn_tensor_destroy(s->k[l]);
        seattn_tensor_destroy(s->v[l]);
    }
    seattn_tensor_destroy(s->q);
    seattn_tensor_destroy(s->out);
    free(s->x);
    free(s->y);
    free(s->q_h);
    free(s->k_h);
    free(s->v_h);
    free(s->att);
    free(s->ff);
    free(s->cos_t);
    free(s->sin_t);
    free(s);
}

seattn_status pk_session_create(seattn_context *ctx, const pk_model *m, uint32_t max_len,
                                pk_session **out) {
    pk_session *s = calloc(1, sizeof *s);
    if (!s) return SEATTN_ERROR_OUT_OF_MEMORY;
    s->ctx = ctx;
    s->m = m;
    s->max_len = max_len;
    const size_t rows = (size_t)max_len * PK_D;
    seattn_status st = SEATTN_SUCCESS;
    for (int l = 0; l < PK_LAYERS && !st; l++)
        if (!(st = seattn_tensor_create(ctx, rows * 4, &s->k[l])))
            st = seattn_tensor_create(ctx, rows * 4, &s->v[l]);
    if (!st) st = seattn_tensor_create(ctx, rows * 4, &s->q);
    if (!st) st = seattn_tensor_create(ctx, rows * 4, &s->out);
    s->x = malloc(rows * 4);
    s->y = malloc(rows * 4);
    s->q_h = malloc(rows * 4);
    s->k_h = malloc(rows * 4);
    s->v_h = malloc(rows * 4);
    s->att = malloc(rows * 4);
    s->ff = malloc((size_t)max_len * PK_FF * 4);
    s->cos_t = malloc((size_t)max_len * (PK_HD / 2) * 4);
    s->sin_t = malloc((size_t)max_len * (PK_HD / 2) * 4);
    if (!st &&
        !(s->x && s->y && s->q_h && s->k_h && s->v_h && s->att && s->ff && s->cos_t && s->sin_t))
        st = SEATTN_ERROR_OUT_OF_MEMORY;
    for (uint32_t p = 0; !st && p < max_len; p++)
        for (int i = 0; i < PK_HD / 2; i++) {
            const double a = p * pow(m->theta, -2.0 * i / PK_HD);
            s->cos_t[p * (PK_HD / 2) + i] = (float)cos(a);
            s->sin_t[p * (PK_HD / 2) + i] = (float)sin(a);
        }
    if (st) {
        pk_session_destroy(s);
        return st;
    }
    *out = s;
    return SEATTN_SUCCESS;
}

/* y[r] = W x[r] for n rows; W is [n_out, n_in] row-major. Eight partial sums vectorize. */
static void linear(const float *w, const float *x, float *y, uint32_t n, int n_in, int n_out) {
    for (uint32_t r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * n_in;
        for (int o = 0; o < n_out; o++) {
            const float *wo = w + (size_t)o * n_in;
            float acc[8] = {0};
            for (int i = 0; i < n_in; i += 8)
                for (int k = 0; k < 8; k++)
                    acc[k] += wo[i + k] * xr[i + k];
            y[(size_t)r * n_out + o] =
                ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        }
    }
}

static void rmsnorm(const float *x, const float *w, float *y, uint32_t n) {
    for (uint32_t r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * PK_D;
        double ss = 0.0;
        for (int i = 0; i < PK_D; i++)
            ss += (double)xr[i] * xr[i];
        const float f = (float)(1.0 / sqrt(ss / PK_D + 1e-6));
        for (int i = 0; i < PK_D; i++)
            y[(size_t)r * PK_D + i] = xr[i] * f * w[i];
    }
}

seattn_status pk_forward(pk_session *s, const uint8_t *tokens, uint32_t n, uint32_t pos, int32_t g,
                         int32_t w, float *logits) {
    const pk_model *m = s->m;
    if (n == 0 || pos + n > s->max_len) return SEATTN_ERROR_INVALID_ARGUMENT;
    for (uint32_t r = 0; r < n; r++) {
        if (tokens[r] >= PK_VOCAB) return SEATTN_ERROR_INVALID_ARGUMENT;
        memcpy(s->x + (size_t)r * PK_D, m->emb + (size_t)tokens[r] * PK_D, PK_D * 4);
    }
    seattn_attention_desc d = {0};
    d.n_heads = d.n_kv_heads = PK_HEADS;
    d.head_dim = PK_HD;
    d.q_len = n;
    d.kv_len = pos + n;
    d.flags = SEATTN_ATTN_Q_POS;
    d.q_pos = pos;
    d.group_size = g;
    d.neighbor_window = w;
    d.rope_theta = (float)m->theta;
    d.key_mode = SEATTN_KEYS_ROTATED; /* the cache holds keys rotated at their own positions */
    d.q_strides = d.k_strides = d.v_strides = d.out_strides = (seattn_strides){PK_HD, PK_D};
    const size_t bytes = (size_t)n * PK_D * 4, at = (size_t)pos * PK_D * 4;
    seattn_status st = SEATTN_SUCCESS;
    for (int l = 0; l < PK_LAYERS && !st; l++) {
        const pk_layer *L = &m->layers[l];
        rmsnorm(s->x, L->ln1, s->y, n);
        linear(L->wq, s->y, s->q_h, n, PK_D, PK_D);
        linear(L->wk, s->y, s->k_h, n, PK_D, PK_D);
        linear(L->wv, s->y, s->v_h, n, PK_D, PK_D);
        for (uint32_t r = 0; r < n; r++) /* rotate the new keys to their positions */
            for (int h = 0; h < PK_HEADS; h++) {
                float *k = s->k_h + (size_t)r * PK_D + h * PK_HD;
                const float *c = s->cos_t + (size_t)(pos + r) * (PK_HD / 2);
                const float *sn = s->sin_t + (size_t)(pos + r) * (PK_HD / 2);
                for (int i = 0; i < PK_HD / 2; i++) {
                    const float a = k[i], b = k[i + PK_HD / 2];
                    k[i] = a * c[i] - b * sn[i];
                    k[i + PK_HD / 2] = b * c[i] + a * sn[i];
                }
            }
        if ((st = seattn_tensor_upload(s->ctx, s->k[l], at, s->k_h, bytes)) ||
            (st = seattn_tensor_upload(s->ctx, s->v[l], at, s->v_h, bytes)) ||
            (st = seattn_tensor_upload(s->ctx, s->q, 0, s->q_h, bytes)) ||
            (st = seattn_attention(s->ctx, &d, s->q, s->k[l], s->v[l], s->out, NULL)) ||
            (st = seattn_tensor_download(s->ctx, s->out, 0, s->att, bytes)))
            break;
        linear(L->wo, s->att, s->y, n, PK_D, PK_D);
        for (size_t i = 0; i < (size_t)n * PK_D; i++)
            s->x[i] += s->y[i];
        rmsnorm(s->x, L->ln2, s->y, n);
        linear(L->w1, s->y, s->ff, n, PK_D, PK_FF);
        for (size_t i = 0; i < (size_t)n * PK_FF; i++)
            s->ff[i] /= 1.0f + expf(-s->ff[i]);
        linear(L->w2, s->ff, s->y, n, PK_FF, PK_D);
        for (size_t i = 0; i < (size_t)n * PK_D; i++)
            s->x[i] += s->y[i];
    }
    if (st) return st;
    rmsnorm(s->x + (size_t)(n - 1) * PK_D, m->ln_f, s->y, 1);
    linear(m->head, s->y, logits, 1, PK_D, PK_VOCAB);
    return SEATTN_SUCCESS;
}

seattn_status pk_answer(pk_session *s, const uint8_t *prompt, uint32_t n, int32_t g, int32_t w,
                        const uint8_t *forced, uint8_t *answer, float *logits) {
    float row[PK_VOCAB];
    seattn_status st = pk_forward(s, prompt, n, 0, g, w, row);
    for (int t = 0; !st && t < PK_ANSWER; t++) {
        if (logits) memcpy(logits + t * PK_VOCAB, row, sizeof row);
        int best = 0;
        for (int i = 1; i < PK_VOCAB; i++)
            if (row[i] > row[best]) best = i;
        answer[t] = (uint8_t)best;
        const uint8_t next = forced ? forced[t] : answer[t];
        if (t + 1 < PK_ANSWER) st = pk_forward(s, &next, 1, n + (uint32_t)t, g, w, row);
    }
    return st;
}

uint32_t pk_prompts_load(const char *dir, uint32_t len, uint8_t **rows) {
    char path[4096];
    snprintf(path, sizeof path, "%s/prompts_%u.u8", dir, len);
    size_t size = 0;
    *rows = (uint8_t *)bench_read_file(path, &size);
    if (!*rows || size % len != 0) {
        free(*rows);
        *rows = NULL;
        return 0;
    }
    return (uint32_t)(size / len);
}
