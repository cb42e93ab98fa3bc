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
    char *json = cli_read_file(path, &json_size);
    snprintf(path, sizeof path, "%s/model.f32", dir);
    m->data = (float *)cli_read_file(path, &bytes);
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

/* The host side of a forward: activations of n_rows tokens, RoPE of max_pos positions. */
typedef struct {
    float *x, *y, *q_h, *k_h, *v_h, *att, *ff; /* host rows */
    float *cos_t, *sin_t;                      /* RoPE of positions 0 .. max_pos - 1 */
} pk_rows;

static void rows_free(pk_rows *r) {
    free(r->x);
    free(r->y);
    free(r->q_h);
    free(r->k_h);
    free(r->v_h);
    free(r->att);
    free(r->ff);
    free(r->cos_t);
    free(r->sin_t);
}

static seattn_status rows_alloc(pk_rows *r, const pk_model *m, uint32_t n_rows, uint32_t max_pos) {
    const size_t rows = (size_t)n_rows * PK_D;
    r->x = malloc(rows * 4);
    r->y = malloc(rows * 4);
    r->q_h = malloc(rows * 4);
    r->k_h = malloc(rows * 4);
    r->v_h = malloc(rows * 4);
    r->att = malloc(rows * 4);
    r->ff = malloc((size_t)n_rows * PK_FF * 4);
    r->cos_t = malloc((size_t)max_pos * (PK_HD / 2) * 4);
    r->sin_t = malloc((size_t)max_pos * (PK_HD / 2) * 4);
    if (!(r->x && r->y && r->q_h && r->k_h && r->v_h && r->att && r->ff && r->cos_t && r->sin_t))
        return SEATTN_ERROR_OUT_OF_MEMORY;
    for (uint32_t p = 0; p < max_pos; p++)
        for (int i = 0; i < PK_HD / 2; i++) {
            const double a = p * pow(m->theta, -2.0 * i / PK_HD);
            r->cos_t[p * (PK_HD / 2) + i] = (float)cos(a);
            r->sin_t[p * (PK_HD / 2) + i] = (float)sin(a);
        }
    return SEATTN_SUCCESS;
}

struct pk_session {
    seattn_context *ctx;
    const pk_model *m;
    uint32_t max_len;
    seattn_tensor *k[PK_LAYERS], *v[PK_LAYERS]; /* [max_len, 64]: token-major, 4 heads of 16 */
    seattn_tensor *q, *out;                     /* [max_len, 64] */
    pk_rows h;
};

void pk_session_destroy(pk_session *s) {
    if (!s) return;
    for (int l = 0; l < PK_LAYERS; l++) {
        seattn_tensor_destroy(s->k[l]);
        seattn_tensor_destroy(s->v[l]);
    }
    seattn_tensor_destroy(s->q);
    seattn_tensor_destroy(s->out);
    rows_free(&s->h);
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
    if (!st) st = rows_alloc(&s->h, m, max_len, max_len);
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

/* The embeddings of n tokens into h->x; SEATTN_ERROR_INVALID_ARGUMENT for a token past the
 * vocabulary. */
static seattn_status embed(const pk_model *m, pk_rows *h, const uint8_t *tokens, uint32_t n) {
    for (uint32_t r = 0; r < n; r++) {
        if (tokens[r] >= PK_VOCAB) return SEATTN_ERROR_INVALID_ARGUMENT;
        memcpy(h->x + (size_t)r * PK_D, m->emb + (size_t)tokens[r] * PK_D, PK_D * 4);
    }
    return SEATTN_SUCCESS;
}

/* A layer before its attention: q, k, v of n rows. */
static void layer_qkv(const pk_layer *L, pk_rows *h, uint32_t n) {
    rmsnorm(h->x, L->ln1, h->y, n);
    linear(L->wq, h->y, h->q_h, n, PK_D, PK_D);
    linear(L->wk, h->y, h->k_h, n, PK_D, PK_D);
    linear(L->wv, h->y, h->v_h, n, PK_D, PK_D);
}

/* Key row r (every head) rotated to position pos, as the cache holds keys. */
static void rotate_key(pk_rows *h, uint32_t r, uint32_t pos) {
    for (int hd = 0; hd < PK_HEADS; hd++) {
        float *k = h->k_h + (size_t)r * PK_D + hd * PK_HD;
        const float *c = h->cos_t + (size_t)pos * (PK_HD / 2);
        const float *sn = h->sin_t + (size_t)pos * (PK_HD / 2);
        for (int i = 0; i < PK_HD / 2; i++) {
            const float a = k[i], b = k[i + PK_HD / 2];
            k[i] = a * c[i] - b * sn[i];
            k[i + PK_HD / 2] = b * c[i] + a * sn[i];
        }
    }
}

/* A layer after its attention (h->att): the output projection, the residual and the MLP. */
static void layer_rest(const pk_layer *L, pk_rows *h, uint32_t n) {
    linear(L->wo, h->att, h->y, n, PK_D, PK_D);
    for (size_t i = 0; i < (size_t)n * PK_D; i++)
        h->x[i] += h->y[i];
    rmsnorm(h->x, L->ln2, h->y, n);
    linear(L->w1, h->y, h->ff, n, PK_D, PK_FF);
    for (size_t i = 0; i < (size_t)n * PK_FF; i++)
        h->ff[i] /= 1.0f + expf(-h->ff[i]);
    linear(L->w2, h->ff, h->y, n, PK_FF, PK_D);
    for (size_t i = 0; i < (size_t)n * PK_D; i++)
        h->x[i] += h->y[i];
}

seattn_status pk_forward(pk_session *s, const uint8_t *tokens, uint32_t n, uint32_t pos, int32_t g,
                         int32_t w, float *logits) {
    const pk_model *m = s->m;
    pk_rows *hr = &s->h;
    if (n == 0 || pos + n > s->max_len) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (embed(m, hr, tokens, n)) return SEATTN_ERROR_INVALID_ARGUMENT;
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
        layer_qkv(L, hr, n);
        for (uint32_t r = 0; r < n; r++) /* rotate the new keys to their positions */
            rotate_key(hr, r, pos + r);
        if ((st = seattn_tensor_upload(s->ctx, s->k[l], at, hr->k_h, bytes)) ||
            (st = seattn_tensor_upload(s->ctx, s->v[l], at, hr->v_h, bytes)) ||
            (st = seattn_tensor_upload(s->ctx, s->q, 0, hr->q_h, bytes)) ||
            (st = seattn_attention(s->ctx, &d, s->q, s->k[l], s->v[l], s->out, NULL)) ||
            (st = seattn_tensor_download(s->ctx, s->out, 0, hr->att, bytes)))
            break;
        layer_rest(L, hr, n);
    }
    if (st) return st;
    rmsnorm(hr->x + (size_t)(n - 1) * PK_D, m->ln_f, hr->y, 1);
    linear(m->head, hr->y, logits, 1, PK_D, PK_VOCAB);
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
    *rows = (uint8_t *)cli_read_file(path, &size);
    if (!*rows || size % len != 0) {
        free(*rows);
        *rows = NULL;
        return 0;
    }
    return (uint32_t)(size / len);
}

/* ---- Many prompts at once: batched prefill and decode over a paged cache ------------------ */

struct pk_batch {
    seattn_context *ctx;
    const pk_model *m;
    uint32_t n_seqs, max_len, page, pages_per_seq, pool_tokens;
    seattn_tensor *k[PK_LAYERS], *v[PK_LAYERS];   /* pools [pool_tokens, 64], pages shuffled */
    float *k_host[PK_LAYERS], *v_host[PK_LAYERS]; /* the pools as the host writes them */
    seattn_tensor *q, *out, *seqs, *table;        /* q, out: [n_seqs * max_len, 64] */
    uint32_t *bt;                                 /* block table: n_seqs rows of pages_per_seq */
    pk_rows h;                                    /* n_seqs * max_len rows */
};

void pk_batch_destroy(pk_batch *b) {
    if (!b) return;
    for (int l = 0; l < PK_LAYERS; l++) {
        seattn_tensor_destroy(b->k[l]);
        seattn_tensor_destroy(b->v[l]);
        free(b->k_host[l]);
        free(b->v_host[l]);
    }
    seattn_tensor_destroy(b->q);
    seattn_tensor_destroy(b->out);
    seattn_tensor_destroy(b->seqs);
    seattn_tensor_destroy(b->table);
    free(b->bt);
    rows_free(&b->h);
    free(b);
}

seattn_status pk_batch_create(seattn_context *ctx, const pk_model *m, uint32_t n_seqs,
                              uint32_t max_len, uint32_t page, pk_batch **out) {
    pk_batch *b = calloc(1, sizeof *b);
    if (!b) return SEATTN_ERROR_OUT_OF_MEMORY;
    b->ctx = ctx, b->m = m, b->n_seqs = n_seqs, b->max_len = max_len, b->page = page;
    b->pages_per_seq = (max_len + page - 1) / page;
    b->pool_tokens = n_seqs * b->pages_per_seq * page;
    const size_t pool = (size_t)b->pool_tokens * PK_D, rows = (size_t)n_seqs * max_len * PK_D;
    seattn_status st = SEATTN_SUCCESS;
    for (int l = 0; l < PK_LAYERS && !st; l++) {
        b->k_host[l] = calloc(pool, 4);
        b->v_host[l] = calloc(pool, 4);
        if (!b->k_host[l] || !b->v_host[l]) st = SEATTN_ERROR_OUT_OF_MEMORY;
        if (!st) st = seattn_tensor_create(ctx, pool * 4, &b->k[l]);
        if (!st) st = seattn_tensor_create(ctx, pool * 4, &b->v[l]);
    }
    if (!st) st = seattn_tensor_create(ctx, rows * 4, &b->q);
    if (!st) st = seattn_tensor_create(ctx, rows * 4, &b->out);
    if (!st) st = seattn_tensor_create(ctx, sizeof(seattn_seq) * n_seqs, &b->seqs);
    const uint32_t n_pages = n_seqs * b->pages_per_seq;
    if (!st) st = seattn_tensor_create(ctx, (size_t)n_pages * 4, &b->table);
    if (!st) st = rows_alloc(&b->h, m, n_seqs * max_len, max_len);
    b->bt = malloc(sizeof *b->bt * n_pages);
    if (!st && !b->bt) st = SEATTN_ERROR_OUT_OF_MEMORY;
    if (!st) { /* every sequence's pages, somewhere in the pool */
        for (uint32_t i = 0; i < n_pages; i++)
            b->bt[i] = i;
        uint32_t x = 12345;
        for (uint32_t i = n_pages; i > 1; i--) {
            x = x * 1664525u + 1013904223u;
            const uint32_t j = (x >> 8) % i, t = b->bt[i - 1];
            b->bt[i - 1] = b->bt[j], b->bt[j] = t;
        }
        st = seattn_tensor_upload(ctx, b->table, 0, b->bt, (size_t)n_pages * 4);
    }
    if (st) {
        pk_batch_destroy(b);
        return st;
    }
    *out = b;
    return SEATTN_SUCCESS;
}

/* pk_forward for every sequence at once: tokens[s * n + r] at positions pos .. pos + n - 1 of
 * sequence s, one batched attention a layer; the logits of each sequence's last token go to
 * logits[s * PK_VOCAB]. */
static seattn_status pk_forward_batch(pk_batch *b, const uint8_t *tokens, uint32_t n, uint32_t pos,
                                      int32_t g, int32_t w, float *logits) {
    pk_rows *s = &b->h;
    const pk_model *m = b->m;
    const uint32_t rows = b->n_seqs * n;
    if (n == 0 || pos + n > b->max_len) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (embed(m, s, tokens, rows)) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_seq *seqs = malloc(sizeof *seqs * b->n_seqs);
    if (!seqs) return SEATTN_ERROR_OUT_OF_MEMORY;
    for (uint32_t q = 0; q < b->n_seqs; q++)
        seqs[q] = (seattn_seq){q * n, n, pos, pos + n, q * b->pages_per_seq};
    seattn_status st = seattn_tensor_upload(b->ctx, b->seqs, 0, seqs, sizeof *seqs * b->n_seqs);
    free(seqs);
    seattn_attention_desc d = {0};
    d.n_heads = d.n_kv_heads = PK_HEADS;
    d.head_dim = PK_HD;
    d.group_size = g;
    d.neighbor_window = w;
    d.rope_theta = (float)m->theta;
    d.key_mode = SEATTN_KEYS_ROTATED;
    d.q_strides = d.k_strides = d.v_strides = d.out_strides = (seattn_strides){PK_HD, PK_D};
    const seattn_batch_desc bd = {.n_seqs = b->n_seqs,
                                  .max_q_len = n,
                                  .max_kv_len = pos + n,
                                  .q_tokens = rows,
                                  .kv_tokens = b->pool_tokens,
                                  .page_size = b->page,
                                  .block_table_len = b->n_seqs * b->pages_per_seq};
    const size_t bytes = (size_t)rows * PK_D * 4;
    for (int l = 0; l < PK_LAYERS && !st; l++) {
        const pk_layer *L = &m->layers[l];
        layer_qkv(L, s, rows);
        /* rotate the new keys to their positions and write them to their pages */
        for (uint32_t r = 0; r < rows; r++) {
            const uint32_t q = r / n, t = pos + r % n;
            rotate_key(s, r, t);
            const size_t tok =
                (size_t)b->bt[q * b->pages_per_seq + t / b->page] * b->page + t % b->page;
            memcpy(b->k_host[l] + tok * PK_D, s->k_h + (size_t)r * PK_D, PK_D * 4);
            memcpy(b->v_host[l] + tok * PK_D, s->v_h + (size_t)r * PK_D, PK_D * 4);
        }
        /* a prompt fills the whole pool; a decode step one page a sequence */
        if (n > 1) {
            const size_t pool = (size_t)b->pool_tokens * PK_D * 4;
            if ((st = seattn_tensor_upload(b->ctx, b->k[l], 0, b->k_host[l], pool)) ||
                (st = seattn_tensor_upload(b->ctx, b->v[l], 0, b->v_host[l], pool)))
                break;
        } else {
            for (uint32_t q = 0; q < b->n_seqs && !st; q++) {
                const size_t at = (size_t)b->bt[q * b->pages_per_seq + pos / b->page] * b->page *
                                  PK_D,
                             pb = (size_t)b->page * PK_D * 4;
                if (!(st = seattn_tensor_upload(b->ctx, b->k[l], at * 4, b->k_host[l] + at, pb)))
                    st = seattn_tensor_upload(b->ctx, b->v[l], at * 4, b->v_host[l] + at, pb);
            }
        }
        const seattn_attention_tensors ts = {.q = b->q, .k = b->k[l], .v = b->v[l], .out = b->out};
        if (st || (st = seattn_tensor_upload(b->ctx, b->q, 0, s->q_h, bytes)) ||
            (st = seattn_attention_batch(b->ctx, &d, &bd, &ts, b->seqs, b->table)) ||
            (st = seattn_tensor_download(b->ctx, b->out, 0, s->att, bytes)))
            break;
        layer_rest(L, s, rows);
    }
    if (st) return st;
    for (uint32_t q = 0; q < b->n_seqs; q++) {
        rmsnorm(s->x + ((size_t)q * n + n - 1) * PK_D, m->ln_f, s->y, 1);
        linear(m->head, s->y, logits + (size_t)q * PK_VOCAB, 1, PK_D, PK_VOCAB);
    }
    return SEATTN_SUCCESS;
}

seattn_status pk_answer_batch(pk_batch *b, const uint8_t *prompts, size_t stride, uint32_t n,
                              int32_t g, int32_t w, uint8_t *answers, float *logits) {
    const uint32_t ns = b->n_seqs;
    uint8_t *tokens = malloc((size_t)ns * n);
    float *rows = malloc(sizeof(float) * ns * PK_VOCAB);
    if (!tokens || !rows) {
        free(tokens), free(rows);
        return SEATTN_ERROR_OUT_OF_MEMORY;
    }
    for (uint32_t q = 0; q < ns; q++)
        memcpy(tokens + (size_t)q * n, prompts + q * stride, n);
    seattn_status st = pk_forward_batch(b, tokens, n, 0, g, w, rows);
    for (int t = 0; !st && t < PK_ANSWER; t++) {
        for (uint32_t q = 0; q < ns; q++) {
            const float *row = rows + (size_t)q * PK_VOCAB;
            if (logits) memcpy(logits + ((size_t)q * PK_ANSWER + t) * PK_VOCAB, row, PK_VOCAB * 4);
            int best = 0;
            for (int i = 1; i < PK_VOCAB; i++)
                if (row[i] > row[best]) best = i;
            answers[q * PK_ANSWER + t] = (uint8_t)best;
            tokens[q] = (uint8_t)best;
        }
        if (t + 1 < PK_ANSWER) st = pk_forward_batch(b, tokens, 1, n + (uint32_t)t, g, w, rows);
    }
    free(tokens), free(rows);
    return st;
}
