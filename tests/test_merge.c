/* seattn_attention_merge: the NEIGHBOR_ONLY and GROUPED_ONLY halves merged on the device equal
 * the fused attention; rows without pairs; in place; layouts; bad tensors. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The fused attention and its two halves, merged by seattn_attention_merge, against each other:
 * out and lse within tol, in place and into fresh tensors. */
static void halves(seattn_context *ctx, seattn_attention_desc d, uint32_t seed, double tol) {
    seattn_attention_desc r;
    cr_assert_eq(seattn_attention_desc_check(ctx, &d, &r), SEATTN_SUCCESS);
    const size_t nq = tu_q_elems(&r), nk = tu_kv_elems(&r, 0), nv = tu_kv_elems(&r, 1);
    const size_t no = tu_out_elems(&r), nl = tu_lse_elems(&r);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nv * 4);
    float *ref = malloc(no * 4), *lref = malloc(nl * 4), *on = malloc(no * 4), *ln = malloc(nl * 4),
          *og = malloc(no * 4), *lg = malloc(nl * 4), *got = malloc(no * 4), *lgot = malloc(nl * 4);
    tu_fill(q, nq, seed);
    tu_fill(k, nk, seed + 1);
    tu_fill(v, nv, seed + 2);
    cr_assert_eq(tu_run(ctx, &d, q, k, v, ref, lref), SEATTN_SUCCESS);
    seattn_attention_desc h = d;
    h.flags |= SEATTN_ATTN_NEIGHBOR_ONLY;
    cr_assert_eq(tu_run(ctx, &h, q, k, v, on, ln), SEATTN_SUCCESS);
    h.flags = d.flags | SEATTN_ATTN_GROUPED_ONLY;
    cr_assert_eq(tu_run(ctx, &h, q, k, v, og, lg), SEATTN_SUCCESS);
    for (int in_place = 0; in_place < 2; in_place++) {
        cr_assert_eq(tu_merge(ctx, &d, on, ln, og, lg, got, lgot, in_place), SEATTN_SUCCESS, "%s",
                     seattn_context_last_error(ctx));
        const double e = tu_max_err(&r, got, ref);
        cr_expect(e <= tol, "merged halves differ from the fused attention by %g (in place %d)", e,
                  in_place);
        double el = 0.0;
        for (uint32_t hh = 0; hh < r.n_heads; hh++)
            for (uint32_t t = 0; t < r.q_len; t++) {
                const size_t at = r.lse_offset + hh * r.lse_strides.head + t * r.lse_strides.token;
                const double x = fabs((double)lgot[at] - lref[at]);
                if (!(x <= el)) el = x;
            }
        cr_expect(el <= 1e-4, "merged lse differs by %g", el);
    }
    /* no lse wanted */
    cr_assert_eq(tu_merge(ctx, &d, on, ln, og, lg, got, NULL, 0), SEATTN_SUCCESS);
    cr_expect(tu_max_err(&r, got, ref) <= tol);
    free(q);
    free(k);
    free(v);
    free(ref);
    free(lref);
    free(on);
    free(ln);
    free(og);
    free(lg);
    free(got);
    free(lgot);
}

static void halves_everywhere(seattn_context *ctx, double tol, int f16) {
    halves(ctx, tu_desc(4, 2, 64, 40, 40, 4, 8), 10, tol);    /* prefill: early rows all near */
    halves(ctx, tu_desc(8, 2, 128, 1, 700, 8, 64), 20, tol);  /* decode */
    halves(ctx, tu_desc(2, 1, 200, 3, 300, 2, 5), 30, tol);   /* D past 64 invocations, odd */
    seattn_attention_desc s = tu_desc(4, 4, 32, 9, 60, 4, 6); /* [tokens, heads, dim], offsets */
    s.out_strides = (seattn_strides){32, 4 * 32};
    s.out_offset = 3;
    s.lse_strides = (seattn_strides){1, 5};
    s.lse_offset = 2;
    s.flags = SEATTN_ATTN_Q_POS;
    s.q_pos = 40;
    halves(ctx, s, 40, tol);
    if (f16) {
        seattn_attention_desc hf = tu_desc(4, 2, 64, 30, 90, 4, 10);
        hf.out_type = SEATTN_DTYPE_F16;
        halves(ctx, hf, 50, 2e-3); /* each half rounded to f16, then the merge once more */
    }
}

Test(merge, halves_merge_into_the_fused_attention_cpu) {
    seattn_context *ctx = tu_cpu();
    halves_everywhere(ctx, 1e-6, 1);
    seattn_context_destroy(ctx);
}

Test(merge, halves_merge_into_the_fused_attention_vulkan) {
    seattn_context *ctx = tu_vulkan();
    halves_everywhere(ctx, 1e-5, 1);
    seattn_call_stats st;
    cr_assert_eq(seattn_context_last_call(ctx, &st), SEATTN_SUCCESS);
    cr_expect_str_eq(st.kernel, "merge_lse d64 f16:o");
    cr_expect_eq(st.dispatches, 1);
    tu_finish(ctx);
}

/* A row whose halves both have no pairs gets 0 and -inf; one empty half leaves the other. */
static void empty_rows(seattn_context *ctx) {
    seattn_attention_desc d = tu_desc(1, 1, 4, 3, 3, 1, 0);
    const float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const float b[12] = {-1, -2, -3, -4, 0.5f, 0.5f, 0.5f, 0.5f, 2, 2, 2, 2};
    const float la[3] = {-INFINITY, -INFINITY, 0.0f}, lb[3] = {-INFINITY, 1.0f, 0.0f};
    float out[12], lse[3];
    cr_assert_eq(tu_merge(ctx, &d, a, la, b, lb, out, lse, 0), SEATTN_SUCCESS);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(out[i], 0.0f, "row 0, element %d", i);
        cr_expect_float_eq(out[4 + i], 0.5f, 1e-6, "row 1 is half b");
        cr_expect_float_eq(out[8 + i], (9.0f + i + 2.0f) / 2.0f, 1e-5, "row 2: the mean");
    }
    cr_expect(isinf(lse[0]) && lse[0] < 0, "row 0: lse -inf, got %g", lse[0]);
    cr_expect_float_eq(lse[1], 1.0f, 1e-6);
    cr_expect_float_eq(lse[2], logf(2.0f), 1e-6);
}

Test(merge, rows_without_pairs) {
    seattn_context *cpu = tu_cpu(), *vk = tu_vulkan();
    empty_rows(cpu);
    empty_rows(vk);
    seattn_context_destroy(cpu);
    tu_finish(vk);
}

Test(merge, bad_tensors) {
    seattn_context *ctx = tu_cpu(), *other = tu_cpu();
    seattn_attention_desc d = tu_desc(2, 1, 8, 4, 4, 2, 2);
    seattn_tensor *a, *la, *b, *lb, *o, *l, *small, *alien;
    const size_t no = 2 * 4 * 8 * 4, nl = 2 * 4 * 4;
    cr_assert_eq(seattn_tensor_create(ctx, no, &a), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, nl, &la), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, no, &b), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, nl, &lb), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, no, &o), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, nl, &l), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(ctx, no - 4, &small), SEATTN_SUCCESS);
    cr_assert_eq(seattn_tensor_create(other, no, &alien), SEATTN_SUCCESS);
    const struct {
        const char *what;
        const seattn_tensor *oa, *lsa, *ob, *lsb;
        seattn_tensor *out, *lse;
        seattn_status want;
        const char *names;
    } cases[] = {
        {"out_b too small", a, la, small, lb, o, l, SEATTN_ERROR_BUFFER_TOO_SMALL, "out_b"},
        {"lse_a NULL", a, NULL, b, lb, o, l, SEATTN_ERROR_INVALID_ARGUMENT, "lse_a"},
        {"out NULL", a, la, b, lb, NULL, l, SEATTN_ERROR_INVALID_ARGUMENT, "out"},
        {"another context", alien, la, b, lb, o, l, SEATTN_ERROR_INVALID_ARGUMENT, "out_a"},
        {"lse onto out_b", a, la, b, lb, o, (seattn_tensor *)b, SEATTN_ERROR_INVALID_ARGUMENT,
         "lse overlaps out_b"},
        {"out onto lse_b", a, la, b, lb, (seattn_tensor *)lb, NULL, SEATTN_ERROR_BUFFER_TOO_SMALL,
         "out"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const seattn_status s =
            seattn_attention_merge(ctx, &d, cases[i].oa, cases[i].lsa, cases[i].ob, cases[i].lsb,
                                   cases[i].out, cases[i].lse);
        cr_expect_eq(s, cases[i].want, "%s: status %d", cases[i].what, s);
        cr_expect(strstr(seattn_context_last_error(ctx), cases[i].names) != NULL,
                  "%s: message '%s'", cases[i].what, seattn_context_last_error(ctx));
    }
    /* in place is allowed */
    cr_expect_eq(seattn_attention_merge(ctx, &d, a, la, b, lb, a, la), SEATTN_SUCCESS);
    cr_expect_eq(seattn_attention_merge(ctx, &d, a, la, b, lb, b, lb), SEATTN_SUCCESS);
    seattn_attention_desc bad = d;
    bad.head_dim = 7;
    cr_expect_eq(seattn_attention_merge(ctx, &bad, a, la, b, lb, o, l),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    cr_expect_eq(seattn_attention_merge(NULL, &d, a, la, b, lb, o, l),
                 SEATTN_ERROR_INVALID_ARGUMENT);
    seattn_tensor *all[] = {a, la, b, lb, o, l, small};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    seattn_tensor_destroy(alien);
    seattn_context_destroy(ctx);
    seattn_context_destroy(other);
}
