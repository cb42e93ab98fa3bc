/* The planner (src/vulkan/plan.c) with no device: a pure function of a device's capabilities, a
 * resolved descriptor and facts about the tensors, checked here for devices that are not
 * there (a desktop GPU, a phone, small and large subgroups, llvmpipe). */
#include "vk_internal.h"

#include <criterion/criterion.h>
#include <string.h>

/* A device as the planner sees it: shared memory, subgroup sizes, shuffles or not. */
static seattn__caps gpu(uint32_t smem, uint32_t sg_min, uint32_t sg_max, bool shuffles) {
    seattn__caps c = {.subgroup_size = sg_max, .sg_min = sg_min, .sg_max = sg_max};
    c.limits.maxComputeSharedMemorySize = smem;
    c.limits.maxComputeWorkGroupInvocations = 1024;
    c.limits.maxComputeWorkGroupCount[0] = c.limits.maxComputeWorkGroupCount[1] =
        c.limits.maxComputeWorkGroupCount[2] = 65535;
    c.limits.maxStorageBufferRange = 1u << 30;
    seattn__caps_finish(&c, VK_SUBGROUP_FEATURE_BASIC_BIT |
                                (shuffles ? VK_SUBGROUP_FEATURE_SHUFFLE_BIT : 0));
    return c;
}

static seattn_attention_desc desc(uint32_t d, uint32_t q_len, uint32_t kv_len, int g, int w) {
    return (seattn_attention_desc){.n_heads = 32,
                                   .n_kv_heads = 8,
                                   .head_dim = d,
                                   .v_head_dim = d,
                                   .q_len = q_len,
                                   .kv_len = kv_len,
                                   .q_pos = kv_len - q_len,
                                   .group_size = g,
                                   .neighbor_window = w,
                                   .rotary_dims = d,
                                   .scale = 1.0f,
                                   .rope_theta = 10000.0f};
}

/* The plan of the default kernel for caps; fails the test if there is none. */
static seattn__plan plan(const seattn__caps *c, seattn_attention_desc r) {
    const seattn__plan_facts f = {0};
    seattn__plan pl;
    char why[512] = "";
    const seattn__kernel k = seattn__plan_default_kernel(c, -1, false);
    cr_assert_eq(seattn__plan_make(c, &r, k, false, &f, &pl, why, sizeof why), SEATTN_SUCCESS, "%s",
                 why);
    return pl;
}

/* flash.comp's shared memory for the plan's specialization (as the shader declares it). */
static uint32_t flash_lds(const seattn__plan *pl) {
    const uint32_t wg = pl->spec[0], d = pl->spec[1], br = pl->spec[2], bc = pl->spec[3];
    const uint32_t ds = 1u << pl->spec[4], kg = pl->spec[5];
    const uint32_t dp = (d + ds - 1) / ds * ds, kn = bc * dp;
    uint32_t kb = kn;
    if (pl->kernel == SEATTN__KERNEL_FLASH && wg * (bc / kg) > kb) kb = wg * (bc / kg);
    if (kg > 1 && kg * br * dp > kb) kb = kg * br * dp;
    return 4 * (kb + kn + ((pl->spec[SEATTN__SPEC_NORM] & SEATTN__NORM_K) ? bc : 1) +
                (kg > 1 ? 2 * kg * br : 1) + (pl->spec[SEATTN__SPEC_BATCH] ? bc : 1) + 1);
}

Test(plan, gpu_prefill_takes_flash_with_subgroup_sums) {
    const seattn__caps c = gpu(65536, 32, 64, true);
    const seattn__plan pl = plan(&c, desc(128, 4096, 4096, 8, 512));
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH_SG);
    cr_expect_eq(pl.spec[0], 128, "workgroup %u", pl.spec[0]);
    cr_expect_eq(pl.spec[2] * (1u << pl.spec[4]) * pl.spec[5], pl.spec[0], "BR x DS x KG = WG");
    cr_expect_eq(pl.spec[5], 1, "prefill: one key group, %u", pl.spec[5]);
    cr_expect_leq((128 + (1u << pl.spec[4]) - 1) >> pl.spec[4], 16, "at most 16 dims a lane");
    cr_expect_eq(pl.n_split, 1, "prefill fills the device without a key split");
    cr_expect_eq(pl.wg_x, (4096 * 4 + pl.spec[2] - 1) / pl.spec[2]);
    cr_expect_eq(pl.wg_y, 8);
    cr_expect_eq(pl.spec[SEATTN__SPEC_PLAIN], 0);
    cr_expect_leq(flash_lds(&pl), 65536);
}

Test(plan, gpu_decode_splits_keys_and_fills_every_lane) {
    const seattn__caps c = gpu(65536, 32, 64, true);
    const seattn__plan pl = plan(&c, desc(128, 1, 32768, 8, 512));
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH_SG);
    cr_expect_eq(pl.spec[2], 4, "rows: the 4 query heads of a KV head, %u", pl.spec[2]);
    cr_expect_eq(pl.spec[0], 128, "lanes and key groups fill the workgroup: %u", pl.spec[0]);
    cr_expect_leq((128 + (1u << pl.spec[4]) - 1) >> pl.spec[4], 4, "few registers a lane");
    const seattn__plan mha = plan(&c, (seattn_attention_desc){.n_heads = 8,
                                                              .n_kv_heads = 8,
                                                              .head_dim = 128,
                                                              .v_head_dim = 128,
                                                              .q_len = 1,
                                                              .kv_len = 4096,
                                                              .q_pos = 4095,
                                                              .group_size = 8,
                                                              .neighbor_window = 512,
                                                              .rotary_dims = 128});
    cr_expect_eq(mha.spec[2], 1, "one row: the query head");
    cr_expect_gt(mha.spec[5], 1, "key groups fill the workgroup");
    cr_expect_eq(mha.spec[0], 128);
    cr_expect_geq(pl.wg_x * pl.wg_y * pl.n_split, 512, "%u x %u x %u workgroups", pl.wg_x, pl.wg_y,
                  pl.n_split);
    cr_expect_eq(pl.split_len % pl.spec[3], 0, "splits are whole tiles");
    cr_expect_geq(pl.split_len * pl.n_split, 32768);
}

Test(plan, g1_is_the_plain_specialization) {
    const seattn__caps c = gpu(65536, 32, 64, true);
    cr_expect_eq(plan(&c, desc(128, 512, 512, 1, 0)).spec[SEATTN__SPEC_PLAIN], 1);
    cr_expect_eq(plan(&c, desc(128, 512, 512, 4, 100000)).spec[SEATTN__SPEC_PLAIN], 1);
    cr_expect_eq(plan(&c, desc(128, 512, 512, 4, 64)).spec[SEATTN__SPEC_PLAIN], 0);
}

Test(plan, phones_16k_of_shared_memory_and_no_shuffles) {
    const uint32_t dims[] = {2, 64, 80, 128, 256, 510, 512};
    const seattn__caps c = gpu(16384, 16, 16, false);
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        for (uint32_t q = 1; q <= 1024; q *= 32) {
            const seattn__plan pl = plan(&c, desc(dims[i], q, 1024, 8, 64));
            cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH, "d%u: no shuffles, flash_smem", dims[i]);
            cr_expect_leq(flash_lds(&pl), 16384, "d%u q%u: %u bytes", dims[i], q, flash_lds(&pl));
        }
}

Test(plan, subgroup_sizes_from_4_to_128) {
    for (uint32_t sg = 4; sg <= 128; sg *= 2) {
        const seattn__caps c = gpu(32768, sg, sg, true);
        const seattn__plan pl = plan(&c, desc(256, 1024, 1024, 8, 64));
        cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH_SG, "sg %u", sg);
        cr_expect_leq(1u << pl.spec[4], sg, "sg %u: a row's %u lanes in one subgroup", sg,
                      1u << pl.spec[4]);
        cr_expect_eq(pl.spec[0] % sg, 0, "sg %u: whole subgroups (%u invocations)", sg, pl.spec[0]);
    }
    /* sizes the driver may vary between 8 and 64: lanes fit the smallest, WG the largest */
    const seattn__caps c = gpu(65536, 8, 64, true);
    const seattn__plan pl = plan(&c, desc(128, 1024, 1024, 8, 64));
    cr_expect_leq(1u << pl.spec[4], 8);
    cr_expect_eq(pl.spec[0] % 64, 0);
}

Test(plan, limits_fail_with_a_reason) {
    seattn__caps c = gpu(1024, 32, 64, true); /* far too little shared memory */
    seattn_attention_desc r = desc(512, 64, 64, 8, 16);
    const seattn__plan_facts f = {0};
    seattn__plan pl;
    char why[512] = "";
    cr_expect_eq(seattn__plan_make(&c, &r, SEATTN__KERNEL_FLASH, true, &f, &pl, why, sizeof why),
                 SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(why, "maxComputeSharedMemorySize"), "%s", why);
    c = gpu(65536, 32, 64, true);
    c.limits.maxComputeWorkGroupCount[1] = 4; /* 8 KV heads need 8 workgroups along y */
    cr_expect_eq(seattn__plan_make(&c, &r, SEATTN__KERNEL_FLASH, true, &f, &pl, why, sizeof why),
                 SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(why, "maxComputeWorkGroupCount[1]"), "%s", why);
}

Test(plan, cpu_devices_take_texel_or_fall_back_to_flash_smem) {
    seattn__caps c = gpu(32768, 8, 8, true);
    c.cpu = c.llvmpipe = c.texel_ok = true;
    seattn_attention_desc r = desc(128, 1024, 1024, 8, 64);
    seattn__plan_facts f = {.texel_views = true, .rope_view = true};
    seattn__plan pl;
    char why[512] = "";
    const seattn__kernel k = seattn__plan_default_kernel(&c, -1, false);
    cr_expect_eq(k, SEATTN__KERNEL_TEXEL);
    cr_expect_eq(seattn__plan_make(&c, &r, k, false, &f, &pl, why, sizeof why), SEATTN_SUCCESS);
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_TEXEL);
    /* the key mode is a constant of the texel kernel: only that mode's grouped loop runs */
    cr_expect_eq(pl.spec[SEATTN__SPEC_ROTATED], 0);
    r.key_mode = SEATTN_KEYS_ROTATED;
    cr_expect_eq(seattn__plan_make(&c, &r, k, false, &f, &pl, why, sizeof why), SEATTN_SUCCESS);
    cr_expect_eq(pl.spec[SEATTN__SPEC_ROTATED], 1);
    char name[160];
    seattn__plan_name(&pl, name, sizeof name);
    cr_expect(strstr(name, " rotatedk"), "%s", name);
    r.key_mode = SEATTN_KEYS_RAW;
    /* MLA's shape: a slice rotated at an offset, v's own head size (split over the lanes) */
    seattn_attention_desc mla = r;
    mla.head_dim = 192, mla.rotary_offset = 128, mla.rotary_dims = 64, mla.v_head_dim = 128;
    cr_expect_eq(seattn__plan_make(&c, &mla, k, true, &f, &pl, why, sizeof why), SEATTN_SUCCESS,
                 "%s", why);
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_TEXEL);
    cr_expect_eq(pl.spec[SEATTN__SPEC_ROT_OFF], 128);
    cr_expect_eq(pl.spec[SEATTN__SPEC_DV], 128);
    mla.v_head_dim = 6; /* 6 does not split over 8 lanes */
    cr_expect_eq(seattn__plan_make(&c, &mla, k, false, &f, &pl, why, sizeof why), SEATTN_SUCCESS);
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH, "v_head_dim 6: falls back to flash_smem");
    r.head_dim = r.rotary_dims = r.v_head_dim = 20; /* 10 pairs do not split over 8 lanes */
    cr_expect_eq(seattn__plan_make(&c, &r, k, false, &f, &pl, why, sizeof why), SEATTN_SUCCESS);
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH, "falls back to flash_smem");
    cr_expect_eq(seattn__plan_make(&c, &r, k, true, &f, &pl, why, sizeof why),
                 SEATTN_ERROR_UNSUPPORTED, "forced: an error, not another kernel");
    cr_expect(strstr(why, "texel kernel (forced)"), "%s", why);
    cr_expect_eq(seattn__plan_default_kernel(&c, -1, true), SEATTN__KERNEL_FLASH, "portable");
    c.texel_ok = false; /* a CPU device without texel buffers or subgroup arithmetic */
    cr_expect_eq(seattn__plan_default_kernel(&c, -1, false), SEATTN__KERNEL_FLASH);
}

Test(plan, llvmpipe_loop_budget_splits_long_key_runs) {
    seattn__caps c = gpu(32768, 8, 8, true);
    c.cpu = c.llvmpipe = true;
    seattn_attention_desc r = desc(128, 1, 200000, 8, 512);
    const seattn__plan_facts f = {0};
    seattn__plan pl;
    char why[512] = "";
    cr_assert_eq(seattn__plan_make(&c, &r, SEATTN__KERNEL_FLASH_SG, true, &f, &pl, why, sizeof why),
                 SEATTN_SUCCESS, "%s", why);
    cr_expect_gt(pl.n_split, 1);
    cr_expect_leq(pl.split_len, 32000, "a split's keys stay inside the budget: %u", pl.split_len);
    c.llvmpipe = false; /* the same call on a GPU: splits only to fill the device */
    seattn__plan g;
    cr_assert_eq(seattn__plan_make(&c, &r, SEATTN__KERNEL_FLASH_SG, true, &f, &g, why, sizeof why),
                 SEATTN_SUCCESS, "%s", why);
    cr_expect_leq(g.n_split, pl.n_split);
}

Test(plan, names_say_what_runs) {
    const seattn__caps c = gpu(65536, 32, 64, true);
    seattn_attention_desc r = desc(128, 1, 4096, 1, 0);
    r.k_type = r.v_type = SEATTN_DTYPE_F16;
    r.flags = SEATTN_ATTN_K_NORM;
    const seattn__plan pl = plan(&c, r);
    char name[160];
    seattn__plan_name(&pl, name, sizeof name);
    cr_expect(strncmp(name, "flash_sg d128 ", 14) == 0, "%s", name);
    cr_expect(strstr(name, " f16:kv") && strstr(name, " plain") && strstr(name, " qknorm:k"), "%s",
              name);
}

Test(plan, key_splits_fill_the_compute_units_a_device_reports) {
    seattn__caps c = gpu(65536, 32, 64, true);
    const seattn_attention_desc r = desc(128, 1, 65536, 8, 512);
    const seattn__plan guess = plan(&c, r); /* no count reported: aims at 512 workgroups */
    c.compute_units = 20;                   /* a small GPU: 80 workgroups are enough */
    const seattn__plan small = plan(&c, r);
    c.compute_units = 200;
    const seattn__plan big = plan(&c, r);
    cr_expect_geq(guess.wg_x * guess.wg_y * guess.n_split, 512);
    cr_expect_geq(small.wg_x * small.wg_y * small.n_split, 80);
    cr_expect_lt(small.n_split, guess.n_split, "%u vs %u splits", small.n_split, guess.n_split);
    cr_expect_geq(big.wg_x * big.wg_y * big.n_split, 800);
}

/* Batches: one grid of every sequence's splits, the kind of batch a specialization constant,
 * splits bounded by the grid and the scratch, and the storage kernel ruled out. */
Test(plan, batches_are_one_grid) {
    const seattn__caps c = gpu(16384, 32, 32, true);
    seattn__plan pl;
    char why[512] = "";
    const seattn_attention_desc dec = desc(128, 1, 16384, 8, 512),
                                pre = desc(128, 4096, 4096, 8, 512),
                                small = desc(128, 1, 100, 8, 512);
    /* 128 decoding sequences of up to 16k keys: splits spread over all of them */
    seattn__plan_facts f = {.n_seqs = 128, .page_size = 16};
    cr_assert_eq(
        seattn__plan_make(&c, &dec, SEATTN__KERNEL_FLASH_SG, true, &f, &pl, why, sizeof why),
        SEATTN_SUCCESS, "%s", why);
    cr_expect_eq(pl.spec[SEATTN__SPEC_BATCH], 2);
    cr_expect(pl.n_split > 8, "the longest sequence in %u splits", pl.n_split);
    cr_expect(pl.n_split * 128u <= 65535u);
    cr_expect(pl.chunk == 1);
    cr_expect(flash_lds(&pl) <= 16384, "%u bytes of shared memory", flash_lds(&pl));
    const uint64_t scratch = 32ull * 128 * 1 * pl.n_split * (128 + 4) * 4;
    cr_expect(pl.n_split == 1 || scratch <= (64u << 20), "%llu bytes of scratch",
              (unsigned long long)scratch);
    f.page_size = 5;
    cr_assert_eq(seattn__plan_make(&c, &dec, SEATTN__KERNEL_FLASH, true, &f, &pl, why, sizeof why),
                 SEATTN_SUCCESS, "%s", why);
    cr_expect_eq(pl.spec[SEATTN__SPEC_BATCH], 3);
    f.page_size = 0;
    /* four long prefills: no split, so no scratch is needed however long */
    f.n_seqs = 4;
    cr_assert_eq(
        seattn__plan_make(&c, &pre, SEATTN__KERNEL_FLASH_SG, true, &f, &pl, why, sizeof why),
        SEATTN_SUCCESS, "%s", why);
    cr_expect_eq(pl.spec[SEATTN__SPEC_BATCH], 1);
    cr_expect_eq(pl.n_split, 1);
    cr_expect_eq(pl.chunk, 4096);
    /* a batch the texel kernel cannot take (no texel views) runs on flash_smem */
    const seattn__plan_facts no_texel = {.n_seqs = 4};
    cr_assert_eq(
        seattn__plan_make(&c, &small, SEATTN__KERNEL_TEXEL, false, &no_texel, &pl, why, sizeof why),
        SEATTN_SUCCESS, "%s", why);
    cr_expect_eq(pl.kernel, SEATTN__KERNEL_FLASH);
    /* more sequences than workgroups along z */
    f.n_seqs = 70000;
    cr_expect_eq(
        seattn__plan_make(&c, &small, SEATTN__KERNEL_FLASH, true, &f, &pl, why, sizeof why),
        SEATTN_ERROR_UNSUPPORTED);
    cr_expect(strstr(why, "split the batch"), "%s", why);
}
