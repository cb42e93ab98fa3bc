/* The attention call on Vulkan: RoPE tables, the dispatch plan, descriptors and recording. */
#include "vk_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROPE_LEVELS 3
#define ROPE_ENTRIES 256

/* cos/sin of (idx * 256^level) * freq_m, computed in double and reduced mod 2 pi before rounding
 * to f32, for every level, idx and m: the kernel multiplies three entries to get any position
 * below 2^24 to within a few f32 ulps. Rebuilt only when theta or rotary_dims change. */
static seattn_status rope_tables(seattn_context *ctx, float theta, uint32_t rot_half) {
    seattn__vk *vk = ctx->vk;
    if (vk->rope.buffer && vk->rope_theta == theta && vk->rope_rot_half == rot_half)
        return SEATTN_SUCCESS;
    const size_t n = (size_t)ROPE_LEVELS * ROPE_ENTRIES * rot_half;
    float *tab = malloc(n * 2 * sizeof(float));
    if (!tab) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for RoPE tables");
    const double two_pi = 6.283185307179586476925286766559;
    for (uint32_t m = 0; m < rot_half; m++) {
        const double freq = pow((double)theta, -2.0 * m / (2.0 * rot_half));
        for (uint32_t level = 0; level < ROPE_LEVELS; level++) {
            const double unit = ldexp(1.0, 8 * (int)level);
            for (uint32_t i = 0; i < ROPE_ENTRIES; i++) {
                double a = fmod((double)i * unit * freq, two_pi);
                size_t at = ((size_t)level * ROPE_ENTRIES + i) * rot_half + m;
                tab[2 * at] = (float)cos(a);
                tab[2 * at + 1] = (float)sin(a);
            }
        }
    }
    seattn_status s = seattn__vk_buffer_reserve(ctx, &vk->rope, n * 2 * sizeof(float), false);
    if (s == SEATTN_SUCCESS) s = seattn__vk_buffer_write(ctx, &vk->rope, 0, tab, n * 8);
    free(tab);
    vk->rope_theta = s == SEATTN_SUCCESS ? theta : 0.0f;
    vk->rope_rot_half = rot_half;
    return s;
}

/* A tensor view bound as the smallest aligned range that holds it, so a view of a tensor larger
 * than maxStorageBufferRange still works; elem_offset is the view's start inside the range. */
typedef struct {
    VkDescriptorBufferInfo info;
    uint32_t elem_offset;
} binding;

static seattn_status bind_view(seattn_context *ctx, const char *name, const seattn_tensor *t,
                               uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                               uint64_t vec, binding *b) {
    const seattn__vk *vk = ctx->vk;
    uint64_t align = vk->props.limits.minStorageBufferOffsetAlignment;
    if (align < 4) align = 4;
    const uint64_t last = offset + (heads - 1) * s.head + (len - 1) * s.token + vec - 1;
    const uint64_t start = (offset * 4) / align * align;
    const uint64_t range = (last + 1) * 4 - start;
    if (range > vk->props.limits.maxStorageBufferRange)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "the view of %s spans %llu bytes, above this device's "
                            "maxStorageBufferRange (%u); split the call by heads",
                            name, (unsigned long long)range,
                            vk->props.limits.maxStorageBufferRange);
    b->info = (VkDescriptorBufferInfo){.buffer = t->buf->buffer, .offset = start, .range = range};
    b->elem_offset = (uint32_t)(offset - start / 4);
    return SEATTN_SUCCESS;
}

/* A stride the kernel can hold: unused (count 1) strides may be anything and become 0. */
static uint32_t stride32(uint64_t stride, uint64_t count) {
    return count > 1 ? (uint32_t)stride : 0u;
}

seattn_status seattn__vk_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_tensor *q, const seattn_tensor *k,
                                   const seattn_tensor *v, seattn_tensor *out,
                                   seattn_tensor *lse) {
    seattn__vk *vk = ctx->vk;
    const VkPhysicalDeviceLimits *lim = &vk->props.limits;
    if (vk->lost)
        return seattn__fail(ctx, SEATTN_ERROR_DEVICE_LOST,
                            "the device was lost earlier; destroy this context");
    const uint32_t d = r->head_dim, n_rep = r->n_heads / r->n_kv_heads;
    binding bq, bk, bv, bo, bl, bp;
    seattn_status status;
    if ((status = bind_view(ctx, "q", q, r->q_offset, r->q_strides, r->n_heads, r->q_len, d,
                            &bq)) ||
        (status = bind_view(ctx, "k", k, r->k_offset, r->k_strides, r->n_kv_heads, r->kv_len, d,
                            &bk)) ||
        (status = bind_view(ctx, "v", v, r->v_offset, r->v_strides, r->n_kv_heads, r->kv_len, d,
                            &bv)) ||
        (status = bind_view(ctx, "out", out, r->out_offset, r->out_strides, r->n_heads,
                            r->q_len, d, &bo)))
        return status;
    if (lse) {
        if ((status = bind_view(ctx, "lse", lse, r->lse_offset, r->lse_strides, r->n_heads,
                                r->q_len, 1, &bl)))
            return status;
    } else {
        bl = (binding){{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0};
    }

    /* Plan: key tiles that keep three BC x D f32 tiles in 12 KiB of shared memory (phones
     * offer 16 KiB); 64 rows a workgroup for long query runs, 16 for decode and short chunks. */
    const uint32_t bc = d >= 1024 ? 1 : (1024 / d > 32 ? 32 : 1024 / d);
    const uint32_t n_rows = r->q_len * n_rep;
    const uint32_t br = n_rows >= 256 ? 64 : 16;
    const uint32_t row_tiles = (n_rows + br - 1) / br;
    if (3u * bc * d * 4u > lim->maxComputeSharedMemorySize || br > lim->maxComputeWorkGroupInvocations)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "device limits: %u bytes of shared memory and %u invocations needed",
                            3u * bc * d * 4u, br);
    if (row_tiles > lim->maxComputeWorkGroupCount[0] ||
        r->n_kv_heads > lim->maxComputeWorkGroupCount[1] ||
        r->n_heads > lim->maxComputeWorkGroupCount[1] ||
        r->q_len > lim->maxComputeWorkGroupCount[0])
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "q_len %u x %u heads needs more workgroups than "
                            "maxComputeWorkGroupCount (%u, %u) allows",
                            r->q_len, r->n_heads, lim->maxComputeWorkGroupCount[0],
                            lim->maxComputeWorkGroupCount[1]);
    /* Split the keys across workgroups (flash-decoding) when the rows alone cannot fill the
     * device; each split takes at least 256 keys. */
    const uint32_t target = vk->info.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 16 : 512;
    const uint32_t base = row_tiles * r->n_kv_heads;
    uint32_t n_split = 1;
    if (base < target) {
        n_split = (target + base - 1) / base;
        uint32_t max_split = (r->kv_len + 255) / 256;
        if (n_split > max_split) n_split = max_split;
    }
    const char *force = getenv("SEATTN_SPLIT"); /* tests: force a split count */
    if (force && atoi(force) > 0) n_split = (uint32_t)atoi(force);
    /* llvmpipe's loop budget (see shaders/attention.comp) bounds the keys one workgroup may
     * walk; past it the kernel would silently stop. */
    if (strstr(vk->info.name, "llvmpipe")) {
        /* per key: both score loops when a SIMD group diverges, the P.V loop, the tile's
         * staging share and rescale; half the budget kept in reserve */
        const uint32_t per_key = 3 * d + 4 + (d + br - 1) / br + (d + bc - 1) / bc;
        uint32_t keys = (32000 - 3 * d) / per_key / bc * bc;
        if (keys < bc) keys = bc;
        const uint32_t need = (r->kv_len + keys - 1) / keys;
        if (n_split < need) n_split = need;
    }
    if (n_split > r->kv_len) n_split = r->kv_len;
    uint32_t split_len = (r->kv_len + n_split - 1) / n_split;
    split_len = (split_len + bc - 1) / bc * bc;
    n_split = (r->kv_len + split_len - 1) / split_len;
    /* Split partials cost n_heads x tokens x n_split x (D + 2) floats; queries go in chunks of
     * tokens small enough for a 64 MiB scratch (and maxStorageBufferRange). */
    uint32_t chunk = r->q_len;
    if (n_split > 1) {
        uint64_t cap = lim->maxStorageBufferRange < (64u << 20) ? lim->maxStorageBufferRange
                                                                 : (64u << 20);
        uint64_t per_tok = (uint64_t)r->n_heads * n_split * (d + 2) * 4;
        uint64_t fit = cap / per_tok;
        if (fit == 0)
            return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                                "kv_len %u needs %u key splits, more than fit in scratch",
                                r->kv_len, n_split);
        if (fit < chunk) chunk = (uint32_t)fit;
        const uint64_t part_bytes = per_tok * chunk;
        if ((status = seattn__vk_buffer_reserve(ctx, &vk->partial, part_bytes, false)))
            return status;
        bp = (binding){{vk->partial.buffer, 0, part_bytes}, 0};
    } else {
        bp = (binding){{vk->dummy.buffer, 0, VK_WHOLE_SIZE}, 0};
    }
    if ((status = rope_tables(ctx, r->rope_theta, r->rotary_dims / 2)))
        return status;
    VkPipeline attn = VK_NULL_HANDLE, merge = VK_NULL_HANDLE;
    if ((status = seattn__vk_pipeline_get(ctx, SEATTN__KERNEL_ATTENTION, br, d, bc, &attn)))
        return status;
    if (n_split > 1 &&
        (status = seattn__vk_pipeline_get(ctx, SEATTN__KERNEL_MERGE, 64, d, 0, &merge)))
        return status;

    const binding *bs[SEATTN__N_BINDINGS] = {&bq, &bk, &bv, &bo, &bl, NULL, &bp};
    VkDescriptorBufferInfo rope_info = {vk->rope.buffer, 0, VK_WHOLE_SIZE};
    VkWriteDescriptorSet w[SEATTN__N_BINDINGS];
    for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++)
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = vk->set,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = bs[i] ? &bs[i]->info : &rope_info};
    vk->vkd.vkUpdateDescriptorSets(vk->device, SEATTN__N_BINDINGS, w, 0, NULL);

    const bool plain = r->group_size == 1;
    seattn__push pc = {
        .q_len = r->q_len, .kv_len = r->kv_len, .q_pos = r->q_pos, .n_rep = n_rep,
        .G = (uint32_t)r->group_size,
        .W = plain ? 0xffffffffu : (uint32_t)r->neighbor_window,
        .rot_half = r->rotary_dims / 2,
        .flags = (r->rope_layout == SEATTN_ROPE_INTERLEAVED ? SEATTN__FLAG_INTERLEAVED : 0) |
                 (r->key_mode == SEATTN_KEYS_ROTATED ? SEATTN__FLAG_KEYS_ROTATED : 0) |
                 (lse ? SEATTN__FLAG_LSE : 0) | (n_split > 1 ? SEATTN__FLAG_SPLIT : 0),
        .scale = r->scale,
        .inv_ln_base = r->scale_base > 0.0f ? (float)(1.0 / log((double)r->scale_base)) : 0.0f,
        .q_off = bq.elem_offset, .q_sh = stride32(r->q_strides.head, r->n_heads),
        .q_st = stride32(r->q_strides.token, r->q_len),
        .k_off = bk.elem_offset, .k_sh = stride32(r->k_strides.head, r->n_kv_heads),
        .k_st = stride32(r->k_strides.token, r->kv_len),
        .v_off = bv.elem_offset, .v_sh = stride32(r->v_strides.head, r->n_kv_heads),
        .v_st = stride32(r->v_strides.token, r->kv_len),
        .o_off = bo.elem_offset, .o_sh = stride32(r->out_strides.head, r->n_heads),
        .o_st = stride32(r->out_strides.token, r->q_len),
        .l_off = bl.elem_offset, .l_sh = stride32(r->lse_strides.head, r->n_heads),
        .l_st = stride32(r->lse_strides.token, r->q_len),
        .split_len = split_len, .n_split = n_split};

    if ((status = seattn__vk_begin(ctx))) return status;
    VkCommandBuffer cb = vk->cmd;
    vk->vkd.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipeline_layout, 0,
                                    1, &vk->set, 0, NULL);
    for (uint32_t t0 = 0; t0 < r->q_len; t0 += chunk) {
        seattn__push cp = pc; /* the chunk's queries: tokens t0 .. t0 + n - 1 */
        const uint32_t n = r->q_len - t0 < chunk ? r->q_len - t0 : chunk;
        cp.q_len = n;
        cp.q_pos = r->q_pos + t0;
        cp.q_off += t0 * pc.q_st;
        cp.o_off += t0 * pc.o_st;
        cp.l_off += t0 * pc.l_st;
        seattn__vk_barrier(ctx, false);
        vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, attn);
        vk->vkd.vkCmdPushConstants(cb, vk->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                   sizeof cp, &cp);
        vk->vkd.vkCmdDispatch(cb, (n * n_rep + br - 1) / br, r->n_kv_heads, n_split);
        if (n_split > 1) {
            seattn__vk_barrier(ctx, false);
            vk->vkd.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, merge);
            vk->vkd.vkCmdDispatch(cb, n, r->n_heads, 1);
        }
    }
    seattn__vk_barrier(ctx, true);
    return seattn__vk_submit_wait(ctx);
}
