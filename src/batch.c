/* Batches: many sequences in one call, their metadata in device tensors (seattn.h, "Batches").
 * The host checks the bounds and the tensors; the kernels check the metadata (shaders/batch.glsl)
 * and seattn_batch_check() checks a host copy of it the same way. */
#include "seattn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POSITIONS (1u << 24)
#define BAD(...) seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, __VA_ARGS__)

seattn_status seattn__batch_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                    const seattn_batch_desc *batch,
                                    const seattn_attention_tensors *t, const seattn_tensor *seqs,
                                    const seattn_tensor *bt, seattn_attention_desc *r,
                                    seattn__batch *out) {
    ctx->last_error[0] = '\0';
    if (!desc) return BAD("desc is NULL");
    if (!batch) return BAD("batch is NULL");
    if (!t) return BAD("tensors is NULL");
    const seattn_batch_desc *b = batch;
    if (b->n_seqs == 0) return BAD("batch->n_seqs is 0; it must be >= 1");
    if (b->q_tokens == 0 || b->q_tokens >= MAX_POSITIONS)
        return BAD("batch->q_tokens (%u) must be in 1..2^24-1", b->q_tokens);
    if (b->kv_tokens == 0 || b->kv_tokens >= MAX_POSITIONS)
        return BAD("batch->kv_tokens (%u) must be in 1..2^24-1", b->kv_tokens);
    if (b->max_q_len == 0 || b->max_q_len > b->q_tokens)
        return BAD("batch->max_q_len (%u) must be in 1..q_tokens (%u)", b->max_q_len, b->q_tokens);
    if (b->max_kv_len < b->max_q_len || b->max_kv_len >= MAX_POSITIONS)
        return BAD("batch->max_kv_len (%u) must be >= max_q_len (%u) and below 2^24", b->max_kv_len,
                   b->max_q_len);
    if (b->page_size > b->kv_tokens)
        return BAD("batch->page_size (%u) is larger than the pool (kv_tokens %u)", b->page_size,
                   b->kv_tokens);
    if (b->page_size > 0 && b->block_table_len == 0)
        return BAD("batch->block_table_len is 0; a paged batch needs a block table");
    if (b->page_size > 0 && !bt)
        return BAD("block_table is NULL; page_size %u needs it", b->page_size);
    if (!seqs) return BAD("seqs is NULL");
    /* the views: q, out and lse of q_tokens rows, k and v of kv_tokens tokens */
    seattn_attention_desc d = *desc;
    d.q_len = b->q_tokens;
    d.kv_len = b->kv_tokens > b->q_tokens ? b->kv_tokens : b->q_tokens;
    d.q_pos = 0;
    d.flags |= SEATTN_ATTN_Q_POS;
    seattn_status s = seattn__attn_resolve(ctx, &d, r);
    if (s != SEATTN_SUCCESS) return s;
    if (!desc->k_strides.head && !desc->k_strides.token)
        r->k_strides = (seattn_strides){(uint64_t)b->kv_tokens * r->head_dim, r->head_dim};
    if (!desc->v_strides.head && !desc->v_strides.token)
        r->v_strides = (seattn_strides){(uint64_t)b->kv_tokens * r->v_head_dim, r->v_head_dim};
    r->kv_len = b->kv_tokens;
    seattn__chunks_strides(desc, t, r);
    if ((s = seattn__attn_check_tensors(ctx, r, t))) return s;
    if (t->n_kv_chunks && (s = seattn__chunks_check_layout(ctx, t, b->kv_tokens, b->page_size)))
        return s;
    struct {
        const char *name;
        const seattn_tensor *t;
        uint64_t first, n;
    } meta[2] = {
        {"seqs", seqs, b->seqs_offset, 5 * (uint64_t)b->n_seqs},
        {"block_table", b->page_size ? bt : NULL, b->block_table_offset, b->block_table_len}};
    for (int i = 0; i < 2; i++) {
        if (!meta[i].t) continue;
        if (meta[i].t->ctx != ctx) return BAD("tensor %s belongs to another context", meta[i].name);
        if (meta[i].first > (UINT64_C(1) << 40) ||
            (meta[i].first + meta[i].n) * 4 > meta[i].t->bytes)
            return seattn__fail(ctx, SEATTN_ERROR_BUFFER_TOO_SMALL,
                                "tensor %s holds %zu bytes, too few for %llu u32 entries from "
                                "element %llu",
                                meta[i].name, meta[i].t->bytes, (unsigned long long)meta[i].n,
                                (unsigned long long)meta[i].first);
        const uint64_t m0 = meta[i].first, m1 = meta[i].first + meta[i].n - 1;
        uint64_t f, l;
        seattn__view_span(r->out_offset, r->out_strides, r->n_heads, r->q_len, r->v_head_dim, &f,
                          &l);
        if (seattn__tensors_overlap(meta[i].t, m0, m1, SEATTN_DTYPE_F32, t->out, f, l, r->out_type))
            return BAD("out overlaps %s", meta[i].name);
        seattn__view_span(r->lse_offset, r->lse_strides, r->n_heads, r->q_len, 1, &f, &l);
        if (t->lse && seattn__tensors_overlap(meta[i].t, m0, m1, SEATTN_DTYPE_F32, t->lse, f, l,
                                              SEATTN_DTYPE_F32))
            return BAD("lse overlaps %s", meta[i].name);
    }
    out->b = *b;
    out->seqs = seqs;
    out->bt = b->page_size ? bt : NULL;
    return SEATTN_SUCCESS;
}

seattn_status seattn_attention_batch(seattn_context *ctx, const seattn_attention_desc *desc,
                                     const seattn_batch_desc *batch,
                                     const seattn_attention_tensors *tensors,
                                     const seattn_tensor *seqs, const seattn_tensor *block_table) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_attention_desc r;
    seattn__batch bat;
    seattn_status s = seattn__batch_prepare(ctx, desc, batch, tensors, seqs, block_table, &r, &bat);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0, .key_splits = 1};
    if (ctx->backend == SEATTN_BACKEND_CPU) {
        s = seattn__cpu_attention_batch(ctx, &r, tensors, &bat);
        snprintf(st.kernel, sizeof st.kernel, "cpu reference batch");
    } else {
        s = seattn__vk_attention(ctx, &r, tensors, &bat, &st);
    }
    st.host_ms = seattn__now_ms() - t0;
    if (s == SEATTN_SUCCESS) ctx->last_call = st;
    return s;
}

const char *seattn__seq_problem(const seattn_batch_desc *b, const seattn_seq *q, const uint32_t *bt,
                                uint32_t *bad_entry) {
    if (q->q_len > b->max_q_len) return "q_len is above max_q_len";
    if (q->q_len > b->q_tokens || q->q_start > b->q_tokens - q->q_len)
        return "q_start + q_len is past q_tokens";
    if (q->kv_len > b->max_kv_len) return "kv_len is above max_kv_len";
    if (q->q_pos > q->kv_len || q->q_len > q->kv_len - q->q_pos)
        return "q_pos + q_len is past kv_len";
    if (b->page_size == 0) {
        if (q->kv_len > b->kv_tokens || q->kv_start > b->kv_tokens - q->kv_len)
            return "kv_start + kv_len is past kv_tokens";
        return NULL;
    }
    const uint32_t P = b->page_size, np = q->kv_len / P + (q->kv_len % P != 0);
    if (q->kv_start > b->block_table_len || np > b->block_table_len - q->kv_start)
        return "its pages run past block_table_len (kv_start + ceil(kv_len / page_size))";
    for (uint32_t i = 0; i < np; i++)
        if (bt[q->kv_start + i] >= b->kv_tokens / P) {
            *bad_entry = q->kv_start + i;
            return "a block-table entry is past the pool (kv_tokens / page_size pages)";
        }
    return NULL;
}

static int by_q_start(const void *a, const void *b) {
    const seattn_seq *x = *(const seattn_seq *const *)a, *y = *(const seattn_seq *const *)b;
    return x->q_start < y->q_start ? -1 : x->q_start > y->q_start;
}

seattn_status seattn_batch_check(const seattn_batch_desc *b, const seattn_seq *seqs,
                                 const uint32_t *bt, char *msg, size_t msg_size) {
    char dummy[8];
    if (!msg || msg_size == 0) msg = dummy, msg_size = sizeof dummy;
    msg[0] = '\0';
#define FAIL(...) (snprintf(msg, msg_size, __VA_ARGS__), SEATTN_ERROR_INVALID_ARGUMENT)
    if (!b || !seqs) return FAIL("batch and seqs must not be NULL");
    if (b->page_size && !bt)
        return FAIL("block_table is NULL; page_size %u needs it", b->page_size);
    if (b->n_seqs == 0) return FAIL("n_seqs is 0");
    for (uint32_t s = 0; s < b->n_seqs; s++) {
        uint32_t entry = UINT32_MAX;
        const char *why = seattn__seq_problem(b, &seqs[s], bt, &entry);
        const seattn_seq *q = &seqs[s];
        if (why && entry != UINT32_MAX)
            return FAIL("sequence %u (kv_start %u, kv_len %u): %s: entry %u holds page %u of %u", s,
                        q->kv_start, q->kv_len, why, entry, bt[entry], b->kv_tokens / b->page_size);
        if (why)
            return FAIL("sequence %u (q_start %u, q_len %u, q_pos %u, kv_len %u, kv_start %u): "
                        "%s",
                        s, q->q_start, q->q_len, q->q_pos, q->kv_len, q->kv_start, why);
    }
    const seattn_seq **order = seattn__malloc(sizeof *order * b->n_seqs);
    if (!order) {
        snprintf(msg, msg_size, "out of host memory");
        return SEATTN_ERROR_OUT_OF_MEMORY;
    }
    uint32_t n = 0;
    for (uint32_t s = 0; s < b->n_seqs; s++)
        if (seqs[s].q_len) order[n++] = &seqs[s];
    qsort(order, n, sizeof *order, by_q_start);
    seattn_status st = SEATTN_SUCCESS;
    for (uint32_t i = 1; i < n && st == SEATTN_SUCCESS; i++)
        if (order[i]->q_start < order[i - 1]->q_start + order[i - 1]->q_len)
            st = FAIL("sequences %u and %u share query rows (q_start %u and %u)",
                      (uint32_t)(order[i - 1] - seqs), (uint32_t)(order[i] - seqs),
                      order[i - 1]->q_start, order[i]->q_start);
    seattn__free(order);
    return st;
#undef FAIL
}
