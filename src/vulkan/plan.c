/* The planner: which kernel a call runs, its specialization, grid and key split, from the
 * device's capabilities (seattn__caps, read once at context creation), the resolved descriptor
 * and a few facts about the tensors. Pure: no device, no allocation, no environment, so tests
 * plan calls for devices that are not there (tests/test_plan.c, tests/test_gpu_budget.c). */
#include "vk_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static seattn_status fail(char *why, size_t size, seattn_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return status;
}

/* texel.comp splits head_dim over a subgroup: every lane takes whole RoPE pairs and an equal
 * share of the unrotated dims (and of v_head_dim, where v's differs). */
static bool texel_shape_ok(const seattn_attention_desc *r, uint32_t sg) {
    const uint32_t rh = r->rotary_dims / 2;
    return rh % sg == 0 && (r->head_dim - 2 * rh) % sg == 0 &&
           (r->v_head_dim == r->head_dim || r->v_head_dim % sg == 0);
}

/* A lane's dims of texel.comp form runs of 4 elements on 16 bytes: rotate_half layout, pairs
 * and unrotated dims per lane multiples of 4, the rotated range on 4 elements (the output's own
 * alignment is checked apart). v_side: those of v and out alone (q's where v_head_dim is
 * head_dim, else v_head_dim / sg in a row); else those of k and v. */
bool seattn__plan_texel_runs(const seattn_attention_desc *r, uint32_t sg, bool v_side, uint32_t n) {
    const uint32_t rh = r->rotary_dims / 2;
    const bool k_runs = r->rope_layout != SEATTN_ROPE_INTERLEAVED && (rh / sg) % n == 0 &&
                        ((r->head_dim - 2 * rh) / sg) % n == 0 && rh % n == 0 &&
                        r->rotary_offset % n == 0;
    const bool v_runs = r->v_head_dim == r->head_dim ? k_runs : (r->v_head_dim / sg) % n == 0;
    return v_side ? v_runs : k_runs && v_runs;
}

bool seattn__plan_texel_vec4_runs(const seattn_attention_desc *r, uint32_t sg, bool v_side) {
    return seattn__plan_texel_runs(r, sg, v_side, 4);
}

/* Every pair a neighbor: G = 1 (unless a window is asked for), or W past every distance. The
 * kernels then run their plain specialization (PLAIN), with W = 0xffffffff in the push
 * constants. */
bool seattn__plan_all_neighbors(const seattn_attention_desc *r) {
    return (r->group_size == 1 && !(r->flags & SEATTN_ATTN_NEIGHBOR_ONLY)) ||
           (uint32_t)r->neighbor_window >= r->kv_len;
}

static uint32_t dtype_mask(const seattn_attention_desc *r) {
    return (r->q_type == SEATTN_DTYPE_F16 ? SEATTN__F16_Q : 0) |
           (r->k_type == SEATTN_DTYPE_F16 ? SEATTN__F16_K : 0) |
           (r->v_type == SEATTN_DTYPE_F16 ? SEATTN__F16_V : 0) |
           (r->out_type == SEATTN_DTYPE_F16 ? SEATTN__F16_OUT : 0) |
           (r->q_type == SEATTN_DTYPE_BF16 ? SEATTN__BF16_Q : 0) |
           (r->out_type == SEATTN_DTYPE_BF16 ? SEATTN__BF16_OUT : 0);
}

/* Bytes of shared memory flash.comp declares for a shape (its k_s, v_s or v_s16, kr_s, ml_s,
 * and a batch's kt_s and bad_s, chunks' kt_s and kc_s); dp and dpv: head_dim and v_head_dim padded
 * to whole lanes; v16: a 16-bit V (f16, bf16) staged 16-bit (flash.comp's V16, dpv even). */
static uint32_t flash_smem_bytes(bool sg, bool k_norm, bool batch, bool chunks, bool v16,
                                 uint32_t wg, uint32_t dp, uint32_t dpv, uint32_t br, uint32_t bc,
                                 uint32_t kg) {
    const uint32_t kn = bc * dp, red = wg * (bc / kg), comb = kg > 1 ? kg * br * dpv : 0;
    uint32_t kb = sg || kn > red ? kn : red;
    if (comb > kb) kb = comb;
    const bool v16_here = v16 && dpv % 2 == 0;
    return 4u * (kb + (v16_here ? bc * dpv / 2 + 1 : bc * dpv + 1) + (k_norm ? bc : 1) +
                 (kg > 1 ? 2 * kg * br : 1) + (batch || chunks ? bc : 1) + (chunks ? bc : 1) + 1);
}

/* What a kernel's plan function says besides the plan: splits are whole multiples of
 * key_step keys, and a workgroup takes at most max_keys (llvmpipe's loop budget). */
typedef struct {
    uint32_t key_step, max_keys;
} key_limits;
typedef seattn_status (*plan_fn)(const seattn__caps *caps, const seattn_attention_desc *r,
                                 seattn__kernel kernel, const seattn__plan_facts *f,
                                 seattn__plan *pl, key_limits *kl, char *why, size_t why_size);

/* flash.comp: DS lanes split head_dim, at most 16 elements a lane (and, for subgroup sums, no
 * more lanes than the smallest subgroup); 128 invocations: BR rows x DS lanes x KG key groups,
 * the rows for long query runs, key groups for decode and short chunks. */
static seattn_status plan_flash(const seattn__caps *caps, const seattn_attention_desc *r,
                                seattn__kernel kernel, const seattn__plan_facts *f,
                                seattn__plan *pl, key_limits *kl, char *why, size_t why_size) {
    const VkPhysicalDeviceLimits *lim = &caps->limits;
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    const bool llvmpipe = caps->llvmpipe;
    const bool sg = kernel == SEATTN__KERNEL_FLASH_SG, batch = f->n_seqs != 0;
    const uint32_t n_rows = r->q_len * n_rep;
    uint32_t lds = 0;
    while ((d + (1u << lds) - 1) >> lds > 16 && lds < 5)
        lds++;
    /* decode and short chunks (few rows): 4 elements a lane where 32 lanes allow, for few
     * registers and many resident waves (they wait on memory) */
    while (n_rows < 8 && (d + (1u << lds) - 1) >> lds > 4 && lds < 5)
        lds++;
    while (sg && lds > 0 && (1u << lds) > caps->sg_min)
        lds--;
    const uint32_t ds = 1u << lds, dl = (d + ds - 1) / ds, dp = dl * ds;
    const uint32_t dlv = (r->v_head_dim + ds - 1) / ds, dpv = dlv * ds;
    const uint32_t wg = lim->maxComputeWorkGroupInvocations >= 128 ? 128 : 64;
    if (ds > wg || (sg && wg % caps->sg_max != 0))
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "the flash kernel needs %u invocations a workgroup for head_dim "
                    "%u with subgroups of %u..%u",
                    ds, d, caps->sg_min, caps->sg_max);
    const uint32_t br_full = wg / ds;
    uint32_t br = br_full;
    while (br > 1 && br / 2 >= n_rows)
        br /= 2;
    /* Key groups fill the workgroup when the rows do not. Keys a tile: as many as fit,
     * at most 16 a key group (their scores are registers; 4 for decode and short chunks,
     * which read each key once and gain nothing from bigger tiles) and 64 in all, in
     * 16 KiB of shared memory where they can (phones have no more, and GPUs then keep
     * more workgroups resident), else in what the device has. Fewer key groups (a smaller
     * workgroup) where even one key a group does not fit. llvmpipe compiles the unrolled
     * score loops slowly: 4 keys a key group there. */
    const bool k_norm = (r->flags & SEATTN_ATTN_K_NORM) != 0;
    const bool v16 = r->v_type == SEATTN_DTYPE_F16 || r->v_type == SEATTN_DTYPE_BF16;
    const uint32_t soft = 16384 + 256; /* the tiles' 16 KiB and the small arrays */
    const uint32_t budgets[2] = {
        lim->maxComputeSharedMemorySize < soft ? lim->maxComputeSharedMemorySize : soft,
        lim->maxComputeSharedMemorySize};
    uint32_t kg = br_full / br, bc = 0;
    for (;;) {
        const uint32_t max_bck = llvmpipe || kg > 1 || n_rows < 8 ? 4 : 16;
        for (int b = 0; b < 2 && bc == 0; b++)
            for (uint32_t c = kg; c <= 64 && c / kg <= max_bck; c *= 2)
                if (flash_smem_bytes(sg, k_norm, batch, f->kv_chunks > 0, v16, kg * br * ds, dp,
                                     dpv, br, c, kg) <= budgets[b])
                    bc = c;
        if (bc || kg == 1) break;
        kg /= 2;
    }
    if (bc == 0)
        return fail(
            why, why_size, SEATTN_ERROR_UNSUPPORTED,
            "device limits: the flash kernel needs %u bytes of shared memory at "
            "head_dim %u, above maxComputeSharedMemorySize (%u)",
            flash_smem_bytes(sg, k_norm, batch, f->kv_chunks > 0, v16, br * ds, dp, dpv, br, 1, 1),
            d, lim->maxComputeSharedMemorySize);
    const uint32_t wg_used = kg * br * ds;
    if (sg && wg_used % caps->sg_max != 0)
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "the flash kernel's %u invocations at head_dim %u are not whole "
                    "subgroups of %u",
                    wg_used, d, caps->sg_max);
    kl->key_step = bc;
    pl->kernel = kernel;
    pl->spec[0] = wg_used;
    pl->spec[1] = d;
    pl->spec[2] = br;
    pl->spec[3] = bc;
    pl->spec[4] = lds;
    pl->spec[5] = kg;
    pl->rows_per_wg = br;
    pl->wg_x = (n_rows + br - 1) / br;
    pl->wg_y = r->n_kv_heads;
    if (llvmpipe) {
        /* loop iterations a tile, counting every loop as if kept rolled: staging, the
         * score and row-sum loops of both passes, P.V and the key norms; half the budget
         * kept in reserve */
        const uint32_t bck = bc / kg;
        const uint32_t per_tile = 2 * ((bc * dp + wg_used - 1) / wg_used) +
                                  ((bc * dpv + wg_used - 1) / wg_used) + 2 * bck * (dl + ds + 2) +
                                  bck * (dlv + 2) + (d + 1) * ((bc + wg_used - 1) / wg_used) + 16;
        const uint32_t fixed = 3 * dl + dlv + 2 * kg * (dlv + 2) + 64;
        kl->max_keys = (32000 - fixed) / per_tile * bc;
        if (kl->max_keys < bc) kl->max_keys = bc;
    }
    return SEATTN_SUCCESS;
}

/* texel.comp: a subgroup of S lanes splits head_dim and serves T tokens x R heads; 4 subgroups
 * a workgroup, or 1 for decode and short chunks. */
static seattn_status plan_texel(const seattn__caps *caps, const seattn_attention_desc *r,
                                seattn__kernel kernel, const seattn__plan_facts *f,
                                seattn__plan *pl, key_limits *kl, char *why, size_t why_size) {
    (void)kernel, (void)why, (void)why_size; /* it takes every call texel_shape_ok() passes */
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    const bool one_level = f->one_level;
    const bool out_vec4 = f->out_vec4 && seattn__plan_texel_vec4_runs(r, caps->subgroup_size, true);
    const uint32_t rh = r->rotary_dims / 2, sg = caps->subgroup_size;
    const uint32_t rr = n_rep % 4 == 0 ? 4 : n_rep % 2 == 0 ? 2 : 1;
    const uint32_t tt = r->q_len >= 64 ? 8 / rr : 1;
    const uint32_t nsg = r->q_len >= 4 * tt ? 4 : 1;
    kl->key_step = 1;
    pl->kernel = SEATTN__KERNEL_TEXEL;
    const uint32_t spec[SEATTN__N_SPEC] = {
        sg * nsg, d,         rr, rh,      r->rope_layout == SEATTN_ROPE_INTERLEAVED,
        tt,       one_level, sg, out_vec4};
    memcpy(pl->spec, spec, sizeof spec);
    pl->tok_per_wg = tt * nsg;
    pl->wg_x = (r->q_len + pl->tok_per_wg - 1) / pl->tok_per_wg;
    pl->wg_y = r->n_kv_heads * (n_rep / rr);
    /* llvmpipe ends an invocation's loops after 65535 iterations in all. One a step of two
     * keys (half a key, and half a step more for a run of odd length); a run of the G keys of
     * one grouped position one more (the inner loop tests at its end, so its exit costs
     * nothing); a page two (its run, and the page check). 1 + 1 / G + 2 / P a key, the count
     * from when a step took one key, still bounds that (1/2 + 3/2 (1/G + 1/P) + 1/P); 60000 /
     * it (the rest of 65535 for the zones' loop exits) */
    if (caps->llvmpipe) {
        const bool grouped = !seattn__plan_all_neighbors(r), paged = f->n_seqs && f->page_size;
        const uint64_t g = grouped ? r->group_size : 1, p = paged ? f->page_size : 1;
        /* g p times the iterations a key */
        const uint64_t per_key_gp = g * p + (grouped ? p : 0) + (paged ? 2 * g : 0);
        kl->max_keys = (uint32_t)(60000ull * g * p / per_key_gp);
    }
    return SEATTN_SUCCESS;
}

/* The kernel table: a row per attention kernel a call may run. A new kernel is a row here, a
 * shader, and a branch of make_plan(). */
typedef struct {
    const char *name;
    seattn__kernel kernel; /* its shader (shaders.c) and layout (pipeline.c) */
    seattn_kernel_id id;
    const char *what;
    plan_fn plan; /* its specialization, grid and key step; the split is common */
} kernel_row;
static const kernel_row kernel_table[] = {
    {"flash_sg", SEATTN__KERNEL_FLASH_SG, SEATTN_KERNEL_FLASH,
     "flash.comp: FlashAttention-2 tiles, head_dim split over lanes, row sums by subgroup "
     "shuffles (the GPU default)",
     plan_flash},
    {"flash_smem", SEATTN__KERNEL_FLASH, SEATTN_KERNEL_FLASH,
     "flash.comp with row sums through shared memory: no subgroup operations (GPUs without "
     "shuffles)",
     plan_flash},
    {"texel", SEATTN__KERNEL_TEXEL, SEATTN_KERNEL_TEXEL,
     "texel.comp: texel-buffer loads, a subgroup a row group (the CPU-device default)", plan_texel},
};
enum { N_KERNEL_ROWS = sizeof kernel_table / sizeof kernel_table[0] };

int seattn__vk_kernel_lookup(const char *name) {
    for (int i = 0; i < N_KERNEL_ROWS; i++)
        if (strcmp(kernel_table[i].name, name) == 0) return i;
    if (strcmp(name, "flash") == 0) return -2;   /* the best flash kernel for the device */
    if (strcmp(name, "storage") == 0) return -3; /* retired: flash_smem serves its devices */
    return -1;
}

const char *seattn__vk_kernel_names(void) {
    return "flash, flash_sg, flash_smem, texel";
}

/* Why the device cannot run row i's kernel; NULL if it can. */
const char *seattn__vk_kernel_why_not(const seattn__caps *caps, int i) {
    switch (kernel_table[i].kernel) {
    case SEATTN__KERNEL_FLASH_SG:
        return caps->flash_sg_ok ? NULL
                                 : "needs subgroup shuffles in compute shaders and power-of-2 "
                                   "subgroup sizes";
    case SEATTN__KERNEL_TEXEL:
        return caps->texel_ok ? NULL
                              : "needs subgroup arithmetic and ballot in compute shaders and R32F, "
                                "RG32F and R16F uniform texel buffers";
    default:
        return NULL;
    }
}

seattn_status seattn__vk_context_kernel_info(const seattn_context *ctx, uint32_t i,
                                             seattn_kernel_info *out) {
    if (i >= N_KERNEL_ROWS) return SEATTN_ERROR_INVALID_ARGUMENT;
    const kernel_row *k = &kernel_table[i];
    const char *why = seattn__vk_kernel_why_not(&ctx->vk->caps, (int)i);
    snprintf(out->name, sizeof out->name, "%s", k->name);
    snprintf(out->description, sizeof out->description, "%s", k->what);
    out->kernel_id = k->id;
    out->available = why == NULL;
    snprintf(out->why_not, sizeof out->why_not, "%s", why ? why : "");
    return SEATTN_SUCCESS;
}

void seattn__caps_finish(seattn__caps *caps, uint32_t subgroup_ops) {
    const uint32_t shuffle = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    const uint32_t lo = caps->sg_min, hi = caps->sg_max;
    caps->flash_sg_ok = (subgroup_ops & shuffle) == shuffle && lo >= 2 && hi <= 128 &&
                        (lo & (lo - 1)) == 0 && (hi & (hi - 1)) == 0;
}

seattn__kernel seattn__plan_default_kernel(const seattn__caps *caps, int forced_row,
                                           bool portable) {
    if (forced_row >= 0) return kernel_table[forced_row].kernel;
    if (portable) return SEATTN__KERNEL_FLASH;
    if (caps->cpu) return caps->texel_ok ? SEATTN__KERNEL_TEXEL : SEATTN__KERNEL_FLASH;
    return caps->flash_sg_ok ? SEATTN__KERNEL_FLASH_SG : SEATTN__KERNEL_FLASH;
}

seattn_status seattn__plan_make(const seattn__caps *caps, const seattn_attention_desc *r,
                                seattn__kernel kernel, bool forced, const seattn__plan_facts *f,
                                seattn__plan *pl, char *why, size_t why_size) {
    const VkPhysicalDeviceLimits *lim = &caps->limits;
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    const bool cpu = caps->cpu;
    const bool llvmpipe = caps->llvmpipe;
    memset(pl, 0, sizeof *pl);
    if (kernel == SEATTN__KERNEL_TEXEL &&
        !(texel_shape_ok(r, caps->subgroup_size) && f->texel_views && f->rope_view)) {
        /* this call's shape or buffers rule the texel kernel out: flash_smem runs (it needs no
         * subgroup operations) */
        if (forced)
            return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                        "the texel kernel (forced) cannot take this call: it needs head_dim "
                        "split evenly over %u lanes, buffers with "
                        "VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT and views within "
                        "maxTexelBufferElements",
                        caps->subgroup_size);
        kernel = SEATTN__KERNEL_FLASH;
    }
    const bool texel = kernel == SEATTN__KERNEL_TEXEL;
    key_limits kl = {1, r->kv_len};
    const kernel_row *row = NULL;
    for (int i = 0; i < N_KERNEL_ROWS && !row; i++)
        if (kernel_table[i].kernel == kernel) row = &kernel_table[i];
    if (!row) return fail(why, why_size, SEATTN_ERROR_INVALID_ARGUMENT, "no such kernel");
    seattn_status st = row->plan(caps, r, kernel, f, pl, &kl, why, why_size);
    if (st != SEATTN_SUCCESS) return st;
    pl->kernel = kernel;
    const uint32_t key_step = kl.key_step, max_keys = kl.max_keys;
    if (pl->wg_y > lim->maxComputeWorkGroupCount[1])
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "%u heads need %u workgroups along y, above this device's "
                    "maxComputeWorkGroupCount[1] (%u)",
                    r->n_heads, pl->wg_y, lim->maxComputeWorkGroupCount[1]);
    /* Tokens one dispatch may take: its workgroups along x stay within
     * maxComputeWorkGroupCount[0]; longer runs go in chunks (below). */
    const uint64_t max_x = lim->maxComputeWorkGroupCount[0];
    const uint64_t tok_limit =
        pl->tok_per_wg ? max_x * pl->tok_per_wg : max_x * pl->rows_per_wg / n_rep;
    if (tok_limit == 0)
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "maxComputeWorkGroupCount[0] (%u) is too small for %u query heads "
                    "a KV head",
                    lim->maxComputeWorkGroupCount[0], n_rep);
    /* Split the keys across workgroups (flash-decoding) when the queries alone cannot fill the
     * device; each split takes at least 256 keys. */
    /* workgroups to aim for: 4 a compute unit where the device says how many it has, else a
     * guess that fills a large GPU (and 16 on CPU devices) */
    const uint32_t target = cpu ? 16 : caps->compute_units ? 4 * caps->compute_units : 512;
    const uint32_t n_seqs = f->n_seqs ? f->n_seqs : 1;
    /* A batch's lengths are on the device. On a GPU its longest sequence is split as if it ran
     * alone, so that one long sequence among short ones still fills the device; each sequence
     * runs only the splits its own keys reach, the rest exit at once. A CPU device runs the
     * workgroups a few at a time, and all of the batch's fill it. */
    const uint64_t base = (uint64_t)pl->wg_x * pl->wg_y * (cpu ? n_seqs : 1);
    uint32_t n_split = 1;
    if (base < target) {
        n_split = (uint32_t)((target + base - 1) / base);
        uint32_t max_split = (r->kv_len + 255) / 256;
        if (n_split > max_split) n_split = max_split;
    }
    if (f->force_split > 0) n_split = f->force_split;
    const uint32_t need = (r->kv_len + max_keys - 1) / max_keys;
    if (f->n_seqs) {
        /* a batch is one grid: its sequences times their splits along z, and the partials of
         * all their rows in scratch at once */
        const uint64_t cap =
            lim->maxStorageBufferRange < (64u << 20) ? lim->maxStorageBufferRange : (64u << 20);
        const uint64_t per_split =
            (uint64_t)r->n_heads * n_seqs * r->q_len * (r->v_head_dim + 4) * 4;
        uint64_t most = lim->maxComputeWorkGroupCount[2] / n_seqs;
        if (cap / per_split < most) most = cap / per_split;
        if (most == 0) most = 1; /* one split: no scratch */
        if (n_split > most) n_split = (uint32_t)most;
        if (need > most || n_seqs > lim->maxComputeWorkGroupCount[2])
            return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                        "a batch of %u sequences with max_kv_len %u needs %u key splits each, "
                        "more than fit in one grid (maxComputeWorkGroupCount[2] %u) and %llu "
                        "bytes of split scratch: split the batch",
                        n_seqs, r->kv_len, need, lim->maxComputeWorkGroupCount[2],
                        (unsigned long long)cap);
        if (pl->wg_x > lim->maxComputeWorkGroupCount[0] ||
            r->q_len > lim->maxComputeWorkGroupCount[0])
            return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                        "max_q_len %u needs more workgroups along x than this device's "
                        "maxComputeWorkGroupCount[0] (%u): split the batch",
                        r->q_len, lim->maxComputeWorkGroupCount[0]);
    }
    if (n_split < need) n_split = need;
    if (n_split > r->kv_len) n_split = r->kv_len;
    uint32_t split_len = (r->kv_len + n_split - 1) / n_split;
    split_len = (split_len + key_step - 1) / key_step * key_step;
    pl->n_split = (r->kv_len + split_len - 1) / split_len;
    pl->split_len = split_len;
    /* split partial rows (D + 4 floats) are 16-byte aligned */
    if (texel && pl->n_split > 1)
        pl->spec[8] = seattn__plan_texel_vec4_runs(r, caps->subgroup_size, true);
    if (pl->n_split > lim->maxComputeWorkGroupCount[2])
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "kv_len %u needs %u key splits, above maxComputeWorkGroupCount[2]", r->kv_len,
                    pl->n_split);
    /* merge.comp loops once over the splits: stay inside llvmpipe's 65535 iterations */
    if (llvmpipe && pl->n_split > 60000)
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "kv_len %u at head_dim %u needs %u key splits with the %s kernel, "
                    "past the 60000 that llvmpipe's loop budget (65535 iterations an "
                    "invocation) allows the merge",
                    r->kv_len, d, pl->n_split, texel ? "texel" : "this");
    /* Split partials cost n_heads x tokens x n_split x (D + 2) floats; queries go in chunks of
     * tokens small enough for a 64 MiB scratch (and maxStorageBufferRange). The merge takes a
     * workgroup per token: a chunk stays within maxComputeWorkGroupCount[0] for it too. */
    pl->chunk = r->q_len < tok_limit ? r->q_len : (uint32_t)tok_limit;
    if (pl->n_split > 1 && pl->chunk > max_x) pl->chunk = (uint32_t)max_x;
    if (pl->n_split > 1 && r->n_heads > lim->maxComputeWorkGroupCount[1])
        return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                    "the merge of %u key splits needs %u workgroups along y (one per "
                    "query head), above this device's maxComputeWorkGroupCount[1] (%u)",
                    pl->n_split, r->n_heads, lim->maxComputeWorkGroupCount[1]);
    if (pl->n_split > 1) {
        const uint64_t cap =
            lim->maxStorageBufferRange < (64u << 20) ? lim->maxStorageBufferRange : (64u << 20);
        const uint64_t per_tok = (uint64_t)r->n_heads * pl->n_split * (r->v_head_dim + 4) * 4;
        uint64_t fit = cap / per_tok;
        if (pl->tok_per_wg && fit > pl->tok_per_wg) fit = fit / pl->tok_per_wg * pl->tok_per_wg;
        if (fit == 0)
            return fail(why, why_size, SEATTN_ERROR_UNSUPPORTED,
                        "kv_len %u needs %u key splits, more than fit in scratch", r->kv_len,
                        pl->n_split);
        if (fit < pl->chunk) pl->chunk = (uint32_t)fit;
    }
    if (f->n_seqs) pl->chunk = r->q_len; /* one grid, its limits checked above */
    pl->spec[SEATTN__SPEC_DTYPE] = dtype_mask(r);
    pl->spec[SEATTN__SPEC_PLAIN] = seattn__plan_all_neighbors(r);
    pl->spec[SEATTN__SPEC_KV_VEC4] = texel && f->kv_vec4;
    pl->spec[SEATTN__SPEC_KV_RUN8] = texel && f->kv_vec4 && f->kv_run8;
    pl->spec[SEATTN__SPEC_ROPE_VEC4] = texel && f->rope_vec4;
    pl->spec[SEATTN__SPEC_SUM_BCAST] = texel && caps->sum_bcast;
    pl->spec[SEATTN__SPEC_ROTATED] = texel && r->key_mode == SEATTN_KEYS_ROTATED;
    /* the logit softcap, a float constant (0: off, the code compiled away) */
    memcpy(&pl->spec[SEATTN__SPEC_SOFTCAP], &r->logit_softcap, sizeof(float));
    pl->spec[SEATTN__SPEC_ROT_OFF] = r->rotary_offset;
    pl->spec[SEATTN__SPEC_DV] = r->v_head_dim;
    pl->spec[SEATTN__SPEC_SINKS] = (r->flags & SEATTN_ATTN_SINKS) != 0;
    pl->spec[SEATTN__SPEC_KT] = seattn__raw_type(r->k_type);
    pl->spec[SEATTN__SPEC_VT] = seattn__raw_type(r->v_type);
    const float ks = r->k_type == SEATTN_DTYPE_FP8_E4M3 ? r->k_scale : 1.0f;
    const float vs = r->v_type == SEATTN_DTYPE_FP8_E4M3 ? r->v_scale : 1.0f;
    memcpy(&pl->spec[SEATTN__SPEC_KS], &ks, sizeof(float));
    memcpy(&pl->spec[SEATTN__SPEC_VS], &vs, sizeof(float));
    pl->spec[SEATTN__SPEC_KV_CHUNKS] = f->kv_chunks;
    pl->spec[SEATTN__SPEC_BATCH] = !f->n_seqs                          ? 0
                                   : !f->page_size                     ? 1
                                   : f->page_size & (f->page_size - 1) ? 3
                                                                       : 2;
    pl->spec[SEATTN__SPEC_NORM] =
        (r->flags & SEATTN_ATTN_Q_NORM ? SEATTN__NORM_Q : 0) |
        (r->flags & SEATTN_ATTN_K_NORM ? SEATTN__NORM_K : 0) |
        (r->flags & SEATTN_ATTN_Q_NORM && f->q_weight ? SEATTN__NORM_QW : 0) |
        (r->flags & SEATTN_ATTN_K_NORM && f->k_weight ? SEATTN__NORM_KW : 0);
    return SEATTN_SUCCESS;
}

/* A short name of the plan's kernel variant for seattn_call_stats. */
void seattn__plan_name(const seattn__plan *pl, char *out, size_t size) {
    const uint32_t *sp = pl->spec;
    if (pl->kernel == SEATTN__KERNEL_TEXEL)
        snprintf(out, size, "texel d%u sg%u t%u r%u%s%s%s", sp[1], sp[7], sp[5], sp[2],
                 sp[4] ? " interleaved" : "", sp[6] ? "" : " rope2", sp[8] ? " vec4out" : "");
    else
        snprintf(out, size, "%s d%u br%u bc%u ds%u kg%u",
                 pl->kernel == SEATTN__KERNEL_FLASH_SG ? "flash_sg" : "flash_smem", sp[1], sp[2],
                 sp[3], 1u << sp[4], sp[5]);
    const uint32_t dt = sp[SEATTN__SPEC_DTYPE], nb = sp[SEATTN__SPEC_NORM];
    size_t n = strlen(out);
    if (dt & SEATTN__F16_ANY)
        n += (size_t)snprintf(out + n, size - n, " f16:%s%s%s%s", dt & SEATTN__F16_Q ? "q" : "",
                              dt & SEATTN__F16_K ? "k" : "", dt & SEATTN__F16_V ? "v" : "",
                              dt & SEATTN__F16_OUT ? "o" : "");
    if ((dt & (SEATTN__BF16_Q | SEATTN__BF16_OUT)) && n < size)
        n += (size_t)snprintf(out + n, size - n, " bf16:%s%s", dt & SEATTN__BF16_Q ? "q" : "",
                              dt & SEATTN__BF16_OUT ? "o" : "");
    if (sp[SEATTN__SPEC_KT] && n < size)
        n += (size_t)snprintf(out + n, size - n, " k:%s",
                              seattn_dtype_name((seattn_dtype)sp[SEATTN__SPEC_KT]));
    if (sp[SEATTN__SPEC_VT] && n < size)
        n += (size_t)snprintf(out + n, size - n, " v:%s",
                              seattn_dtype_name((seattn_dtype)sp[SEATTN__SPEC_VT]));
    if (sp[SEATTN__SPEC_PLAIN] && n < size) n += (size_t)snprintf(out + n, size - n, " plain");
    if (sp[SEATTN__SPEC_KV_VEC4] && n < size)
        n += (size_t)snprintf(out + n, size - n, sp[SEATTN__SPEC_KV_RUN8] ? " run8kv" : " vec4kv");
    if (sp[SEATTN__SPEC_ROPE_VEC4] && n < size)
        n += (size_t)snprintf(out + n, size - n, " vec4rope");
    if (sp[SEATTN__SPEC_SUM_BCAST] && n < size)
        n += (size_t)snprintf(out + n, size - n, " bcastsum");
    if (sp[SEATTN__SPEC_ROTATED] && n < size) n += (size_t)snprintf(out + n, size - n, " rotatedk");
    if (nb && n < size)
        n += (size_t)snprintf(out + n, size - n, " qknorm:%s%s", nb & SEATTN__NORM_Q ? "q" : "",
                              nb & SEATTN__NORM_K ? "k" : "");
    if (sp[SEATTN__SPEC_BATCH] && n < size)
        n += (size_t)snprintf(out + n, size - n, " batch%s",
                              sp[SEATTN__SPEC_BATCH] == 1 ? "" : " paged");
    if (sp[SEATTN__SPEC_KV_CHUNKS] && n < size)
        n += (size_t)snprintf(out + n, size - n, " chunks%u", sp[SEATTN__SPEC_KV_CHUNKS]);
    if (pl->n_split > 1 && n < size) snprintf(out + n, size - n, " split%u+merge", pl->n_split);
}
