/* A differential test of the device path: random calls run on a Vulkan kernel and on the CPU
 * backend with the same tensors, every element of every output tensor compared, guard regions
 * included.
 *
 *   differential [--kernel NAME] [--seed N] [--iters N] [--only batch|single|merge] [-v]
 *
 * (24 iterations unless SEATTN_TEST_DIFFERENTIAL_ITERS or --iters says otherwise)
 *
 * batch:  seattn_attention_batch() on random batches: valid and garbage metadata (block-table
 *         entries past the pool, q_pos / kv_len / kv_start / q_start past their bounds),
 *         contiguous keys and pages of 1, 5, 7 and 16 tokens, decode, chunks and prompts, GQA
 *         (1 to 4 query heads a KV head), f32 and f16, raw and rotated keys, a model's RoPE
 *         (scaled frequencies, an attention factor), rotated slices at an offset, a v head
 *         size of its own, a logit softcap, sinks, key splits forced (SEATTN_SPLIT, a second
 *         context) and not;
 * single: seattn_attention() on random valid descriptors: shapes, strides with padding, offsets,
 *         every flag, G, W, RoPE options (a model's frequencies and attention factor, rotated
 *         slices at an offset), v head sizes, a logit softcap, sinks, dtypes, QK-norm weights,
 *         the lse output;
 * merge:
 * seattn_attention_merge() of two random attentions' outputs and lse, in place and not.
 *
 * An element passes when the two backends' bits are equal, both are NaN, or they differ by at
 * most 1e-4 (f32 outputs) or 2e-3 (f16 outputs: an ulp of the rounding either side may take).
 * Rows of out and lse that no sequence covers must keep their sentinel on both, guards and
 * padding likewise, and the inputs must not change. Ends with "N passed, N failed" (calls). */
#include <seattn/seattn.h>

#include "platform.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GUARD = 29 };                       /* elements of guard before and after every view */
static const float SENTINEL = 1234.5f;     /* in out, lse, and every unused element */
static const uint16_t SENTINEL16 = 0x64d2; /* 1234.0 as f16 */
static const uint32_t SENTINEL_U32 = 0xdeadbeefu; /* metadata's guards */

static uint16_t to_f16(float x) {
    uint16_t h;
    seattn_f32_to_f16(&x, &h, 1);
    return h;
}
static float from_f16(uint16_t h) {
    float x;
    seattn_f16_to_f32(&h, &x, 1);
    return x;
}

/* ---- random numbers (xorshift64*) ---------------------------------------------------------- */
static uint64_t rng_state;
static uint32_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}
static uint32_t rnd_in(uint32_t lo, uint32_t hi) { /* [lo, hi] */
    return lo + rnd() % (hi - lo + 1);
}
static float rnd_unit(void) { /* [-1, 1) */
    return (float)((double)rnd() / 2147483648.0 - 1.0);
}
static int one_in(uint32_t n) {
    return rnd() % n == 0;
}

/* ---- counts ------------------------------------------------------------------------------- */
static struct {
    unsigned calls, failed_calls, refused;
    unsigned long rows, nan_rows, untouched_rows, elements;
} count;
static int verbose;

/* ---- a tensor on both backends ------------------------------------------------------------ */
typedef enum { KIND_IN, KIND_OUT } kind;
typedef struct {
    const char *name;
    kind kind;
    size_t n;      /* elements, guards included */
    size_t es;     /* bytes an element: 4, or 2 for f16 */
    int is_u32;    /* metadata */
    uint8_t *init; /* what both got */
    uint8_t *got[2];
    seattn_tensor *t[2];
} buf;

static void buf_init(buf *b, const char *name, kind k, size_t view_elems, size_t es, int is_u32) {
    memset(b, 0, sizeof *b);
    b->name = name, b->kind = k, b->es = es, b->is_u32 = is_u32;
    b->n = view_elems + 2 * GUARD;
    b->init = malloc(b->n * es);
    for (size_t i = 0; i < b->n; i++) {
        if (es == 2)
            memcpy(b->init + 2 * i, &SENTINEL16, 2);
        else if (is_u32)
            memcpy(b->init + 4 * i, &SENTINEL_U32, 4);
        else
            memcpy(b->init + 4 * i, &SENTINEL, 4);
    }
}
/* Element i (view element, GUARD before it) set from a float (as f16 where es is 2). */
static void buf_setf(buf *b, size_t i, float x) {
    i += GUARD;
    if (b->es == 2) {
        const uint16_t h = to_f16(x);
        memcpy(b->init + 2 * i, &h, 2);
    } else
        memcpy(b->init + 4 * i, &x, 4);
}
static void buf_setu(buf *b, size_t i, uint32_t x) {
    memcpy(b->init + 4 * (i + GUARD), &x, 4);
}
static int buf_make(buf *b, seattn_context *const ctx[2]) {
    for (int c = 0; c < 2; c++) {
        if (seattn_tensor_create(ctx[c], b->n * b->es, &b->t[c]) != SEATTN_SUCCESS ||
            seattn_tensor_upload(ctx[c], b->t[c], 0, b->init, b->n * b->es) != SEATTN_SUCCESS) {
            fprintf(stderr, "differential: tensor %s: %s\n", b->name,
                    seattn_context_last_error(ctx[c]));
            return -1;
        }
    }
    return 0;
}
static void buf_free(buf *b) {
    for (int c = 0; c < 2; c++) {
        seattn_tensor_destroy(b->t[c]);
        free(b->got[c]);
    }
    free(b->init);
    memset(b, 0, sizeof *b);
}
static float elem_f(const buf *b, const uint8_t *p, size_t i) {
    if (b->es == 2) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return from_f16(h);
    }
    float x;
    memcpy(&x, p + 4 * i, 4);
    return x;
}

/* Downloads both and compares: inputs unchanged on both; outputs equal, both NaN, or close.
 * Returns the number of bad elements (the first few printed). */
static unsigned buf_compare(buf *b, seattn_context *const ctx[2], const char *what) {
    unsigned bad = 0;
    for (int c = 0; c < 2; c++) {
        b->got[c] = malloc(b->n * b->es);
        if (seattn_tensor_download(ctx[c], b->t[c], 0, b->got[c], b->n * b->es) != SEATTN_SUCCESS) {
            fprintf(stderr, "differential: %s: download of %s failed\n", what, b->name);
            return 1;
        }
    }
    const double tol = b->es == 2 ? 2e-3 : 1e-4;
    for (size_t i = 0; i < b->n; i++) {
        const uint8_t *x = b->got[1] + i * b->es, *y = b->got[0] + i * b->es;
        const uint8_t *z = b->init + i * b->es;
        const int guard = i < GUARD || i >= b->n - GUARD;
        const char *why = NULL;
        if (b->kind == KIND_IN || guard) {
            if (memcmp(x, z, b->es) != 0) why = "device changed it";
            if (memcmp(y, z, b->es) != 0) why = "the CPU backend changed it";
        } else if (memcmp(x, y, b->es) != 0) {
            const float fx = elem_f(b, b->got[1], i), fy = elem_f(b, b->got[0], i);
            if (isnan(fx) != isnan(fy) || (!isnan(fx) && !(fabs((double)fx - fy) <= tol)))
                why = "differs";
        }
        if (why && bad++ < 5)
            fprintf(stderr, "  %s: %s[%ld] %s: device %g, cpu %g, before %g\n", what, b->name,
                    (long)i - GUARD, why, (double)elem_f(b, b->got[1], i),
                    (double)elem_f(b, b->got[0], i), (double)elem_f(b, b->init, i));
    }
    count.elements += b->n;
    return bad;
}

/* Counts the rows of an [nh, tokens, d] output view at GUARD with token stride d and head
 * stride tokens * d by what the CPU backend left there. */
static void count_rows(const buf *out, uint32_t nh, uint32_t tokens, uint32_t d) {
    for (uint32_t h = 0; h < nh; h++)
        for (uint32_t r = 0; r < tokens; r++) {
            const size_t at = GUARD + ((size_t)h * tokens + r) * d;
            const float x = elem_f(out, out->got[0], at);
            const float sent = out->es == 2 ? from_f16(SENTINEL16) : SENTINEL;
            count.rows++;
            if (isnan(x))
                count.nan_rows++;
            else if (x == sent &&
                     memcmp(out->got[0] + at * out->es, out->init + at * out->es, out->es) == 0)
                count.untouched_rows++;
        }
}

/* ---- contexts ------------------------------------------------------------------------------ */
static const char *kernel;
static seattn_context *cpu_ctx, *vk_ctx[2]; /* [0] the plan's splits, [1] SEATTN_SPLIT=3 */

static seattn_context *make_vulkan(int split) {
    seattn_context_options o = {.kernel = kernel};
    const char *v = getenv("SEATTN_TEST_VALIDATION");
    if (v && strcmp(v, "1") == 0) o.flags |= SEATTN_CONTEXT_VALIDATION;
    if (split) seattn__set_env("SEATTN_SPLIT", "3"); /* read once, at context creation */
    seattn_context *ctx = NULL;
    const seattn_status s = seattn_context_create(&o, &ctx);
    if (split) seattn__set_env("SEATTN_SPLIT", NULL);
    if (s != SEATTN_SUCCESS) {
        fprintf(stderr, "differential: no Vulkan context (kernel %s): %s\n",
                kernel ? kernel : "default", seattn_last_create_error());
        return NULL;
    }
    return ctx;
}

/* The kernel a call ran starts with the forced one's name. */
static int ran_forced(seattn_context *ctx, const char *what) {
    seattn_call_stats st;
    seattn_context_last_call(ctx, &st);
    if (kernel && strncmp(st.kernel, kernel, strlen(kernel)) != 0) {
        fprintf(stderr, "  %s: ran %s, not the forced %s\n", what, st.kernel, kernel);
        return 0;
    }
    if (verbose) printf("  %s: %s\n", what, st.kernel);
    return 1;
}

/* Ends a call: the statuses agree (and succeeded), the kernel was the forced one, every tensor
 * compares. */
static void finish_call(const char *what, seattn_status s_cpu, seattn_status s_vk,
                        seattn_context *vk, buf *const bufs[], int n_bufs) {
    seattn_context *const ctx[2] = {cpu_ctx, vk};
    unsigned bad = 0;
    count.calls++;
    if (s_cpu != SEATTN_SUCCESS || s_vk != SEATTN_SUCCESS) {
        fprintf(stderr, "  %s: cpu %s (%s), vulkan %s (%s)\n", what, seattn_status_string(s_cpu),
                seattn_context_last_error(cpu_ctx), seattn_status_string(s_vk),
                seattn_context_last_error(vk));
        bad++;
    } else if (!ran_forced(vk, what))
        bad++;
    for (int i = 0; i < n_bufs && !bad; i++)
        bad += buf_compare(bufs[i], ctx, what);
    if (bad) {
        count.failed_calls++;
        fprintf(stderr, "FAIL %s\n", what);
    }
}

/* One in three: a model's RoPE (shared/golden-models/): frequencies scaled pair by pair from
 * theta's (down to 1/32, as llama3 and YaRN scale the low ones) into freq (rotary_dims / 2 of
 * them, set before), and one in two of those an attention factor up to 1.5. */
static void random_model_rope(seattn_attention_desc *desc, double *freq) {
    if (!one_in(3)) return;
    const uint32_t rot = desc->rotary_dims ? desc->rotary_dims : desc->head_dim;
    const double theta = desc->rope_theta > 0.0f ? desc->rope_theta : 10000.0;
    for (uint32_t m = 0; m < rot / 2; m++)
        freq[m] = pow(theta, -2.0 * m / rot) / (double)rnd_in(1, 32);
    desc->rope_inv_freq = freq;
    if (one_in(2)) desc->rope_attention_factor = 1.0f + (float)rnd_in(1, 50) / 100.0f;
}

/* One in four: a logit softcap (Gemma 2's 50, or small ones that bend every score). */
static void random_softcap(seattn_attention_desc *desc) {
    if (one_in(4)) desc->logit_softcap = (const float[]){50.0f, 2.0f, 0.5f}[rnd() % 3];
}

/* The rotated slice's offset (DeepSeek's MLA rotates the last 64 of 192 dims): one in three of
 * the calls with a slice narrower than head_dim, any offset that fits (odd ones too). */
static void random_rotary_offset(seattn_attention_desc *desc) {
    const uint32_t rot = desc->rotary_dims ? desc->rotary_dims : desc->head_dim;
    if (rot < desc->head_dim && one_in(3)) desc->rotary_offset = rnd_in(0, desc->head_dim - rot);
}

/* One in four: a v head size of its own (MLA: 128 against 192); the texel kernel splits it
 * over its 8 lanes (lavapipe's), so a forced texel kernel gets multiples of 16, the others any
 * size. */
static void random_v_head_dim(seattn_attention_desc *desc) {
    if (!one_in(4)) return;
    desc->v_head_dim = kernel && strcmp(kernel, "texel") == 0 ? 16 * rnd_in(1, 10) : rnd_in(2, 160);
}

/* One in four: attention sinks (gpt-oss), a buffer of n_heads logits in [1, 7) at
 * sinks_offset (near the rows' own log-sum-exp, so that they matter). */
static int random_sinks(seattn_attention_desc *desc, buf *sinks) {
    const int on = one_in(4);
    if (on) desc->flags |= SEATTN_ATTN_SINKS;
    desc->sinks_offset = GUARD + rnd_in(0, 5);
    buf_init(sinks, "sinks", KIND_IN, desc->sinks_offset - GUARD + desc->n_heads, 4, 0);
    for (size_t i = 0; i < sinks->n - 2 * GUARD; i++)
        buf_setf(sinks, i, 4.0f + 3.0f * rnd_unit());
    return on;
}

/* ---- batches ------------------------------------------------------------------------------- */
static void one_batch(unsigned it) {
    const uint32_t nkv = rnd_in(1, 2), rep = rnd_in(1, 4), nh = nkv * rep;
    const uint32_t d = one_in(2) ? 32 : 64;
    const int f16 = one_in(4);
    const uint32_t P = (const uint32_t[]){0, 1, 5, 7, 16}[rnd() % 5];
    const uint32_t n = rnd_in(1, 6);
    seattn_attention_desc desc = {.n_heads = nh, .n_kv_heads = nkv, .head_dim = d};
    desc.group_size = (int32_t)rnd_in(1, 4);
    desc.neighbor_window = desc.group_size == 1 && one_in(2) ? 0 : (int32_t)rnd_in(1, 40);
    desc.key_mode = one_in(2) ? SEATTN_KEYS_ROTATED : SEATTN_KEYS_RAW;
    desc.rope_layout = one_in(4) ? SEATTN_ROPE_INTERLEAVED : SEATTN_ROPE_ROTATE_HALF;
    if (one_in(3)) desc.rotary_dims = 16;
    random_rotary_offset(&desc);
    double freq[256];
    random_model_rope(&desc, freq);
    random_softcap(&desc);
    random_v_head_dim(&desc);
    const uint32_t dv = desc.v_head_dim ? desc.v_head_dim : d;
    if (f16) desc.q_type = desc.k_type = desc.v_type = desc.out_type = SEATTN_DTYPE_F16;
    const size_t es = f16 ? 2 : 4;

    /* the sequences: disjoint query rows, keys contiguous or in pages of a shuffled pool */
    seattn_seq seq[8];
    uint32_t qt = 0, kt = 0, pages = 0, max_q = 1, max_kv = 1;
    for (uint32_t s = 0; s < n; s++) {
        const uint32_t kind_of = rnd() % 4; /* decode, chunk, prompt, free slot */
        const uint32_t kv = rnd_in(1, 215);
        uint32_t ql = kind_of == 0 ? 1 : kind_of == 3 ? 0 : rnd_in(1, kv < 16 ? kv : 16);
        if (kind_of == 2) ql = kv < 16 ? kv : rnd_in(1, 16);
        const uint32_t qp = kind_of == 1 ? rnd_in(0, kv - ql) : kv - ql;
        seq[s] = (seattn_seq){
            .q_start = qt, .q_len = ql, .q_pos = qp, .kv_len = kv, .kv_start = P ? pages : kt};
        qt += ql + rnd_in(0, 2);
        kt += kv;
        pages += P ? (kv + P - 1) / P : 0;
        if (ql > max_q) max_q = ql;
        if (kv > max_kv) max_kv = kv;
    }
    if (qt == 0) qt = 1;
    const uint32_t spare = P ? rnd_in(0, 3) : 0;
    const uint32_t pool_pages = pages + spare;
    const uint32_t kv_tokens = P ? pool_pages * P : kt;
    const uint32_t bt_len = P ? (pages ? pages : 1) : 0;
    uint32_t *bt = calloc(bt_len + 1, sizeof *bt);
    for (uint32_t i = 0; i < bt_len; i++)
        bt[i] = i;
    for (uint32_t i = bt_len; i > 1; i--) {
        const uint32_t j = rnd() % i, t = bt[i - 1];
        bt[i - 1] = bt[j], bt[j] = t;
    }
    /* garbage: one block-table entry in nine, one sequence field in eight */
    for (uint32_t i = 0; i < bt_len; i++)
        if (one_in(9)) {
            const uint32_t pick = rnd() % 3;
            bt[i] = pick == 0 ? pool_pages : pick == 1 ? pool_pages + rnd_in(1, 1000) : rnd();
        }
    for (uint32_t s = 0; s < n; s++) {
        if (!one_in(8)) continue;
        switch (rnd() % 5) {
        case 0:
            seq[s].q_pos = seq[s].kv_len - seq[s].q_len + rnd_in(1, 50);
            break;
        case 1:
            seq[s].kv_len = max_kv + rnd_in(1, 50);
            break;
        case 2:
            seq[s].kv_start = P ? bt_len + rnd_in(0, 5) : kt + rnd_in(0, 50);
            break;
        case 3:
            seq[s].q_start = qt + rnd_in(0, 3);
            break; /* rows past the views: skipped */
        default:
            seq[s].q_len = max_q + 1;
            break; /* past max_q_len: skipped */
        }
    }
    seattn_batch_desc b = {.n_seqs = n,
                           .max_q_len = max_q,
                           .max_kv_len = max_kv,
                           .q_tokens = qt,
                           .kv_tokens = kv_tokens,
                           .page_size = P,
                           .block_table_len = bt_len,
                           .seqs_offset = GUARD,
                           .block_table_offset = GUARD};
    desc.q_offset = desc.k_offset = desc.v_offset = desc.out_offset = desc.lse_offset = GUARD;

    buf q, k, v, out, lse, seqs, table, sinks;
    const int with_sinks = random_sinks(&desc, &sinks);
    buf_init(&q, "q", KIND_IN, (size_t)nh * qt * d, es, 0);
    buf_init(&k, "k", KIND_IN, (size_t)nkv * kv_tokens * d, es, 0);
    buf_init(&v, "v", KIND_IN, (size_t)nkv * kv_tokens * dv, es, 0);
    buf_init(&out, "out", KIND_OUT, (size_t)nh * qt * dv, es, 0);
    buf_init(&lse, "lse", KIND_OUT, (size_t)nh * qt, 4, 0);
    buf_init(&seqs, "seqs", KIND_IN, 5 * (size_t)n, 4, 1);
    buf_init(&table, "block_table", KIND_IN, bt_len ? bt_len : 1, 4, 1);
    for (size_t i = 0; i < q.n - 2 * GUARD; i++)
        buf_setf(&q, i, rnd_unit());
    for (size_t i = 0; i < k.n - 2 * GUARD; i++)
        buf_setf(&k, i, rnd_unit());
    for (size_t i = 0; i < v.n - 2 * GUARD; i++)
        buf_setf(&v, i, rnd_unit());
    for (uint32_t s = 0; s < n; s++) {
        const uint32_t w[5] = {seq[s].q_start, seq[s].q_len, seq[s].q_pos, seq[s].kv_len,
                               seq[s].kv_start};
        for (int i = 0; i < 5; i++)
            buf_setu(&seqs, 5 * s + i, w[i]);
    }
    for (uint32_t i = 0; i < bt_len; i++)
        buf_setu(&table, i, bt[i]);
    free(bt);

    seattn_context *vk = vk_ctx[it % 2];
    seattn_context *const ctx[2] = {cpu_ctx, vk};
    buf *const all[] = {&q, &k, &v, &out, &lse, &seqs, &table, &sinks};
    char what[240];
    snprintf(what, sizeof what,
             "batch %u: %u seqs, %u/%u heads, d %u/%u (rot %u+%u), G %d, W %d, P %u, %s%s%s%s%s%s",
             it, n, nh, nkv, d, dv, desc.rotary_dims, desc.rotary_offset, desc.group_size,
             desc.neighbor_window, P, f16 ? "f16" : "f32",
             desc.key_mode == SEATTN_KEYS_ROTATED ? ", rotated keys" : "",
             desc.rope_layout == SEATTN_ROPE_INTERLEAVED ? ", interleaved" : "",
             desc.rope_inv_freq ? ", model RoPE" : "", with_sinks ? ", sinks" : "",
             it % 2 ? ", 3 splits forced" : "");
    int ok = 1;
    for (int i = 0; i < 8 && ok; i++)
        ok = buf_make(all[i], ctx) == 0;
    seattn_status st[2] = {SEATTN_ERROR_INVALID_ARGUMENT, SEATTN_ERROR_INVALID_ARGUMENT};
    for (int c = 0; c < 2 && ok; c++) {
        const seattn_attention_tensors ts = {.q = q.t[c],
                                             .k = k.t[c],
                                             .v = v.t[c],
                                             .out = out.t[c],
                                             .lse = lse.t[c],
                                             .sinks = sinks.t[c]};
        st[c] = seattn_attention_batch(ctx[c], &desc, &b, &ts, seqs.t[c], P ? table.t[c] : NULL);
    }
    finish_call(what, st[0], st[1], vk, all, 8);
    if (out.got[0]) count_rows(&out, nh, qt, dv);
    for (int i = 0; i < 8; i++)
        buf_free(all[i]);
}

/* ---- single calls -------------------------------------------------------------------------- */
/* A view of heads x len vectors of vec elements with padding between them: its strides and the
 * elements it spans from offset (the tensor holds offset + span). */
static seattn_strides padded(uint32_t heads, uint32_t len, uint32_t vec, size_t *span) {
    seattn_strides s = {0, 0};
    if (one_in(2)) {
        *span = (size_t)heads * len * vec; /* dense: zero strides */
        return s;
    }
    if (one_in(2)) { /* token-major ([len, heads, vec], as engines keep KV caches) */
        s.head = vec + rnd_in(0, 3);
        s.token = s.head * heads + rnd_in(0, 5);
    } else {
        s.token = vec + rnd_in(0, 5);
        s.head = s.token * len + rnd_in(0, 7);
    }
    *span = (size_t)(heads - 1) * s.head + (size_t)(len - 1) * s.token + vec;
    return s;
}

static void one_single(unsigned it) {
    const uint32_t nkv = rnd_in(1, 3), rep = rnd_in(1, 4), nh = nkv * rep;
    const uint32_t d = (const uint32_t[]){16, 32, 64, 80, 128}[rnd() % 5];
    const uint32_t kv = one_in(4) ? rnd_in(300, 1500) : rnd_in(1, 200);
    const uint32_t ql = one_in(3) ? 1 : rnd_in(1, kv < 40 ? kv : 40);
    seattn_attention_desc desc = {
        .n_heads = nh, .n_kv_heads = nkv, .head_dim = d, .q_len = ql, .kv_len = kv};
    if (one_in(2)) {
        desc.flags |= SEATTN_ATTN_Q_POS;
        desc.q_pos = rnd_in(0, kv - ql);
    }
    desc.group_size = (int32_t)rnd_in(1, 8);
    desc.neighbor_window = desc.group_size == 1 && one_in(2) ? 0 : (int32_t)rnd_in(1, 300);
    if (desc.group_size > 1 && one_in(5))
        desc.flags |= one_in(2) ? SEATTN_ATTN_NEIGHBOR_ONLY : SEATTN_ATTN_GROUPED_ONLY;
    desc.key_mode = one_in(2) ? SEATTN_KEYS_ROTATED : SEATTN_KEYS_RAW;
    desc.rope_layout = one_in(4) ? SEATTN_ROPE_INTERLEAVED : SEATTN_ROPE_ROTATE_HALF;
    /* a rotated slice; the texel kernel takes whole pairs a lane (8 lanes on lavapipe): a
     * forced texel kernel gets slices it can split, the others any */
    if (one_in(3))
        desc.rotary_dims =
            kernel && strcmp(kernel, "texel") == 0 ? 16 * rnd_in(1, d / 16) : 2 * rnd_in(1, d / 2);
    random_rotary_offset(&desc);
    if (one_in(3)) desc.rope_theta = (const float[]){500000.0f, 1e6f, 100.0f}[rnd() % 3];
    double freq[256];
    random_model_rope(&desc, freq);
    random_softcap(&desc);
    random_v_head_dim(&desc);
    const uint32_t dv = desc.v_head_dim ? desc.v_head_dim : d;
    if (one_in(4)) desc.scale = 0.05f + (float)rnd_in(0, 100) / 400.0f;
    if (one_in(6)) desc.scale_base = (float)rnd_in(2, 64);
    if (one_in(4)) desc.flags |= SEATTN_ATTN_Q_NORM;
    if (one_in(4) && desc.key_mode == SEATTN_KEYS_RAW) desc.flags |= SEATTN_ATTN_K_NORM;
    if (one_in(4)) desc.qk_norm_eps = 1e-5f;
    desc.q_type = one_in(4) ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32;
    desc.k_type = one_in(4) ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32;
    desc.v_type = one_in(4) ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32;
    desc.out_type = one_in(4) ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32;
    size_t sq, sk, sv, so, sl;
    desc.q_strides = padded(nh, ql, d, &sq);
    desc.k_strides = padded(nkv, kv, d, &sk);
    desc.v_strides = padded(nkv, kv, dv, &sv);
    desc.out_strides = padded(nh, ql, dv, &so);
    desc.lse_strides = padded(nh, ql, 1, &sl);
    /* offsets: GUARD, and some more (odd ones too) */
    desc.q_offset = GUARD + rnd_in(0, 9);
    desc.k_offset = GUARD + rnd_in(0, 9);
    desc.v_offset = GUARD + rnd_in(0, 9);
    desc.out_offset = GUARD + rnd_in(0, 9);
    desc.lse_offset = GUARD + rnd_in(0, 9);
    desc.q_norm_offset = GUARD + rnd_in(0, 5);
    desc.k_norm_offset = GUARD + rnd_in(0, 5);
    const int with_lse = !one_in(4), weights = one_in(2);
    const size_t eq = desc.q_type == SEATTN_DTYPE_F16 ? 2 : 4,
                 ek = desc.k_type == SEATTN_DTYPE_F16 ? 2 : 4,
                 ev = desc.v_type == SEATTN_DTYPE_F16 ? 2 : 4,
                 eo = desc.out_type == SEATTN_DTYPE_F16 ? 2 : 4;
    buf q, k, v, out, lse, qw, kw, sinks;
    const int with_sinks = random_sinks(&desc, &sinks);
    /* views are offset - GUARD into the buffer's view region; the rest stays sentinel */
    buf_init(&q, "q", KIND_IN, desc.q_offset - GUARD + sq, eq, 0);
    buf_init(&k, "k", KIND_IN, desc.k_offset - GUARD + sk, ek, 0);
    buf_init(&v, "v", KIND_IN, desc.v_offset - GUARD + sv, ev, 0);
    buf_init(&out, "out", KIND_OUT, desc.out_offset - GUARD + so, eo, 0);
    buf_init(&lse, "lse", KIND_OUT, desc.lse_offset - GUARD + sl, 4, 0);
    buf_init(&qw, "q_norm_weight", KIND_IN, desc.q_norm_offset - GUARD + d, 4, 0);
    buf_init(&kw, "k_norm_weight", KIND_IN, desc.k_norm_offset - GUARD + d, 4, 0);
    /* every element of the inputs random, padding included (it must not be read: it would
     * show as a difference only by chance, but it must not crash or change anything) */
    for (size_t i = 0; i < q.n - 2 * GUARD; i++)
        buf_setf(&q, i, rnd_unit());
    for (size_t i = 0; i < k.n - 2 * GUARD; i++)
        buf_setf(&k, i, rnd_unit());
    for (size_t i = 0; i < v.n - 2 * GUARD; i++)
        buf_setf(&v, i, rnd_unit());
    for (size_t i = 0; i < qw.n - 2 * GUARD; i++)
        buf_setf(&qw, i, 1.0f + 0.5f * rnd_unit());
    for (size_t i = 0; i < kw.n - 2 * GUARD; i++)
        buf_setf(&kw, i, 1.0f + 0.5f * rnd_unit());
    seattn_context *vk = vk_ctx[it % 2];
    seattn_context *const ctx[2] = {cpu_ctx, vk};
    buf *const all[] = {&q, &k, &v, &out, &lse, &qw, &kw, &sinks};
    char what[260];
    snprintf(what, sizeof what,
             "single %u: %u/%u heads, d %u/%u (rot %u+%u), q %u at %u, kv %u, G %d, W %d, flags "
             "0x%x, types %u%u%u%u, %s keys%s%s%s%s%s",
             it, nh, nkv, d, dv, desc.rotary_dims, desc.rotary_offset, ql, desc.q_pos, kv,
             desc.group_size, desc.neighbor_window, desc.flags, desc.q_type, desc.k_type,
             desc.v_type, desc.out_type, desc.key_mode == SEATTN_KEYS_ROTATED ? "rotated" : "raw",
             with_lse ? ", lse" : "", weights ? ", norm weights" : "",
             desc.rope_inv_freq ? ", model RoPE" : "", with_sinks ? ", sinks" : "",
             it % 2 ? ", 3 splits forced" : "");
    int ok = 1;
    for (int i = 0; i < 8 && ok; i++)
        ok = buf_make(all[i], ctx) == 0;
    seattn_status st[2] = {SEATTN_ERROR_INVALID_ARGUMENT, SEATTN_ERROR_INVALID_ARGUMENT};
    for (int c = 0; c < 2 && ok; c++) {
        const seattn_attention_tensors ts = {.q = q.t[c],
                                             .k = k.t[c],
                                             .v = v.t[c],
                                             .out = out.t[c],
                                             .lse = with_lse ? lse.t[c] : NULL,
                                             .q_norm_weight = weights ? qw.t[c] : NULL,
                                             .k_norm_weight = weights ? kw.t[c] : NULL,
                                             .sinks = sinks.t[c]};
        st[c] = seattn_attention_run(ctx[c], &desc, &ts);
    }
    finish_call(what, st[0], st[1], vk, all, 8);
    if (out.got[0]) count.rows += (unsigned long)nh * ql;
    for (int i = 0; i < 8; i++)
        buf_free(all[i]);
}

/* ---- merges -------------------------------------------------------------------------------- */
static void one_merge(unsigned it) {
    const uint32_t nh = rnd_in(1, 6), d = 2 * rnd_in(1, 64), ql = rnd_in(1, 50);
    seattn_attention_desc desc = {.n_heads = nh, .head_dim = d, .q_len = ql, .kv_len = ql};
    desc.out_type = one_in(3) ? SEATTN_DTYPE_F16 : SEATTN_DTYPE_F32;
    size_t so, sl;
    desc.out_strides = padded(nh, ql, d, &so);
    desc.lse_strides = padded(nh, ql, 1, &sl);
    desc.out_offset = GUARD + rnd_in(0, 9);
    desc.lse_offset = GUARD + rnd_in(0, 9);
    const size_t eo = desc.out_type == SEATTN_DTYPE_F16 ? 2 : 4;
    const int in_place = rnd() % 3; /* 0: a new out, 1: into a, 2: into b */
    const int with_lse = !one_in(4);
    buf oa, ob, la, lb, o, l;
    buf_init(&oa, "out_a", in_place == 1 ? KIND_OUT : KIND_IN, desc.out_offset - GUARD + so, eo, 0);
    buf_init(&ob, "out_b", in_place == 2 ? KIND_OUT : KIND_IN, desc.out_offset - GUARD + so, eo, 0);
    buf_init(&la, "lse_a", in_place == 1 && with_lse ? KIND_OUT : KIND_IN,
             desc.lse_offset - GUARD + sl, 4, 0);
    buf_init(&lb, "lse_b", in_place == 2 && with_lse ? KIND_OUT : KIND_IN,
             desc.lse_offset - GUARD + sl, 4, 0);
    buf_init(&o, "out", KIND_OUT, desc.out_offset - GUARD + so, eo, 0);
    buf_init(&l, "lse", KIND_OUT, desc.lse_offset - GUARD + sl, 4, 0);
    for (size_t i = 0; i < oa.n - 2 * GUARD; i++) {
        buf_setf(&oa, i, rnd_unit());
        buf_setf(&ob, i, rnd_unit());
    }
    /* lse: finite, -inf (no pairs) now and then, in both or one */
    for (size_t i = 0; i < la.n - 2 * GUARD; i++) {
        buf_setf(&la, i, one_in(10) ? -INFINITY : 8.0f * rnd_unit());
        buf_setf(&lb, i, one_in(10) ? -INFINITY : 8.0f * rnd_unit());
    }
    seattn_context *vk = vk_ctx[0];
    seattn_context *const ctx[2] = {cpu_ctx, vk};
    buf *const all[] = {&oa, &ob, &la, &lb, &o, &l};
    char what[200];
    snprintf(what, sizeof what, "merge %u: %u heads, d %u, q %u, %s%s, %s", it, nh, d, ql,
             eo == 2 ? "f16" : "f32", with_lse ? ", lse" : "",
             in_place == 0   ? "a new out"
             : in_place == 1 ? "into a"
                             : "into b");
    int ok = 1;
    for (int i = 0; i < 6 && ok; i++)
        ok = buf_make(all[i], ctx) == 0;
    seattn_status st[2] = {SEATTN_ERROR_INVALID_ARGUMENT, SEATTN_ERROR_INVALID_ARGUMENT};
    for (int c = 0; c < 2 && ok; c++) {
        seattn_tensor *to = in_place == 1 ? oa.t[c] : in_place == 2 ? ob.t[c] : o.t[c];
        seattn_tensor *tl = !with_lse       ? NULL
                            : in_place == 1 ? la.t[c]
                            : in_place == 2 ? lb.t[c]
                                            : l.t[c];
        st[c] = seattn_attention_merge(ctx[c], &desc, oa.t[c], la.t[c], ob.t[c], lb.t[c], to, tl);
    }
    /* the merge names its kernel "merge_lse": no forced attention kernel to check */
    const char *forced = kernel;
    kernel = NULL;
    finish_call(what, st[0], st[1], vk, all, 6);
    kernel = forced;
    count.rows += (unsigned long)nh * ql;
    for (int i = 0; i < 6; i++)
        buf_free(all[i]);
}

int main(int argc, char **argv) {
    unsigned long long seed = 1;
    /* ctest's count is SEATTN_TEST_DIFFERENTIAL_ITERS (run.sh lowers it where the flash kernels
     * compile for minutes); --iters wins */
    const char *env_iters = getenv("SEATTN_TEST_DIFFERENTIAL_ITERS");
    unsigned iters = env_iters && *env_iters ? (unsigned)strtoul(env_iters, NULL, 10) : 24;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc)
            kernel = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: differential [--kernel NAME] [--seed N] [--iters N] "
                            "[--only batch|single|merge] [-v]\n");
            return 2;
        }
    }
    if (only && strcmp(only, "batch") != 0 && strcmp(only, "single") != 0 &&
        strcmp(only, "merge") != 0) {
        fprintf(stderr, "differential: --only takes batch, single or merge, not '%s'\n", only);
        return 2;
    }
    if (iters == 0) {
        fprintf(stderr,
                "differential: no iterations (--iters or SEATTN_TEST_DIFFERENTIAL_ITERS)\n");
        return 2;
    }
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
    seattn_context_options co = {.backend = SEATTN_BACKEND_CPU};
    if (seattn_context_create(&co, &cpu_ctx) != SEATTN_SUCCESS) return 1;
    vk_ctx[0] = make_vulkan(0);
    vk_ctx[1] = make_vulkan(1);
    if (!vk_ctx[0] || !vk_ctx[1]) {
        /* no device: a failure where one must be there, else a skip (ctest: 77) */
        const char *req = getenv("SEATTN_TEST_REQUIRE_DEVICE");
        return req && strcmp(req, "1") == 0 ? 1 : 77;
    }
    printf("differential: kernel %s, seed %llu, %u iterations\n", kernel ? kernel : "default", seed,
           iters);
    for (unsigned it = 0; it < iters; it++) {
        if (!only || strcmp(only, "batch") == 0) one_batch(it);
        if (!only || strcmp(only, "single") == 0) one_single(it);
        if (!only || strcmp(only, "merge") == 0) one_merge(it);
    }
    unsigned validation = 0;
    for (int c = 0; c < 2; c++) {
        validation += seattn_context_validation_errors(vk_ctx[c]);
        seattn_context_destroy(vk_ctx[c]);
    }
    seattn_context_destroy(cpu_ctx);
    printf("differential: %u calls, %lu rows compared (%lu of them NaN on both, %lu untouched on "
           "both), %lu elements, %u validation messages\n",
           count.calls, count.rows, count.nan_rows, count.untouched_rows, count.elements,
           validation);
    if (validation) count.failed_calls++;
    printf("%u passed, %u failed\n", count.calls - count.failed_calls, count.failed_calls);
    return count.failed_calls ? 1 : 0;
}
