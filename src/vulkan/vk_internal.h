/* The Vulkan backend's private state. Every Vulkan function goes through the context's own
 * tables: instance functions loaded with its vkGetInstanceProcAddr (the loader's, or the app's
 * for an imported device), device functions in a volk device table. volk's globals are used
 * only to open the loader and create seattn's own instances (loader.c). */
#ifndef SEATTN_VK_INTERNAL_H
#define SEATTN_VK_INTERNAL_H

#include "seattn_internal.h"

#include <volk.h>

#include "seattn/seattn_vulkan.h"

/* Saves the VkResult, logs the call and where, and jumps to fail. */
#define SEATTN__CHECK(ctx, call)                                                                   \
    do {                                                                                           \
        VkResult seattn__r = (call);                                                               \
        if (seattn__r != VK_SUCCESS) {                                                             \
            status = seattn__vk_fail((ctx), seattn__r, #call, __FILE__, __LINE__);                 \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

struct seattn__vk_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory; /* null for a wrapped app buffer */
    VkDeviceSize size;
    VkDeviceSize base; /* byte offset of the tensor in buffer (wrapped buffers) */
    VkBufferUsageFlags usage;
    bool wrapped; /* the app's buffer: never destroyed by seattn */
    void *mapped; /* non-NULL when host-visible and coherent (seattn's own memory) */
};

/* Instance-level functions, per context (loader.c). */
#define SEATTN__VK_INSTANCE_FNS(X)                                                                 \
    X(vkDestroyInstance)                                                                           \
    X(vkEnumeratePhysicalDevices)                                                                  \
    X(vkGetPhysicalDeviceProperties)                                                               \
    X(vkGetPhysicalDeviceProperties2)                                                              \
    X(vkGetPhysicalDeviceFeatures2)                                                                \
    X(vkGetPhysicalDeviceMemoryProperties)                                                         \
    X(vkGetPhysicalDeviceQueueFamilyProperties)                                                    \
    X(vkGetPhysicalDeviceFormatProperties)                                                         \
    X(vkEnumerateDeviceExtensionProperties)                                                        \
    X(vkCreateDevice)                                                                              \
    X(vkGetDeviceProcAddr)
typedef struct seattn__vki {
#define SEATTN__VKI_FIELD(name) PFN_##name name;
    SEATTN__VK_INSTANCE_FNS(SEATTN__VKI_FIELD)
#undef SEATTN__VKI_FIELD
} seattn__vki;

/* What recorded work holds until it is known to be complete: descriptor sets, texel views, the
 * split scratch, and buffers replaced while it was pending (frame.c). Frame 0 serves the
 * self-submitting calls and is recycled after each; frame 1 serves seattn_attention_record()
 * and is recycled by seattn_context_recycle(). */
typedef struct seattn__frame {
    VkDescriptorPool *pools;
    uint32_t n_pools, cur_pool;
    VkBufferView *views;
    uint32_t n_views, cap_views;
    seattn__vk_buffer *retired;
    uint32_t n_retired, cap_retired;
    seattn__vk_buffer scratch;
    VkDeviceSize scratch_used;
    uint32_t n_calls; /* calls recorded since the last recycle */
} seattn__frame;

/* Mirrors the push-constant block of shaders/common.glsl. */
typedef struct seattn__push {
    uint32_t q_len, kv_len, q_pos, n_rep, G, W, rot_half, flags;
    float scale, inv_ln_base;
    uint32_t q_off, q_sh, q_st, k_off, k_sh, k_st, v_off, v_sh, v_st;
    uint32_t o_off, o_sh, o_st, l_off, l_sh, l_st;
    uint32_t split_len, n_split;
    float q_rot_factor; /* the query's rotated components' factor (attention.c, make_push) */
    float norm_eps;
    uint32_t offs; /* a batch: the meta word where its sequence records start (META_SEQ) */
    uint32_t q_tokens, kv_tokens; /* a batch: tokens of the q/out/lse and k/v views */
} seattn__push;                   /* 128 bytes: every device's maxPushConstantsSize */
_Static_assert(sizeof(seattn__push) <= 128, "push constants past 128 bytes");

enum {
    SEATTN__FLAG_INTERLEAVED = 1,
    SEATTN__FLAG_KEYS_ROTATED = 2,
    SEATTN__FLAG_LSE = 4,
    SEATTN__FLAG_SPLIT = 8,
    SEATTN__FLAG_ONLY_N = 16,
    SEATTN__FLAG_ONLY_G = 32,
    SEATTN__FLAG_ROPE_SHIFT = 24 /* bits 24-28: log2 of the RoPE table's first level */
};
/* Bindings: 0 q, 1 k, 2 v, 3 out, 4 lse, 5 RoPE table, 6 split partials, 7 meta: the QK-norm
 * weights, the sinks and a batch's sequence records and block table, which each call copies
 * into a range of its own (shaders/common.glsl, META_*). At most 8 storage buffers a stage:
 * devices with fewer are refused at context creation (context.c). */
enum { SEATTN__N_BINDINGS = 8 };

/* flash.comp, merge.comp and merge_lse.comp read storage buffers (layout STORAGE); texel.comp
 * reads Q, K, V and the RoPE table as uniform texel buffers (layout TEXEL). */
typedef enum {
    SEATTN__KERNEL_MERGE = 0,     /* merge.comp: a call's key splits */
    SEATTN__KERNEL_TEXEL = 1,     /* texel.comp */
    SEATTN__KERNEL_MERGE_LSE = 2, /* merge_lse.comp: seattn_attention_merge() */
    SEATTN__KERNEL_FLASH = 3,     /* flash.comp, row sums through shared memory */
    SEATTN__KERNEL_FLASH_SG = 4,  /* flash.comp, row sums by subgroupShuffleXor */
    SEATTN__N_KERNELS
} seattn__kernel;
typedef enum { SEATTN__LAYOUT_STORAGE = 0, SEATTN__LAYOUT_TEXEL = 1 } seattn__layout;
/* Shader builds of a kernel (shaders.c): f16 declares 16-bit storage; address reads K and V
 * through buffer device addresses (SEATTN_BDA: texel.comp and flash.comp), chosen by spec[26]
 * KV_CHUNKS. */
enum { SEATTN__VARIANT_F16 = 1, SEATTN__VARIANT_ADDRESS = 2, SEATTN__N_VARIANTS = 4 };
/* spec[9]: which tensors are f16 (SEATTN__F16_*); spec[10]: QK-norm (SEATTN__NORM_*);
 * spec[11]: every pair a neighbor (PLAIN); spec[12]: texel.comp fetches K and V as vec4s;
 * spec[13]: a batch (shaders/batch.glsl): 1 contiguous keys, 2 pages of a power-of-2 size, 3 of
 * any size; spec[16]: texel.comp's keys come rotated (SEATTN_KEYS_ROTATED), so only that key
 * mode's grouped loop is compiled; spec[17]: the logit softcap's bits, a float (0: off);
 * spec[18]: the first rotated dim (rotary_offset); spec[19]: v_head_dim, set for every kernel;
 * spec[20]: sinks are bound; spec[21], spec[22]: k's and v's type when it is none of f32 and
 * f16 (a seattn_dtype: shaders/kv_types.glsl unpacks it from 32-bit words), else 0; spec[23],
 * spec[24]: the fp8 scales of k and v, floats (1 otherwise); spec[25]: texel.comp reads such K
 * and V eight values a step from RGBA32UI texels (with KV_VEC4); spec[26]: K and V lie in that
 * many chunks read by address (the address builds: SEATTN__VARIANT_ADDRESS). */
enum {
    SEATTN__N_SPEC = 27, /* seattn__plan.spec */
    SEATTN__SPEC_KV_CHUNKS = 26,
    SEATTN__SPEC_KV_RUN8 = 25,
    SEATTN__SPEC_VS = 24,
    SEATTN__SPEC_KS = 23,
    SEATTN__SPEC_VT = 22,
    SEATTN__SPEC_KT = 21,
    SEATTN__SPEC_SINKS = 20,
    SEATTN__SPEC_DV = 19,
    SEATTN__SPEC_ROT_OFF = 18,
    SEATTN__SPEC_SOFTCAP = 17,
    SEATTN__SPEC_ROTATED = 16,
    SEATTN__SPEC_SUM_BCAST = 15,
    SEATTN__SPEC_ROPE_VEC4 = 14,
    SEATTN__SPEC_BATCH = 13,
    SEATTN__SPEC_DTYPE = 9,
    SEATTN__SPEC_NORM = 10,
    SEATTN__SPEC_PLAIN = 11,
    SEATTN__SPEC_KV_VEC4 = 12
};
/* spec[9]'s bits: f16 tensors (the SEATTN_F16 build of a shader, which declares 16-bit storage),
 * and bf16 q and out (read and written as 32-bit words: any build). */
enum {
    SEATTN__F16_Q = 1,
    SEATTN__F16_K = 2,
    SEATTN__F16_V = 4,
    SEATTN__F16_OUT = 8,
    SEATTN__F16_ANY = 15,
    SEATTN__BF16_Q = 16,
    SEATTN__BF16_OUT = 128
};
/* Whether a K/V type is read as 32-bit words (kv_types.glsl): every type but f32 and f16. */
static inline uint32_t seattn__raw_type(seattn_dtype t) {
    return t == SEATTN_DTYPE_F32 || t == SEATTN_DTYPE_F16 ? 0u : (uint32_t)t;
}
enum { SEATTN__NORM_Q = 1, SEATTN__NORM_K = 2, SEATTN__NORM_QW = 4, SEATTN__NORM_KW = 8 };

/* What the planner knows of a device (plan.c): read once at context creation, or filled by a
 * test for a device it only compiles for (tests/test_gpu_budget.c). */
typedef struct seattn__caps {
    VkPhysicalDeviceLimits limits; /* lowered by SEATTN_TEST_LIMITS (tests) */
    uint32_t subgroup_size;        /* reported for compute shaders; 0 if none */
    uint32_t sg_min, sg_max;       /* subgroup sizes the driver may pick for compute */
    uint32_t compute_units;        /* CUs / SMs / shader cores an extension reports; 0 if none */
    bool cpu;                      /* VK_PHYSICAL_DEVICE_TYPE_CPU */
    bool llvmpipe;                 /* llvmpipe's loop budget: 65535 iterations an invocation */
    bool flash_sg_ok;              /* flash_sg can run: subgroup shuffles, power-of-2 sizes */
    bool texel_ok;      /* R32 and RG32 float uniform texel buffers, and subgroup arithmetic and
                         * ballot in compute shaders: texel.comp can run */
    bool texel_vec4_ok; /* RGBA32F and RGBA16F uniform texel buffers: texel.comp may fetch K
                         * and V four elements at a time */
    bool sum_bcast;     /* texel.comp sums a score over the lanes by broadcasts, not
                         * subgroupAdd: faster on the llvmpipe of Mesa 25, slower on 22.3 */
} seattn__caps;

/* Sets what follows from the subgroup facts already in caps and the device's subgroup
 * operations in compute (VkSubgroupFeatureFlags): flash_sg_ok. */
void seattn__caps_finish(seattn__caps *caps, uint32_t subgroup_ops);

/* What the planner is told of a call's tensors. */
typedef struct seattn__plan_facts {
    bool texel_views;        /* Q, K, V are texel-buffer usable and within maxTexelBufferElements */
    bool rope_view;          /* the RoPE table has a texel view */
    bool one_level;          /* every |position| is in the RoPE table's first level */
    bool out_vec4;           /* the output's views start and run on 16 bytes (texel.comp) */
    bool kv_vec4;            /* K and V can be RGBA texels (texel.comp) */
    bool kv_run8;            /* and K and V of a type read as words, eight values a step from
                              * RGBA32UI texels */
    bool rope_vec4;          /* the RoPE table's view is RGBA32F, two entries a texel */
    bool q_weight, k_weight; /* QK-norm weight tensors are bound */
    uint32_t force_split;    /* tests (SEATTN_SPLIT): a key split count; 0: the planner's */
    uint32_t n_seqs;         /* a batch of this many sequences (workgroups along z); 0: none.
                              * The call's q_len and kv_len are then the longest sequence's */
    uint32_t page_size;      /* a batch's page size; 0: contiguous keys */
    uint32_t kv_chunks;      /* K and V lie in this many chunks, read by address; 0: bindings */
} seattn__plan_facts;

/* How one call runs: the kernel, its specialization, its grid, and the key split. */
typedef struct seattn__plan {
    seattn__kernel kernel;
    uint32_t spec[SEATTN__N_SPEC];
    uint32_t wg_x, wg_y;  /* workgroups for all q_len tokens */
    uint32_t tok_per_wg;  /* tokens a workgroup along x covers; 0: rows_per_wg rows */
    uint32_t rows_per_wg; /* (token, query head) rows a workgroup along x covers */
    uint32_t n_split, split_len, chunk;
} seattn__plan;

/* The plan of call r on a device with caps, running kernel (the texel kernel falls back to
 * flash_smem where the call's shape or facts rule it out, unless forced). A pure function: on
 * failure it returns the status and writes why. */
seattn_status seattn__plan_make(const seattn__caps *caps, const seattn_attention_desc *r,
                                seattn__kernel kernel, bool forced, const seattn__plan_facts *f,
                                seattn__plan *pl, char *why, size_t why_size);
/* A short name of the plan's kernel variant, for seattn_call_stats and people. */
void seattn__plan_name(const seattn__plan *pl, char *out, size_t size);
/* The kernel a call runs before its shape is looked at: forced_row's (>= 0), else flash_smem
 * when the portable one is asked for, else texel on CPU devices and flash on GPUs. */
seattn__kernel seattn__plan_default_kernel(const seattn__caps *caps, int forced_row, bool portable);
/* Every pair a neighbor: the kernels' plain specialization runs. */
bool seattn__plan_all_neighbors(const seattn_attention_desc *r);
/* texel.comp's lane layout gives each lane aligned runs of four elements: of v and out
 * (v_side), or of k and v. */
bool seattn__plan_texel_vec4_runs(const seattn_attention_desc *r, uint32_t sg, bool v_side);
/* The same for runs of n elements (n a power of 2). */
bool seattn__plan_texel_runs(const seattn_attention_desc *r, uint32_t sg, bool v_side, uint32_t n);

/* One pipeline per kernel and specialization constants (the shape class); created on first use.
 * spec[0] is the workgroup size, spec[1] head_dim, the rest as the kernel declares them. */
typedef struct seattn__pipeline {
    seattn__kernel kernel;
    uint32_t spec[SEATTN__N_SPEC];
    VkPipeline pipeline;
} seattn__pipeline;

/* rope.c: the RoPE table a call needs, a pure function of the device and the call (the facts
 * step: the planner is told its view and levels before anything is made). A first level of
 * 1 << shift entries, n_hi entries of the second, and the texel view it gets. */
typedef enum {
    SEATTN__ROPE_VIEW_NONE = 0, /* storage buffer only: the texel kernel cannot take the call */
    SEATTN__ROPE_VIEW_RG = 1,   /* RG32F texels, one entry each */
    SEATTN__ROPE_VIEW_RGBA = 2  /* RGBA32F texels, two entries each */
} seattn__rope_view;
typedef struct seattn__rope_shape {
    uint32_t shift, n_hi;
    seattn__rope_view view;
} seattn__rope_shape;
/* A RoPE cos/sin table for one set of frequencies (rope.c). Several are kept, so models whose
 * layers alternate theta or scaling (Gemma 3) do not rebuild one every call. */
enum { SEATTN__MAX_ROT_HALF = 256 };
typedef struct seattn__rope {
    float theta;                       /* theta's frequencies; 0: freq's, a model's own */
    double freq[SEATTN__MAX_ROT_HALF]; /* with theta 0: each pair's frequency, rot_half of them */
    uint32_t rot_half, shift, n_hi;
    seattn__vk_buffer buf;
    VkBufferView view; /* as view_kind says */
    seattn__rope_view view_kind;
    uint64_t used;
} seattn__rope;
enum { SEATTN__N_ROPES = 4 };

struct seattn__vk {
    seattn__vki vki;
    bool own_instance, own_device; /* false for the app's objects: never destroyed */
    VkAllocationCallbacks alloc_copy;
    const VkAllocationCallbacks *alloc; /* &alloc_copy when the app gave callbacks, else NULL */
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props; /* limits lowered by SEATTN_TEST_LIMITS (tests) */
    VkDeviceSize max_alloc;           /* maxMemoryAllocationSize */
    bool test_unmapped;  /* SEATTN_TEST_LIMITS device_local=1: device buffers stay unmapped */
    uint32_t test_split; /* SEATTN_SPLIT: key splits every call is forced to; 0: the plan's */
    bool full_subgroups; /* computeFullSubgroups enabled: flash_sg pipelines require them */
    VkPhysicalDeviceMemoryProperties mem_props;
    seattn_device_info info;
    bool storage_16bit; /* storageBuffer16BitAccess is enabled on the device */
    bool address;       /* bufferDeviceAddress is enabled: K and V may lie in chunks */
    VkDevice device;
    struct VolkDeviceTable vkd;
    uint32_t queue_family;
    VkQueue queue;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    bool lost; /* device lost or hung: every later call fails with lost_status */
    bool hung; /* a wait timed out: our work may still run, so nothing is freed */
    seattn_status lost_status;
    VkQueryPool timestamps; /* 2 timestamps around a call's dispatches; null if unsupported */
    uint64_t ts_mask;       /* timestampValidBits */
    double ts_period_ns;

    VkShaderModule modules[SEATTN__N_VARIANTS][SEATTN__N_KERNELS]; /* [variant][kernel] */
    VkDescriptorSetLayout set_layout[2];                           /* by seattn__layout */
    VkPipelineLayout pipeline_layout[2];
    VkPipelineCache pipeline_cache;
    char *pipeline_cache_path; /* saved there at destroy; NULL: none */
    uint32_t device_index;     /* vk->phys's place in the instance's device list */
    seattn__caps caps;         /* what the planner knows of the device, read once */
    int forced_kernel;         /* seattn_context_options.kernel or SEATTN_KERNEL; -1: none */
    seattn__pipeline *pipelines;
    uint32_t n_pipelines, cap_pipelines;
    seattn__frame frames[2];

    seattn__vk_buffer staging;           /* host-visible, grows */
    seattn__vk_buffer dummy;             /* bound where a binding is unused */
    seattn__rope ropes[SEATTN__N_ROPES]; /* rope.c: tables for recent sets of frequencies */
    uint64_t rope_clock;                 /* for the least recently used */
};

seattn_status seattn__vk_fail(seattn_context *ctx, VkResult r, const char *call, const char *file,
                              int line);
/* The status a lost or hung context fails fast with (SEATTN_SUCCESS if neither). */
seattn_status seattn__vk_check_lost(seattn_context *ctx);
seattn_status seattn__vk_status(VkResult r);

/* loader.c */
seattn_status seattn__vk_loader_init(void);
PFN_vkGetInstanceProcAddr seattn__vk_loader_gipa(void);
/* Fills *t from gipa for instance; false if a function is missing (instance below 1.1). */
bool seattn__vk_load_instance(PFN_vkGetInstanceProcAddr gipa, VkInstance instance, seattn__vki *t);
/* Fills the device table through gdpa, never through volk's globals. */
void seattn__vk_load_device(PFN_vkGetDeviceProcAddr gdpa, VkDevice device,
                            struct VolkDeviceTable *t);

/* instance.c */
seattn_status seattn__vk_instance_create(seattn_context *ctx, bool validation, const char *want);
void seattn__vk_fill_info(const seattn__vki *vki, VkPhysicalDevice phys, seattn_device_info *info);

/* context.c: after vk->phys, vk->device and vk->queue_family are set (own or imported). */
seattn_status seattn__vk_device_setup(seattn_context *ctx);

/* buffer.c */
seattn_status seattn__vk_buffer_create(seattn_context *ctx, VkDeviceSize size, bool host,
                                       seattn__vk_buffer *b);
/* Frees b now, or hands it to frame 1 when recorded work may still use it. */
void seattn__vk_buffer_destroy(seattn_context *ctx, seattn__vk_buffer *b);
void seattn__vk_buffer_retire(seattn_context *ctx, seattn__vk_buffer *b);
/* Hands b to frame f, which frees it at its next recycle. */
void seattn__vk_buffer_retire_to(seattn_context *ctx, seattn__frame *f, seattn__vk_buffer *b);
/* Makes b hold at least size bytes (contents are lost when it grows). */
seattn_status seattn__vk_buffer_reserve(seattn_context *ctx, seattn__vk_buffer *b,
                                        VkDeviceSize size, bool host);
/* Copies host memory into b (staged when b is not mapped) and waits. */
seattn_status seattn__vk_buffer_write(seattn_context *ctx, seattn__vk_buffer *b,
                                      VkDeviceSize offset, const void *src, size_t bytes);
seattn_status seattn__vk_view_create(seattn_context *ctx, VkBuffer buffer, VkDeviceSize offset,
                                     VkDeviceSize range, VkFormat format, VkBufferView *out);

/* The table for rotary pairs rot_half covering |pos| <= max_pos on a device with caps. */
void seattn__vk_rope_shape(const seattn__caps *caps, uint32_t rot_half, uint32_t max_pos,
                           seattn__rope_shape *out);
/* rope.c, the ensure step: makes the table of the rot_half frequencies inv_freq (NULL: theta's)
 * cover what shape covers, with shape's view, and returns it (one already kept is reused when
 * it covers as much with the same view). A new table is uploaded by a copy recorded into cb
 * when cb is not NULL (the staging buffer then goes to *staging, which the caller retires once
 * the call is counted in frame 1), else written at once: recording into an app's command
 * buffer never submits. */
seattn_status seattn__vk_rope_table(seattn_context *ctx, VkCommandBuffer cb, float theta,
                                    const double *inv_freq, uint32_t rot_half,
                                    const seattn__rope_shape *shape, const seattn__rope **out,
                                    seattn__vk_buffer *staging);
void seattn__vk_rope_free(seattn_context *ctx);

/* context.c: the context's one command buffer. */
seattn_status seattn__vk_begin(seattn_context *ctx);
seattn_status seattn__vk_submit_wait(seattn_context *ctx);
/* Records a full memory barrier into the context's command buffer: every earlier write
 * visible to every later device access, or (to_host) to the host once the fence is waited
 * on. Used around the self-submitting calls' steps. */
void seattn__vk_barrier(seattn_context *ctx, bool to_host);
/* Compute-to-compute barrier between the dispatches of one attention, in any command buffer. */
void seattn__vk_compute_barrier(seattn_context *ctx, VkCommandBuffer cb);

/* plan.c: the kernel table. lookup: a row's index, -2 for "flash", -3 for "storage" (retired),
 * -1 if unknown. */
int seattn__vk_kernel_lookup(const char *name);
const char *seattn__vk_kernel_names(void);
const char *seattn__vk_kernel_why_not(const seattn__caps *caps, int row);
/* attention.c: seattn_attention_merge_record(), into the app's command buffer (frame 1). */
seattn_status seattn__vk_merge_record(seattn_context *ctx, VkCommandBuffer cb,
                                      const seattn_attention_desc *r,
                                      const seattn_tensor *const outs[3],
                                      const seattn_tensor *const lses[3], seattn_call_stats *stats);
/* attention.c: records into the app's command buffer with frame 1. */
seattn_status seattn__vk_attention_record(seattn_context *ctx, VkCommandBuffer cb,
                                          const seattn_attention_desc *r,
                                          const seattn_attention_tensors *t,
                                          const seattn__batch *batch, seattn_call_stats *stats);

/* frame.c */
seattn_status seattn__vk_frame_set(seattn_context *ctx, seattn__frame *f, VkDescriptorSetLayout l,
                                   VkDescriptorSet *out);
seattn_status seattn__vk_frame_view(seattn_context *ctx, seattn__frame *f, VkBuffer buffer,
                                    VkDeviceSize offset, VkDeviceSize range, VkFormat format,
                                    VkBufferView *out);
/* bytes of split scratch, 256-byte aligned, that no other work of the frame uses. */
seattn_status seattn__vk_frame_scratch(seattn_context *ctx, seattn__frame *f, VkDeviceSize bytes,
                                       VkDescriptorBufferInfo *out);
/* Destroys view now, or at frame 1's recycle when recorded work may still use it. */
void seattn__vk_view_retire(seattn_context *ctx, VkBufferView view);
void seattn__vk_frame_recycle(seattn_context *ctx, seattn__frame *f);
void seattn__vk_frame_free(seattn_context *ctx, seattn__frame *f);

/* pipeline.c */
seattn_status seattn__vk_pipelines_init(seattn_context *ctx);
void seattn__vk_pipelines_free(seattn_context *ctx);
seattn__layout seattn__vk_kernel_layout(seattn__kernel kernel);
/* spec: SEATTN__N_SPEC values, unused ones 0. */
seattn_status seattn__vk_pipeline_get(seattn_context *ctx, seattn__kernel kernel,
                                      const uint32_t *spec, VkPipeline *out);
/* pipeline_cache.c: loads options' cache file into vk->pipeline_cache; saves it. */
seattn_status seattn__vk_pipeline_cache_init(seattn_context *ctx, const char *path);
void seattn__vk_pipeline_cache_save(seattn_context *ctx);

/* shaders.c */
typedef struct seattn__shader {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
} seattn__shader;
/* f16: the variant that declares 16-bit storage (only used where the device enabled it). */
/* variant: SEATTN__VARIANT_* bits; code NULL where a kernel has no such build */
const seattn__shader *seattn__shader_get(seattn__kernel kernel, uint32_t variant);

#endif
