/* Version, status strings and the error/log plumbing every source uses. */
#include "seattn_internal.h"

#include <stdio.h>
#include <string.h>

#define SEATTN__STR2(x) #x
#define SEATTN__STR(x) SEATTN__STR2(x)

uint32_t seattn_version(void) {
    return SEATTN_VERSION;
}

const char *seattn_version_string(void) {
    return SEATTN__STR(SEATTN_VERSION_MAJOR) "." SEATTN__STR(SEATTN_VERSION_MINOR) "." SEATTN__STR(
        SEATTN_VERSION_PATCH);
}

size_t seattn_struct_size(seattn_struct_id id) {
    switch (id) {
    case SEATTN_STRUCT_CONTEXT_OPTIONS:
        return sizeof(seattn_context_options);
    case SEATTN_STRUCT_CALL_STATS:
        return sizeof(seattn_call_stats);
    case SEATTN_STRUCT_DEVICE_INFO:
        return sizeof(seattn_device_info);
    case SEATTN_STRUCT_ATTENTION_DESC:
        return sizeof(seattn_attention_desc);
    case SEATTN_STRUCT_ATTENTION_TENSORS:
        return sizeof(seattn_attention_tensors);
    case SEATTN_STRUCT_KERNEL_INFO:
        return sizeof(seattn_kernel_info);
    case SEATTN_STRUCT_SEQ:
        return sizeof(seattn_seq);
    case SEATTN_STRUCT_BATCH_DESC:
        return sizeof(seattn_batch_desc);
    case SEATTN_STRUCT_ROPE_CONFIG:
        return sizeof(seattn_rope_config);
    case SEATTN_STRUCT_KV_CHUNK:
        return sizeof(seattn_kv_chunk);
    }
    return 0;
}

const char *seattn_status_string(seattn_status status) {
    switch (status) {
#define SEATTN__STATUS_CASE(name, value, text)                                                     \
    case SEATTN_##name:                                                                            \
        return text;
        SEATTN_STATUS_MAP(SEATTN__STATUS_CASE)
#undef SEATTN__STATUS_CASE
    }
    return "unknown status";
}

static _Thread_local char create_error[1024];

void seattn__set_create_error(const char *message) {
    snprintf(create_error, sizeof create_error, "%s", message);
}

const char *seattn_last_create_error(void) {
    return create_error;
}

static void vlog(seattn_context *ctx, seattn_log_level level, const char *fmt, va_list ap) {
    if (!ctx || !ctx->log) return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ctx->log(level, msg, ctx->log_user);
}

void seattn__log(seattn_context *ctx, seattn_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, level, fmt, ap);
    va_end(ap);
}

seattn_status seattn__fail(seattn_context *ctx, seattn_status status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx) {
        snprintf(ctx->last_error, sizeof ctx->last_error, "%s", msg);
        seattn__log(ctx, SEATTN_LOG_ERROR, "%s: %s", seattn_status_string(status), msg);
    } else {
        seattn__set_create_error(msg);
    }
    return status;
}
