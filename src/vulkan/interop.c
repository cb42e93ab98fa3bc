/* seattn_vulkan.h: contexts on the app's device, recording into its command buffers. */
#include "vk_internal.h"

seattn_status seattn_context_create_vulkan(const seattn_context_options *options,
                                           const seattn_vulkan_device *device,
                                           seattn_context **out) {
    if (!device) {
        if (out) *out = NULL;
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT, "device is NULL");
    }
    return seattn__context_create(options, device, out);
}

/* What the recording calls need first: a Vulkan context (ctx is not NULL) and a command
 * buffer. */
static seattn_status can_record(seattn_context *ctx, VkCommandBuffer cmd, const char *fn) {
    if (!ctx->vk)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "%s needs a Vulkan context", fn);
    if (!cmd) return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "cmd is NULL");
    return SEATTN_SUCCESS;
}

/* A recording call's end: its host time since t0 into *st, which becomes the context's last
 * call when s is a success. Returns s. */
static seattn_status recorded(seattn_context *ctx, seattn_status s, double t0,
                              seattn_call_stats *st) {
    st->host_ms = seattn__now_ms() - t0;
    if (s == SEATTN_SUCCESS) ctx->last_call = *st;
    return s;
}

seattn_status seattn_attention_record(seattn_context *ctx, VkCommandBuffer cmd,
                                      const seattn_attention_desc *desc,
                                      const seattn_attention_tensors *tensors) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_status s = can_record(ctx, cmd, "seattn_attention_record");
    if (s != SEATTN_SUCCESS) return s;
    seattn_attention_desc r;
    s = seattn__attn_prepare(ctx, desc, tensors, &r);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0};
    return recorded(ctx, seattn__vk_attention_record(ctx, cmd, &r, tensors, NULL, &st), t0, &st);
}

seattn_status seattn_attention_batch_record(seattn_context *ctx, VkCommandBuffer cmd,
                                            const seattn_attention_desc *desc,
                                            const seattn_batch_desc *batch,
                                            const seattn_attention_tensors *tensors,
                                            const seattn_tensor *seqs,
                                            const seattn_tensor *block_table) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_status s = can_record(ctx, cmd, "seattn_attention_batch_record");
    if (s != SEATTN_SUCCESS) return s;
    seattn_attention_desc r;
    seattn__batch bat;
    s = seattn__batch_prepare(ctx, desc, batch, tensors, seqs, block_table, &r, &bat);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0};
    return recorded(ctx, seattn__vk_attention_record(ctx, cmd, &r, tensors, &bat, &st), t0, &st);
}

seattn_status seattn_attention_merge_record(seattn_context *ctx, VkCommandBuffer cmd,
                                            const seattn_attention_desc *desc,
                                            const seattn_tensor *out_a, const seattn_tensor *lse_a,
                                            const seattn_tensor *out_b, const seattn_tensor *lse_b,
                                            seattn_tensor *out, seattn_tensor *lse) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_status s = can_record(ctx, cmd, "seattn_attention_merge_record");
    if (s != SEATTN_SUCCESS) return s;
    seattn_attention_desc r;
    const seattn_tensor *const outs[3] = {out_a, out_b, out}, *const lses[3] = {lse_a, lse_b, lse};
    s = seattn__merge_prepare(ctx, desc, outs, lses, &r);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0};
    return recorded(ctx, seattn__vk_merge_record(ctx, cmd, &r, outs, lses, &st), t0, &st);
}

seattn_status seattn_context_recycle(seattn_context *ctx) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (ctx->vk) seattn__vk_frame_recycle(ctx, &ctx->vk->frames[1]);
    return SEATTN_SUCCESS;
}
