/* Private structs and seattn__ helpers shared by the library's sources. */
#ifndef SEATTN_INTERNAL_H
#define SEATTN_INTERNAL_H

#include "platform.h"
#include "seattn/seattn.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct seattn__vk seattn__vk; /* Vulkan state, vulkan/vk_internal.h */
typedef struct seattn__vk_buffer seattn__vk_buffer;
struct seattn_vulkan_device; /* seattn_vulkan.h */

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
    uint64_t mem_id;        /* the memory it views (host pointer or VkBuffer): for overlaps */
    uint64_t mem_base;      /* its first byte in that memory */
    void *host;             /* CPU backend: the memory */
    seattn__vk_buffer *buf; /* Vulkan backend */
};

/* Formats the context's last error, logs it at error level and returns status. ctx may be NULL
 * (then the message goes to the thread's create-error slot). */
seattn_status seattn__fail(seattn_context *ctx, seattn_status status, const char *fmt, ...)
    SEATTN__PRINTF(3, 4);
void seattn__log(seattn_context *ctx, seattn_log_level level, const char *fmt, ...)
    SEATTN__PRINTF(3, 4);
void seattn__set_create_error(const char *message);

/* attention_desc.c: resolves defaults and checks every field, then the tensors. */
seattn_status seattn__attn_resolve(seattn_context *ctx, const seattn_attention_desc *desc,
                                   seattn_attention_desc *r);
/* kv_chunks' token ranges against the token space (page 0: no pages, they must cover it). */
seattn_status seattn__chunks_check_layout(seattn_context *ctx, const seattn_attention_tensors *t,
                                          uint32_t space, uint32_t page);
/* Zero k and v strides with kv_chunks: [tokens, n_kv_heads, head_dim] inside each chunk. */
void seattn__chunks_strides(const seattn_attention_desc *desc, const seattn_attention_tensors *t,
                            seattn_attention_desc *r);
seattn_status seattn__attn_check_tensors(seattn_context *ctx, const seattn_attention_desc *r,
                                         const seattn_attention_tensors *t);
/* attention_desc.c: the tensors of seattn_attention_merge(): outs = {out_a, out_b, out},
 * lses = {lse_a, lse_b, lse} (lse may be NULL). */
seattn_status seattn__merge_check_tensors(seattn_context *ctx, const seattn_attention_desc *r,
                                          const seattn_tensor *const outs[3],
                                          const seattn_tensor *const lses[3]);
/* Resolves a merge's descriptor and checks its tensors (context.c), for both merge calls. */
seattn_status seattn__merge_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                    const seattn_tensor *const outs[3],
                                    const seattn_tensor *const lses[3], seattn_attention_desc *r);
/* context.c: resolves and checks desc and tensors (NULL tensors: an error naming them). */
seattn_status seattn__attn_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                   const seattn_attention_tensors *t, seattn_attention_desc *r);
/* dtype.c: storage types. The size of an element (block types: 4, unused), whether t is known
 * and a block type (q8_0, q4_0), the bytes of a block, the first byte of element e (a block
 * type: of its block), and element e decoded (fp8: times scale). */
size_t seattn__dtype_size(seattn_dtype t);
bool seattn__dtype_known(seattn_dtype t);
bool seattn__dtype_block(seattn_dtype t);
size_t seattn__dtype_block_bytes(seattn_dtype t);
uint64_t seattn__dtype_byte(seattn_dtype t, uint64_t e);
float seattn__dtype_load(seattn_dtype t, const void *base, uint64_t e, float scale);
/* binary32 -> bfloat16 bits, round to nearest even; NaN stays NaN. */
uint16_t seattn__float_to_bf16(float f);

/* A batch of sequences (seattn_attention_batch): its bounds, checked, and its metadata. */
typedef struct seattn__batch {
    seattn_batch_desc b;
    const seattn_tensor *seqs, *bt; /* bt NULL when page_size is 0 */
} seattn__batch;
/* batch.c: checks the batch and its tensors and resolves desc into *r, whose q_len and kv_len
 * become the views' q_tokens and kv_tokens (q_pos 0): what the views are sized and bound by. */
seattn_status seattn__batch_prepare(seattn_context *ctx, const seattn_attention_desc *desc,
                                    const seattn_batch_desc *batch,
                                    const seattn_attention_tensors *t, const seattn_tensor *seqs,
                                    const seattn_tensor *bt, seattn_attention_desc *r,
                                    seattn__batch *out);
/* batch.c: the kernels' checks of one sequence (shaders/batch.glsl): NULL if it passes, else
 * why (a page past the pool: its block-table entry in *bad_entry). */
const char *seattn__seq_problem(const seattn_batch_desc *b, const seattn_seq *q, const uint32_t *bt,
                                uint32_t *bad_entry);
/* attention_desc.c: whether two tensors' element ranges [first, last] share a byte. */
bool seattn__tensors_overlap(const seattn_tensor *a, uint64_t a_first, uint64_t a_last,
                             seattn_dtype ea, const seattn_tensor *b, uint64_t b_first,
                             uint64_t b_last, seattn_dtype eb);
/* attention_desc.c: the element range [*first, *last] of a [heads, len, vec] view. */
void seattn__view_span(uint64_t offset, seattn_strides s, uint64_t heads, uint64_t len,
                       uint64_t vec, uint64_t *first, uint64_t *last);

/* The grouped query position of the Self-Extend function (SPEC.md), for the CPU reference (the
 * kernels compute it in GLSL). Positions are non-negative, so C division is floor division. */
static inline int64_t seattn__grouped_q_pos(int64_t p, int64_t g, int64_t w) {
    return p / g + w - w / g;
}

/* cpu_reference.c: the oracle, on host tensors (lse and the norm weights may be NULL). */
seattn_status seattn__cpu_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                    const seattn_attention_tensors *t);
/* cpu_reference.c: a batch (r as seattn__batch_prepare() resolved it), metadata read from the
 * host tensors and checked as the kernels check it. */
seattn_status seattn__cpu_attention_batch(seattn_context *ctx, const seattn_attention_desc *r,
                                          const seattn_attention_tensors *t,
                                          const seattn__batch *batch);
seattn_status seattn__cpu_merge(seattn_context *ctx, const seattn_attention_desc *r,
                                const seattn_tensor *const outs[3],
                                const seattn_tensor *const lses[3]);
/* IEEE binary16 <-> binary32, round to nearest even (half.c; the CPU reference and the public
 * seattn_f32_to_f16 / seattn_f16_to_f32 use them). */
float seattn__half_to_float(uint16_t h);
uint16_t seattn__float_to_half(float f);

/* vk_*.c: the Vulkan backend. */
seattn_status seattn__vk_context_init(seattn_context *ctx, const seattn_context_options *o);
/* Fixes the kernel every call runs: o->kernel, else SEATTN_KERNEL, else none (vulkan/context.c). */
seattn_status seattn__vk_force_kernel(seattn_context *ctx, const seattn_context_options *o);
/* seattn_context_kernel_info() on a Vulkan context (vulkan/plan.c). */
seattn_status seattn__vk_context_kernel_info(const seattn_context *ctx, uint32_t index,
                                             seattn_kernel_info *out);
/* context.c: seattn_context_create() and, with imp, seattn_context_create_vulkan(). */
seattn_status seattn__context_create(const seattn_context_options *options,
                                     const struct seattn_vulkan_device *imp, seattn_context **out);
seattn_status seattn__vk_context_import(seattn_context *ctx, const seattn_context_options *o,
                                        const struct seattn_vulkan_device *d);
void seattn__vk_context_free(seattn_context *ctx);
seattn_status seattn__vk_device_info(const seattn_context *ctx, seattn_device_info *info);
seattn_status seattn__vk_tensor_init(seattn_context *ctx, seattn_tensor *t);
void seattn__vk_tensor_free(seattn_tensor *t);
seattn_status seattn__vk_tensor_copy(seattn_context *ctx, const seattn_tensor *t, size_t offset,
                                     void *host, size_t bytes, bool upload);
/* batch: NULL, or a batch (r as seattn__batch_prepare() resolved it). */
seattn_status seattn__vk_attention(seattn_context *ctx, const seattn_attention_desc *r,
                                   const seattn_attention_tensors *t, const seattn__batch *batch,
                                   seattn_call_stats *stats);
seattn_status seattn__vk_merge(seattn_context *ctx, const seattn_attention_desc *r,
                               const seattn_tensor *const outs[3],
                               const seattn_tensor *const lses[3], seattn_call_stats *stats);

/* fault.c: the library's host allocations (counted; the fault hook can fail them). */
void *seattn__malloc(size_t size);
void *seattn__calloc(size_t count, size_t size);
void *seattn__realloc(void *old, size_t size);
char *seattn__strdup(const char *s);
void seattn__free(void *p);
/* Whether the armed fault of this kind fires now (counts the event). */
bool seattn__fault_hit(seattn_fault kind);

#endif
