/* Private structs and seattn__ helpers shared by the library's sources. */
#ifndef SEATTN_INTERNAL_H
#define SEATTN_INTERNAL_H

#include "seattn/seattn.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct seattn__vk seattn__vk;       /* Vulkan state, vk_internal.h */
typedef struct seattn__vk_buffer seattn__vk_buffer;

struct seattn_context {
    seattn_backend backend;
    seattn_log_fn log;
    void *log_user;
    uint32_t flags;
    uint32_t timeout_ms;
    char last_error[1024];
    int32_t last_vk_result;
    atomic_uint validation_errors;
    uint32_t live_tensors;
    seattn_call_stats last_call;
    seattn__vk *vk; /* NULL on the CPU backend */
};

struct seattn_tensor {
    seattn_context *ctx;
    size_t bytes;
    void *host;              /* CPU backend: the memory */
    seattn__vk_buffer *buf;  /* Vulkan backend */
};

/* Formats the context's last error, logs it at error level and returns status. ctx may be NULL
 * (then the message goes to the thread's create-error slot). */
seattn_status seattn__fail(seattn_context *ctx, seattn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void seattn__log(seattn_context *ctx, seattn_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void seattn__set_create_error(const char *message);

/* attention_desc.c: resolves defaults and checks every field, then the tensors. */
seattn_status seattn__attn_resolve(seattn_context *ctx, const seattn_attention_desc *desc,
                                   seattn_attention_desc *r);
seattn_status seattn__attn_check_tensors(seattn_context *ctx, const seattn_attention_desc *r,
                                         const seattn_tensor *q, const seattn_tensor *k,
                                         const seattn_tensor *v, const seattn_tensor *out,
                                         const seattn_tensor *lse);
size_t seattn__dtype_size(seattn_dtype t);

/* Positions of the Self-Extend function (SPEC.md), shared by the CPU reference and the host
 * side of the kernels. Positions are non-negative, so C division is floor division. */
static inline int64_t seattn__grouped_q_pos(int64_t p, int64_t g, int64_t w) {
    return p / g + w - w / g;
}

/* cpu_reference.c: the oracle. Host pointers to the bytes of each tensor (lse may be NULL). */
seattn_status seattn__cpu_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                    const void *q, const void *k, const void *v, void *out,
                                    void *lse);

/* vk_*.c: the Vulkan backend. */
seattn_status seattn__vk_context_init(seattn_context *ctx, const seattn_context_options *o);
void seattn__vk_context_free(seattn_context *ctx);
seattn_status seattn__vk_device_info(const seattn_context *ctx, seattn_device_info *info);
seattn_status seattn__vk_tensor_init(seattn_context *ctx, seattn_tensor *t);
void seattn__vk_tensor_free(seattn_tensor *t);
seattn_status seattn__vk_tensor_copy(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                     void *host, size_t bytes, bool upload);
seattn_status seattn__vk_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_tensor *q, const seattn_tensor *k,
                                   const seattn_tensor *v, seattn_tensor *out,
                                   seattn_tensor *lse, seattn_call_stats *stats);

/* Monotonic milliseconds. */
double seattn__now_ms(void);

#endif
