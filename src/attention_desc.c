/* The attention descriptor: defaults, and every check made before any work. */
#include "seattn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_HEAD_DIM 512u
#define MAX_POSITIONS (1u << 24) /* positions stay exact in f32 and in the RoPE tables */
#define MAX_STRIDE (UINT64_C(1) << 40)

#define BAD(...) seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, __VA_ARGS__)

/* q and out may be f32, f16 or bf16; k and v (kv) any type. */
static seattn_status check_dtype(seattn_context *ctx, const char *field, seattn_dtype t, bool kv) {
    if (!seattn__dtype_known(t)) return BAD("%s: unknown dtype %d", field, (int)t);
    if (!kv && t != SEATTN_DTYPE_F32 && t != SEATTN_DTYPE_F16 && t != SEATTN_DTYPE_BF16)
        return BAD("%s: %s is a type for k and v only; q and out take f32, f16 or bf16", field,
                   seattn_dtype_name(t));
    return SEATTN_SUCCESS;
}

/* A block type's vectors are whole blocks: the vector size, offset and strides multiples of 32. */
static seattn_status check_blocks(seattn_context *ctx, const char *name, seattn_dtype t,
                                  uint32_t vec, const char *vec_field, uint64_t offset,
                                  seattn_strides s) {
    if (!seattn__dtype_block(t)) return SEATTN_SUCCESS;
    if (vec % 32 != 0)
        return BAD("%s (%u) must be a multiple of 32 for %s %s (blocks of 32 values)", vec_field,
                   vec, name, seattn_dtype_name(t));
    if (offset % 32 != 0 || s.head % 32 != 0 || s.token % 32 != 0)
        return BAD("%s_offset and %s_strides must be multiples of 32 for %s %s (a vector is whole "
                   "blocks)",
                   name, name, name, seattn_dtype_name(t));
    return SEATTN_SUCCESS;
}

/* An fp8 tensor's scale: 0 means 1; other types take none. */
static seattn_status check_scale(seattn_context *ctx, const char *field, seattn_dtype t,
                                 float *scale) {
    if (t != SEATTN_DTYPE_FP8_E4M3) {
        if (*scale != 0.0f)
            return BAD("%s (%g) is for an fp8_e4m3 tensor only; it must be 0 for %s", field,
                       (double)*scale, seattn_dtype_name(t));
        return SEATTN_SUCCESS;
    }
    if (*scale == 0.0f) *scale = 1.0f;
    if (!isfinite(*scale) || *scale < 0.0f)
        return BAD("%s (%g) must be finite and > 0", field, (double)*scale);
    return SEATTN_SUCCESS;
}

/* Zero strides mean dense [heads, len, head_dim]; a partly given pair is an error. */
static seattn_status resolve_strides(seattn_context *ctx, const char *field, seattn_strides *s,
                                     uint64_t len, uint64_t head_dim) {
    if (s->head == 0 && s->token == 0) {
        s->token = head_dim;
        s->head = len * head_dim;
        return SEATTN_SUCCESS;
    }
    if (s->head > MAX_STRIDE || s->token > MAX_STRIDE)
        return BAD("%s: stride above 2^40 elements (head %llu, token %llu)", field,
                   (unsigned long long)s->head, (unsigned long long)s->token);
    return SEATTN_SUCCESS;
}

seattn_status seattn__attn_resolve(seattn_context *ctx, const seattn_attention_desc *desc,
                                   seattn_attention_desc *r) {
    if (!desc) return BAD("desc is NULL");
    *r = *desc;
    if (r->n_heads == 0) return BAD("n_heads is 0; it must be >= 1");
    if (r->n_kv_heads == 0) r->n_kv_heads = r->n_heads;
    if (r->n_kv_heads > r->n_heads || r->n_heads % r->n_kv_heads != 0)
        return BAD("n_kv_heads (%u) must divide n_heads (%u)", r->n_kv_heads, r->n_heads);
    if (r->head_dim == 0 || r->head_dim % 2 != 0 || r->head_dim > MAX_HEAD_DIM)
        return BAD("head_dim (%u) must be even and in 2..%u", r->head_dim, MAX_HEAD_DIM);
    if (r->q_len == 0) return BAD("q_len is 0; it must be >= 1");
    if (r->kv_len == 0) return BAD("kv_len is 0; it must be >= 1");
    if (r->kv_len >= MAX_POSITIONS) return BAD("kv_len (%u) must be below 2^24", r->kv_len);
    if (r->flags & ~(SEATTN_ATTN_Q_POS | SEATTN_ATTN_NEIGHBOR_ONLY | SEATTN_ATTN_GROUPED_ONLY |
                     SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM | SEATTN_ATTN_SINKS))
        return BAD("flags: unknown bits 0x%x", r->flags);
    if ((r->flags & SEATTN_ATTN_NEIGHBOR_ONLY) && (r->flags & SEATTN_ATTN_GROUPED_ONLY))
        return BAD("flags: NEIGHBOR_ONLY and GROUPED_ONLY exclude each other");
    if (!(r->flags & SEATTN_ATTN_Q_POS)) {
        if (r->q_len > r->kv_len)
            return BAD("q_len (%u) exceeds kv_len (%u): the queries are the last q_len of the "
                       "kv_len tokens unless q_pos is given",
                       r->q_len, r->kv_len);
        r->q_pos = r->kv_len - r->q_len;
        r->flags |= SEATTN_ATTN_Q_POS;
    }
    if ((uint64_t)r->q_pos + r->q_len > r->kv_len)
        return BAD("q_pos (%u) + q_len (%u) exceeds kv_len (%u): a query would attend to keys "
                   "that are not in the cache",
                   r->q_pos, r->q_len, r->kv_len);
    if (r->group_size < 0) return BAD("group_size (G = %d) must be >= 1", r->group_size);
    if (r->group_size == 0) r->group_size = 1;
    if (r->neighbor_window < 0)
        return BAD("neighbor_window (W = %d) must be >= 1", r->neighbor_window);
    if (r->group_size > 1 && r->neighbor_window < 1)
        return BAD("neighbor_window (W = %d) must be >= 1 when group_size > 1", r->neighbor_window);
    if ((r->flags & (SEATTN_ATTN_NEIGHBOR_ONLY | SEATTN_ATTN_GROUPED_ONLY)) &&
        r->neighbor_window < 1)
        return BAD("neighbor_window (W = %d) must be >= 1 with NEIGHBOR_ONLY or GROUPED_ONLY",
                   r->neighbor_window);
    if (r->rope_theta == 0.0f) r->rope_theta = 10000.0f;
    if (!isfinite(r->rope_theta) || r->rope_theta <= 0.0f)
        return BAD("rope_theta (%g) must be finite and > 0", (double)r->rope_theta);
    if (r->rotary_dims == 0) r->rotary_dims = r->head_dim;
    if (r->rope_attention_factor == 0.0f) r->rope_attention_factor = 1.0f;
    if (!isfinite(r->rope_attention_factor) || r->rope_attention_factor < 0.0f)
        return BAD("rope_attention_factor (%g) must be finite and > 0",
                   (double)r->rope_attention_factor);
    if (r->rotary_dims % 2 != 0 || r->rotary_dims > r->head_dim)
        return BAD("rotary_dims (%u) must be even and <= head_dim (%u)", r->rotary_dims,
                   r->head_dim);
    if ((uint64_t)r->rotary_offset + r->rotary_dims > r->head_dim)
        return BAD("rotary_offset (%u) + rotary_dims (%u) exceeds head_dim (%u)", r->rotary_offset,
                   r->rotary_dims, r->head_dim);
    if (r->v_head_dim == 0) r->v_head_dim = r->head_dim;
    if (r->v_head_dim < 2 || r->v_head_dim > MAX_HEAD_DIM)
        return BAD("v_head_dim (%u) must be in 2..%u (0: head_dim)", r->v_head_dim, MAX_HEAD_DIM);
    if (r->rope_inv_freq)
        for (uint32_t m = 0; m < r->rotary_dims / 2; m++)
            if (!isfinite(r->rope_inv_freq[m]) || !(r->rope_inv_freq[m] > 0.0))
                return BAD("rope_inv_freq[%u] (%g) must be finite and > 0", m, r->rope_inv_freq[m]);
    if (r->rope_layout != SEATTN_ROPE_ROTATE_HALF && r->rope_layout != SEATTN_ROPE_INTERLEAVED)
        return BAD("rope_layout: unknown value %d", (int)r->rope_layout);
    if (r->scale == 0.0f) r->scale = (float)(1.0 / sqrt((double)r->head_dim));
    if (!isfinite(r->scale) || r->scale < 0.0f)
        return BAD("scale (%g) must be finite and > 0", (double)r->scale);
    if (!isfinite(r->logit_softcap) || r->logit_softcap < 0.0f)
        return BAD("logit_softcap (%g) must be 0 (off) or finite and > 0",
                   (double)r->logit_softcap);
    if (r->scale_base != 0.0f && !(isfinite(r->scale_base) && r->scale_base > 1.0f))
        return BAD("scale_base (%g) must be 0 (off) or finite and > 1", (double)r->scale_base);
    if (r->key_mode != SEATTN_KEYS_RAW && r->key_mode != SEATTN_KEYS_ROTATED)
        return BAD("key_mode: unknown value %d", (int)r->key_mode);
    if ((r->flags & SEATTN_ATTN_K_NORM) && r->key_mode == SEATTN_KEYS_ROTATED)
        return BAD("flags: K_NORM needs raw keys (key_mode SEATTN_KEYS_RAW); a cache of rotated "
                   "keys holds them normed already");
    if (r->flags & (SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM)) {
        if (r->qk_norm_eps == 0.0f) r->qk_norm_eps = 1e-6f;
        if (!isfinite(r->qk_norm_eps) || r->qk_norm_eps < 0.0f)
            return BAD("qk_norm_eps (%g) must be finite and >= 0", (double)r->qk_norm_eps);
    }
    seattn_status s;
    if ((s = check_dtype(ctx, "q_type", r->q_type, false)) ||
        (s = check_dtype(ctx, "k_type", r->k_type, true)) ||
        (s = check_dtype(ctx, "v_type", r->v_type, true)) ||
        (s = check_dtype(ctx, "out_type", r->out_type, false)) ||
        (s = check_scale(ctx, "k_scale", r->k_type, &r->k_scale)) ||
        (s = check_scale(ctx, "v_scale", r->v_type, &r->v_scale)))
        return s;
    if ((s = resolve_strides(ctx, "q_strides", &r->q_strides, r->q_len, r->head_dim)) ||
        (s = resolve_strides(ctx, "k_strides", &r->k_strides, r->kv_len, r->head_dim)) ||
        (s = resolve_strides(ctx, "v_strides", &r->v_strides, r->kv_len, r->v_head_dim)) ||
        (s = resolve_strides(ctx, "out_strides", &r->out_strides, r->q_len, r->v_head_dim)) ||
        (s = resolve_strides(ctx, "lse_strides", &r->lse_strides, r->q_len, 1)) ||
        (s = check_blocks(ctx, "k", r->k_type, r->head_dim, "head_dim", r->k_offset,
                          r->k_strides)) ||
        (s = check_blocks(ctx, "v", r->v_type, r->v_head_dim, "v_head_dim", r->v_offset,
                          r->v_strides)))
        return s;
    const uint64_t offs[] = {r->q_offset,   r->k_offset,      r->v_offset,      r->out_offset,
                             r->lse_offset, r->q_norm_offset, r->k_norm_offset, r->sinks_offset};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
        if (offs[i] > MAX_STRIDE) return BAD("tensor offsets must be below 2^40 elements");
    return SEATTN_SUCCESS;
}

/* Element range [first, last] touched by a view. */
typedef struct {
    uint64_t first, last;
} span;

static span view_span(uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                      uint64_t vec) {
    span sp = {offset, offset + (heads - 1) * s.head + (len - 1) * s.token + vec - 1};
    return sp;
}

/* Distinct (head, token) vectors of an output must not share elements: sort the two strides and
 * require each to clear everything spanned by the smaller one. */
static bool output_vectors_disjoint(seattn_strides s, uint64_t heads, uint64_t len, uint64_t vec) {
    uint64_t s1 = s.head, n1 = heads, s2 = s.token, n2 = len;
    if (n1 == 1) s1 = UINT64_MAX;
    if (n2 == 1) s2 = UINT64_MAX;
    if (s1 > s2) {
        uint64_t t = s1;
        s1 = s2;
        s2 = t;
        t = n1;
        n1 = n2;
        n2 = t;
    }
    if (s1 == UINT64_MAX) return true;
    if (s1 < vec) return false;
    return s2 == UINT64_MAX || s2 >= s1 * (n1 - 1) + vec;
}

/* The bytes [first, end) that a span of type t covers. */
static uint64_t first_byte(span sp, seattn_dtype t) {
    return seattn__dtype_byte(t, sp.first);
}
static uint64_t end_byte(span sp, seattn_dtype t) {
    return seattn__dtype_block(t) ? seattn__dtype_byte(t, sp.last) + seattn__dtype_block_bytes(t)
                                  : (sp.last + 1) * seattn__dtype_size(t);
}

static seattn_status check_fits(seattn_context *ctx, const char *name, const seattn_tensor *t,
                                span sp, seattn_dtype dt) {
    if (!t) return BAD("tensor %s is NULL", name);
    if (t->ctx != ctx) return BAD("tensor %s belongs to another context", name);
    uint64_t need = end_byte(sp, dt);
    if (need > t->bytes)
        return seattn__fail(ctx, SEATTN_ERROR_BUFFER_TOO_SMALL,
                            "tensor %s holds %zu bytes but the descriptor reaches byte %llu", name,
                            t->bytes, (unsigned long long)need);
    return SEATTN_SUCCESS;
}

void seattn__view_span(uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                       uint64_t vec, uint64_t *first, uint64_t *last) {
    const span sp = view_span(offset, s, heads, len, vec);
    *first = sp.first;
    *last = sp.last;
}

/* Views of the same memory (a tensor, or wrapped tensors of one VkBuffer) that share a byte. */
static bool overlaps(const seattn_tensor *a, span sa, seattn_dtype ea, const seattn_tensor *b,
                     span sb, seattn_dtype eb) {
    if (!a || !b || a->mem_id != b->mem_id) return false;
    const uint64_t a0 = a->mem_base + first_byte(sa, ea), a1 = a->mem_base + end_byte(sa, ea);
    const uint64_t b0 = b->mem_base + first_byte(sb, eb), b1 = b->mem_base + end_byte(sb, eb);
    return a0 < b1 && b0 < a1;
}

bool seattn__tensors_overlap(const seattn_tensor *a, uint64_t a_first, uint64_t a_last,
                             seattn_dtype ea, const seattn_tensor *b, uint64_t b_first,
                             uint64_t b_last, seattn_dtype eb) {
    return overlaps(a, (span){a_first, a_last}, ea, b, (span){b_first, b_last}, eb);
}

/* kv_chunks (seattn.h, seattn_kv_chunk): the count, each chunk's views against its tensors and
 * 4 GiB, their token ranges (disjoint; seattn__chunks_check_layout() checks them against the
 * token space), and no overlap with out or lse. */
static seattn_status check_chunks(seattn_context *ctx, const seattn_attention_desc *r,
                                  const seattn_attention_tensors *t, span so, span sl) {
    if (!t->kv_chunks) return BAD("kv_chunks is NULL but n_kv_chunks is %u", t->n_kv_chunks);
    if (t->n_kv_chunks > SEATTN_MAX_KV_CHUNKS)
        return BAD("n_kv_chunks (%u) is above SEATTN_MAX_KV_CHUNKS (%u)", t->n_kv_chunks,
                   SEATTN_MAX_KV_CHUNKS);
    for (uint32_t c = 0; c < t->n_kv_chunks; c++) {
        const seattn_kv_chunk *ch = &t->kv_chunks[c];
        if (ch->tokens == 0) return BAD("kv_chunks[%u].tokens is 0", c);
        const span sk =
            view_span(r->k_offset, r->k_strides, r->n_kv_heads, ch->tokens, r->head_dim);
        const span sv =
            view_span(r->v_offset, r->v_strides, r->n_kv_heads, ch->tokens, r->v_head_dim);
        char kn[32], vn[32];
        snprintf(kn, sizeof kn, "kv_chunks[%u].k", c);
        snprintf(vn, sizeof vn, "kv_chunks[%u].v", c);
        seattn_status s;
        if ((s = check_fits(ctx, kn, ch->k, sk, r->k_type)) ||
            (s = check_fits(ctx, vn, ch->v, sv, r->v_type)))
            return s;
        if (end_byte(sk, r->k_type) > UINT32_MAX - 3 || end_byte(sv, r->v_type) > UINT32_MAX - 3)
            return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                                "kv_chunks[%u]'s views reach past 4 GiB of their tensors; make "
                                "chunks smaller",
                                c);
        if (overlaps(t->out, so, r->out_type, ch->k, sk, r->k_type) ||
            overlaps(t->out, so, r->out_type, ch->v, sv, r->v_type))
            return BAD("out overlaps kv_chunks[%u]", c);
        if (t->lse && (overlaps(t->lse, sl, SEATTN_DTYPE_F32, ch->k, sk, r->k_type) ||
                       overlaps(t->lse, sl, SEATTN_DTYPE_F32, ch->v, sv, r->v_type)))
            return BAD("lse overlaps kv_chunks[%u]", c);
        for (uint32_t o = 0; o < c; o++) {
            const seattn_kv_chunk *p = &t->kv_chunks[o];
            if ((uint64_t)p->first_token < (uint64_t)ch->first_token + ch->tokens &&
                (uint64_t)ch->first_token < (uint64_t)p->first_token + p->tokens)
                return BAD("kv_chunks[%u] and kv_chunks[%u] share tokens", o, c);
        }
    }
    return SEATTN_SUCCESS;
}

seattn_status seattn__attn_check_tensors(seattn_context *ctx, const seattn_attention_desc *r,
                                         const seattn_attention_tensors *t) {
    const seattn_tensor *q = t->q, *k = t->k, *v = t->v, *out = t->out, *lse = t->lse;
    const uint64_t d = r->head_dim, dv = r->v_head_dim;
    span sq = view_span(r->q_offset, r->q_strides, r->n_heads, r->q_len, d);
    span sk = view_span(r->k_offset, r->k_strides, r->n_kv_heads, r->kv_len, d);
    span sv = view_span(r->v_offset, r->v_strides, r->n_kv_heads, r->kv_len, dv);
    span so = view_span(r->out_offset, r->out_strides, r->n_heads, r->q_len, dv);
    span sl = view_span(r->lse_offset, r->lse_strides, r->n_heads, r->q_len, 1);
    const seattn_strides none = {0, 0};
    span sqw = view_span(r->q_norm_offset, none, 1, 1, d);
    span skw = view_span(r->k_norm_offset, none, 1, 1, d);
    const seattn_tensor *qw = r->flags & SEATTN_ATTN_Q_NORM ? t->q_norm_weight : NULL;
    const seattn_tensor *kw = r->flags & SEATTN_ATTN_K_NORM ? t->k_norm_weight : NULL;
    span ssk = view_span(r->sinks_offset, none, 1, 1, r->n_heads);
    const seattn_tensor *sk_t = r->flags & SEATTN_ATTN_SINKS ? t->sinks : NULL;
    const seattn_dtype eq = r->q_type, ek = r->k_type, ev = r->v_type, eo = r->out_type;
    const seattn_dtype f32 = SEATTN_DTYPE_F32;
    seattn_status s;
    const bool chunks = t->n_kv_chunks > 0;
    if (chunks && (k || v)) return BAD("k and v must be NULL when kv_chunks are given");
    if ((s = check_fits(ctx, "q", q, sq, eq)) ||
        (!chunks &&
         ((s = check_fits(ctx, "k", k, sk, ek)) || (s = check_fits(ctx, "v", v, sv, ev)))) ||
        (s = check_fits(ctx, "out", out, so, eo)))
        return s;
    if (lse && (s = check_fits(ctx, "lse", lse, sl, f32))) return s;
    if (qw && (s = check_fits(ctx, "q_norm_weight", qw, sqw, f32))) return s;
    if (kw && (s = check_fits(ctx, "k_norm_weight", kw, skw, f32))) return s;
    if ((r->flags & SEATTN_ATTN_SINKS) && (s = check_fits(ctx, "sinks", t->sinks, ssk, f32)))
        return s;
    if (!output_vectors_disjoint(r->out_strides, r->n_heads, r->q_len, dv))
        return BAD("out_strides (head %llu, token %llu) make output vectors overlap",
                   (unsigned long long)r->out_strides.head,
                   (unsigned long long)r->out_strides.token);
    if (lse && !output_vectors_disjoint(r->lse_strides, r->n_heads, r->q_len, 1))
        return BAD("lse_strides make two rows share an element");
    const struct {
        const char *name;
        const seattn_tensor *t;
        span sp;
        seattn_dtype e;
    } in[] = {{"q", q, sq, eq},
              {"k", k, sk, ek},
              {"v", v, sv, ev},
              {"q_norm_weight", qw, sqw, f32},
              {"k_norm_weight", kw, skw, f32},
              {"sinks", sk_t, ssk, f32}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        if (overlaps(out, so, eo, in[i].t, in[i].sp, in[i].e))
            return BAD("out overlaps %s", in[i].name);
        if (lse && overlaps(lse, sl, f32, in[i].t, in[i].sp, in[i].e))
            return BAD("lse overlaps %s", in[i].name);
    }
    if (lse && overlaps(lse, sl, f32, out, so, eo)) return BAD("lse overlaps out");
    return chunks ? check_chunks(ctx, r, t, so, sl) : SEATTN_SUCCESS;
}

void seattn__chunks_strides(const seattn_attention_desc *desc, const seattn_attention_tensors *t,
                            seattn_attention_desc *r) {
    if (!t || t->n_kv_chunks == 0) return;
    if (!desc->k_strides.head && !desc->k_strides.token)
        r->k_strides = (seattn_strides){r->head_dim, (uint64_t)r->n_kv_heads * r->head_dim};
    if (!desc->v_strides.head && !desc->v_strides.token)
        r->v_strides = (seattn_strides){r->v_head_dim, (uint64_t)r->n_kv_heads * r->v_head_dim};
}

seattn_status seattn__chunks_check_layout(seattn_context *ctx, const seattn_attention_tensors *t,
                                          uint32_t space, uint32_t page) {
    uint64_t covered = 0;
    for (uint32_t c = 0; c < t->n_kv_chunks; c++) {
        const seattn_kv_chunk *ch = &t->kv_chunks[c];
        if ((uint64_t)ch->first_token + ch->tokens > space)
            return BAD("kv_chunks[%u] holds tokens %u..%llu, past the %u tokens of the call's %s",
                       c, ch->first_token, (unsigned long long)ch->first_token + ch->tokens - 1,
                       space, page ? "pool (kv_tokens)" : "keys");
        if (page && (ch->first_token % page || ch->tokens % page))
            return BAD("kv_chunks[%u]: first_token %u and tokens %u must be multiples of the page "
                       "size %u",
                       c, ch->first_token, ch->tokens, page);
        covered += ch->tokens;
    }
    if (!page && covered != space)
        return BAD("kv_chunks cover %llu of the %u tokens; without pages they must cover every "
                   "one",
                   (unsigned long long)covered, space);
    return SEATTN_SUCCESS;
}

seattn_status seattn__merge_check_tensors(seattn_context *ctx, const seattn_attention_desc *r,
                                          const seattn_tensor *const outs[3],
                                          const seattn_tensor *const lses[3]) {
    static const char *const out_names[3] = {"out_a", "out_b", "out"};
    static const char *const lse_names[3] = {"lse_a", "lse_b", "lse"};
    const span so = view_span(r->out_offset, r->out_strides, r->n_heads, r->q_len, r->v_head_dim);
    const span sl = view_span(r->lse_offset, r->lse_strides, r->n_heads, r->q_len, 1);
    const seattn_dtype eo = r->out_type, f32 = SEATTN_DTYPE_F32;
    seattn_status s;
    for (int i = 0; i < 3; i++) {
        if ((s = check_fits(ctx, out_names[i], outs[i], so, eo))) return s;
        if ((i < 2 || lses[i]) && (s = check_fits(ctx, lse_names[i], lses[i], sl, f32))) return s;
    }
    if (!output_vectors_disjoint(r->out_strides, r->n_heads, r->q_len, r->v_head_dim))
        return BAD("out_strides (head %llu, token %llu) make output vectors overlap",
                   (unsigned long long)r->out_strides.head,
                   (unsigned long long)r->out_strides.token);
    if (lses[2] && !output_vectors_disjoint(r->lse_strides, r->n_heads, r->q_len, 1))
        return BAD("lse_strides make two rows share an element");
    /* out (and lse) may be one of its two inputs, merged in place; nothing else may overlap
     * what is written */
    for (int i = 0; i < 3; i++) {
        if (i < 2 && outs[i] != outs[2] && overlaps(outs[2], so, eo, outs[i], so, eo))
            return BAD("out overlaps %s without being it", out_names[i]);
        if (overlaps(outs[2], so, eo, lses[i], sl, f32))
            return BAD("out overlaps %s", lse_names[i]);
        if (i < 2 && lses[2] && lses[i] != lses[2] && overlaps(lses[2], sl, f32, lses[i], sl, f32))
            return BAD("lse overlaps %s without being it", lse_names[i]);
        if (lses[2] && overlaps(lses[2], sl, f32, outs[i], so, eo))
            return BAD("lse overlaps %s", out_names[i]);
    }
    return SEATTN_SUCCESS;
}

seattn_status seattn_attention_desc_check(seattn_context *ctx, const seattn_attention_desc *desc,
                                          seattn_attention_desc *resolved) {
    seattn_attention_desc r;
    seattn_status s = seattn__attn_resolve(ctx, desc, &r);
    if (s == SEATTN_SUCCESS && resolved) *resolved = r;
    return s;
}
