/* The Vulkan backend's private state. Device functions go through the context's own volk
 * device table; instance functions through loader trampolines loaded once. */
#ifndef SEATTN_VK_INTERNAL_H
#define SEATTN_VK_INTERNAL_H

#include "seattn_internal.h"

#include <volk.h>

/* Saves the VkResult, logs the call and where, and jumps to fail. */
#define SEATTN__CHECK(ctx, call)                                                          \
    do {                                                                                  \
        VkResult seattn__r = (call);                                                      \
        if (seattn__r != VK_SUCCESS) {                                                    \
            status = seattn__vk_fail((ctx), seattn__r, #call, __FILE__, __LINE__);        \
            goto fail;                                                                    \
        }                                                                                 \
    } while (0)

struct seattn__vk_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped; /* non-NULL when host-visible and coherent */
};

/* Mirrors the push-constant block of shaders/common.glsl. */
typedef struct seattn__push {
    uint32_t q_len, kv_len, q_pos, n_rep, G, W, rot_half, flags;
    float scale, inv_ln_base;
    uint32_t q_off, q_sh, q_st, k_off, k_sh, k_st, v_off, v_sh, v_st;
    uint32_t o_off, o_sh, o_st, l_off, l_sh, l_st;
    uint32_t split_len, n_split, rope_shift;
} seattn__push;

enum { SEATTN__FLAG_INTERLEAVED = 1, SEATTN__FLAG_KEYS_ROTATED = 2, SEATTN__FLAG_LSE = 4,
       SEATTN__FLAG_SPLIT = 8, SEATTN__FLAG_ONLY_N = 16, SEATTN__FLAG_ONLY_G = 32 };
enum { SEATTN__N_BINDINGS = 7 };

/* attention.comp and merge.comp read storage buffers (layout STORAGE); texel.comp reads Q, K,
 * V and the RoPE table as uniform texel buffers (layout TEXEL). */
typedef enum {
    SEATTN__KERNEL_ATTENTION = 0,
    SEATTN__KERNEL_MERGE = 1,
    SEATTN__KERNEL_TEXEL = 2,
    SEATTN__N_KERNELS
} seattn__kernel;
typedef enum { SEATTN__LAYOUT_STORAGE = 0, SEATTN__LAYOUT_TEXEL = 1 } seattn__layout;
enum { SEATTN__N_SPEC = 9 };

/* One pipeline per kernel and specialization constants (the shape class); created on first use.
 * spec[0] is the workgroup size, spec[1] head_dim, the rest as the kernel declares them. */
typedef struct seattn__pipeline {
    seattn__kernel kernel;
    uint32_t spec[SEATTN__N_SPEC];
    VkPipeline pipeline;
} seattn__pipeline;

struct seattn__vk {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    seattn_device_info info;
    VkDevice device;
    struct VolkDeviceTable vkd;
    uint32_t queue_family;
    VkQueue queue;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    bool lost;
    VkQueryPool timestamps; /* 2 timestamps around a call's dispatches; null if unsupported */
    uint64_t ts_mask;       /* timestampValidBits */
    double ts_period_ns;

    VkShaderModule modules[SEATTN__N_KERNELS];
    VkDescriptorSetLayout set_layout[2]; /* by seattn__layout */
    VkPipelineLayout pipeline_layout[2];
    VkDescriptorPool desc_pool;
    VkDescriptorSet set[2];
    bool texel_ok; /* R32 and RG32 float uniform texel buffers, and subgroup arithmetic in
                    * compute shaders, are supported: texel.comp can run */
    seattn__pipeline pipelines[16];
    uint32_t n_pipelines;

    seattn__vk_buffer staging;  /* host-visible, grows */
    seattn__vk_buffer dummy;    /* bound where a binding is unused */
    seattn__vk_buffer rope;     /* cos/sin tables for rope_theta, rotary_dims below */
    VkBufferView rope_view;     /* rope as RG32F texels, when texel_ok */
    float rope_theta;
    uint32_t rope_rot_half, rope_shift, rope_n_hi; /* vk_rope.c */
    seattn__vk_buffer partial;  /* split partials, grows */
};

seattn_status seattn__vk_fail(seattn_context *ctx, VkResult r, const char *call,
                              const char *file, int line);
seattn_status seattn__vk_status(VkResult r);

/* vk_instance.c */
seattn_status seattn__vk_loader_init(void);
seattn_status seattn__vk_instance_create(seattn_context *ctx, bool validation,
                                         const char *want);
void seattn__vk_fill_info(VkPhysicalDevice phys, seattn_device_info *info);

/* vk_buffer.c */
seattn_status seattn__vk_buffer_create(seattn_context *ctx, VkDeviceSize size, bool host,
                                       seattn__vk_buffer *b);
void seattn__vk_buffer_destroy(seattn_context *ctx, seattn__vk_buffer *b);
/* Makes b hold at least size bytes (contents are lost when it grows). */
seattn_status seattn__vk_buffer_reserve(seattn_context *ctx, seattn__vk_buffer *b,
                                        VkDeviceSize size, bool host);
/* Copies host memory into b (staged when b is not mapped) and waits. */
seattn_status seattn__vk_buffer_write(seattn_context *ctx, seattn__vk_buffer *b,
                                      VkDeviceSize offset, const void *src, size_t bytes);
seattn_status seattn__vk_view_create(seattn_context *ctx, VkBuffer buffer, VkDeviceSize offset,
                                     VkDeviceSize range, VkFormat format, VkBufferView *out);

/* vk_rope.c */
/* Makes the table cover |pos| <= max_pos; says its first level's log2 size, and whether that
 * level alone covers max_pos. */
seattn_status seattn__vk_rope_table(seattn_context *ctx, float theta, uint32_t rot_half,
                                    uint32_t max_pos, uint32_t *shift, bool *one_level);

/* vk_submit.c: the context's one command buffer. */
seattn_status seattn__vk_begin(seattn_context *ctx);
seattn_status seattn__vk_submit_wait(seattn_context *ctx);
/* Records a full memory barrier: every earlier write visible to every later device access, or
 * (to_host) to the host once the fence is waited on. Used between the few steps of one call,
 * where finer barriers would buy nothing. */
void seattn__vk_barrier(seattn_context *ctx, bool to_host);

/* vk_pipeline.c */
seattn_status seattn__vk_pipelines_init(seattn_context *ctx);
void seattn__vk_pipelines_free(seattn_context *ctx);
seattn__layout seattn__vk_kernel_layout(seattn__kernel kernel);
/* spec: SEATTN__N_SPEC values, unused ones 0. */
seattn_status seattn__vk_pipeline_get(seattn_context *ctx, seattn__kernel kernel,
                                      const uint32_t *spec, VkPipeline *out);

/* shaders.c */
typedef struct seattn__shader {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
} seattn__shader;
const seattn__shader *seattn__shader_get(seattn__kernel kernel);

#endif
