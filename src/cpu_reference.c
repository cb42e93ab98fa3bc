/* The CPU reference backend: SPEC.md written for clarity, accumulating in double. It is the
 * oracle every kernel is tested against, so it favours the obvious over the fast. */
#include "seattn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rotates dims [rotary_offset, rotary_offset + rotary_dims) of x (length head_dim) to position
 * pos and multiplies the rotated components by factor (the attention factor, or 1 for a pure
 * rotation). */
static void rope(double *x, double pos, const seattn_attention_desc *r, double factor) {
    const uint32_t half = r->rotary_dims / 2, o = r->rotary_offset;
    for (uint32_t m = 0; m < half; m++) {
        double freq = r->rope_inv_freq
                          ? r->rope_inv_freq[m]
                          : pow((double)r->rope_theta, -2.0 * m / (double)r->rotary_dims);
        double a = pos * freq, c = cos(a), s = sin(a);
        uint32_t i0 = o + (r->rope_layout == SEATTN_ROPE_INTERLEAVED ? 2 * m : m);
        uint32_t i1 = o + (r->rope_layout == SEATTN_ROPE_INTERLEAVED ? 2 * m + 1 : m + half);
        double x0 = x[i0], x1 = x[i1];
        x[i0] = (x0 * c - x1 * s) * factor;
        x[i1] = (x1 * c + x0 * s) * factor;
    }
}

/* seattn.h, "Numerics": elements are clamped to +-2^56 on load, and so are the scaled query
 * and the normed key; then no f32 kernel overflows. */
#define LIM 72057594037927936.0 /* 2^56 */

static double clamp_in(double x) {
    return x < -LIM ? -LIM : x > LIM ? LIM : x;
}

/* Element `at` onwards of a tensor of type dt (an fp8 scale: scale), decoded exactly, clamped. */
static void load_vec(double *dst, const void *base, seattn_dtype dt, float scale, uint64_t at,
                     uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        dst[i] = clamp_in(seattn__dtype_load(dt, base, at + i, scale));
}

/* QK-norm: x_i w_i / sqrt(mean(x^2) + eps); w NULL means ones. Keys are clamped after it;
 * queries after the scale that follows. */
static void rms_norm(double *x, uint32_t n, const float *w, double eps, bool clamp) {
    double ss = 0.0;
    for (uint32_t i = 0; i < n; i++)
        ss += x[i] * x[i];
    const double f = ss / n + eps > 0.0 ? 1.0 / sqrt(ss / n + eps) : 0.0; /* 0 stays 0 */
    for (uint32_t i = 0; i < n; i++) {
        x[i] *= f * (w ? (double)w[i] : 1.0);
        if (clamp) x[i] = clamp_in(x[i]);
    }
}

/* Element at of an output of type dt; an f16 output saturates (finite stays finite). */
static void store_out(void *out, seattn_dtype dt, uint64_t at, double value) {
    const float x = (float)value;
    if (dt == SEATTN_DTYPE_F16)
        ((uint16_t *)out)[at] = seattn__float_to_half(x > 65504.0f    ? 65504.0f
                                                      : x < -65504.0f ? -65504.0f
                                                                      : x);
    else if (dt == SEATTN_DTYPE_BF16)
        ((uint16_t *)out)[at] = seattn__float_to_bf16(x);
    else
        ((float *)out)[at] = x;
}

static double dot(const double *a, const double *b, uint32_t n) {
    double s = 0.0;
    for (uint32_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* key_tok: NULL, or the view token of each key j (a paged sequence's keys). */
static seattn_status attend(seattn_context *ctx, const seattn_attention_desc *r,
                            const seattn_attention_tensors *t, const uint32_t *key_tok) {
    const void *q = t->q->host, *k = t->k->host, *v = t->v->host;
    void *out = t->out->host;
    float *lse = t->lse ? t->lse->host : NULL;
    const bool q_norm = r->flags & SEATTN_ATTN_Q_NORM, k_norm = r->flags & SEATTN_ATTN_K_NORM;
    const float *qw = q_norm && t->q_norm_weight
                          ? (const float *)t->q_norm_weight->host + r->q_norm_offset
                          : NULL;
    const float *kw = k_norm && t->k_norm_weight
                          ? (const float *)t->k_norm_weight->host + r->k_norm_offset
                          : NULL;
    const uint32_t d = r->head_dim, dv = r->v_head_dim, n_rep = r->n_heads / r->n_kv_heads;
    const float *sinks =
        r->flags & SEATTN_ATTN_SINKS ? (const float *)t->sinks->host + r->sinks_offset : NULL;
    const int64_t g = r->group_size, w = r->neighbor_window;
    const double af = r->rope_attention_factor; /* RoPE's attention factor */
    const double cap = r->logit_softcap;        /* 0: off */
    const bool only_n = r->flags & SEATTN_ATTN_NEIGHBOR_ONLY;
    const bool only_g = r->flags & SEATTN_ATTN_GROUPED_ONLY;
    /* Keys of one KV head, rotated for the neighbor score (kn) and the grouped score (kg). */
    double *kn = seattn__malloc(sizeof(double) * r->kv_len * d);
    double *kg = seattn__malloc(sizeof(double) * r->kv_len * d);
    double *qn = seattn__malloc(sizeof(double) * d), *qg = seattn__malloc(sizeof(double) * d);
    double *score = seattn__malloc(sizeof(double) * r->kv_len),
           *acc = seattn__malloc(sizeof(double) * dv);
    double *vj = seattn__malloc(sizeof(double) * dv);
    seattn_status status = SEATTN_SUCCESS;
    if (!kn || !kg || !qn || !qg || !score || !acc || !vj) {
        status = seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY,
                              "CPU reference: no memory for %u keys of %u dims", r->kv_len, d);
        goto done;
    }
    for (uint32_t hk = 0; hk < r->n_kv_heads; hk++) {
        for (uint32_t j = 0; j < r->kv_len; j++) {
            const uint64_t tok = key_tok ? key_tok[j] : j;
            uint64_t at = r->k_offset + hk * r->k_strides.head + tok * r->k_strides.token;
            double *a = kn + (size_t)j * d, *b = kg + (size_t)j * d;
            load_vec(a, k, r->k_type, r->k_scale, at, d);
            if (k_norm) rms_norm(a, d, kw, r->qk_norm_eps, true);
            memcpy(b, a, sizeof(double) * d);
            if (r->key_mode == SEATTN_KEYS_RAW) {
                rope(a, (double)j, r, af);
                rope(b, (double)(j / g), r, af);
            } else { /* already at j, the factor in: move to j/G */
                rope(b, (double)(j / g) - (double)j, r, 1.0);
            }
        }
        for (uint32_t hr = 0; hr < n_rep; hr++) {
            const uint32_t h = hk * n_rep + hr;
            for (uint32_t row = 0; row < r->q_len; row++) {
                const int64_t p = (int64_t)r->q_pos + row;
                load_vec(qn, q, r->q_type, 0.0f,
                         r->q_offset + h * r->q_strides.head + row * r->q_strides.token, d);
                if (q_norm) rms_norm(qn, d, qw, r->qk_norm_eps, false);
                /* the softmax scale (and log scaling) go into the query, as in the kernels */
                double f = r->scale;
                if (r->scale_base > 0.0f) {
                    const double ls = log((double)p + 1.0) / log((double)r->scale_base);
                    if (ls > 1.0) f *= ls;
                }
                for (uint32_t i = 0; i < d; i++)
                    qn[i] = clamp_in(qn[i] * f);
                memcpy(qg, qn, sizeof(double) * d);
                rope(qn, (double)p, r, af);
                rope(qg, (double)seattn__grouped_q_pos(p, g, w), r, af);
                double mx = -INFINITY;
                for (int64_t j = 0; j <= p; j++) {
                    const bool neighbor = p - j < w || (g == 1 && !only_n);
                    if ((only_n && !neighbor) || (only_g && neighbor)) {
                        score[j] = -INFINITY; /* this pass leaves the pair out */
                        continue;
                    }
                    double s =
                        neighbor ? dot(qn, kn + (size_t)j * d, d) : dot(qg, kg + (size_t)j * d, d);
                    if (cap > 0.0) s = cap * tanh(s / cap); /* the logit softcap */
                    score[j] = s;
                    if (score[j] > mx) mx = score[j];
                }
                /* the sink (gpt-oss) joins the denominator, never capped; the neighbor half of
                 * the ONLY flags holds it (seattn.h) */
                double z = -INFINITY;
                if (sinks && !only_g) {
                    z = clamp_in(sinks[h]);
                    if (z > mx || isnan(z)) mx = z;
                }
                double sum = z == -INFINITY ? 0.0 : exp(z - mx);
                memset(acc, 0, sizeof(double) * dv);
                for (int64_t j = 0; j <= p && mx > -INFINITY; j++) {
                    double e = exp(score[j] - mx);
                    sum += e;
                    load_vec(vj, v, r->v_type, r->v_scale,
                             r->v_offset + hk * r->v_strides.head +
                                 (key_tok ? key_tok[j] : (uint64_t)j) * r->v_strides.token,
                             dv);
                    for (uint32_t i = 0; i < dv; i++)
                        acc[i] += e * vj[i];
                }
                const uint64_t o =
                    r->out_offset + h * r->out_strides.head + row * r->out_strides.token;
                for (uint32_t i = 0; i < dv; i++)
                    store_out(out, r->out_type, o + i, sum > 0.0 ? acc[i] / sum : 0.0);
                if (lse)
                    lse[r->lse_offset + h * r->lse_strides.head + row * r->lse_strides.token] =
                        (float)(mx + log(sum));
            }
        }
    }
done:
    seattn__free(kn);
    seattn__free(kg);
    seattn__free(qn);
    seattn__free(qg);
    seattn__free(score);
    seattn__free(acc);
    seattn__free(vj);
    return status;
}

/* kv_chunks gathered into one dense pool [n_kv_heads, space, head_dim] (v: v_head_dim) of k's
 * and v's own types, each vector copied as stored (a block type's vector is whole blocks), zeros
 * in gaps: the plain reference then reads it as one k and one v. *g and *rg take the tensors
 * and the descriptor that reads them; free k->host and v->host after. */
static seattn_status gather_chunks(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_attention_tensors *t, uint32_t space,
                                   seattn_tensor *k, seattn_tensor *v, seattn_attention_tensors *g,
                                   seattn_attention_desc *rg) {
    const uint64_t vecs = (uint64_t)r->n_kv_heads * space;
    memset(k, 0, sizeof *k);
    memset(v, 0, sizeof *v);
    k->ctx = v->ctx = ctx;
    k->bytes = seattn_dtype_bytes(r->k_type, vecs * r->head_dim);
    v->bytes = seattn_dtype_bytes(r->v_type, vecs * r->v_head_dim);
    k->host = seattn__calloc(1, k->bytes ? k->bytes : 1);
    v->host = seattn__calloc(1, v->bytes ? v->bytes : 1);
    if (!k->host || !v->host) {
        seattn__free(k->host);
        seattn__free(v->host);
        return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "CPU reference: out of host memory");
    }
    k->mem_id = (uint64_t)(uintptr_t)k->host;
    v->mem_id = (uint64_t)(uintptr_t)v->host;
    const size_t kb = seattn_dtype_bytes(r->k_type, r->head_dim);
    const size_t vb = seattn_dtype_bytes(r->v_type, r->v_head_dim);
    for (uint32_t c = 0; c < t->n_kv_chunks; c++) {
        const seattn_kv_chunk *ch = &t->kv_chunks[c];
        for (uint64_t h = 0; h < r->n_kv_heads; h++)
            for (uint64_t i = 0; i < ch->tokens; i++) {
                const uint64_t dst = h * space + ch->first_token + i;
                const uint64_t ks = r->k_offset + h * r->k_strides.head + i * r->k_strides.token;
                const uint64_t vs = r->v_offset + h * r->v_strides.head + i * r->v_strides.token;
                memcpy((char *)k->host + seattn__dtype_byte(r->k_type, dst * r->head_dim),
                       (const char *)ch->k->host + seattn__dtype_byte(r->k_type, ks), kb);
                memcpy((char *)v->host + seattn__dtype_byte(r->v_type, dst * r->v_head_dim),
                       (const char *)ch->v->host + seattn__dtype_byte(r->v_type, vs), vb);
            }
    }
    *g = *t;
    g->k = k;
    g->v = v;
    g->kv_chunks = NULL;
    g->n_kv_chunks = 0;
    *rg = *r;
    rg->k_offset = rg->v_offset = 0;
    rg->k_strides = (seattn_strides){(uint64_t)space * r->head_dim, r->head_dim};
    rg->v_strides = (seattn_strides){(uint64_t)space * r->v_head_dim, r->v_head_dim};
    return SEATTN_SUCCESS;
}

/* Whether pool token tok lies in a chunk (always, without chunks). */
static bool in_chunk(const seattn_attention_tensors *t, uint64_t tok) {
    if (t->n_kv_chunks == 0) return true;
    for (uint32_t c = 0; c < t->n_kv_chunks; c++)
        if (tok - t->kv_chunks[c].first_token < t->kv_chunks[c].tokens) return true;
    return false;
}

seattn_status seattn__cpu_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                    const seattn_attention_tensors *t) {
    if (t->n_kv_chunks == 0) return attend(ctx, r, t, NULL);
    seattn_tensor k, v;
    seattn_attention_tensors g;
    seattn_attention_desc rg;
    seattn_status s = gather_chunks(ctx, r, t, r->kv_len, &k, &v, &g, &rg);
    if (s != SEATTN_SUCCESS) return s;
    s = attend(ctx, &rg, &g, NULL);
    seattn__free(k.host);
    seattn__free(v.host);
    return s;
}

static seattn_status attention_batch(seattn_context *ctx, const seattn_attention_desc *r,
                                     const seattn_attention_tensors *t, const seattn__batch *batch,
                                     const seattn_attention_tensors *given);

seattn_status seattn__cpu_attention_batch(seattn_context *ctx, const seattn_attention_desc *r,
                                          const seattn_attention_tensors *t,
                                          const seattn__batch *batch) {
    if (t->n_kv_chunks == 0) return attention_batch(ctx, r, t, batch, t);
    seattn_tensor k, v;
    seattn_attention_tensors g;
    seattn_attention_desc rg;
    seattn_status s = gather_chunks(ctx, r, t, batch->b.kv_tokens, &k, &v, &g, &rg);
    if (s != SEATTN_SUCCESS) return s;
    s = attention_batch(ctx, &rg, &g, batch, t);
    seattn__free(k.host);
    seattn__free(v.host);
    return s;
}

/* The batch over t's k and v; given: the tensors as given, whose chunks say which pages are in
 * the pool. */
static seattn_status attention_batch(seattn_context *ctx, const seattn_attention_desc *r,
                                     const seattn_attention_tensors *t, const seattn__batch *batch,
                                     const seattn_attention_tensors *given) {
    const seattn_batch_desc *b = &batch->b;
    const uint32_t *words = (const uint32_t *)batch->seqs->host + b->seqs_offset;
    const uint32_t *bt =
        batch->bt ? (const uint32_t *)batch->bt->host + b->block_table_offset : NULL;
    uint32_t *key_tok = NULL;
    if (b->page_size && !(key_tok = seattn__malloc(sizeof(uint32_t) * b->max_kv_len)))
        return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "CPU reference: out of host memory");
    seattn_status status = SEATTN_SUCCESS;
    for (uint32_t s = 0; s < b->n_seqs && status == SEATTN_SUCCESS; s++) {
        seattn_seq q;
        memcpy(&q, words + 5 * (size_t)s, sizeof q);
        /* as the kernels: rows outside the views are skipped, other bad metadata gives NaN */
        if (q.q_len == 0 || q.q_len > b->max_q_len || q.q_len > b->q_tokens ||
            q.q_start > b->q_tokens - q.q_len)
            continue;
        seattn_attention_desc rs = *r;
        rs.q_len = q.q_len;
        rs.q_offset += q.q_start * r->q_strides.token;
        rs.out_offset += q.q_start * r->out_strides.token;
        rs.lse_offset += q.q_start * r->lse_strides.token;
        uint32_t entry;
        bool bad = seattn__seq_problem(b, &q, bt, &entry) != NULL;
        for (uint32_t i = 0; !bad && bt && i * b->page_size < q.kv_len; i++)
            bad = !in_chunk(given, (uint64_t)bt[q.kv_start + i] * b->page_size);
        if (bad) { /* a page in a gap between chunks is past the pool too */
            float *lse = t->lse ? t->lse->host : NULL;
            for (uint64_t h = 0; h < r->n_heads; h++)
                for (uint64_t row = 0; row < q.q_len; row++) {
                    const uint64_t o =
                        rs.out_offset + h * r->out_strides.head + row * r->out_strides.token;
                    for (uint32_t i = 0; i < r->v_head_dim; i++)
                        store_out(t->out->host, r->out_type, o + i, NAN);
                    if (lse)
                        lse[rs.lse_offset + h * r->lse_strides.head + row * r->lse_strides.token] =
                            NAN;
                }
            continue;
        }
        rs.kv_len = q.kv_len;
        rs.q_pos = q.q_pos;
        if (key_tok) {
            for (uint32_t j = 0; j < q.kv_len; j++)
                key_tok[j] = bt[q.kv_start + j / b->page_size] * b->page_size + j % b->page_size;
        } else {
            rs.k_offset += (uint64_t)q.kv_start * r->k_strides.token;
            rs.v_offset += (uint64_t)q.kv_start * r->v_strides.token;
        }
        status = attend(ctx, &rs, t, key_tok);
    }
    seattn__free(key_tok);
    return status;
}

seattn_status seattn__cpu_merge(seattn_context *ctx, const seattn_attention_desc *r,
                                const seattn_tensor *const outs[3],
                                const seattn_tensor *const lses[3]) {
    const uint32_t d = r->v_head_dim;
    double *a = seattn__malloc(sizeof(double) * d), *b = seattn__malloc(sizeof(double) * d);
    if (!a || !b) {
        seattn__free(a);
        seattn__free(b);
        return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    const float *la = lses[0]->host, *lb = lses[1]->host;
    float *lse = lses[2] ? lses[2]->host : NULL;
    for (uint64_t h = 0; h < r->n_heads; h++)
        for (uint64_t row = 0; row < r->q_len; row++) {
            const uint64_t o = r->out_offset + h * r->out_strides.head + row * r->out_strides.token;
            const uint64_t l = r->lse_offset + h * r->lse_strides.head + row * r->lse_strides.token;
            load_vec(a, outs[0]->host, r->out_type, 0.0f, o, d);
            load_vec(b, outs[1]->host, r->out_type, 0.0f, o, d);
            const double x = la[l], y = lb[l], m = x > y ? x : y;
            const double wa = x == -INFINITY ? 0.0 : exp(x - m);
            const double wb = y == -INFINITY ? 0.0 : exp(y - m);
            const double sum = wa + wb;
            for (uint32_t i = 0; i < d; i++)
                store_out(outs[2]->host, r->out_type, o + i,
                          sum > 0.0 ? (wa * a[i] + wb * b[i]) / sum : 0.0);
            if (lse) lse[l] = sum > 0.0 ? (float)(m + log(sum)) : -INFINITY;
        }
    seattn__free(a);
    seattn__free(b);
    return SEATTN_SUCCESS;
}
