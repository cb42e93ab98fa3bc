/* The attention call on Vulkan, its stages in order: facts, plan (plan.c), ensure (the RoPE
 * table of rope.c, split scratch), bind (views, descriptor sets, push constants), record. */
#include "vk_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor view bound as the smallest aligned range that holds it, so a view of a tensor larger
 * than maxStorageBufferRange still works; elem_offset is the view's start inside the range, in
 * elements (a block type: in bytes, kv_types.glsl). For texel bindings the range also becomes a
 * VkBufferView of R32F or R16F texels (R32UI words for the types read as words). */
typedef struct {
    VkDescriptorBufferInfo info;
    uint32_t elem_offset;
    VkBufferView view;
} binding;

/* Types a kernel reads or writes as 32-bit words (kv_types.glsl): every type but f32 and f16. */
static bool as_words(seattn_dtype dt) {
    return seattn__raw_type(dt) != 0;
}

/* The aligned byte range [*start, *start + return) of the buffer that holds a view's elements
 * of type dt when the tensor starts at byte base of its buffer, and the view's first byte *first.
 * base is a multiple of 4 and align of 4 or more, so the view starts a whole number of elements
 * into the range. A view read as words ends on a whole word, or on a whole 16-byte texel (and
 * starts on one) where texel16 says: texel.comp's RGBA32UI views (KV_RUN8). */
static uint64_t view_range(uint64_t base, uint64_t offset, seattn_strides s, uint64_t heads,
                           uint64_t len, uint64_t vec, seattn_dtype dt, uint64_t align,
                           bool texel16, uint64_t *start, uint64_t *first) {
    const uint64_t unit = texel16 ? 16 : 4;
    if (align < unit) align = unit;
    const uint64_t last = offset + (heads - 1) * s.head + (len - 1) * s.token + vec - 1;
    *first = base + seattn__dtype_byte(dt, offset);
    uint64_t end = base + (seattn__dtype_block(dt)
                               ? seattn__dtype_byte(dt, last) + seattn__dtype_block_bytes(dt)
                               : (last + 1) * seattn__dtype_size(dt));
    if (as_words(dt)) end = (end + unit - 1) / unit * unit;
    *start = *first / align * align;
    return end - *start;
}

static seattn_status bind_view(seattn_context *ctx, seattn__frame *fr, const char *name,
                               const seattn_tensor *t, uint64_t offset, seattn_strides s,
                               uint64_t heads, uint64_t len, uint64_t vec, seattn_dtype dt,
                               bool texel, bool vec4, binding *b) {
    const VkPhysicalDeviceLimits *lim = &ctx->vk->props.limits;
    const bool words = as_words(dt);
    const bool texel16 = texel && vec4 && words; /* RGBA32UI: KV_RUN8 */
    const uint64_t es = seattn__dtype_size(dt);
    uint64_t start, first;
    const uint64_t range = view_range(t->buf->base, offset, s, heads, len, vec, dt,
                                      texel ? lim->minTexelBufferOffsetAlignment
                                            : lim->minStorageBufferOffsetAlignment,
                                      texel16, &start, &first);
    const uint64_t max = !texel ? lim->maxStorageBufferRange
                                : (uint64_t)lim->maxTexelBufferElements * (texel16 ? 16
                                                                           : words ? 4
                                                                                   : es);
    if (range > max)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the view of %s spans %llu bytes, above this device's %s (%llu "
                            "bytes); split the call by heads",
                            name, (unsigned long long)range,
                            texel ? "maxTexelBufferElements" : "maxStorageBufferRange",
                            (unsigned long long)max);
    if (start + range > t->buf->size) /* only an app's buffer ends off a word */
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the view of %s (%s) ends inside the last 32-bit word of its wrapped "
                            "buffer, which seattn reads whole: wrap %llu more bytes",
                            name, seattn_dtype_name(dt),
                            (unsigned long long)(start + range - t->buf->size));
    b->info = (VkDescriptorBufferInfo){.buffer = t->buf->buffer, .offset = start, .range = range};
    b->elem_offset = (uint32_t)(seattn__dtype_block(dt) ? first - start : (first - start) / es);
    b->view = VK_NULL_HANDLE;
    if (!texel) return SEATTN_SUCCESS;
    /* vec4: RGBA texels, four elements a fetch (the caller checked that the view starts and
     * ends on whole texels); words: R32UI, or RGBA32UI with vec4 (KV_RUN8) */
    const VkFormat f = texel16 ? VK_FORMAT_R32G32B32A32_UINT
                       : words ? VK_FORMAT_R32_UINT
                       : dt == SEATTN_DTYPE_F16
                           ? (vec4 ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R16_SFLOAT)
                           : (vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT);
    return seattn__vk_frame_view(ctx, fr, t->buf->buffer, start, range, f, &b->view);
}

/* A stride the kernel can hold: unused (count 1) strides may be anything and become 0. */
static uint32_t stride32(uint64_t stride, uint64_t count) {
    return count > 1 ? (uint32_t)stride : 0u;
}

/* K and V four values a step for texel.comp: each lane's elements run in whole aligned fours
 * (the lane layout of out_vec4_runs), and the views start and end on whole fours: RGBA texels
 * of f32 or f16, or for the types read as words (kv_types.glsl's k_raw4) four values from one
 * to three R32UI words (bf16: from an 8-byte boundary). *run8: such words eight values a step
 * from RGBA32UI texels (kv_types.glsl's k_raw8): runs of eight, bf16 and fp8 runs on 16 and 8
 * bytes, and both views able to end on a whole texel inside their buffers. */
static bool kv_vec4(const seattn_context *ctx, const seattn_attention_desc *r,
                    const seattn_attention_tensors *t, bool *run8) {
    const seattn__vk *vk = ctx->vk;
    *run8 = false;
    if (r->k_type != r->v_type || !seattn__plan_texel_vec4_runs(r, vk->info.subgroup_size, false))
        return false;
    const uint64_t k = r->k_offset | r->k_strides.head | r->k_strides.token;
    const uint64_t v = r->v_offset | r->v_strides.head | r->v_strides.token;
    if (as_words(r->k_type)) {
        const bool bf16 = r->k_type == SEATTN_DTYPE_BF16, fp8 = r->k_type == SEATTN_DTYPE_FP8_E4M3;
        if (!((k | v) % 4 == 0 &&
              (!bf16 || (t->k->buf->base % 8 == 0 && t->v->buf->base % 8 == 0))))
            return false;
        const uint64_t align = vk->props.limits.minTexelBufferOffsetAlignment;
        uint64_t ks, kf, vs, vf;
        const uint64_t kr = view_range(t->k->buf->base, r->k_offset, r->k_strides, r->n_kv_heads,
                                       r->kv_len, r->head_dim, r->k_type, align, true, &ks, &kf);
        const uint64_t vr = view_range(t->v->buf->base, r->v_offset, r->v_strides, r->n_kv_heads,
                                       r->kv_len, r->v_head_dim, r->v_type, align, true, &vs, &vf);
        *run8 = seattn__plan_texel_runs(r, vk->info.subgroup_size, false, 8) &&
                (!(bf16 || fp8) ||
                 ((k | v) % 8 == 0 && t->k->buf->base % 16 == 0 && t->v->buf->base % 16 == 0)) &&
                ks + kr <= t->k->buf->size && vs + vr <= t->v->buf->size;
        return true;
    }
    const uint64_t tx = 4 * seattn__dtype_size(r->k_type); /* bytes a texel */
    const uint64_t align = vk->props.limits.minTexelBufferOffsetAlignment;
    return vk->caps.texel_vec4_ok && (k | v) % 4 == 0 && t->k->buf->base % tx == 0 &&
           t->v->buf->base % tx == 0 && (align % tx == 0 || tx % align == 0);
}

/* What a call's stats say of its plan. */
static void plan_stats(const seattn__plan *pl, seattn_call_stats *stats) {
    seattn__plan_name(pl, stats->kernel, sizeof stats->kernel);
    stats->kernel_id =
        pl->kernel == SEATTN__KERNEL_TEXEL ? SEATTN_KERNEL_TEXEL : SEATTN_KERNEL_FLASH;
    stats->key_splits = pl->n_split;
    stats->plain = pl->spec[SEATTN__SPEC_PLAIN];
}

/* Allocates a descriptor set of the layout from the frame and writes bs into it. */
static seattn_status make_set(seattn_context *ctx, seattn__frame *fr, seattn__layout layout,
                              binding *const bs[], VkDescriptorSet *set) {
    seattn__vk *vk = ctx->vk;
    seattn_status s = seattn__vk_frame_set(ctx, fr, vk->set_layout[layout], set);
    if (s != SEATTN_SUCCESS) return s;
    VkWriteDescriptorSet w[SEATTN__N_BINDINGS];
    for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++) {
        const bool texel = layout == SEATTN__LAYOUT_TEXEL && (i <= 2 || i == 5);
        w[i] =
            (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                   .dstSet = *set,
                                   .dstBinding = i,
                                   .descriptorCount = 1,
                                   .descriptorType = texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                           : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .pBufferInfo = texel ? NULL : &bs[i]->info,
                                   .pTexelBufferView = texel ? &bs[i]->view : NULL};
    }
    vk->vkd.vkUpdateDescriptorSets(vk->device, SEATTN__N_BINDINGS, w, 0, NULL);
    return SEATTN_SUCCESS;
}

/* The most copies that fill a call's meta binding: q-norm weight, k-norm weight, sinks, sequence
 * records, block table. */
enum { META_COPIES = 5 };

/* One prepared call: pipelines, descriptor sets and push constants, ready to record. */
typedef struct {
    seattn__plan pl;
    VkPipeline attn, merge;
    seattn__layout layout;
    VkDescriptorSet set, merge_set;
    seattn__push pc;
    uint32_t n_rep;
    uint32_t n_seqs;           /* a batch: its sequences (workgroups along z); 0: none */
    seattn__vk_buffer staging; /* a RoPE upload recorded into the app's command buffer */
    /* the copies that fill the meta binding, recorded before the dispatches (bind_meta) */
    VkBuffer meta_src[META_COPIES], meta_dst;
    VkBufferCopy meta_region[META_COPIES];
    uint32_t n_meta;
    /* the chunk table (8 words a chunk) written to the meta range's start; 0: none */
    VkDeviceSize meta_offset;
    uint32_t n_chunk_words;
    uint32_t chunk_words[8 * SEATTN_MAX_KV_CHUNKS];
} prepared;

static seattn_status prepare_sets(seattn_context *ctx, seattn__frame *fr, const seattn__plan *pl,
                                  binding *const bs[], prepared *c) {
    seattn__vk *vk = ctx->vk;
    seattn_status status;
    const uint32_t d = pl->spec[1];
    if ((status = seattn__vk_pipeline_get(ctx, pl->kernel, pl->spec, &c->attn))) return status;
    const uint32_t merge_spec[SEATTN__N_SPEC] = {
        64,
        d,
        [SEATTN__SPEC_DTYPE] = pl->spec[SEATTN__SPEC_DTYPE] & (SEATTN__F16_OUT | SEATTN__BF16_OUT),
        [SEATTN__SPEC_BATCH] = pl->spec[SEATTN__SPEC_BATCH],
        [SEATTN__SPEC_DV] = pl->spec[SEATTN__SPEC_DV],
        [SEATTN__SPEC_SINKS] = pl->spec[SEATTN__SPEC_SINKS],
        [SEATTN__SPEC_KV_CHUNKS] = pl->spec[SEATTN__SPEC_KV_CHUNKS]};
    if (pl->n_split > 1 &&
        (status = seattn__vk_pipeline_get(ctx, SEATTN__KERNEL_MERGE, merge_spec, &c->merge)))
        return status;
    c->layout = seattn__vk_kernel_layout(pl->kernel);
    binding dummy = {{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    if (c->layout == SEATTN__LAYOUT_TEXEL && pl->n_split > 1) {
        /* texel.comp writes its partial rows through binding 3; merge.comp reads them */
        binding *const ts[SEATTN__N_BINDINGS] = {bs[0], bs[1], bs[2],  bs[6],
                                                 bs[4], bs[5], &dummy, bs[7]};
        binding *const ms[SEATTN__N_BINDINGS] = {&dummy, &dummy, &dummy, bs[3],
                                                 bs[4],  &dummy, bs[6],  bs[7]};
        if ((status = make_set(ctx, fr, c->layout, ts, &c->set)) ||
            (status = make_set(ctx, fr, SEATTN__LAYOUT_STORAGE, ms, &c->merge_set)))
            return status;
        return SEATTN_SUCCESS;
    }
    if ((status = make_set(ctx, fr, c->layout, bs, &c->set))) return status;
    c->merge_set = c->set;
    return SEATTN_SUCCESS;
}

/* Words of the meta binding (shaders/common.glsl, META_*): the chunk table (8 words a chunk)
 * from 0, the q-norm weight from meta_qw_word(), the k-norm weight head_dim on, the sinks
 * head_dim further, a batch's sequence records from meta_seq_word(), then its block table. */
static uint32_t meta_qw_word(uint32_t n_chunks) {
    return 8 * n_chunks;
}
static uint32_t meta_seq_word(const seattn_attention_desc *r, uint32_t n_chunks) {
    return meta_qw_word(n_chunks) + 2 * r->head_dim + r->n_heads;
}

static seattn__push make_push(const seattn_attention_desc *r, const seattn__plan *pl,
                              binding *const bs[], bool lse, uint32_t rope_shift,
                              const seattn__batch *bat) {
    const bool plain = seattn__plan_all_neighbors(r);
    seattn__push p = {
        .q_len = r->q_len,
        .kv_len = r->kv_len,
        .q_pos = r->q_pos,
        .n_rep = r->n_heads / r->n_kv_heads,
        .G = (uint32_t)r->group_size,
        .W = plain ? 0xffffffffu : (uint32_t)r->neighbor_window,
        .rot_half = r->rotary_dims / 2,
        .flags = (r->rope_layout == SEATTN_ROPE_INTERLEAVED ? SEATTN__FLAG_INTERLEAVED : 0) |
                 (r->key_mode == SEATTN_KEYS_ROTATED ? SEATTN__FLAG_KEYS_ROTATED : 0) |
                 (lse ? SEATTN__FLAG_LSE : 0) | (pl->n_split > 1 ? SEATTN__FLAG_SPLIT : 0) |
                 (r->flags & SEATTN_ATTN_NEIGHBOR_ONLY ? SEATTN__FLAG_ONLY_N : 0) |
                 (r->flags & SEATTN_ATTN_GROUPED_ONLY ? SEATTN__FLAG_ONLY_G : 0) |
                 rope_shift << SEATTN__FLAG_ROPE_SHIFT,
        .scale = r->scale,
        .inv_ln_base = r->scale_base > 0.0f ? (float)(1.0 / log((double)r->scale_base)) : 0.0f,
        .q_off = bs[0]->elem_offset,
        .q_sh = stride32(r->q_strides.head, r->n_heads),
        .q_st = stride32(r->q_strides.token, r->q_len),
        .k_off = bs[1]->elem_offset,
        .k_sh = stride32(r->k_strides.head, r->n_kv_heads),
        .k_st = stride32(r->k_strides.token, r->kv_len),
        .v_off = bs[2]->elem_offset,
        .v_sh = stride32(r->v_strides.head, r->n_kv_heads),
        .v_st = stride32(r->v_strides.token, r->kv_len),
        .o_off = bs[3]->elem_offset,
        .o_sh = stride32(r->out_strides.head, r->n_heads),
        .o_st = stride32(r->out_strides.token, r->q_len),
        .l_off = bs[4]->elem_offset,
        .l_sh = stride32(r->lse_strides.head, r->n_heads),
        .l_st = stride32(r->lse_strides.token, r->q_len),
        .split_len = pl->split_len,
        .n_split = pl->n_split,
        /* RoPE's attention factor a on both sides of a score's rotated part, on the query's
         * side alone: a^2 against raw keys, a against rotated keys (which carry theirs) */
        .q_rot_factor = r->key_mode == SEATTN_KEYS_ROTATED
                            ? r->rope_attention_factor
                            : r->rope_attention_factor * r->rope_attention_factor,
        .norm_eps = r->qk_norm_eps,
        .offs = meta_seq_word(r, pl->spec[SEATTN__SPEC_KV_CHUNKS])};
    if (bat) { /* the bounds shaders/batch.glsl checks the metadata against */
        p.q_len = bat->b.max_q_len;
        p.kv_len = bat->b.max_kv_len;
        p.q_pos = bat->b.page_size;
        p.q_tokens = bat->b.q_tokens;
        p.kv_tokens = bat->b.kv_tokens;
    }
    return p;
}

/* Records the copies that fill the meta binding, between barriers: after earlier writes in cb
 * (the app's, chained through its barrier into compute, and earlier calls' reads of the
 * scratch), and before the dispatches' reads. */
static void record_meta(seattn_context *ctx, VkCommandBuffer cb, const prepared *c) {
    const seattn__vk *vk = ctx->vk;
    const VkMemoryBarrier before = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vk->vkd.vkCmdPipelineBarrier(
        cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
        VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
    for (uint32_t i = 0; i < c->n_meta; i++)
        vk->vkd.vkCmdCopyBuffer(cb, c->meta_src[i], c->meta_dst, 1, &c->meta_region[i]);
    if (c->n_chunk_words)
        vk->vkd.vkCmdUpdateBuffer(cb, c->meta_dst, c->meta_offset, 4 * c->n_chunk_words,
                                  c->chunk_words);
    const VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                   .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                   .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
    vk->vkd.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &after, 0, NULL, 0,
                                 NULL);
}

/* Records the call's dispatches into cb, with compute-to-compute barriers between them (the
 * one before a chunk's attention also orders its partial writes after the previous merge's
 * reads of the same scratch). */
static uint32_t record(seattn_context *ctx, VkCommandBuffer cb, const seattn_attention_desc *r,
                       const prepared *c) {
    seattn__vk *vk = ctx->vk;
    const seattn__plan *pl = &c->pl;
    uint32_t dispatches = 0;
    if (c->n_meta || c->n_chunk_words) record_meta(ctx, cb, c);
    if (c->n_seqs) { /* a batch: one grid of all sequences (the planner kept it one chunk) */
        const VkPipelineLayout al = vk->pipeline_layout[c->layout];
        vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->attn);
        vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, al, 0, 1, &c->set, 0,
                                        NULL);
        vk->vkd.vkCmdPushConstants(cb, al, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof c->pc, &c->pc);
        vk->vkd.vkCmdDispatch(cb, pl->wg_x, pl->wg_y, c->n_seqs * pl->n_split);
        if (pl->n_split == 1) return 1;
        const VkPipelineLayout ml = vk->pipeline_layout[SEATTN__LAYOUT_STORAGE];
        seattn__vk_compute_barrier(ctx, cb);
        vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->merge);
        vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, ml, 0, 1, &c->merge_set,
                                        0, NULL);
        vk->vkd.vkCmdPushConstants(cb, ml, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof c->pc, &c->pc);
        vk->vkd.vkCmdDispatch(cb, c->pc.q_len, r->n_heads, c->n_seqs);
        return 2;
    }
    for (uint32_t t0 = 0; t0 < r->q_len; t0 += pl->chunk) {
        seattn__push cp = c->pc; /* the chunk's queries: tokens t0 .. t0 + n - 1 */
        const uint32_t n = r->q_len - t0 < pl->chunk ? r->q_len - t0 : pl->chunk;
        cp.q_len = n;
        cp.q_pos = r->q_pos + t0;
        cp.q_off += t0 * c->pc.q_st;
        cp.o_off += t0 * c->pc.o_st;
        cp.l_off += t0 * c->pc.l_st;
        const uint32_t gx = pl->tok_per_wg ? (n + pl->tok_per_wg - 1) / pl->tok_per_wg
                                           : (n * c->n_rep + pl->rows_per_wg - 1) / pl->rows_per_wg;
        if (t0 > 0) seattn__vk_compute_barrier(ctx, cb);
        vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->attn);
        vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE,
                                        vk->pipeline_layout[c->layout], 0, 1, &c->set, 0, NULL);
        vk->vkd.vkCmdPushConstants(cb, vk->pipeline_layout[c->layout], VK_SHADER_STAGE_COMPUTE_BIT,
                                   0, sizeof cp, &cp);
        vk->vkd.vkCmdDispatch(cb, gx, pl->wg_y, pl->n_split);
        dispatches++;
        if (pl->n_split > 1) {
            const VkPipelineLayout ml = vk->pipeline_layout[SEATTN__LAYOUT_STORAGE];
            seattn__vk_compute_barrier(ctx, cb);
            vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->merge);
            vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, ml, 0, 1,
                                            &c->merge_set, 0, NULL);
            vk->vkd.vkCmdPushConstants(cb, ml, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof cp, &cp);
            vk->vkd.vkCmdDispatch(cb, n, r->n_heads, 1);
            dispatches++;
        }
    }
    return dispatches;
}

/* A call runs in four stages, in this order (README, "Architecture"): facts, what the planner
 * needs to know of the call's tensors and RoPE table, gathered without making anything; plan,
 * the pure function of plan.c; ensure, the resources the plan needs (the RoPE table, split
 * scratch); bind, every tensor's view, the descriptor sets and the push constants. */

/* Facts: what the planner is told of the call (r as planned: a batch's longest sequence, rp)
 * and of the RoPE table it will get (*rs, which the ensure step then makes). */
static void gather_facts(const seattn_context *ctx, const seattn_attention_desc *r,
                         const seattn_attention_desc *rp, const seattn_attention_tensors *t,
                         const seattn__batch *bat, seattn__kernel kernel, seattn__rope_shape *rs,
                         seattn__plan_facts *facts) {
    const seattn__vk *vk = ctx->vk;
    const VkBufferUsageFlags tb = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    *facts = (seattn__plan_facts){
        .n_seqs = bat ? bat->b.n_seqs : 0,
        .page_size = bat ? bat->b.page_size : 0,
        .q_weight = t->q_norm_weight != NULL,
        .k_weight = t->k_norm_weight != NULL,
        .force_split = vk->test_split,
        .kv_chunks = t->n_kv_chunks,
        /* chunks are read by address, not through views */
        .texel_views = kernel == SEATTN__KERNEL_TEXEL && (t->q->buf->usage & tb) &&
                       (t->n_kv_chunks || ((t->k->buf->usage & tb) && (t->v->buf->usage & tb)))};
    if (facts->texel_views) { /* a view past maxTexelBufferElements: flash_smem */
        const VkPhysicalDeviceLimits *lim = &vk->props.limits;
        const seattn_strides st[3] = {r->q_strides, r->k_strides, r->v_strides};
        const uint64_t off[3] = {r->q_offset, r->k_offset, r->v_offset};
        const uint64_t heads[3] = {r->n_heads, r->n_kv_heads, r->n_kv_heads};
        const uint64_t len[3] = {r->q_len, r->kv_len, r->kv_len};
        const uint64_t vec[3] = {r->head_dim, r->head_dim, r->v_head_dim};
        const seattn_tensor *ts[3] = {t->q, t->k, t->v};
        const seattn_dtype dts[3] = {r->q_type, r->k_type, r->v_type};
        for (int i = 0; i < (t->n_kv_chunks ? 1 : 3); i++) { /* chunks: q alone is a view */
            uint64_t start, first;
            const uint64_t texel_bytes = as_words(dts[i]) ? 4 : seattn__dtype_size(dts[i]);
            if (view_range(ts[i]->buf->base, off[i], st[i], heads[i], len[i], vec[i], dts[i],
                           lim->minTexelBufferOffsetAlignment, as_words(dts[i]) && i > 0, &start,
                           &first) > (uint64_t)lim->maxTexelBufferElements * texel_bytes)
                facts->texel_views = false;
        }
    }
    /* The RoPE table. Every |position| a kernel rotates by is below kv_len: p, j, j/G, j - j/G,
     * and the grouped query position p/G + W - W/G <= p, used only for rows with p >= W
     * (others rotate by p). */
    const uint32_t max_pos = rp->kv_len - 1;
    seattn__vk_rope_shape(&vk->caps, r->rotary_dims / 2, max_pos, rs);
    facts->one_level = max_pos < (1u << rs->shift);
    facts->rope_view = rs->view != SEATTN__ROPE_VIEW_NONE;
    facts->rope_vec4 = rs->view == SEATTN__ROPE_VIEW_RGBA;
    facts->out_vec4 = r->out_type == SEATTN_DTYPE_F32 && r->out_offset % 4 == 0 &&
                      (r->out_strides.head | r->out_strides.token) % 4 == 0 &&
                      t->out->buf->base % 16 == 0;
    bool run8 = false;
    /* chunks: four f32 or f16 values a load where the lanes' runs and the layout allow it */
    const bool chunk_vec4 = r->k_type == r->v_type && !as_words(r->k_type) &&
                            seattn__plan_texel_vec4_runs(r, vk->info.subgroup_size, false) &&
                            (r->k_offset | r->k_strides.head | r->k_strides.token | r->v_offset |
                             r->v_strides.head | r->v_strides.token) %
                                    4 ==
                                0;
    facts->kv_vec4 =
        facts->texel_views && (t->n_kv_chunks ? chunk_vec4 : kv_vec4(ctx, r, t, &run8));
    facts->kv_run8 = facts->kv_vec4 && run8;
}

/* Ensure: the RoPE table of shape rs (uploaded by a copy recorded into the app's cb when
 * recording: c->staging) and the split scratch the plan needs, from frame fr. */
static seattn_status ensure(seattn_context *ctx, seattn__frame *fr, VkCommandBuffer cb,
                            const seattn_attention_desc *r, const seattn__batch *bat,
                            const seattn__rope_shape *rs, const seattn__rope **rope,
                            binding *partials, prepared *c) {
    const seattn__plan *pl = &c->pl;
    seattn_status status = seattn__vk_rope_table(ctx, cb, r->rope_theta, r->rope_inv_freq,
                                                 r->rotary_dims / 2, rs, rope, &c->staging);
    if (status != SEATTN_SUCCESS || pl->n_split == 1) return status;
    /* the partials of one chunk of queries (a batch: of every sequence's rows); chunks reuse
     * them */
    const uint64_t rows = bat ? (uint64_t)bat->b.n_seqs * bat->b.max_q_len : pl->chunk;
    const uint64_t part = (uint64_t)r->n_heads * rows * pl->n_split * (r->v_head_dim + 4) * 4;
    partials->elem_offset = 0;
    partials->view = VK_NULL_HANDLE;
    return seattn__vk_frame_scratch(ctx, fr, part, &partials->info);
}

/* One copy into the meta range: `words` u32 words of t from element `offset` to word `at`. */
static seattn_status meta_copy(seattn_context *ctx, const char *name, const seattn_tensor *t,
                               uint64_t offset, uint64_t words, uint64_t at,
                               const VkDescriptorBufferInfo *meta, prepared *c) {
    if (!(t->buf->usage & VK_BUFFER_USAGE_TRANSFER_SRC_BIT))
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                            "%s: its wrapped buffer lacks VK_BUFFER_USAGE_TRANSFER_SRC_BIT, which "
                            "seattn needs to copy the norm weights, sinks and batch metadata "
                            "into one binding of its own",
                            name);
    c->meta_src[c->n_meta] = t->buf->buffer;
    c->meta_region[c->n_meta++] = (VkBufferCopy){.srcOffset = t->buf->base + 4 * offset,
                                                 .dstOffset = meta->offset + 4 * at,
                                                 .size = 4 * words};
    return SEATTN_SUCCESS;
}

/* The chunk table (shaders/common.glsl, KV_CHUNKS): each chunk's k and v addresses and its
 * tokens, into c->chunk_words. */
static seattn_status chunk_table(seattn_context *ctx, const seattn_attention_tensors *t,
                                 prepared *c) {
    seattn__vk *vk = ctx->vk;
    for (uint32_t i = 0; i < t->n_kv_chunks; i++) {
        const seattn_kv_chunk *ch = &t->kv_chunks[i];
        const seattn_tensor *kv[2] = {ch->k, ch->v};
        uint32_t *w = &c->chunk_words[8 * i];
        for (int j = 0; j < 2; j++) {
            if (!(kv[j]->buf->usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT_KHR))
                return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT,
                                    "kv_chunks[%u].%s: its wrapped buffer lacks "
                                    "VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT, which chunks "
                                    "are read through",
                                    i, j ? "v" : "k");
            const VkBufferDeviceAddressInfoKHR ai = {
                .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO_KHR,
                .buffer = kv[j]->buf->buffer};
            const uint64_t a =
                vk->vkd.vkGetBufferDeviceAddressKHR(vk->device, &ai) + kv[j]->buf->base;
            w[2 * j] = (uint32_t)a;
            w[2 * j + 1] = (uint32_t)(a >> 32);
        }
        w[4] = ch->first_token;
        w[5] = ch->tokens;
        w[6] = w[7] = 0;
    }
    c->n_chunk_words = 8 * t->n_kv_chunks;
    return SEATTN_SUCCESS;
}

/* The meta binding (meta_seq_word()): a scratch range of frame fr, filled by the copies that
 * record() records before the dispatches, so that the call reads the app's tensors as they
 * are when the command buffer runs (a batch's metadata may change between replays). Bound
 * to the placeholder when the call has none of these inputs. */
static seattn_status bind_meta(seattn_context *ctx, seattn__frame *fr,
                               const seattn_attention_desc *r, const seattn_attention_tensors *t,
                               const seattn__batch *bat, binding *b, prepared *c) {
    const seattn__plan *pl = &c->pl;
    const bool qw = (pl->spec[SEATTN__SPEC_NORM] & SEATTN__NORM_QW) != 0;
    const bool kw = (pl->spec[SEATTN__SPEC_NORM] & SEATTN__NORM_KW) != 0;
    const bool sinks = pl->spec[SEATTN__SPEC_SINKS] != 0;
    const uint32_t n_chunks = pl->spec[SEATTN__SPEC_KV_CHUNKS];
    c->n_meta = c->n_chunk_words = 0;
    if (!qw && !kw && !sinks && !bat && !n_chunks) return SEATTN_SUCCESS;
    const uint64_t qw_at = meta_qw_word(n_chunks), seq_at = meta_seq_word(r, n_chunks);
    const uint64_t n_rec = bat ? 5 * (uint64_t)bat->b.n_seqs : 0;
    const uint64_t n_bt = bat && bat->bt ? bat->b.block_table_len : 0;
    const uint64_t bytes = 4 * (seq_at + n_rec + n_bt);
    const uint64_t max = ctx->vk->props.limits.maxStorageBufferRange;
    if (bytes > max)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the batch's metadata (%llu sequences, %llu block-table entries) "
                            "takes %llu bytes, above this device's maxStorageBufferRange (%llu); "
                            "split the batch",
                            (unsigned long long)(n_rec / 5), (unsigned long long)n_bt,
                            (unsigned long long)bytes, (unsigned long long)max);
    seattn_status s = seattn__vk_frame_scratch(ctx, fr, bytes, &b->info);
    if (s != SEATTN_SUCCESS) return s;
    b->info.range = bytes; /* the block table's length is the range's end (batch.glsl) */
    b->elem_offset = 0;
    b->view = VK_NULL_HANDLE;
    c->meta_dst = b->info.buffer;
    c->meta_offset = b->info.offset;
    if (n_chunks && (s = chunk_table(ctx, t, c))) return s;
    if ((qw && (s = meta_copy(ctx, "q_norm_weight", t->q_norm_weight, r->q_norm_offset, r->head_dim,
                              qw_at, &b->info, c))) ||
        (kw && (s = meta_copy(ctx, "k_norm_weight", t->k_norm_weight, r->k_norm_offset, r->head_dim,
                              qw_at + r->head_dim, &b->info, c))) ||
        (sinks && (s = meta_copy(ctx, "sinks", t->sinks, r->sinks_offset, r->n_heads,
                                 qw_at + 2 * (uint64_t)r->head_dim, &b->info, c))) ||
        (bat &&
         (s = meta_copy(ctx, "seqs", bat->seqs, bat->b.seqs_offset, n_rec, seq_at, &b->info, c))) ||
        (n_bt && (s = meta_copy(ctx, "block_table", bat->bt, bat->b.block_table_offset, n_bt,
                                seq_at + n_rec, &b->info, c))))
        return s;
    return SEATTN_SUCCESS;
}

/* Bind: every tensor's view, the descriptor sets (from frame fr) and the push constants. */
static seattn_status bind(seattn_context *ctx, seattn__frame *fr, const seattn_attention_desc *r,
                          const seattn_attention_tensors *t, const seattn__batch *bat,
                          const seattn__rope *rope, binding *bp, prepared *c) {
    seattn__vk *vk = ctx->vk;
    const seattn__plan *pl = &c->pl;
    const uint32_t d = r->head_dim, dv = r->v_head_dim;
    const bool texel = pl->kernel == SEATTN__KERNEL_TEXEL;
    /* K and V (one type, where vec4 at all): RGBA f32/f16 texels with KV_VEC4; for the types
     * read as words RGBA32UI ones with KV_RUN8 */
    const bool vec4kv = as_words(r->k_type) ? pl->spec[SEATTN__SPEC_KV_RUN8] != 0
                                            : pl->spec[SEATTN__SPEC_KV_VEC4] != 0;
    seattn_status status;
    binding bq, bk, bv, bo, bl, brope, bmeta;
    const binding dummy = {{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    bl = bmeta = dummy;
    if (t->n_kv_chunks) { /* read by address from each chunk's start (the chunk table) */
        bk = bv = dummy;
        bk.elem_offset =
            (uint32_t)(seattn__dtype_block(r->k_type) ? seattn__dtype_byte(r->k_type, r->k_offset)
                                                      : r->k_offset);
        bv.elem_offset =
            (uint32_t)(seattn__dtype_block(r->v_type) ? seattn__dtype_byte(r->v_type, r->v_offset)
                                                      : r->v_offset);
    }
    if ((status = bind_view(ctx, fr, "q", t->q, r->q_offset, r->q_strides, r->n_heads, r->q_len, d,
                            r->q_type, texel, false, &bq)) ||
        (!t->n_kv_chunks &&
         ((status = bind_view(ctx, fr, "k", t->k, r->k_offset, r->k_strides, r->n_kv_heads,
                              r->kv_len, d, r->k_type, texel, vec4kv, &bk)) ||
          (status = bind_view(ctx, fr, "v", t->v, r->v_offset, r->v_strides, r->n_kv_heads,
                              r->kv_len, dv, r->v_type, texel, vec4kv, &bv)))) ||
        (status = bind_view(ctx, fr, "out", t->out, r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, dv, r->out_type, false, false, &bo)))
        return status;
    if (t->n_kv_chunks && texel) /* texel bindings need a view; q's stands in, never read */
        bk.view = bv.view = bq.view;
    if (t->lse &&
        (status = bind_view(ctx, fr, "lse", t->lse, r->lse_offset, r->lse_strides, r->n_heads,
                            r->q_len, 1, SEATTN_DTYPE_F32, false, false, &bl)))
        return status;
    if ((status = bind_meta(ctx, fr, r, t, bat, &bmeta, c))) return status;
    brope = (binding){{rope->buf.buffer, 0, VK_WHOLE_SIZE}, 0, rope->view};
    binding *const bs[SEATTN__N_BINDINGS] = {&bq, &bk, &bv, &bo, &bl, &brope, bp, &bmeta};
    c->n_rep = r->n_heads / r->n_kv_heads;
    c->n_seqs = bat ? bat->b.n_seqs : 0;
    c->pc = make_push(r, pl, bs, t->lse != NULL, rope->shift, bat);
    return prepare_sets(ctx, fr, pl, bs, c);
}

/* Prepares one call, its stages in order: facts, plan, ensure, bind. Recording into an app's
 * command buffer passes it as cb: a new RoPE table is then copied by commands recorded there
 * (from c->staging, which the caller retires into frame 1), so nothing is submitted. */
static seattn_status prepare(seattn_context *ctx, seattn__frame *fr, VkCommandBuffer cb,
                             const seattn_attention_desc *r, const seattn_attention_tensors *t,
                             const seattn__batch *bat, prepared *c) {
    memset(&c->staging, 0, sizeof c->staging);
    c->n_meta = c->n_chunk_words = 0;
    seattn__vk *vk = ctx->vk;
    seattn_status status = seattn__vk_check_lost(ctx);
    if (status != SEATTN_SUCCESS) return status;
    const bool f16 = r->q_type == SEATTN_DTYPE_F16 || r->k_type == SEATTN_DTYPE_F16 ||
                     r->v_type == SEATTN_DTYPE_F16 || r->out_type == SEATTN_DTYPE_F16;
    if (f16 && !vk->storage_16bit)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "f16 tensors need storageBuffer16BitAccess, which '%s' %s",
                            vk->info.name,
                            vk->own_device ? "does not have"
                                           : "does not have enabled (say "
                                             "SEATTN_VULKAN_STORAGE_16BIT)");
    if (t->n_kv_chunks && !vk->address)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "kv_chunks are read by buffer device address, which '%s' %s; pass "
                            "k and v as single tensors (split the call by heads to fit "
                            "maxStorageBufferRange)",
                            vk->info.name,
                            vk->own_device ? "does not have"
                                           : "does not have enabled (say "
                                             "SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS)");
    const seattn__kernel kernel = seattn__plan_default_kernel(
        &vk->caps, vk->forced_kernel, (ctx->flags & SEATTN_CONTEXT_PORTABLE) != 0);
    /* what the grid and the RoPE table are planned for: a batch's longest sequence */
    seattn_attention_desc rp = *r;
    if (bat) {
        rp.q_len = bat->b.max_q_len;
        rp.kv_len = bat->b.max_kv_len;
        rp.q_pos = rp.kv_len - rp.q_len;
    }
    seattn__rope_shape rs;
    seattn__plan_facts facts;
    gather_facts(ctx, r, &rp, t, bat, kernel, &rs, &facts);

    seattn__plan *pl = &c->pl;
    char why[512];
    const bool forced = vk->forced_kernel >= 0;
    status = seattn__plan_make(&vk->caps, &rp, kernel, forced, &facts, pl, why, sizeof why);
    if (status != SEATTN_SUCCESS && kernel == SEATTN__KERNEL_FLASH_SG && !forced)
        status = seattn__plan_make(&vk->caps, &rp, SEATTN__KERNEL_FLASH, false, &facts, pl, why,
                                   sizeof why); /* row sums through shared memory instead */
    if (status != SEATTN_SUCCESS) return seattn__fail(ctx, status, "%s", why);

    const seattn__rope *rope;
    binding bp = {{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    if ((status = ensure(ctx, fr, cb, r, bat, &rs, &rope, &bp, c))) return status;
    return bind(ctx, fr, r, t, bat, rope, &bp, c);
}

/* Records rec(ctx, cb, arg) into the context's command buffer between the host barriers and
 * GPU timestamps, submits it, waits, and recycles frame 0 (which prepared it). Fills the
 * dispatch count and device time of stats. */
typedef uint32_t (*recorder)(seattn_context *ctx, VkCommandBuffer cb, const void *arg);
static seattn_status submit_timed(seattn_context *ctx, recorder rec, const void *arg,
                                  seattn_call_stats *stats) {
    seattn__vk *vk = ctx->vk;
    seattn__frame *fr = &vk->frames[0];
    seattn_status status = seattn__vk_begin(ctx);
    if (status != SEATTN_SUCCESS) {
        seattn__vk_frame_recycle(ctx, fr); /* nothing was submitted */
        return status;
    }
    VkCommandBuffer cb = vk->cmd;
    seattn__vk_barrier(ctx, false);
    if (vk->timestamps) {
        vk->vkd.vkCmdResetQueryPool(cb, vk->timestamps, 0, 2);
        vk->vkd.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, vk->timestamps, 0);
    }
    const uint32_t dispatches = rec(ctx, cb, arg);
    if (vk->timestamps)
        vk->vkd.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->timestamps, 1);
    seattn__vk_barrier(ctx, true);
    status = seattn__vk_submit_wait(ctx);
    seattn__vk_frame_recycle(ctx, fr);
    if (status != SEATTN_SUCCESS) return status;
    stats->dispatches = dispatches;
    uint64_t ts[2];
    if (vk->timestamps &&
        vk->vkd.vkGetQueryPoolResults(vk->device, vk->timestamps, 0, 2, sizeof ts, ts, sizeof ts[0],
                                      VK_QUERY_RESULT_64_BIT) == VK_SUCCESS)
        stats->device_ms = (double)((ts[1] - ts[0]) & vk->ts_mask) * vk->ts_period_ns * 1e-6;
    return SEATTN_SUCCESS;
}

typedef struct {
    const seattn_attention_desc *r;
    const prepared *c;
} attention_call;

static uint32_t record_attention(seattn_context *ctx, VkCommandBuffer cb, const void *arg) {
    const attention_call *a = arg;
    return record(ctx, cb, a->r, a->c);
}

seattn_status seattn__vk_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_attention_tensors *t, const seattn__batch *batch,
                                   seattn_call_stats *stats) {
    prepared c;
    seattn_status status = prepare(ctx, &ctx->vk->frames[0], VK_NULL_HANDLE, r, t, batch, &c);
    if (status != SEATTN_SUCCESS) {
        seattn__vk_frame_recycle(ctx, &ctx->vk->frames[0]); /* nothing was submitted */
        return status;
    }
    const attention_call a = {r, &c};
    status = submit_timed(ctx, record_attention, &a, stats);
    if (status == SEATTN_SUCCESS) plan_stats(&c.pl, stats);
    return status;
}

/* seattn_attention_merge on the device: merge_lse.comp, one workgroup per row, the rows in
 * chunks of at most maxComputeWorkGroupCount[0] tokens. */
typedef struct {
    VkPipeline pipeline;
    VkDescriptorSet set;
    seattn__push pc;
    uint32_t q_len, n_heads, max_x;
} merge_call;

static uint32_t record_merge(seattn_context *ctx, VkCommandBuffer cb, const void *arg) {
    const merge_call *m = arg;
    seattn__vk *vk = ctx->vk;
    const VkPipelineLayout pl = vk->pipeline_layout[SEATTN__LAYOUT_STORAGE];
    uint32_t dispatches = 0;
    vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, m->pipeline);
    vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl, 0, 1, &m->set, 0, NULL);
    for (uint32_t t0 = 0; t0 < m->q_len; t0 += m->max_x) {
        const uint32_t n = m->q_len - t0 < m->max_x ? m->q_len - t0 : m->max_x;
        seattn__push cp = m->pc; /* rows t0 .. t0 + n - 1: every view moves by t0 tokens */
        cp.q_off += t0 * m->pc.q_st;
        cp.k_off += t0 * m->pc.k_st;
        cp.o_off += t0 * m->pc.o_st;
        cp.v_off += t0 * m->pc.l_st;
        cp.split_len += t0 * m->pc.l_st;
        cp.l_off += t0 * m->pc.l_st;
        vk->vkd.vkCmdPushConstants(cb, pl, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof cp, &cp);
        vk->vkd.vkCmdDispatch(cb, n, m->n_heads, 1);
        dispatches++;
    }
    return dispatches;
}

/* Binds the merge's tensors and allocates its descriptor set from frame fr. */
static seattn_status prepare_merge(seattn_context *ctx, seattn__frame *fr,
                                   const seattn_attention_desc *r,
                                   const seattn_tensor *const outs[3],
                                   const seattn_tensor *const lses[3], merge_call *m) {
    seattn__vk *vk = ctx->vk;
    const VkPhysicalDeviceLimits *lim = &vk->props.limits;
    seattn_status status = seattn__vk_check_lost(ctx);
    if (status != SEATTN_SUCCESS) return status;
    const bool f16 = r->out_type == SEATTN_DTYPE_F16;
    if (f16 && !vk->storage_16bit)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "f16 outputs need storageBuffer16BitAccess, which '%s' lacks",
                            vk->info.name);
    if (r->n_heads > lim->maxComputeWorkGroupCount[1])
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "%u heads need %u workgroups along y, above this device's "
                            "maxComputeWorkGroupCount[1]",
                            r->n_heads, r->n_heads);
    const uint32_t d = r->v_head_dim;                   /* the rows merged are outputs */
    const bool bf16 = r->out_type == SEATTN_DTYPE_BF16; /* out_a, out_b read as q and k */
    const uint32_t spec[SEATTN__N_SPEC] = {
        64, d,
        [SEATTN__SPEC_DTYPE] = f16    ? SEATTN__F16_Q | SEATTN__F16_K | SEATTN__F16_OUT
                               : bf16 ? SEATTN__BF16_Q | SEATTN__BF16_OUT
                                      : 0,
        [SEATTN__SPEC_DV] = d, [SEATTN__SPEC_KT] = bf16 ? SEATTN_DTYPE_BF16 : 0};
    *m = (merge_call){
        .q_len = r->q_len, .n_heads = r->n_heads, .max_x = lim->maxComputeWorkGroupCount[0]};
    const binding dummy = {{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0, VK_NULL_HANDLE};
    binding ba, bb, bo, bla, blb, bl = dummy;
    if ((status = bind_view(ctx, fr, "out_a", outs[0], r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, d, r->out_type, false, false, &ba)) ||
        (status = bind_view(ctx, fr, "out_b", outs[1], r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, d, r->out_type, false, false, &bb)) ||
        (status = bind_view(ctx, fr, "out", outs[2], r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, d, r->out_type, false, false, &bo)) ||
        (status = bind_view(ctx, fr, "lse_a", lses[0], r->lse_offset, r->lse_strides, r->n_heads,
                            r->q_len, 1, SEATTN_DTYPE_F32, false, false, &bla)) ||
        (status = bind_view(ctx, fr, "lse_b", lses[1], r->lse_offset, r->lse_strides, r->n_heads,
                            r->q_len, 1, SEATTN_DTYPE_F32, false, false, &blb)) ||
        (lses[2] &&
         (status = bind_view(ctx, fr, "lse", lses[2], r->lse_offset, r->lse_strides, r->n_heads,
                             r->q_len, 1, SEATTN_DTYPE_F32, false, false, &bl))) ||
        (status = seattn__vk_pipeline_get(ctx, SEATTN__KERNEL_MERGE_LSE, spec, &m->pipeline)))
        return status;
    binding d0 = dummy, d1 = dummy;
    binding *const bs[SEATTN__N_BINDINGS] = {&ba, &bb, &bla, &bo, &bl, &d0, &blb, &d1};
    if ((status = make_set(ctx, fr, SEATTN__LAYOUT_STORAGE, bs, &m->set))) return status;
    m->pc = (seattn__push){.q_len = r->q_len,
                           .flags = lses[2] ? SEATTN__FLAG_LSE : 0,
                           .q_off = ba.elem_offset,
                           .q_sh = stride32(r->out_strides.head, r->n_heads),
                           .q_st = stride32(r->out_strides.token, r->q_len),
                           .k_off = bb.elem_offset,
                           .k_sh = stride32(r->out_strides.head, r->n_heads),
                           .k_st = stride32(r->out_strides.token, r->q_len),
                           .o_off = bo.elem_offset,
                           .o_sh = stride32(r->out_strides.head, r->n_heads),
                           .o_st = stride32(r->out_strides.token, r->q_len),
                           .v_off = bla.elem_offset,
                           .split_len = blb.elem_offset,
                           .l_off = bl.elem_offset,
                           .l_sh = stride32(r->lse_strides.head, r->n_heads),
                           .l_st = stride32(r->lse_strides.token, r->q_len)};
    return SEATTN_SUCCESS;
}

static void merge_stats(const seattn_attention_desc *r, seattn_call_stats *stats) {
    snprintf(stats->kernel, sizeof stats->kernel, "merge_lse d%u%s", r->v_head_dim,
             r->out_type == SEATTN_DTYPE_F16    ? " f16:o"
             : r->out_type == SEATTN_DTYPE_BF16 ? " bf16:o"
                                                : "");
    stats->kernel_id = SEATTN_KERNEL_MERGE;
    stats->key_splits = 1;
}

seattn_status seattn__vk_merge(seattn_context *ctx, const seattn_attention_desc *r,
                               const seattn_tensor *const outs[3],
                               const seattn_tensor *const lses[3], seattn_call_stats *stats) {
    seattn__frame *fr = &ctx->vk->frames[0];
    merge_call m;
    seattn_status status = prepare_merge(ctx, fr, r, outs, lses, &m);
    if (status != SEATTN_SUCCESS) {
        seattn__vk_frame_recycle(ctx, fr); /* nothing was submitted */
        return status;
    }
    status = submit_timed(ctx, record_merge, &m, stats);
    if (status == SEATTN_SUCCESS) merge_stats(r, stats);
    return status;
}

seattn_status seattn__vk_merge_record(seattn_context *ctx, VkCommandBuffer cb,
                                      const seattn_attention_desc *r,
                                      const seattn_tensor *const outs[3],
                                      const seattn_tensor *const lses[3],
                                      seattn_call_stats *stats) {
    seattn__frame *fr = &ctx->vk->frames[1];
    merge_call m;
    /* what prepare_merge() took stays in frame 1 even on failure: freed at the next recycle */
    seattn_status status = prepare_merge(ctx, fr, r, outs, lses, &m);
    if (status != SEATTN_SUCCESS) return status;
    seattn__vk_compute_barrier(ctx, cb); /* after earlier compute work in cb (the halves) */
    stats->dispatches = record_merge(ctx, cb, &m);
    fr->n_calls++;
    merge_stats(r, stats);
    return SEATTN_SUCCESS;
}

seattn_status seattn__vk_attention_record(seattn_context *ctx, VkCommandBuffer cb,
                                          const seattn_attention_desc *r,
                                          const seattn_attention_tensors *t,
                                          const seattn__batch *batch, seattn_call_stats *stats) {
    seattn__vk *vk = ctx->vk;
    seattn__frame *fr = &vk->frames[1];
    prepared c;
    /* What prepare() took stays in frame 1 even on failure: freed at the next recycle. */
    seattn_status status = prepare(ctx, fr, cb, r, t, batch, &c);
    if (status == SEATTN_SUCCESS) {
        /* Orders this call after earlier compute work in cb, this library's included: calls
         * share the placeholder buffer bound to unused bindings (written as lse, bound as
         * meta) and frame 1's scratch. */
        seattn__vk_compute_barrier(ctx, cb);
        stats->dispatches = record(ctx, cb, r, &c);
        plan_stats(&c.pl, stats);
    }
    /* A RoPE copy recorded into cb (even by a call that then failed) reads c.staging: kept
     * until seattn_context_recycle() */
    if (status == SEATTN_SUCCESS || c.staging.buffer) fr->n_calls++;
    seattn__vk_buffer_retire(ctx, &c.staging);
    return status;
}
