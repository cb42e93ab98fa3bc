/*
 * seattn for engines that own their Vulkan objects: a context on the app's VkDevice and queue,
 * tensors that wrap the app's VkBuffers, and the attention recorded into the app's command
 * buffer. Include <volk.h> (or define VK_NO_PROTOTYPES) before this header if the app uses
 * volk; seattn itself never touches the app's global Vulkan function pointers: it loads its own
 * from the vkGetInstanceProcAddr the app passes.
 *
 * Errors and thread safety as in seattn.h: a status, a message in seattn_context_last_error(),
 * and one thread at a time on a context and its tensors (seattn_attention_record included).
 */
#ifndef SEATTN_SEATTN_VULKAN_H
#define SEATTN_SEATTN_VULKAN_H

#include <vulkan/vulkan.h>

#include "seattn/seattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for seattn_vulkan_device.enabled: the features the app enabled when it created the
 * device (Vulkan cannot be asked afterwards). */
#define SEATTN_VULKAN_STORAGE_16BIT 0x1u /* storageBuffer16BitAccess: f16 tensors */
/* bufferDeviceAddress (Vulkan 1.2 or VK_KHR_buffer_device_address): K and V over several
 * buffers (seattn_attention_tensors.kv_chunks). seattn's own buffers then take
 * VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT and memory allocated with
 * VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT; the app's buffers wrapped as chunks need the same. */
#define SEATTN_VULKAN_BUFFER_DEVICE_ADDRESS 0x2u

/* The app's objects. seattn destroys none of them; they must outlive the context. */
typedef struct seattn_vulkan_device {
    VkInstance instance;              /* created with apiVersion >= 1.1 */
    uint32_t instance_api_version;    /* that apiVersion (VK_API_VERSION_1_1 or later) */
    VkPhysicalDevice physical_device; /* Vulkan 1.1 or later */
    VkDevice device;
    VkQueue queue; /* any queue of a family with VK_QUEUE_COMPUTE_BIT */
    uint32_t queue_family;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr; /* the app's (loader, volk or layer) */
    uint32_t enabled;                                 /* SEATTN_VULKAN_* */
} seattn_vulkan_device;

/* Creates a context on the app's device. options->backend must be SEATTN_BACKEND_VULKAN (0)
 * and options->device NULL; SEATTN_CONTEXT_VALIDATION is ignored (the app's instance has the
 * layers it has). The context creates its own command pool, fence, pipelines, descriptor pools
 * and small buffers on the device, with options->vk_allocator.
 *
 * The queue: the self-submitting calls (seattn_attention(), seattn_attention_merge(),
 * seattn_tensor_upload() and _download()) submit to it and wait for their own fence. Vulkan
 * requires the app not to use the queue from another thread meanwhile (the queue is externally
 * synchronized). The recording calls never submit: a RoPE table a recording needs is copied by
 * a transfer command it records into the app's command buffer, before its dispatches. */
SEATTN_API seattn_status seattn_context_create_vulkan(const seattn_context_options *options,
                                                      const seattn_vulkan_device *device,
                                                      seattn_context **out);

/* A tensor of `bytes` bytes at byte `offset` of the app's buffer, which it keeps owning and must
 * not destroy before the tensor. offset must be a multiple of 4. usage: the VkBufferUsageFlags
 * the buffer was created with; VK_BUFFER_USAGE_STORAGE_BUFFER_BIT is required. With
 * VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT too, the texel kernel (CPU devices) may read it;
 * seattn_tensor_upload() / _download() need the TRANSFER_DST / TRANSFER_SRC bits. A tensor
 * passed as QK-norm weights, sinks, a batch's seqs or block_table needs TRANSFER_SRC: every
 * call copies these small inputs into one binding of seattn's own (so that no kernel binds more
 * than 8 storage buffers a stage), by a copy command recorded before its dispatches. */
SEATTN_API seattn_status seattn_tensor_wrap_vulkan(seattn_context *ctx, VkBuffer buffer,
                                                   VkDeviceSize offset, VkDeviceSize bytes,
                                                   VkBufferUsageFlags usage, seattn_tensor **out);

/* The buffer and byte offset behind a tensor (seattn's own or wrapped), for the app's barriers
 * and copies. SEATTN_ERROR_INVALID_ARGUMENT for a NULL argument or a CPU-backend tensor. */
SEATTN_API seattn_status seattn_tensor_vulkan_buffer(const seattn_tensor *tensor, VkBuffer *buffer,
                                                     VkDeviceSize *offset);

/* Records the attention into the app's command buffer `cmd` (in the recording state, of a
 * queue family with compute) and returns without submitting: the app submits it, to the
 * context's queue or another queue of the same device. The same checks as seattn_attention()
 * run first; on failure nothing is recorded.
 *
 * Barriers the app records:
 *  - before: from the stages and accesses that last wrote q, k, v, the norm weights (and read
 *    or wrote out and lse) to dstStageMask VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT with
 *    dstAccessMask VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
 *  - after: from srcStageMask VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, srcAccessMask
 *    VK_ACCESS_SHADER_WRITE_BIT to whatever reads out and lse next.
 * A VkMemoryBarrier or VkBufferMemoryBarriers on those buffers both serve. seattn's own
 * barriers are compute-to-compute memory barriers (shader writes to shader reads and writes):
 * one before its first dispatch, which also orders earlier compute work in cmd before it, and
 * one between each of its dispatches. A call with norm weights, sinks or batch metadata first
 * copies them (vkCmdCopyBuffer, run when cmd executes) between a barrier from the compute and
 * transfer stages to transfer and one from transfer to compute, so the app's barrier into
 * compute covers them too. It leaves the pipeline, descriptor sets and push constants of the
 * compute bind point changed (rebind yours after it).
 *
 * What the recording uses (descriptor sets, texel views, split scratch) stays alive until
 * seattn_context_recycle(); many calls may be recorded, into one or many command buffers,
 * before it. seattn_call_stats of a recorded call have device_ms < 0. */
SEATTN_API seattn_status seattn_attention_record(seattn_context *ctx, VkCommandBuffer cmd,
                                                 const seattn_attention_desc *desc,
                                                 const seattn_attention_tensors *tensors);

/* seattn_attention_batch() recorded into cmd, as seattn_attention_record() records the
 * attention. The metadata (seqs, block_table) is read when the command buffer executes: an
 * engine records a layer once and replays it every step, changing the metadata in place (within
 * the batch's bounds, which the recording fixed) with its own copies or host writes, ordered
 * before the replay like any other input. */
SEATTN_API seattn_status seattn_attention_batch_record(seattn_context *ctx, VkCommandBuffer cmd,
                                                       const seattn_attention_desc *desc,
                                                       const seattn_batch_desc *batch,
                                                       const seattn_attention_tensors *tensors,
                                                       const seattn_tensor *seqs,
                                                       const seattn_tensor *block_table);

/* seattn_attention_merge() recorded into cmd, as seattn_attention_record() records the
 * attention: the same checks first, nothing submitted, the same barriers and lifetime. Record
 * it after the two attentions whose outputs it merges (its first barrier orders it after
 * them). */
SEATTN_API seattn_status seattn_attention_merge_record(
    seattn_context *ctx, VkCommandBuffer cmd, const seattn_attention_desc *desc,
    const seattn_tensor *out_a, const seattn_tensor *lse_a, const seattn_tensor *out_b,
    const seattn_tensor *lse_b, seattn_tensor *out, seattn_tensor *lse);

/* Tells the context that every command buffer recorded so far has finished executing or will
 * never be submitted (e.g. after the app waited for its fence): it frees or reuses what those
 * recordings held. Call it once per frame or decoding step. SEATTN_ERROR_INVALID_ARGUMENT
 * for a NULL ctx; a CPU-backend context has nothing to recycle. */
SEATTN_API seattn_status seattn_context_recycle(seattn_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* SEATTN_SEATTN_VULKAN_H */
