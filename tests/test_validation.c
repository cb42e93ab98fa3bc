/* Every invalid descriptor field and tensor is refused before any work, with the right status,
 * a message naming the field, and the output left untouched. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

typedef void (*mutate_fn)(seattn_attention_desc *d);
typedef struct {
    const char *name;
    mutate_fn mutate;
    seattn_status status;
    const char *field;
} bad_case;

#define M(name, ...)                                                                               \
    static void name(seattn_attention_desc *d) {                                                   \
        __VA_ARGS__;                                                                               \
    }
M(no_heads, d->n_heads = 0)
M(kv_not_divisor, d->n_kv_heads = 3)
M(kv_more, d->n_kv_heads = 8)
M(dim_zero, d->head_dim = 0)
M(dim_odd, d->head_dim = 7)
M(dim_big, d->head_dim = 514)
M(q_zero, d->q_len = 0)
M(kv_zero, d->kv_len = 0)
M(kv_huge, d->kv_len = 1u << 24)
M(q_longer, d->q_len = 9)
M(qpos_past, {
    d->flags = SEATTN_ATTN_Q_POS;
    d->q_pos = 7;
})
M(bad_flags, d->flags = 0x80)
M(g_negative, d->group_size = -2)
M(w_zero, {
    d->group_size = 4;
    d->neighbor_window = 0;
})
M(w_negative, d->neighbor_window = -1)
M(theta_negative, d->rope_theta = -1.0f)
M(theta_nan, d->rope_theta = NAN)
M(rot_odd, d->rotary_dims = 3)
M(rot_big, d->rotary_dims = 10)
M(layout_bad, d->rope_layout = (seattn_rope_layout)7)
static double freqs[256]; /* ones, and one bad value at [2] */
static const double *freqs_with(double bad) {
    for (int i = 0; i < 256; i++)
        freqs[i] = 1.0;
    freqs[2] = bad;
    return freqs;
}
M(freq_zero, d->rope_inv_freq = freqs_with(0.0))
M(freq_nan, d->rope_inv_freq = freqs_with(NAN))
M(freq_inf, d->rope_inv_freq = freqs_with(INFINITY))
M(factor_negative, d->rope_attention_factor = -1.0f)
M(factor_nan, d->rope_attention_factor = NAN)
M(softcap_negative, d->logit_softcap = -30.0f)
M(softcap_inf, d->logit_softcap = INFINITY)
M(rot_offset_past, {
    d->rotary_offset = 2;
    d->rotary_dims = 8;
})
M(rot_offset_huge, d->rotary_offset = 0xfffffff0u)
M(v_dim_one, d->v_head_dim = 1)
M(v_dim_big, d->v_head_dim = 513)
M(v_dim_past_v, d->v_head_dim = 16) /* v holds 8 tokens of 8 */
M(sinks_no_tensor, d->flags = SEATTN_ATTN_SINKS)
M(sinks_offset_huge, {
    d->flags = SEATTN_ATTN_SINKS;
    d->sinks_offset = 1ull << 41;
})
M(scale_inf, d->scale = INFINITY)
M(scale_negative, d->scale = -0.5f)
M(scale_base_one, d->scale_base = 1.0f)
M(scale_base_neg, d->scale_base = -3.0f)
M(key_mode_bad, d->key_mode = (seattn_key_mode)5)
M(dtype_bad, d->v_type = (seattn_dtype)9)
M(q_q8, d->q_type = SEATTN_DTYPE_Q8_0)
M(out_fp8, d->out_type = SEATTN_DTYPE_FP8_E4M3)
M(k_q8_dim, d->k_type = SEATTN_DTYPE_Q8_0) /* head_dim 8: not whole blocks */
M(v_q4_offset, {
    d->head_dim = 32;
    d->v_type = SEATTN_DTYPE_Q4_0;
    d->v_offset = 16;
})
M(k_q8_stride, {
    d->head_dim = 32;
    d->k_type = SEATTN_DTYPE_Q8_0;
    d->k_strides = (seattn_strides){8 * 48, 48};
})
M(k_scale_nan, {
    d->k_type = SEATTN_DTYPE_FP8_E4M3;
    d->k_scale = NAN;
})
M(k_scale_neg, {
    d->k_type = SEATTN_DTYPE_FP8_E4M3;
    d->k_scale = -2.0f;
})
M(v_scale_not_fp8, d->v_scale = 2.0f)
M(knorm_rotated, {
    d->flags = SEATTN_ATTN_K_NORM;
    d->key_mode = SEATTN_KEYS_ROTATED;
})
M(norm_eps_neg, {
    d->flags = SEATTN_ATTN_Q_NORM;
    d->qk_norm_eps = -1e-6f;
})
M(norm_eps_nan, {
    d->flags = SEATTN_ATTN_K_NORM;
    d->qk_norm_eps = NAN;
})
M(norm_off_huge, {
    d->flags = SEATTN_ATTN_Q_NORM;
    d->q_norm_offset = 1ull << 41;
})
M(stride_huge, d->q_strides = (seattn_strides){1ull << 41, 8})
M(offset_huge, d->k_offset = 1ull << 41)
M(out_overlap, d->out_strides = (seattn_strides){4, 8})
M(q_too_small, d->q_offset = 1)
M(k_too_small, d->k_strides = (seattn_strides){64, 9})
M(v_too_small, d->v_offset = 1000)
M(out_too_small, d->out_offset = 8)
#undef M

static const bad_case cases[] = {
    {"n_heads 0", no_heads, SEATTN_ERROR_INVALID_ARGUMENT, "n_heads"},
    {"n_kv_heads 3", kv_not_divisor, SEATTN_ERROR_INVALID_ARGUMENT, "n_kv_heads"},
    {"n_kv_heads 8", kv_more, SEATTN_ERROR_INVALID_ARGUMENT, "n_kv_heads"},
    {"head_dim 0", dim_zero, SEATTN_ERROR_INVALID_ARGUMENT, "head_dim"},
    {"head_dim odd", dim_odd, SEATTN_ERROR_INVALID_ARGUMENT, "head_dim"},
    {"head_dim 514", dim_big, SEATTN_ERROR_INVALID_ARGUMENT, "head_dim"},
    {"q_len 0", q_zero, SEATTN_ERROR_INVALID_ARGUMENT, "q_len"},
    {"kv_len 0", kv_zero, SEATTN_ERROR_INVALID_ARGUMENT, "kv_len"},
    {"kv_len 2^24", kv_huge, SEATTN_ERROR_INVALID_ARGUMENT, "kv_len"},
    {"q_len > kv_len", q_longer, SEATTN_ERROR_INVALID_ARGUMENT, "q_len"},
    {"q_pos past cache", qpos_past, SEATTN_ERROR_INVALID_ARGUMENT, "q_pos"},
    {"flags", bad_flags, SEATTN_ERROR_INVALID_ARGUMENT, "flags"},
    {"G < 0", g_negative, SEATTN_ERROR_INVALID_ARGUMENT, "group_size"},
    {"W 0 with G 4", w_zero, SEATTN_ERROR_INVALID_ARGUMENT, "neighbor_window"},
    {"W < 0", w_negative, SEATTN_ERROR_INVALID_ARGUMENT, "neighbor_window"},
    {"theta < 0", theta_negative, SEATTN_ERROR_INVALID_ARGUMENT, "rope_theta"},
    {"theta NaN", theta_nan, SEATTN_ERROR_INVALID_ARGUMENT, "rope_theta"},
    {"rotary odd", rot_odd, SEATTN_ERROR_INVALID_ARGUMENT, "rotary_dims"},
    {"rotary > head_dim", rot_big, SEATTN_ERROR_INVALID_ARGUMENT, "rotary_dims"},
    {"layout", layout_bad, SEATTN_ERROR_INVALID_ARGUMENT, "rope_layout"},
    {"a frequency 0", freq_zero, SEATTN_ERROR_INVALID_ARGUMENT, "rope_inv_freq[2]"},
    {"a frequency NaN", freq_nan, SEATTN_ERROR_INVALID_ARGUMENT, "rope_inv_freq[2]"},
    {"a frequency inf", freq_inf, SEATTN_ERROR_INVALID_ARGUMENT, "rope_inv_freq[2]"},
    {"attention factor < 0", factor_negative, SEATTN_ERROR_INVALID_ARGUMENT,
     "rope_attention_factor"},
    {"attention factor NaN", factor_nan, SEATTN_ERROR_INVALID_ARGUMENT, "rope_attention_factor"},
    {"softcap < 0", softcap_negative, SEATTN_ERROR_INVALID_ARGUMENT, "logit_softcap"},
    {"softcap inf", softcap_inf, SEATTN_ERROR_INVALID_ARGUMENT, "logit_softcap"},
    {"rotary_offset + rotary_dims > head_dim", rot_offset_past, SEATTN_ERROR_INVALID_ARGUMENT,
     "rotary_offset"},
    {"rotary_offset near 2^32", rot_offset_huge, SEATTN_ERROR_INVALID_ARGUMENT, "rotary_offset"},
    {"v_head_dim 1", v_dim_one, SEATTN_ERROR_INVALID_ARGUMENT, "v_head_dim"},
    {"v_head_dim 513", v_dim_big, SEATTN_ERROR_INVALID_ARGUMENT, "v_head_dim"},
    {"v_head_dim past v", v_dim_past_v, SEATTN_ERROR_BUFFER_TOO_SMALL, "tensor v"},
    {"sinks without a tensor", sinks_no_tensor, SEATTN_ERROR_INVALID_ARGUMENT, "sinks"},
    {"sinks_offset 2^41", sinks_offset_huge, SEATTN_ERROR_INVALID_ARGUMENT, "offsets"},
    {"scale inf", scale_inf, SEATTN_ERROR_INVALID_ARGUMENT, "scale"},
    {"scale < 0", scale_negative, SEATTN_ERROR_INVALID_ARGUMENT, "scale"},
    {"scale_base 1", scale_base_one, SEATTN_ERROR_INVALID_ARGUMENT, "scale_base"},
    {"scale_base < 0", scale_base_neg, SEATTN_ERROR_INVALID_ARGUMENT, "scale_base"},
    {"key_mode", key_mode_bad, SEATTN_ERROR_INVALID_ARGUMENT, "key_mode"},
    {"dtype", dtype_bad, SEATTN_ERROR_INVALID_ARGUMENT, "v_type"},
    {"q in q8_0", q_q8, SEATTN_ERROR_INVALID_ARGUMENT, "q_type"},
    {"out in fp8", out_fp8, SEATTN_ERROR_INVALID_ARGUMENT, "out_type"},
    {"q8_0 k, head_dim 8", k_q8_dim, SEATTN_ERROR_INVALID_ARGUMENT, "head_dim"},
    {"q4_0 v at offset 16", v_q4_offset, SEATTN_ERROR_INVALID_ARGUMENT, "v_offset"},
    {"q8_0 k, token stride 48", k_q8_stride, SEATTN_ERROR_INVALID_ARGUMENT, "k_strides"},
    {"fp8 k_scale nan", k_scale_nan, SEATTN_ERROR_INVALID_ARGUMENT, "k_scale"},
    {"fp8 k_scale < 0", k_scale_neg, SEATTN_ERROR_INVALID_ARGUMENT, "k_scale"},
    {"v_scale for f32 v", v_scale_not_fp8, SEATTN_ERROR_INVALID_ARGUMENT, "v_scale"},
    {"K_NORM, rotated keys", knorm_rotated, SEATTN_ERROR_INVALID_ARGUMENT, "K_NORM"},
    {"qk_norm_eps < 0", norm_eps_neg, SEATTN_ERROR_INVALID_ARGUMENT, "qk_norm_eps"},
    {"qk_norm_eps nan", norm_eps_nan, SEATTN_ERROR_INVALID_ARGUMENT, "qk_norm_eps"},
    {"q_norm_offset", norm_off_huge, SEATTN_ERROR_INVALID_ARGUMENT, "offsets"},
    {"stride 2^41", stride_huge, SEATTN_ERROR_INVALID_ARGUMENT, "q_strides"},
    {"offset 2^41", offset_huge, SEATTN_ERROR_INVALID_ARGUMENT, "offsets"},
    {"out vectors overlap", out_overlap, SEATTN_ERROR_INVALID_ARGUMENT, "out_strides"},
    {"q too small", q_too_small, SEATTN_ERROR_BUFFER_TOO_SMALL, "tensor q"},
    {"k too small", k_too_small, SEATTN_ERROR_BUFFER_TOO_SMALL, "tensor k"},
    {"v too small", v_too_small, SEATTN_ERROR_BUFFER_TOO_SMALL, "tensor v"},
    {"out too small", out_too_small, SEATTN_ERROR_BUFFER_TOO_SMALL, "tensor out"},
};

/* A valid call: 2 heads over 1 KV head, head_dim 8, 8 tokens; tensors exactly sized. */
static void check_all(seattn_context *ctx) {
    enum { H = 2, D = 8, L = 8 };
    float q[H * L * D], k[L * D], v[L * D], out[H * L * D], back[H * L * D];
    tu_fill(q, H * L * D, 1);
    tu_fill(k, L * D, 2);
    tu_fill(v, L * D, 3);
    seattn_tensor *tq, *tk, *tv, *to, *other;
    cr_assert_eq(seattn_tensor_create(ctx, sizeof q, &tq), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, sizeof k, &tk), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, sizeof v, &tv), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, sizeof out, &to), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_upload(ctx, tq, 0, q, sizeof q), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_upload(ctx, tk, 0, k, sizeof k), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_upload(ctx, tv, 0, v, sizeof v), SEATTN_SUCCESS);
    for (size_t i = 0; i < H * L * D; i++)
        out[i] = 12345.0f;
    seattn_attention_desc base = {.n_heads = H,
                                  .n_kv_heads = 1,
                                  .head_dim = D,
                                  .q_len = L,
                                  .kv_len = L,
                                  .group_size = 2,
                                  .neighbor_window = 3};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cr_assert_eq(seattn_tensor_upload(ctx, to, 0, out, sizeof out), SEATTN_SUCCESS);
        seattn_attention_desc d = base;
        cases[c].mutate(&d);
        seattn_status s = seattn_attention(ctx, &d, tq, tk, tv, to, NULL);
        cr_expect_eq(s, cases[c].status, "%s: status %d (%s), want %d", cases[c].name, s,
                     seattn_context_last_error(ctx), cases[c].status);
        cr_expect(strstr(seattn_context_last_error(ctx), cases[c].field) != NULL,
                  "%s: message '%s' does not name '%s'", cases[c].name,
                  seattn_context_last_error(ctx), cases[c].field);
        cr_assert_eq(seattn_tensor_download(ctx, to, 0, back, sizeof back), SEATTN_SUCCESS);
        cr_expect(memcmp(back, out, sizeof out) == 0, "%s: output was written", cases[c].name);
    }
    /* tensors: NULL, aliasing, another context */
    cr_expect_eq(seattn_attention(ctx, &base, NULL, tk, tv, to, NULL),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_eq(seattn_attention(ctx, &base, tq, tk, tv, tq, NULL), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "overlaps"));
    cr_expect_eq(seattn_attention(ctx, NULL, tq, tk, tv, to, NULL), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_eq(seattn_attention_run(ctx, &base, NULL), SEATTN_ERROR_INVALID_ARGUMENT);
    /* QK-norm weights: too small, and the output over them */
    seattn_attention_desc nd = base;
    nd.flags = SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM;
    nd.k_norm_offset = L * D - D + 1; /* one element past v's end */
    seattn_attention_tensors nt = {
        .q = tq, .k = tk, .v = tv, .out = to, .q_norm_weight = tk, .k_norm_weight = tv};
    cr_expect_eq(seattn_attention_run(ctx, &nd, &nt), SEATTN_ERROR_BUFFER_TOO_SMALL);
    cr_expect(strstr(seattn_context_last_error(ctx), "k_norm_weight"), "%s",
              seattn_context_last_error(ctx));
    /* sinks: too small, and the output over them */
    seattn_attention_desc sd = base;
    sd.flags = SEATTN_ATTN_SINKS;
    sd.sinks_offset = L * D - 1; /* one of the two sinks past k's end */
    seattn_attention_tensors st = {.q = tq, .k = tk, .v = tv, .out = to, .sinks = tk};
    cr_expect_eq(seattn_attention_run(ctx, &sd, &st), SEATTN_ERROR_BUFFER_TOO_SMALL);
    cr_expect(strstr(seattn_context_last_error(ctx), "tensor sinks"), "%s",
              seattn_context_last_error(ctx));
    sd.sinks_offset = 0;
    st.sinks = to;
    cr_expect_eq(seattn_attention_run(ctx, &sd, &st), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "out overlaps sinks"), "%s",
              seattn_context_last_error(ctx));
    nd.k_norm_offset = 0;
    nt.q_norm_weight = to;
    cr_expect_eq(seattn_attention_run(ctx, &nd, &nt), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect(strstr(seattn_context_last_error(ctx), "out overlaps q_norm_weight"), "%s",
              seattn_context_last_error(ctx));
    seattn_context *cpu = tu_cpu();
    cr_assert_eq(seattn_tensor_create(cpu, sizeof q, &other), SEATTN_SUCCESS);
    cr_expect_eq(seattn_attention(ctx, &base, other, tk, tv, to, NULL),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    seattn_tensor_destroy(other);
    seattn_context_destroy(cpu);
    /* uploads past the end */
    cr_expect_eq(seattn_tensor_upload(ctx, tq, 4, q, sizeof q), SEATTN_ERROR_BUFFER_TOO_SMALL);
    cr_expect_eq(seattn_tensor_download(ctx, tq, sizeof q + 1, back, 0),
                 SEATTN_ERROR_BUFFER_TOO_SMALL);
    /* and the valid call still works afterwards */
    cr_expect_eq(seattn_attention(ctx, &base, tq, tk, tv, to, NULL), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(ctx));
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(tv);
    seattn_tensor_destroy(to);
}

Test(validation, cpu) {
    seattn_context *ctx = tu_cpu();
    check_all(ctx);
    seattn_context_destroy(ctx);
}

Test(validation, vulkan) {
    seattn_context *ctx = tu_vulkan();
    check_all(ctx);
    tu_finish(ctx);
}

Test(validation, defaults_resolve) {
    seattn_attention_desc d = {.n_heads = 4, .head_dim = 64, .q_len = 3, .kv_len = 10}, r;
    cr_assert_eq(seattn_attention_desc_check(NULL, &d, &r), SEATTN_SUCCESS);
    cr_expect_eq(r.n_kv_heads, 4);
    cr_expect_eq(r.q_pos, 7);
    cr_expect_eq(r.group_size, 1);
    cr_expect_float_eq(r.rope_theta, 10000.0f, 0);
    cr_expect_eq(r.rotary_dims, 64);
    cr_expect_null(r.rope_inv_freq);
    cr_expect_float_eq(r.rope_attention_factor, 1.0f, 0);
    cr_expect_float_eq(r.scale, 0.125f, 1e-7);
    cr_expect_eq(r.q_strides.token, 64);
    cr_expect_eq(r.q_strides.head, 3 * 64);
    cr_expect_eq(r.k_strides.head, 10 * 64);
}

Test(validation, context_options) {
    seattn_context *ctx = (seattn_context *)1;
    seattn_context_options o = {.backend = (seattn_backend)9};
    cr_expect_eq(seattn_context_create(&o, &ctx), SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_null(ctx);
    cr_expect(strstr(seattn_last_create_error(), "backend"));
    o = (seattn_context_options){.device = "no-such-device-xyz"};
    cr_expect_eq(seattn_context_create(&o, &ctx), SEATTN_ERROR_NO_DEVICE);
    cr_expect_null(ctx);
    cr_expect_str_eq(seattn_status_string(SEATTN_ERROR_BUFFER_TOO_SMALL),
                     "a tensor is too small for the described shape");
    cr_expect_eq(seattn_version(), SEATTN_VERSION);
}
