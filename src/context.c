/* Contexts, tensors and the attention entry point: checks, then the backend. */
#include "seattn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

seattn_status seattn_context_create(const seattn_context_options *options, seattn_context **out) {
    return seattn__context_create(options, NULL, out);
}

seattn_status seattn__context_create(const seattn_context_options *options,
                                     const struct seattn_vulkan_device *imp, seattn_context **out) {
    if (!out) return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    seattn__set_create_error("");
    seattn_context_options o = {0};
    if (options) o = *options;
    if (imp && o.backend != SEATTN_BACKEND_VULKAN)
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_context_create_vulkan: backend must be SEATTN_BACKEND_VULKAN");
    if (imp && o.device && *o.device)
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_context_create_vulkan: options->device must be NULL (the "
                            "app's device is used)");
    if (o.backend != SEATTN_BACKEND_VULKAN && o.backend != SEATTN_BACKEND_CPU)
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT, "backend: unknown value %d",
                            (int)o.backend);
    if (o.backend == SEATTN_BACKEND_CPU && o.kernel && *o.kernel)
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT,
                            "kernel: the CPU backend has one kernel; leave it NULL");
    if (o.flags & ~(SEATTN_CONTEXT_VALIDATION | SEATTN_CONTEXT_PORTABLE))
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT, "flags: unknown bits 0x%x",
                            o.flags);
    seattn_context *ctx = seattn__calloc(1, sizeof *ctx);
    if (!ctx) return seattn__fail(NULL, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a context");
    ctx->backend = o.backend;
    ctx->log = o.log;
    ctx->log_user = o.log_user;
    ctx->flags = o.flags;
    ctx->timeout_ms = o.timeout_ms ? o.timeout_ms : 60000;
    const char *portable = getenv("SEATTN_PORTABLE");
    if (portable && *portable && strcmp(portable, "0") != 0) ctx->flags |= SEATTN_CONTEXT_PORTABLE;
    if (ctx->backend == SEATTN_BACKEND_VULKAN) {
        seattn_status s =
            imp ? seattn__vk_context_import(ctx, &o, imp) : seattn__vk_context_init(ctx, &o);
        if (s == SEATTN_SUCCESS) s = seattn__vk_force_kernel(ctx, &o);
        if (s != SEATTN_SUCCESS) {
            /* The context dies here: keep its message for seattn_last_create_error(). */
            seattn__set_create_error(ctx->last_error);
            seattn__vk_context_free(ctx);
            seattn__free(ctx);
            return s;
        }
    }
    *out = ctx;
    return SEATTN_SUCCESS;
}

void seattn_context_destroy(seattn_context *ctx) {
    if (!ctx) return;
    if (ctx->live_tensors)
        seattn__log(ctx, SEATTN_LOG_WARNING, "context destroyed with %u live tensors",
                    ctx->live_tensors);
    seattn__vk_context_free(ctx);
    seattn__free(ctx);
}

const char *seattn_context_last_error(const seattn_context *ctx) {
    return ctx ? ctx->last_error : "context is NULL";
}

int32_t seattn_context_last_vk_result(const seattn_context *ctx) {
    return ctx ? ctx->last_vk_result : 0;
}

uint32_t seattn_context_validation_errors(const seattn_context *ctx) {
    return ctx ? atomic_load(&ctx->validation_errors) : 0;
}

seattn_status seattn_context_device_info(const seattn_context *ctx, seattn_device_info *info) {
    if (!ctx || !info) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (ctx->backend == SEATTN_BACKEND_CPU) {
        memset(info, 0, sizeof *info);
        snprintf(info->name, sizeof info->name, "cpu-reference");
        snprintf(info->driver, sizeof info->driver, "seattn %s (double accumulation)",
                 seattn_version_string());
        return SEATTN_SUCCESS;
    }
    return seattn__vk_device_info(ctx, info);
}

seattn_status seattn_tensor_create(seattn_context *ctx, size_t bytes, seattn_tensor **out) {
    if (!out)
        return ctx ? seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "out is NULL")
                   : SEATTN_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (bytes == 0) return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "bytes is 0");
    seattn_tensor *t = seattn__calloc(1, sizeof *t);
    if (!t) return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a tensor");
    t->ctx = ctx;
    t->bytes = bytes;
    seattn_status s = SEATTN_SUCCESS;
    if (ctx->backend == SEATTN_BACKEND_CPU) {
        t->host = seattn__malloc(bytes);
        if (!t->host)
            s = seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for %zu bytes", bytes);
        t->mem_id = (uint64_t)(uintptr_t)t->host;
    } else {
        s = seattn__vk_tensor_init(ctx, t);
    }
    if (s != SEATTN_SUCCESS) {
        seattn__free(t);
        return s;
    }
    ctx->live_tensors++;
    *out = t;
    return SEATTN_SUCCESS;
}

void seattn_tensor_destroy(seattn_tensor *t) {
    if (!t) return;
    t->ctx->live_tensors--;
    if (t->host)
        seattn__free(t->host);
    else
        seattn__vk_tensor_free(t);
    seattn__free(t);
}

size_t seattn_tensor_bytes(const seattn_tensor *t) {
    return t ? t->bytes : 0;
}

static seattn_status tensor_copy(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                 void *host, size_t bytes, bool upload) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (!t) return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "tensor is NULL");
    if (t->ctx != ctx)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "tensor of another context");
    if (!host && bytes)
        return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                            upload ? "src" : "dst");
    if (offset > t->bytes || bytes > t->bytes - offset)
        return seattn__fail(ctx, SEATTN_ERROR_BUFFER_TOO_SMALL,
                            "bytes %zu..%zu are outside the tensor's %zu bytes", offset,
                            offset + bytes, t->bytes);
    if (bytes == 0) return SEATTN_SUCCESS;
    if (t->host) {
        if (upload)
            memcpy((char *)t->host + offset, host, bytes);
        else
            memcpy(host, (const char *)t->host + offset, bytes);
        return SEATTN_SUCCESS;
    }
    return seattn__vk_tensor_copy(ctx, t, offset, host, bytes, upload);
}

seattn_status seattn_tensor_upload(seattn_context *ctx, seattn_tensor *t, size_t offset,
                                   const void *src, size_t bytes) {
    return tensor_copy(ctx, t, offset, (void *)src, bytes, true);
}

seattn_status seattn_tensor_download(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                     void *dst, size_t bytes) {
    return tensor_copy(ctx, t, offset, dst, bytes, false);
}

seattn_status seattn__attn_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                   const seattn_attention_tensors *t, seattn_attention_desc *r) {
    ctx->last_error[0] = '\0';
    if (!t) return seattn__fail(ctx, SEATTN_ERROR_INVALID_ARGUMENT, "tensors is NULL");
    seattn_status s = seattn__attn_resolve(ctx, desc, r);
    if (s != SEATTN_SUCCESS) return s;
    seattn__chunks_strides(desc, t, r);
    if ((s = seattn__attn_check_tensors(ctx, r, t))) return s;
    return t->n_kv_chunks ? seattn__chunks_check_layout(ctx, t, r->kv_len, 0) : SEATTN_SUCCESS;
}

seattn_status seattn_attention_run(seattn_context *ctx, const seattn_attention_desc *desc,
                                   const seattn_attention_tensors *t) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_attention_desc r;
    seattn_status s = seattn__attn_prepare(ctx, desc, t, &r);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0, .key_splits = 1};
    if (ctx->backend == SEATTN_BACKEND_CPU) {
        s = seattn__cpu_attention(ctx, &r, t);
        snprintf(st.kernel, sizeof st.kernel, "cpu reference");
    } else {
        s = seattn__vk_attention(ctx, &r, t, NULL, &st);
    }
    st.host_ms = seattn__now_ms() - t0;
    if (s == SEATTN_SUCCESS) ctx->last_call = st;
    return s;
}

seattn_status seattn__merge_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                    const seattn_tensor *const outs[3],
                                    const seattn_tensor *const lses[3], seattn_attention_desc *r) {
    ctx->last_error[0] = '\0';
    seattn_status s = seattn__attn_resolve(ctx, desc, r);
    if (s == SEATTN_SUCCESS) s = seattn__merge_check_tensors(ctx, r, outs, lses);
    return s;
}

seattn_status seattn_attention_merge(seattn_context *ctx, const seattn_attention_desc *desc,
                                     const seattn_tensor *out_a, const seattn_tensor *lse_a,
                                     const seattn_tensor *out_b, const seattn_tensor *lse_b,
                                     seattn_tensor *out, seattn_tensor *lse) {
    if (!ctx) return SEATTN_ERROR_INVALID_ARGUMENT;
    seattn_attention_desc r;
    const seattn_tensor *const outs[3] = {out_a, out_b, out}, *const lses[3] = {lse_a, lse_b, lse};
    seattn_status s = seattn__merge_prepare(ctx, desc, outs, lses, &r);
    if (s != SEATTN_SUCCESS) return s;
    const double t0 = seattn__now_ms();
    seattn_call_stats st = {.device_ms = -1.0, .key_splits = 1};
    if (ctx->backend == SEATTN_BACKEND_CPU) {
        s = seattn__cpu_merge(ctx, &r, outs, lses);
        snprintf(st.kernel, sizeof st.kernel, "cpu reference merge");
    } else {
        s = seattn__vk_merge(ctx, &r, outs, lses, &st);
    }
    st.host_ms = seattn__now_ms() - t0;
    if (s == SEATTN_SUCCESS) ctx->last_call = st;
    return s;
}

seattn_status seattn_attention(seattn_context *ctx, const seattn_attention_desc *desc,
                               const seattn_tensor *q, const seattn_tensor *k,
                               const seattn_tensor *v, seattn_tensor *out, seattn_tensor *lse) {
    const seattn_attention_tensors t = {.q = q, .k = k, .v = v, .out = out, .lse = lse};
    return seattn_attention_run(ctx, desc, &t);
}

seattn_status seattn_context_last_call(const seattn_context *ctx, seattn_call_stats *out) {
    if (!ctx || !out) return SEATTN_ERROR_INVALID_ARGUMENT;
    *out = ctx->last_call;
    return SEATTN_SUCCESS;
}

seattn_status seattn_context_kernel_info(const seattn_context *ctx, uint32_t index,
                                         seattn_kernel_info *out) {
    if (!ctx || !out)
        return seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT,
                            "seattn_context_kernel_info: ctx and out must not be NULL");
    if (ctx->backend != SEATTN_BACKEND_VULKAN)
        return SEATTN_ERROR_INVALID_ARGUMENT; /* the CPU backend has no kernel table */
    return seattn__vk_context_kernel_info(ctx, index, out);
}
