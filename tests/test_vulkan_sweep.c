/* The Vulkan kernels against the CPU reference on random inputs: sizes around every tile edge,
 * Self-Extend parameters at their corners, GQA, head dims, key modes, RoPE layouts, strides,
 * explicit positions, LSE, and forced key splits. The output is poisoned with NaN first, so an
 * unwritten element fails. SEATTN_TEST_SLOW=1 adds long sequences. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4
/* An f16 output: two f32 results within TOL may round to f16 values one ulp apart, and outputs
 * here are below 1 in magnitude (|v| < 1), where an f16 ulp is at most 2^-11..2^-10. */
#define TOL_F16_OUT (TOL + 0x1p-10)
/* and a bf16 output: one bf16 ulp (2^-7 relative) of values below 1 */
#define TOL_BF16_OUT (TOL + 0x1p-7)

static seattn_context *cpu, *gpu;

static void setup(void) {
    cpu = tu_cpu();
    gpu = tu_vulkan();
}
static void teardown(void) {
    seattn_context_destroy(cpu);
    if (gpu) tu_finish(gpu);
    unsetenv("SEATTN_SPLIT");
}

enum { WITH_WEIGHTS = 2 }; /* or-ed into with_lse: QK-norm weight tensors too */

/* Runs d on both backends with the same random inputs and compares out (and lse). f16 tensors
 * get the same rounded inputs on both. Returns what the Vulkan call did. */
static seattn_call_stats compare(seattn_attention_desc d, uint32_t seed, int with_lse) {
    seattn_attention_desc r;
    cr_assert_eq(seattn_attention_desc_check(cpu, &d, &r), SEATTN_SUCCESS, "%s",
                 seattn_context_last_error(cpu));
    size_t nq = tu_q_elems(&r), nk = tu_kv_elems(&r, 0), nv = tu_kv_elems(&r, 1);
    size_t no = tu_out_elems(&r), nl = tu_lse_elems(&r);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nv * 4);
    float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *l1 = malloc(nl * 4), *l2 = malloc(nl * 4);
    tu_fill(q, nq, seed);
    tu_fill(k, nk, seed + 7);
    tu_fill(v, nv, seed + 13);
    /* QK-norm weights in [0.5, 1.5) at their offsets, when the flags ask for weights */
    const size_t nw = r.head_dim + 8;
    float *qw = NULL, *kw = NULL;
    if (with_lse & WITH_WEIGHTS) {
        qw = malloc(nw * 4);
        kw = malloc(nw * 4);
        tu_fill(qw, nw, seed + 19);
        tu_fill(kw, nw, seed + 23);
        for (size_t i = 0; i < nw; i++)
            qw[i] = 1.0f + 0.5f * qw[i], kw[i] = 1.0f + 0.5f * kw[i];
    }
    with_lse &= 1;
    /* sinks in [1, 7) at sinks_offset, when the flags ask for them: near the rows' own
     * log-sum-exp, so that they move the outputs */
    float *sk = NULL;
    if (r.flags & SEATTN_ATTN_SINKS) {
        const size_t ns = r.sinks_offset + r.n_heads;
        sk = malloc(ns * 4);
        tu_fill(sk, ns, seed + 29);
        for (size_t i = 0; i < ns; i++)
            sk[i] = 4.0f + 3.0f * sk[i];
    }
    cr_assert_eq(tu_run_full(cpu, &d, q, k, v, o1, with_lse ? l1 : NULL, qw, kw, sk),
                 SEATTN_SUCCESS, "%s", seattn_context_last_error(cpu));
    seattn_status s = tu_run_full(gpu, &d, q, k, v, o2, with_lse ? l2 : NULL, qw, kw, sk);
    free(sk);
    cr_assert_eq(s, SEATTN_SUCCESS, "%s", seattn_context_last_error(gpu));
    /* here, not only in .fini: Criterion does not fail a test for a .fini assertion */
    cr_expect_eq(seattn_context_validation_errors(gpu), 0, "validation messages (see the log)");
    seattn_call_stats st;
    cr_assert_eq(seattn_context_last_call(gpu, &st), SEATTN_SUCCESS);
    tu_expect_forced_kernel(gpu);
    double e = tu_max_err(&r, o1, o2);
    const double tol = r.out_type == SEATTN_DTYPE_F16    ? TOL_F16_OUT
                       : r.out_type == SEATTN_DTYPE_BF16 ? TOL_BF16_OUT
                                                         : TOL;
    cr_expect(e <= tol,
              "H%u/%u D%u/%u q%u kv%u pos%u G%d W%d rot%u+%u layout%d keys%d types %d%d%d%d "
              "flags 0x%x (%s): max err %.3e",
              r.n_heads, r.n_kv_heads, r.head_dim, r.v_head_dim, r.q_len, r.kv_len, r.q_pos,
              r.group_size, r.neighbor_window, r.rotary_dims, r.rotary_offset, r.rope_layout,
              r.key_mode, r.q_type, r.k_type, r.v_type, r.out_type, r.flags, st.kernel, e);
    free(qw);
    free(kw);
    if (with_lse)
        for (uint32_t h = 0; h < r.n_heads; h++)
            for (uint32_t t = 0; t < r.q_len; t++) {
                size_t at = r.lse_offset + h * r.lse_strides.head + t * r.lse_strides.token;
                cr_expect(l1[at] == l2[at] || fabsf(l1[at] - l2[at]) <= TOL,
                          "lse h%u t%u: %g vs %g", h, t, l1[at], l2[at]);
            }
    free(q);
    free(k);
    free(v);
    free(o1);
    free(o2);
    free(l1);
    free(l2);
    return st;
}

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 900);

/* Key tiles are 16 keys at head_dim 64; row tiles 16 (short runs) or 64 rows. */
Test(sweep, sizes_around_tile_edges) {
    const uint32_t lens[] = {1, 15, 16, 17, 63, 64, 65, 100, 257};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        compare(tu_desc(2, 1, 64, lens[i], lens[i], 4, 6), 100 + (uint32_t)i, 0); /* prefill */
        compare(tu_desc(4, 1, 64, 1, lens[i] + 3, 4, 6), 200 + (uint32_t)i, 1);   /* decode */
    }
    compare(tu_desc(2, 2, 64, 37, 301, 8, 16), 300, 1); /* chunk: 1 < q_len < kv_len */
}

/* The texel kernel's row blocking on CPU devices: T tokens x R heads a subgroup, 4 subgroups
 * a workgroup, whole and partial workgroups, rotate_half and interleaved outputs. */
Test(sweep, row_blocks_of_the_texel_kernel) {
    seattn_call_stats st[6];
    st[0] = compare(tu_desc(8, 2, 128, 130, 130, 8, 32), 1200, 1); /* R 4, T 2 */
    st[1] = compare(tu_desc(8, 1, 64, 70, 200, 4, 16), 1201, 1);   /* R 4 of 8, T 2, a chunk */
    st[2] = compare(tu_desc(3, 3, 64, 100, 100, 2, 7), 1202, 0);   /* R 1, T 8 */
    st[3] = compare(tu_desc(6, 2, 96, 65, 65, 4, 5), 1203, 0);     /* n_rep 3: R 1 */
    seattn_attention_desc d = tu_desc(4, 2, 64, 66, 66, 4, 9);
    d.rope_layout = SEATTN_ROPE_INTERLEAVED;
    st[4] = compare(d, 1204, 1);
    st[5] = compare(tu_desc(4, 2, 64, 66, 66, 1, 0), 1205, 1); /* plain */
    /* lavapipe runs the texel kernel unless another one is forced */
    const char *forced = getenv("SEATTN_KERNEL");
    const int32_t want = forced && strncmp(forced, "flash", 5) == 0 ? SEATTN_KERNEL_FLASH
                         : getenv("SEATTN_PORTABLE")                ? SEATTN_KERNEL_FLASH
                                                                    : SEATTN_KERNEL_TEXEL;
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(st[i].kernel_id, want, "call %d ran %s", i, st[i].kernel);
        cr_expect_eq(st[i].plain, i == 5, "call %d: plain %u (%s)", i, st[i].plain, st[i].kernel);
    }
    if (want == SEATTN_KERNEL_TEXEL) { /* K and V as vec4 texels where each lane's run allows */
        cr_expect(strstr(st[0].kernel, "vec4kv"), "%s", st[0].kernel);
        /* and the RoPE angles two pairs a fetch (RGBA32F table view) */
        cr_expect(strstr(st[0].kernel, "vec4rope"), "%s", st[0].kernel);
        /* lane sums by broadcasts on llvmpipe from Mesa 23 (measured faster on 25.0), else
         * subgroupAdd (faster on 22.3) */
        seattn_device_info di;
        cr_assert_eq(seattn_context_device_info(gpu, &di), SEATTN_SUCCESS);
        const char *mesa = strstr(di.driver, "Mesa ");
        const bool bcast = strstr(di.name, "llvmpipe") && mesa && atoi(mesa + 5) >= 23;
        for (int i = 0; i < 6; i++)
            cr_expect_eq(strstr(st[i].kernel, "bcastsum") != NULL, bcast, "%s: %s", di.driver,
                         st[i].kernel);
        cr_expect(!strstr(st[4].kernel, "vec4kv"), "interleaved: %s", st[4].kernel);
    }
}

Test(sweep, self_extend_corners) {
    const int gw[][2] = {{1, 0}, {1, 9}, {4, 2}, {4, 6}, {3, 7}, {2, 1000}, {8, 16}, {16, 1}};
    for (size_t i = 0; i < sizeof gw / sizeof gw[0]; i++)
        compare(tu_desc(2, 2, 32, 70, 70, gw[i][0], gw[i][1]), 400 + (uint32_t)i, 0);
}

Test(sweep, gqa_ratios_and_head_dims) {
    const uint32_t rep[] = {1, 2, 4, 8};
    for (size_t i = 0; i < 4; i++)
        compare(tu_desc(8, 8 / rep[i], 32, 33, 33, 4, 8), 500 + i, 0);
    const uint32_t dims[] = {2, 64, 80, 96, 128, 256, 510, 512};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        compare(tu_desc(2, 1, dims[i], 20, 45, 4, 8), 600 + (uint32_t)i, 1);
}

Test(sweep, rope_options_and_key_modes) {
    for (int layout = 0; layout < 2; layout++)
        for (int keys = 0; keys < 2; keys++)
            for (uint32_t rot = 16; rot <= 64; rot += 48) {
                seattn_attention_desc d = tu_desc(4, 2, 64, 30, 90, 4, 10);
                d.rope_layout = (seattn_rope_layout)layout;
                d.key_mode = (seattn_key_mode)keys;
                d.rotary_dims = rot;
                d.rope_theta = layout ? 500000.0f : 10000.0f;
                compare(d, 700 + (uint32_t)(layout * 4 + keys * 2 + rot), 0);
            }
    seattn_attention_desc d = tu_desc(2, 1, 32, 5, 200, 4, 16);
    d.scale_base = 64.0f;
    d.scale = 0.3f;
    compare(d, 710, 1);
}

/* Scaled RoPE frequencies and an attention factor (the model features of
 * shared/golden-models/): both layouts, raw and rotated keys, partial and whole rotary dims,
 * plain (G = 1) too, a long sequence (the table's second level); calls alternating between
 * frequency sets, so a kept table must be told apart by its frequencies, not its theta. */
Test(sweep, rope_frequencies_and_attention_factor) {
    double inv[2][32];
    for (uint32_t m = 0; m < 32; m++) {
        inv[0][m] = pow(500000.0, -2.0 * m / 64) / (m >= 20 ? 32.0 : m >= 12 ? 4.0 : 1.0);
        inv[1][m] = pow(10000.0, -2.0 * m / 64) * (1.0 + 0.01 * m);
    }
    for (int layout = 0; layout < 2; layout++)
        for (int keys = 0; keys < 2; keys++)
            for (uint32_t rot = 16; rot <= 64; rot += 48)
                for (int set = 0; set < 2; set++) {
                    seattn_attention_desc d = tu_desc(4, 2, 64, 30, 90, 4, 10);
                    d.rope_layout = (seattn_rope_layout)layout;
                    d.key_mode = (seattn_key_mode)keys;
                    d.rotary_dims = rot;
                    d.rope_inv_freq = inv[set];
                    d.rope_attention_factor = set ? 1.35f : 1.0f;
                    compare(d, 730 + (uint32_t)(layout * 8 + keys * 4 + set * 2 + rot), 1);
                }
    seattn_attention_desc d = tu_desc(2, 1, 32, 9, 60, 1, 0); /* plain */
    d.rope_inv_freq = inv[0];
    d.rope_attention_factor = 1.2f;
    compare(d, 760, 1);
    d = tu_desc(2, 1, 32, 2, 70000, 8, 64);
    d.rope_inv_freq = inv[1];
    d.rope_attention_factor = 1.1f;
    compare(d, 761, 1);
}

/* The logit softcap (Gemma 2's 50, and caps near the scores' size so that they bend), on
 * Self-Extend and plain calls, raw and rotated keys, forced key splits, the halves, f16. */
Test(sweep, logit_softcap) {
    const float caps[] = {50.0f, 1.5f, 0.25f};
    for (int i = 0; i < 3; i++)
        for (int keys = 0; keys < 2; keys++) {
            seattn_attention_desc d = tu_desc(4, 2, 64, 20, 120, 4, 12);
            d.scale = 0.6f;
            d.key_mode = (seattn_key_mode)keys;
            d.logit_softcap = caps[i];
            compare(d, 800 + (uint32_t)(i * 2 + keys), 1);
        }
    seattn_attention_desc d = tu_desc(2, 1, 256, 9, 90, 1, 0); /* plain, Gemma 2's head_dim */
    d.logit_softcap = 0.5f;
    compare(d, 810, 1);
    d = tu_desc(2, 2, 32, 3, 3000, 8, 64);
    d.logit_softcap = 1.0f;
    d.q_type = d.k_type = d.v_type = SEATTN_DTYPE_F16;
    compare(d, 811, 1);
    d = tu_desc(2, 2, 32, 5, 200, 4, 16);
    d.logit_softcap = 1.0f;
    d.flags |= SEATTN_ATTN_GROUPED_ONLY;
    compare(d, 812, 1);
}

/* DeepSeek's MLA (q, k 192 with the last 64 dims rotated, interleaved; v 128), rotated slices
 * elsewhere (odd offsets too), v head sizes of their own (ones the texel kernel splits over its
 * lanes and ones it leaves to flash_smem), on prefill, chunks and split decode, raw and rotated
 * keys, GQA, f16, strides. */
Test(sweep, rotary_offset_and_v_head_dim) {
    for (int keys = 0; keys < 2; keys++) {
        seattn_attention_desc d = tu_desc(4, 2, 192, 40, 40, 4, 8);
        d.rotary_offset = 128;
        d.rotary_dims = 64;
        d.rope_layout = SEATTN_ROPE_INTERLEAVED;
        d.v_head_dim = 128;
        d.key_mode = (seattn_key_mode)keys;
        compare(d, 1600 + (uint32_t)keys, 1);
        d.q_len = 1;
        d.kv_len = 600; /* decode: key splits and their merge at v_head_dim */
        compare(d, 1602 + (uint32_t)keys, 1);
    }
    const struct {
        uint32_t d, off, rot, dv;
        int layout;
    } cases[] = {{64, 16, 32, 64, 0}, {64, 3, 32, 64, 0}, {64, 5, 16, 64, 1}, {64, 0, 64, 32, 0},
                 {64, 32, 32, 16, 1}, {32, 2, 16, 6, 0},  {32, 0, 32, 40, 0}, {128, 64, 64, 96, 0},
                 {16, 8, 8, 512, 0},  {256, 0, 256, 2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seattn_attention_desc d = tu_desc(6, 2, cases[i].d, 20, 90, 3, 11);
        d.rotary_offset = cases[i].off;
        d.rotary_dims = cases[i].rot;
        d.v_head_dim = cases[i].dv;
        d.rope_layout = (seattn_rope_layout)cases[i].layout;
        compare(d, 1610 + (uint32_t)i, 1);
    }
    seattn_attention_desc d = tu_desc(4, 1, 64, 12, 50, 4, 6);
    d.rotary_offset = 32;
    d.rotary_dims = 32;
    d.v_head_dim = 32;
    d.q_type = d.k_type = d.v_type = d.out_type = SEATTN_DTYPE_F16;
    compare(d, 1630, 1);
    d.q_type = d.k_type = d.v_type = d.out_type = SEATTN_DTYPE_F32;
    d.v_strides = (seattn_strides){40, 4 * 40};   /* [tokens, heads, 40] with 8 elements spare */
    d.out_strides = (seattn_strides){36, 4 * 36}; /* [tokens, heads, 36] */
    d.v_offset = 3;
    d.out_offset = 1;
    compare(d, 1631, 1);
}

/* Attention sinks (gpt-oss) on prefill, chunks, split decode (the merge adds them), raw and
 * rotated keys, GQA, the two halves (the neighbor half holds the sink), plain calls, with a
 * softcap (which leaves the sink alone), a sinks offset, and with v_head_dim. */
Test(sweep, sinks) {
    const uint32_t lens[][2] = {{64, 64}, {20, 300}, {1, 1100}, {3, 40}};
    for (size_t i = 0; i < 4; i++)
        for (int keys = 0; keys < 2; keys++) {
            seattn_attention_desc d = tu_desc(8, 2, 64, lens[i][0], lens[i][1], 4, 50);
            d.flags |= SEATTN_ATTN_SINKS;
            d.key_mode = (seattn_key_mode)keys;
            compare(d, 1700 + (uint32_t)(i * 2 + keys), 1);
        }
    const uint32_t only[] = {SEATTN_ATTN_NEIGHBOR_ONLY, SEATTN_ATTN_GROUPED_ONLY};
    for (size_t i = 0; i < 2; i++) {
        seattn_attention_desc d = tu_desc(4, 1, 64, 30, 200, 4, 32);
        d.flags |= SEATTN_ATTN_SINKS | only[i];
        compare(d, 1710 + (uint32_t)i, 1);
    }
    seattn_attention_desc d = tu_desc(4, 4, 32, 9, 60, 1, 0); /* plain */
    d.flags |= SEATTN_ATTN_SINKS;
    d.sinks_offset = 5;
    compare(d, 1720, 1);
    d = tu_desc(4, 2, 64, 16, 100, 2, 20);
    d.flags |= SEATTN_ATTN_SINKS;
    d.logit_softcap = 1.5f;
    compare(d, 1721, 1);
    d = tu_desc(2, 1, 192, 5, 300, 4, 32);
    d.flags |= SEATTN_ATTN_SINKS;
    d.rotary_offset = 128;
    d.rotary_dims = 64;
    d.v_head_dim = 128;
    d.out_type = SEATTN_DTYPE_F16;
    compare(d, 1722, 1);
}

Test(sweep, strides_offsets_and_positions) {
    seattn_attention_desc d = tu_desc(4, 2, 32, 12, 40, 4, 6);
    d.q_strides = d.out_strides = (seattn_strides){32, 4 * 32};
    d.k_strides = d.v_strides = (seattn_strides){32, 2 * 32};
    d.q_offset = 3;
    d.k_offset = 5;
    d.v_offset = 64;
    d.out_offset = 1;
    d.lse_strides = (seattn_strides){1, 4};
    d.lse_offset = 2;
    compare(d, 800, 1);
    seattn_attention_desc c = tu_desc(2, 2, 32, 9, 60, 4, 6);
    c.flags = SEATTN_ATTN_Q_POS;
    c.q_pos = 17; /* queries 17..25 of a 60-key cache */
    compare(c, 801, 1);
}

Test(sweep, forced_key_splits) {
    const char *splits[] = {"1", "2", "3", "7"};
    for (size_t i = 0; i < 4; i++) {
        /* read once, at context creation */
        setenv("SEATTN_SPLIT", splits[i], 1);
        tu_finish(gpu);
        gpu = tu_vulkan();
        const seattn_call_stats st[2] = {
            compare(tu_desc(4, 2, 64, 1, 500, 4, 32), 900 + (uint32_t)i, 1),
            compare(tu_desc(2, 1, 64, 50, 180, 4, 32), 910 + (uint32_t)i, 1)};
        for (int c = 0; c < 2; c++) {
            /* splits are rounded to whole key tiles, and the kernels split on
             * llvmpipe's loop budget anyway: at least the forced count's worth of splitting */
            if (i > 0)
                cr_expect_gt(st[c].key_splits, 1, "SEATTN_SPLIT=%s: %s", splits[i], st[c].kernel);
            cr_expect_eq(st[c].dispatches, st[c].key_splits > 1 ? 2u : 1u, "%s", st[c].kernel);
        }
    }
}

/* Positions past 65536, the RoPE table's first level (every position is below kv_len): decode
 * and a chunk, raw and rotated keys. */
Test(sweep, positions_past_the_first_table_level) {
    compare(tu_desc(2, 1, 32, 1, 70000, 8, 64), 1300, 1);
    seattn_attention_desc d = tu_desc(2, 2, 32, 3, 66000, 16, 100);
    d.key_mode = SEATTN_KEYS_ROTATED;
    compare(d, 1301, 1);
}

/* The texel kernel's grouped keys cost llvmpipe's loop budget an iteration a step of two keys
 * and one a grouped position (G keys): with G = 2, 1 a key. 80000 keys in one workgroup would
 * run out of its 65535 iterations (keys left out, a wrong answer): the host splits them (its
 * count, 1.5 a key, is from when a step took one key). Counting the steps alone (half a key,
 * no split) fails here; so did counting one a key when a step took one key. */
Test(sweep, grouped_keys_within_the_loop_budget) {
    /* 64 tokens of 8 heads fill the device's 16 workgroups: no split for parallelism */
    seattn_attention_desc d = tu_desc(8, 4, 32, 64, 80000, 2, 64);
    compare(d, 1310, 1);
    d.key_mode = SEATTN_KEYS_ROTATED; /* and rotated keys */
    compare(d, 1311, 1);
}

/* The two halves of the authors' two-pass method, with their LSE; rows with no grouped pair
 * must come out as 0 and -inf on both backends. */
Test(sweep, neighbor_only_and_grouped_only) {
    const uint32_t only[] = {SEATTN_ATTN_NEIGHBOR_ONLY, SEATTN_ATTN_GROUPED_ONLY};
    for (size_t i = 0; i < 2; i++) {
        seattn_attention_desc d = tu_desc(8, 2, 64, 70, 70, 4, 9);
        d.flags = only[i];
        compare(d, 1100 + (uint32_t)i, 1);
        d = tu_desc(4, 2, 64, 1, 300, 4, 32); /* decode, split */
        d.flags = only[i];
        compare(d, 1110 + (uint32_t)i, 1);
    }
    seattn_attention_desc w = tu_desc(2, 2, 32, 40, 40, 1, 5); /* G = 1: a sliding window */
    w.flags = SEATTN_ATTN_NEIGHBOR_ONLY;
    compare(w, 1120, 1);
}

/* The storage types read as 32-bit words (bf16 q, k, v, out; q8_0, q4_0, fp8_e4m3 k and v), on
 * every kernel against the CPU reference reading the same bytes: each K/V type with GQA and a
 * window (out and lse), a decode split (the merge writes bf16), rotated keys interleaved, raw
 * keys with K_NORM, mixed with f16, and strided views with offsets (block types: multiples of
 * 32; bf16 q: odd). */
static bool is_block(seattn_dtype t) {
    return t == SEATTN_DTYPE_Q8_0 || t == SEATTN_DTYPE_Q4_0;
}

Test(sweep, storage_types) {
    const seattn_dtype kv[] = {SEATTN_DTYPE_BF16, SEATTN_DTYPE_Q8_0, SEATTN_DTYPE_Q4_0,
                               SEATTN_DTYPE_FP8_E4M3};
    for (uint32_t i = 0; i < 4; i++) {
        const float sc = kv[i] == SEATTN_DTYPE_FP8_E4M3 ? 0.01f : 0.0f;
        seattn_attention_desc d = tu_desc(8, 2, 64, 33, 70, 4, 9);
        d.k_type = d.v_type = kv[i];
        d.k_scale = sc;
        d.v_scale = sc ? 0.004f : 0.0f;
        compare(d, 1500 + i, 1);
        d = tu_desc(4, 1, 128, 1, 300, 8, 32); /* decode: key splits */
        d.q_type = d.out_type = SEATTN_DTYPE_BF16;
        d.k_type = d.v_type = kv[i];
        d.k_scale = d.v_scale = sc;
        compare(d, 1510 + i, 1);
        d = tu_desc(4, 2, 32, 40, 40, 3, 7);
        d.k_type = kv[i];
        d.v_type = SEATTN_DTYPE_F16;
        d.k_scale = sc;
        d.rope_layout = SEATTN_ROPE_INTERLEAVED;
        d.key_mode = SEATTN_KEYS_ROTATED;
        compare(d, 1520 + i, 0);
        d = tu_desc(6, 3, 96, 20, 90, 5, 11);
        d.k_type = d.v_type = kv[i];
        d.k_scale = d.v_scale = sc;
        d.flags |= SEATTN_ATTN_K_NORM | SEATTN_ATTN_Q_NORM;
        compare(d, 1530 + i, 1);
        /* [tokens, heads, dim] views inside larger tensors */
        d = tu_desc(4, 2, 64, 12, 40, 4, 6);
        d.q_type = SEATTN_DTYPE_BF16;
        d.k_type = d.v_type = kv[i];
        d.k_scale = d.v_scale = sc;
        d.q_strides = d.out_strides = (seattn_strides){64, 5 * 64};
        d.k_strides = d.v_strides = (seattn_strides){64, 3 * 64};
        d.q_offset = 3;
        d.k_offset = 96;
        d.v_offset = 32;
        d.out_offset = 7;
        compare(d, 1540 + i, 1);
        /* head_dim 128: the texel kernel's eight-value runs (KV_RUN8) on llvmpipe, dense and
         * strided from offsets a run allows, then (bf16, fp8) from one it does not (4) */
        d = tu_desc(8, 2, 128, 40, 90, 4, 9);
        d.k_type = d.v_type = kv[i];
        d.k_scale = d.v_scale = sc;
        compare(d, 1550 + i, 1);
        d.k_strides = d.v_strides = (seattn_strides){128, 3 * 128};
        d.k_offset = 128;
        d.v_offset = 256;
        compare(d, 1560 + i, 1);
        if (!is_block(kv[i])) {
            d.k_offset = d.v_offset = 4;
            compare(d, 1570 + i, 1);
        }
    }
}

/* f16 storage on both kernels: every tensor alone and all together, GQA, head dims the texel
 * kernel splits and one it does not (D 80 on 8 lanes: flash_smem), a split, strides and
 * odd offsets. The CPU reference reads the same f16 values. */
Test(sweep, f16_storage) {
    const seattn_dtype F16 = SEATTN_DTYPE_F16;
    for (int mask = 1; mask < 16; mask++) {
        if (mask != 15 && mask != 1 && mask != 2 && mask != 4 && mask != 8 && mask != 6) continue;
        seattn_attention_desc d = tu_desc(8, 2, 64, 33, 70, 4, 9);
        if (mask & 1) d.q_type = F16;
        if (mask & 2) d.k_type = F16;
        if (mask & 4) d.v_type = F16;
        if (mask & 8) d.out_type = F16;
        compare(d, 1400 + (uint32_t)mask, 1);
    }
    const uint32_t dims[] = {32, 80, 128};
    for (size_t i = 0; i < 3; i++) {
        seattn_attention_desc d = tu_desc(4, 1, dims[i], 1, 300, 8, 32); /* decode: split */
        d.q_type = d.k_type = d.v_type = d.out_type = F16;
        compare(d, 1420 + (uint32_t)i, 1);
        d = tu_desc(4, 2, dims[i], 70, 70, 4, 16);
        d.k_type = d.v_type = d.out_type = F16;
        d.rope_layout = i == 1 ? SEATTN_ROPE_INTERLEAVED : SEATTN_ROPE_ROTATE_HALF;
        d.key_mode = SEATTN_KEYS_ROTATED;
        compare(d, 1430 + (uint32_t)i, 0);
    }
    seattn_attention_desc d = tu_desc(4, 2, 32, 12, 40, 4, 6);
    d.q_type = d.k_type = d.v_type = d.out_type = F16;
    d.q_strides = d.out_strides = (seattn_strides){32, 4 * 32};
    d.k_strides = d.v_strides = (seattn_strides){32, 2 * 32};
    d.q_offset = 3;
    d.k_offset = 5;
    d.out_offset = 1;
    compare(d, 1440, 1);
}

/* QK-norm of queries, keys or both, with and without weights, at eps 0 and a large eps, with
 * f16 inputs, rotated keys (Q_NORM only) and scale_base, on both kernels' shapes. */
Test(sweep, qk_norm) {
    const uint32_t flags[] = {SEATTN_ATTN_Q_NORM, SEATTN_ATTN_K_NORM,
                              SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM};
    for (size_t i = 0; i < 3; i++)
        for (int weights = 0; weights < 2; weights++) {
            seattn_attention_desc d = tu_desc(8, 2, 64, 40, 90, 4, 9);
            d.flags = flags[i];
            compare(d, 1500 + (uint32_t)(i * 2 + weights), 1 | (weights ? WITH_WEIGHTS : 0));
            d = tu_desc(4, 1, 80, 1, 300, 8, 32); /* flash_smem on 8 lanes, decode split */
            d.flags = flags[i];
            d.qk_norm_eps = weights ? 0.5f : 0.0f;
            d.q_norm_offset = 3;
            d.k_norm_offset = 8;
            compare(d, 1510 + (uint32_t)(i * 2 + weights), 1 | (weights ? WITH_WEIGHTS : 0));
        }
    seattn_attention_desc d = tu_desc(4, 2, 128, 65, 65, 8, 16);
    d.flags = SEATTN_ATTN_Q_NORM;
    d.key_mode = SEATTN_KEYS_ROTATED;
    d.scale_base = 32.0f;
    d.q_type = d.k_type = d.v_type = SEATTN_DTYPE_F16;
    compare(d, 1520, 1 | WITH_WEIGHTS);
}

/* Its own suite, with contexts made after the skip: a skipped test does not run .fini, so the
 * suite's contexts would be left to the process exit (LeakSanitizer saw them). */
Test(sweep_slow, long_sequences_slow, .timeout = 900) {
    const char *slow = getenv("SEATTN_TEST_SLOW");
    if (!slow || strcmp(slow, "1") != 0) cr_skip_test("set SEATTN_TEST_SLOW=1");
    setup();
    compare(tu_desc(8, 2, 128, 1, 8192, 8, 512), 1000, 1);
    compare(tu_desc(4, 1, 128, 700, 700, 8, 64), 1001, 0);
    compare(tu_desc(2, 1, 256, 300, 2000, 16, 128), 1002, 0);
    teardown();
}
