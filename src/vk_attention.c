/* The attention call on Vulkan: the kernel and dispatch plan, descriptors and recording. */
#include "vk_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor view bound as the smallest aligned range that holds it, so a view of a tensor larger
 * than maxStorageBufferRange still works; elem_offset is the view's start inside the range.
 * For texel bindings the range also becomes a VkBufferView of R32F texels. */
typedef struct {
    VkDescriptorBufferInfo info;
    uint32_t elem_offset;
    VkBufferView view;
} binding;

/* The aligned byte range [*start, *start + return) that holds a view's elements. */
static uint64_t view_range(uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                           uint64_t vec, uint64_t align, uint64_t *start) {
    if (align < 4) align = 4;
    const uint64_t last = offset + (heads - 1) * s.head + (len - 1) * s.token + vec - 1;
    *start = (offset * 4) / align * align;
    return (last + 1) * 4 - *start;
}

static seattn_status bind_view(seattn_context *ctx, const char *name, const seattn_tensor *t,
                               uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                               uint64_t vec, VkFormat texel, binding *b) {
    const VkPhysicalDeviceLimits *lim = &ctx->vk->props.limits;
    uint64_t start;
    const uint64_t range = view_range(offset, s, heads, len, vec,
                                      texel ? lim->minTexelBufferOffsetAlignment
                                            : lim->minStorageBufferOffsetAlignment,
                                      &start);
    const uint64_t max = !texel ? lim->maxStorageBufferRange
                         : (uint64_t)lim->maxTexelBufferElements * 4;
    if (range > max)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the view of %s spans %llu bytes, above this device's %s (%llu "
                            "bytes); split the call by heads",
                            name, (unsigned long long)range,
                            texel ? "maxTexelBufferElements" : "maxStorageBufferRange",
                            (unsigned long long)max);
    b->info = (VkDescriptorBufferInfo){.buffer = t->buf->buffer, .offset = start, .range = range};
    b->elem_offset = (uint32_t)(offset - start / 4);
    b->view = VK_NULL_HANDLE;
    if (texel) return seattn__vk_view_create(ctx, t->buf->buffer, start, range, texel, &b->view);
    return SEATTN_SUCCESS;
}

/* A stride the kernel can hold: unused (count 1) strides may be anything and become 0. */
static uint32_t stride32(uint64_t stride, uint64_t count) {
    return count > 1 ? (uint32_t)stride : 0u;
}

/* texel.comp splits head_dim over a subgroup: every lane takes whole RoPE pairs and an equal
 * share of the unrotated dims. */
static bool texel_shape_ok(const seattn_attention_desc *r, uint32_t sg) {
    const uint32_t rh = r->rotary_dims / 2;
    return rh % sg == 0 && (r->head_dim - 2 * rh) % sg == 0;
}

/* A lane's dims of texel.comp form runs of 4 elements on 16 bytes: rotate_half layout, pairs
 * and unrotated dims per lane multiples of 4 (the output's own alignment is checked apart). */
static bool out_vec4_runs(const seattn_attention_desc *r, uint32_t sg) {
    const uint32_t rh = r->rotary_dims / 2;
    return r->rope_layout != SEATTN_ROPE_INTERLEAVED && (rh / sg) % 4 == 0 &&
           ((r->head_dim - 2 * rh) / sg) % 4 == 0 && rh % 4 == 0;
}

/* The texel kernel where texelFetch is the fast load (CPU devices, lavapipe), unless the
 * portable variants are forced; SEATTN_KERNEL=texel|storage overrides for benchmarks. */
static bool want_texel(const seattn_context *ctx) {
    const seattn__vk *vk = ctx->vk;
    if (!vk->texel_ok || (ctx->flags & SEATTN_CONTEXT_PORTABLE)) return false;
    const char *k = getenv("SEATTN_KERNEL");
    if (k && strcmp(k, "texel") == 0) return true;
    if (k && strcmp(k, "storage") == 0) return false;
    return vk->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
}

/* How one call runs: the kernel, its specialization, its grid, and the key split. */
typedef struct {
    seattn__kernel kernel;
    uint32_t spec[SEATTN__N_SPEC];
    uint32_t wg_x, wg_y;   /* workgroups for all q_len tokens */
    uint32_t tok_per_wg;   /* tokens a workgroup along x covers */
    uint32_t n_split, split_len, chunk;
} plan;

static seattn_status make_plan(seattn_context *ctx, const seattn_attention_desc *r, bool texel,
                               bool one_level, bool out_vec4, plan *pl) {
    const seattn__vk *vk = ctx->vk;
    const VkPhysicalDeviceLimits *lim = &vk->props.limits;
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    const bool cpu = vk->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const bool llvmpipe = strstr(vk->info.name, "llvmpipe") != NULL;
    memset(pl, 0, sizeof *pl);
    uint32_t key_step, max_keys = r->kv_len;
    if (texel) {
        /* A subgroup of S lanes splits head_dim and serves T tokens x R heads; 4 subgroups a
         * workgroup, or 1 for decode and short chunks. */
        const uint32_t rh = r->rotary_dims / 2, sg = vk->info.subgroup_size;
        const uint32_t rr = n_rep % 4 == 0 ? 4 : n_rep % 2 == 0 ? 2 : 1;
        const uint32_t tt = r->q_len >= 64 ? 8 / rr : 1;
        const uint32_t nsg = r->q_len >= 4 * tt ? 4 : 1;
        key_step = 1;
        pl->kernel = SEATTN__KERNEL_TEXEL;
        const uint32_t spec[SEATTN__N_SPEC] = {
            sg * nsg, d, rr, rh, r->rope_layout == SEATTN_ROPE_INTERLEAVED, tt, one_level, sg,
            out_vec4};
        memcpy(pl->spec, spec, sizeof spec);
        pl->tok_per_wg = tt * nsg;
        pl->wg_x = (r->q_len + pl->tok_per_wg - 1) / pl->tok_per_wg;
        pl->wg_y = r->n_kv_heads * (n_rep / rr);
        /* one loop iteration per key: stay far inside llvmpipe's 65535 */
        if (llvmpipe) max_keys = 60000;
    } else {
        /* Key tiles that keep three BC x D f32 tiles in 12 KiB of shared memory (phones offer
         * 16 KiB); 64 rows a workgroup for long query runs, 16 for decode and short chunks. */
        const uint32_t bc = d >= 1024 ? 1 : (1024 / d > 32 ? 32 : 1024 / d);
        const uint32_t n_rows = r->q_len * n_rep;
        const uint32_t br = n_rows >= 256 ? 64 : 16;
        if (3u * bc * d * 4u > lim->maxComputeSharedMemorySize ||
            br > lim->maxComputeWorkGroupInvocations)
            return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                                "device limits: %u bytes of shared memory and %u invocations "
                                "needed",
                                3u * bc * d * 4u, br);
        key_step = bc;
        pl->kernel = SEATTN__KERNEL_ATTENTION;
        pl->spec[0] = br;
        pl->spec[1] = d;
        pl->spec[2] = bc;
        pl->tok_per_wg = 0; /* rows are (token, head) pairs: see wg_x below */
        pl->wg_x = (n_rows + br - 1) / br;
        pl->wg_y = r->n_kv_heads;
        if (llvmpipe) {
            /* per key: both score loops when a SIMD group diverges, the P.V loop, the tile's
             * staging share and rescale; half the budget kept in reserve */
            const uint32_t per_key = 3 * d + 4 + (d + br - 1) / br + (d + bc - 1) / bc;
            max_keys = (32000 - 3 * d) / per_key / bc * bc;
            if (max_keys < bc) max_keys = bc;
        }
    }
    if (pl->wg_x > lim->maxComputeWorkGroupCount[0] || pl->wg_y > lim->maxComputeWorkGroupCount[1])
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "q_len %u x %u heads needs more workgroups than "
                            "maxComputeWorkGroupCount (%u, %u) allows",
                            r->q_len, r->n_heads, lim->maxComputeWorkGroupCount[0],
                            lim->maxComputeWorkGroupCount[1]);
    /* Split the keys across workgroups (flash-decoding) when the queries alone cannot fill the
     * device; each split takes at least 256 keys. */
    const uint32_t target = cpu ? 16 : 512;
    const uint32_t base = pl->wg_x * pl->wg_y;
    uint32_t n_split = 1;
    if (base < target) {
        n_split = (target + base - 1) / base;
        uint32_t max_split = (r->kv_len + 255) / 256;
        if (n_split > max_split) n_split = max_split;
    }
    const char *force = getenv("SEATTN_SPLIT"); /* tests: force a split count */
    if (force && atoi(force) > 0) n_split = (uint32_t)atoi(force);
    const uint32_t need = (r->kv_len + max_keys - 1) / max_keys;
    if (n_split < need) n_split = need;
    if (n_split > r->kv_len) n_split = r->kv_len;
    uint32_t split_len = (r->kv_len + n_split - 1) / n_split;
    split_len = (split_len + key_step - 1) / key_step * key_step;
    pl->n_split = (r->kv_len + split_len - 1) / split_len;
    pl->split_len = split_len;
    /* split partial rows (D + 4 floats) are 16-byte aligned */
    if (texel && pl->n_split > 1) pl->spec[8] = out_vec4_runs(r, vk->info.subgroup_size);
    if (pl->n_split > lim->maxComputeWorkGroupCount[2])
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "kv_len %u needs %u key splits, above maxComputeWorkGroupCount[2]",
                            r->kv_len, pl->n_split);
    /* Split partials cost n_heads x tokens x n_split x (D + 2) floats; queries go in chunks of
     * tokens small enough for a 64 MiB scratch (and maxStorageBufferRange). */
    pl->chunk = r->q_len;
    if (pl->n_split > 1) {
        const uint64_t cap = lim->maxStorageBufferRange < (64u << 20) ? lim->maxStorageBufferRange
                                                                       : (64u << 20);
        const uint64_t per_tok = (uint64_t)r->n_heads * pl->n_split * (d + 4) * 4;
        uint64_t fit = cap / per_tok;
        if (pl->tok_per_wg && fit > pl->tok_per_wg) fit = fit / pl->tok_per_wg * pl->tok_per_wg;
        if (fit == 0)
            return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                                "kv_len %u needs %u key splits, more than fit in scratch",
                                r->kv_len, pl->n_split);
        if (fit < pl->chunk) pl->chunk = (uint32_t)fit;
    }
    return SEATTN_SUCCESS;
}

static void write_set(seattn_context *ctx, seattn__layout layout, binding *const bs[]) {
    seattn__vk *vk = ctx->vk;
    VkWriteDescriptorSet w[SEATTN__N_BINDINGS];
    for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++) {
        const bool texel = layout == SEATTN__LAYOUT_TEXEL && (i <= 2 || i == 5);
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = vk->set[layout],
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                    : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = texel ? NULL : &bs[i]->info,
            .pTexelBufferView = texel ? &bs[i]->view : NULL};
    }
    vk->vkd.vkUpdateDescriptorSets(vk->device, SEATTN__N_BINDINGS, w, 0, NULL);
}

/* A short name of the plan's kernel variant for seattn_call_stats. */
static void kernel_name(const plan *pl, char *out, size_t size) {
    const uint32_t *sp = pl->spec;
    if (pl->kernel == SEATTN__KERNEL_TEXEL)
        snprintf(out, size, "texel d%u sg%u t%u r%u%s%s%s", sp[1], sp[7], sp[5], sp[2],
                 sp[4] ? " interleaved" : "", sp[6] ? "" : " rope2", sp[8] ? " vec4out" : "");
    else
        snprintf(out, size, "storage d%u br%u bc%u", sp[1], sp[0], sp[2]);
    if (pl->n_split > 1) {
        const size_t n = strlen(out);
        snprintf(out + n, size - n, " split%u+merge", pl->n_split);
    }
}

static seattn_status record_and_run(seattn_context *ctx, const seattn_attention_desc *r,
                                    const plan *pl, binding *const bs[], bool lse,
                                    uint32_t rope_shift, seattn_call_stats *stats) {
    seattn__vk *vk = ctx->vk;
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    seattn_status status;
    VkPipeline attn = VK_NULL_HANDLE, merge = VK_NULL_HANDLE;
    if ((status = seattn__vk_pipeline_get(ctx, pl->kernel, pl->spec, &attn))) return status;
    const uint32_t merge_spec[SEATTN__N_SPEC] = {64, d};
    if (pl->n_split > 1 &&
        (status = seattn__vk_pipeline_get(ctx, SEATTN__KERNEL_MERGE, merge_spec, &merge)))
        return status;
    const seattn__layout layout = seattn__vk_kernel_layout(pl->kernel);
    binding dummy = {{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    if (layout == SEATTN__LAYOUT_TEXEL && pl->n_split > 1) {
        /* texel.comp writes its partial rows through binding 3 */
        binding *const ts[SEATTN__N_BINDINGS] = {bs[0], bs[1], bs[2], bs[6],
                                                 bs[4], bs[5], &dummy};
        write_set(ctx, layout, ts);
    } else {
        write_set(ctx, layout, bs);
    }
    if (pl->n_split > 1 && layout != SEATTN__LAYOUT_STORAGE) {
        binding *const ms[SEATTN__N_BINDINGS] = {&dummy, &dummy, &dummy, bs[3],
                                                 bs[4],  &dummy, bs[6]};
        write_set(ctx, SEATTN__LAYOUT_STORAGE, ms);
    }

    /* every pair a neighbor: G = 1 (unless a window is asked for), or W past every distance */
    const bool plain = (r->group_size == 1 && !(r->flags & SEATTN_ATTN_NEIGHBOR_ONLY)) ||
                       (uint32_t)r->neighbor_window >= r->kv_len;
    const seattn__push pc = {
        .q_len = r->q_len, .kv_len = r->kv_len, .q_pos = r->q_pos, .n_rep = n_rep,
        .G = (uint32_t)r->group_size,
        .W = plain ? 0xffffffffu : (uint32_t)r->neighbor_window,
        .rot_half = r->rotary_dims / 2,
        .flags = (r->rope_layout == SEATTN_ROPE_INTERLEAVED ? SEATTN__FLAG_INTERLEAVED : 0) |
                 (r->key_mode == SEATTN_KEYS_ROTATED ? SEATTN__FLAG_KEYS_ROTATED : 0) |
                 (lse ? SEATTN__FLAG_LSE : 0) | (pl->n_split > 1 ? SEATTN__FLAG_SPLIT : 0) |
                 (r->flags & SEATTN_ATTN_NEIGHBOR_ONLY ? SEATTN__FLAG_ONLY_N : 0) |
                 (r->flags & SEATTN_ATTN_GROUPED_ONLY ? SEATTN__FLAG_ONLY_G : 0),
        .scale = r->scale,
        .inv_ln_base = r->scale_base > 0.0f ? (float)(1.0 / log((double)r->scale_base)) : 0.0f,
        .q_off = bs[0]->elem_offset, .q_sh = stride32(r->q_strides.head, r->n_heads),
        .q_st = stride32(r->q_strides.token, r->q_len),
        .k_off = bs[1]->elem_offset, .k_sh = stride32(r->k_strides.head, r->n_kv_heads) ,
        .k_st = stride32(r->k_strides.token, r->kv_len) ,
        .v_off = bs[2]->elem_offset, .v_sh = stride32(r->v_strides.head, r->n_kv_heads) ,
        .v_st = stride32(r->v_strides.token, r->kv_len) ,
        .o_off = bs[3]->elem_offset, .o_sh = stride32(r->out_strides.head, r->n_heads),
        .o_st = stride32(r->out_strides.token, r->q_len),
        .l_off = bs[4]->elem_offset, .l_sh = stride32(r->lse_strides.head, r->n_heads),
        .l_st = stride32(r->lse_strides.token, r->q_len),
        .split_len = pl->split_len, .n_split = pl->n_split, .rope_shift = rope_shift};

    if ((status = seattn__vk_begin(ctx))) return status;
    VkCommandBuffer cb = vk->cmd;
    if (vk->timestamps) {
        vk->vkd.vkCmdResetQueryPool(cb, vk->timestamps, 0, 2);
        vk->vkd.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, vk->timestamps, 0);
    }
    uint32_t dispatches = 0;
    for (uint32_t t0 = 0; t0 < r->q_len; t0 += pl->chunk) {
        seattn__push cp = pc; /* the chunk's queries: tokens t0 .. t0 + n - 1 */
        const uint32_t n = r->q_len - t0 < pl->chunk ? r->q_len - t0 : pl->chunk;
        cp.q_len = n;
        cp.q_pos = r->q_pos + t0;
        cp.q_off += t0 * pc.q_st;
        cp.o_off += t0 * pc.o_st;
        cp.l_off += t0 * pc.l_st;
        const uint32_t gx = pl->tok_per_wg ? (n + pl->tok_per_wg - 1) / pl->tok_per_wg
                                           : (n * n_rep + pl->spec[0] - 1) / pl->spec[0];
        seattn__vk_barrier(ctx, false);
        vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, attn);
        vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE,
                                        vk->pipeline_layout[layout], 0, 1, &vk->set[layout], 0,
                                        NULL);
        vk->vkd.vkCmdPushConstants(cb, vk->pipeline_layout[layout], VK_SHADER_STAGE_COMPUTE_BIT,
                                   0, sizeof cp, &cp);
        vk->vkd.vkCmdDispatch(cb, gx, pl->wg_y, pl->n_split);
        dispatches++;
        if (pl->n_split > 1) {
            const VkPipelineLayout ml = vk->pipeline_layout[SEATTN__LAYOUT_STORAGE];
            seattn__vk_barrier(ctx, false);
            vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, merge);
            vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, ml, 0, 1,
                                            &vk->set[SEATTN__LAYOUT_STORAGE], 0, NULL);
            vk->vkd.vkCmdPushConstants(cb, ml, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof cp, &cp);
            vk->vkd.vkCmdDispatch(cb, n, r->n_heads, 1);
            dispatches++;
        }
    }
    if (vk->timestamps)
        vk->vkd.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->timestamps, 1);
    seattn__vk_barrier(ctx, true);
    if ((status = seattn__vk_submit_wait(ctx))) return status;
    stats->dispatches = dispatches;
    kernel_name(pl, stats->kernel, sizeof stats->kernel);
    uint64_t ts[2];
    if (vk->timestamps &&
        vk->vkd.vkGetQueryPoolResults(vk->device, vk->timestamps, 0, 2, sizeof ts, ts,
                                      sizeof ts[0], VK_QUERY_RESULT_64_BIT) == VK_SUCCESS)
        stats->device_ms = (double)((ts[1] - ts[0]) & vk->ts_mask) * vk->ts_period_ns * 1e-6;
    return SEATTN_SUCCESS;
}

seattn_status seattn__vk_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_tensor *q, const seattn_tensor *k,
                                   const seattn_tensor *v, seattn_tensor *out,
                                   seattn_tensor *lse, seattn_call_stats *stats) {
    seattn__vk *vk = ctx->vk;
    if (vk->lost)
        return seattn__fail(ctx, SEATTN_ERROR_DEVICE_LOST,
                            "the device was lost earlier; destroy this context");
    const uint32_t d = r->head_dim;
    bool texel = want_texel(ctx);
    if (texel && !texel_shape_ok(r, vk->info.subgroup_size)) texel = false;
    if (texel) { /* a view past maxTexelBufferElements takes the storage-buffer kernel */
        const VkPhysicalDeviceLimits *lim = &vk->props.limits;
        const seattn_strides st[3] = {r->q_strides, r->k_strides, r->v_strides};
        const uint64_t off[3] = {r->q_offset, r->k_offset, r->v_offset};
        const uint64_t heads[3] = {r->n_heads, r->n_kv_heads, r->n_kv_heads};
        const uint64_t len[3] = {r->q_len, r->kv_len, r->kv_len};
        for (int i = 0; i < 3; i++) {
            uint64_t start;
            if (view_range(off[i], st[i], heads[i], len[i], d,
                           lim->minTexelBufferOffsetAlignment, &start) >
                (uint64_t)lim->maxTexelBufferElements * 4)
                texel = false;
        }
    }
    const VkFormat qf = texel ? VK_FORMAT_R32_SFLOAT : VK_FORMAT_UNDEFINED;
    const VkFormat kvf = qf;
    binding bq = {0}, bk = {0}, bv = {0}, bo, bl, bp, brope = {0};
    seattn_status status;
    /* Every |position| a kernel rotates by is below 2 kv_len (vk_rope.c, texel.comp). */
    uint32_t rope_shift;
    bool one_level;
    if ((status = seattn__vk_rope_table(ctx, r->rope_theta, r->rotary_dims / 2, 2 * r->kv_len + 1,
                                        &rope_shift, &one_level)))
        return status;
    if (texel && !vk->rope_view) texel = false;
    plan pl;
    const bool out_vec4 = texel && out_vec4_runs(r, vk->info.subgroup_size) &&
                          r->out_offset % 4 == 0 &&
                          (r->out_strides.head | r->out_strides.token) % 4 == 0;
    if ((status = make_plan(ctx, r, texel, one_level, out_vec4, &pl))) return status;
    if ((status = bind_view(ctx, "q", q, r->q_offset, r->q_strides, r->n_heads, r->q_len, d, qf,
                            &bq)) ||
        (status = bind_view(ctx, "k", k, r->k_offset, r->k_strides, r->n_kv_heads, r->kv_len, d,
                            kvf, &bk)) ||
        (status = bind_view(ctx, "v", v, r->v_offset, r->v_strides, r->n_kv_heads, r->kv_len, d,
                            kvf, &bv)) ||
        (status = bind_view(ctx, "out", out, r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, d, VK_FORMAT_UNDEFINED, &bo)))
        goto done;
    if (lse) {
        if ((status = bind_view(ctx, "lse", lse, r->lse_offset, r->lse_strides, r->n_heads,
                                r->q_len, 1, VK_FORMAT_UNDEFINED, &bl)))
            goto done;
    } else {
        bl = (binding){{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    }
    if (pl.n_split > 1) {
        const uint64_t part_bytes = (uint64_t)r->n_heads * pl.chunk * pl.n_split * (d + 4) * 4;
        if ((status = seattn__vk_buffer_reserve(ctx, &vk->partial, part_bytes, false)))
            goto done;
        bp = (binding){{vk->partial.buffer, 0, part_bytes}, 0, VK_NULL_HANDLE};
    } else {
        bp = (binding){{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    }
    brope = (binding){{vk->rope.buffer, 0, VK_WHOLE_SIZE}, 0, vk->rope_view};
    binding *const bs[SEATTN__N_BINDINGS] = {&bq, &bk, &bv, &bo, &bl, &brope, &bp};
    status = record_and_run(ctx, r, &pl, bs, lse != NULL, rope_shift, stats);
done:
    if (!vk->lost) { /* the views of a lost device may still be in use: leak them */
        binding *const views[3] = {&bq, &bk, &bv};
        for (int i = 0; i < 3; i++)
            if (views[i]->view) vk->vkd.vkDestroyBufferView(vk->device, views[i]->view, NULL);
    }
    return status;
}
