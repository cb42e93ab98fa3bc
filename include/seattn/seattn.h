/*
 * seattn: Self-Extend attention (Jin et al., ICML 2024) as Vulkan compute kernels.
 *
 * One header, C11, prefix seattn_. Everything here is documented with what it owns, what it
 * returns on failure and whether it is thread-safe.
 *
 * Thread safety: a context and everything created from it (tensors) are externally
 * synchronized: use one context from one thread at a time. Separate contexts are independent
 * and may be used from separate threads at once. seattn_version(), seattn_version_string() and
 * seattn_status_string() are thread-safe.
 *
 * Errors: every fallible call returns a seattn_status (0 on success, negative on failure) and
 * writes results through a trailing pointer, which is set to NULL on failure. A call that takes
 * a context also leaves a message in seattn_context_last_error() that names the argument or
 * the Vulkan call that failed. No call aborts, asserts on run-time input or exits.
 */
#ifndef SEATTN_SEATTN_H
#define SEATTN_SEATTN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SEATTN_SHARED)
#    ifdef SEATTN_BUILD
#        define SEATTN_API __declspec(dllexport)
#    else
#        define SEATTN_API __declspec(dllimport)
#    endif
#elif defined(__GNUC__)
#    define SEATTN_API __attribute__((visibility("default")))
#else
#    define SEATTN_API
#endif

/* ---- Version ------------------------------------------------------------------------------ */

#define SEATTN_VERSION_MAJOR 0
#define SEATTN_VERSION_MINOR 1
#define SEATTN_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 100 for 0.1.0. */
#define SEATTN_VERSION                                                                             \
    (SEATTN_VERSION_MAJOR * 10000 + SEATTN_VERSION_MINOR * 100 + SEATTN_VERSION_PATCH)

/* The version the library was built as (SEATTN_VERSION of its header). Thread-safe. */
SEATTN_API uint32_t seattn_version(void);
/* "MAJOR.MINOR.PATCH", a static string. Thread-safe. */
SEATTN_API const char *seattn_version_string(void);

/* ---- Status ------------------------------------------------------------------------------- */

/* XX(name, value, description). Grouped by what the caller can do about it. */
#define SEATTN_STATUS_MAP(XX)                                                                      \
    XX(SUCCESS, 0, "success")                                                                      \
    XX(ERROR_INVALID_ARGUMENT, -1, "invalid argument")                                             \
    XX(ERROR_BUFFER_TOO_SMALL, -2, "a tensor is too small for the described shape")                \
    XX(ERROR_UNSUPPORTED, -3, "not supported by this backend or device")                           \
    XX(ERROR_NO_DEVICE, -4, "no usable Vulkan device or driver")                                   \
    XX(ERROR_OUT_OF_MEMORY, -5, "out of host or device memory")                                    \
    XX(ERROR_DEVICE_LOST, -6, "the Vulkan device was lost")                                        \
    XX(ERROR_TIMEOUT, -7, "the device did not finish in time")                                     \
    XX(ERROR_VULKAN, -8, "a Vulkan call failed")                                                   \
    XX(ERROR_IO, -9, "a file could not be read or is malformed")

typedef enum seattn_status {
#define SEATTN__STATUS_ENUM(name, value, text) SEATTN_##name = value,
    SEATTN_STATUS_MAP(SEATTN__STATUS_ENUM)
#undef SEATTN__STATUS_ENUM
} seattn_status;

/* A static English description of a status ("unknown status" for other values). Thread-safe. */
SEATTN_API const char *seattn_status_string(seattn_status status);

/* ---- Context ------------------------------------------------------------------------------ */

typedef struct seattn_context seattn_context;
typedef struct seattn_tensor seattn_tensor;

typedef enum seattn_backend {
    SEATTN_BACKEND_VULKAN = 0, /* a Vulkan device (default) */
    SEATTN_BACKEND_CPU = 1     /* the CPU reference: plain C, double accumulation, slow, exact */
} seattn_backend;

typedef enum seattn_log_level {
    SEATTN_LOG_DEBUG = 0,
    SEATTN_LOG_INFO = 1,
    SEATTN_LOG_WARNING = 2,
    SEATTN_LOG_ERROR = 3
} seattn_log_level;

/* Receives library messages and, with validation on, every Vulkan validation message (errors at
 * SEATTN_LOG_ERROR). Called on the thread that made the seattn call, or on a driver thread for
 * validation messages. */
typedef void (*seattn_log_fn)(seattn_log_level level, const char *message, void *user);

/* Flags for seattn_context_options.flags. */
/* Enable VK_LAYER_KHRONOS_validation if installed. */
#define SEATTN_CONTEXT_VALIDATION 0x1u
/* Force the portable kernel, flash_smem (flash.comp with row sums through shared memory: no
 * subgroup operations, storage-buffer loads), on any device; env SEATTN_PORTABLE=1 also.
 * seattn_context_options.kernel names any kernel. */
#define SEATTN_CONTEXT_PORTABLE 0x2u

struct VkAllocationCallbacks; /* <vulkan/vulkan.h>; only a pointer is used here */

/* Options for seattn_context_create(). `seattn_context_options o = {0};` is all defaults, and
 * so is passing NULL. Fields are only ever appended. */
typedef struct seattn_context_options {
    seattn_backend backend; /* 0: Vulkan */
    /* Vulkan device: NULL picks the environment variable SEATTN_DEVICE if set, else the first
     * discrete GPU, then integrated, then virtual, then CPU device. A decimal string is an index
     * into the list of seattn_device_list(); anything else is matched as a case-insensitive
     * part of the device name. */
    const char *device;
    uint32_t flags;      /* SEATTN_CONTEXT_*; 0: none */
    seattn_log_fn log;   /* NULL: messages are dropped (errors still reach last_error) */
    void *log_user;      /* passed to log */
    uint32_t timeout_ms; /* longest wait for the device per call; 0: 60000 */
    /* The app's allocation callbacks: passed to every Vulkan call that creates or destroys an
     * object of seattn's (instance, device, buffers, memory, views, pipelines, pools...), and
     * copied, so the struct may go away; its pUserData must outlive the context. NULL: the
     * driver's allocator. */
    const struct VkAllocationCallbacks *vk_allocator;
    /* A file for the context's VkPipelineCache: read at creation if it exists and matches the
     * device (a stale or foreign file is ignored, with a log message), written at destroy
     * (atomically: a temporary file, then rename). A second start then skips the shader
     * compiler where the driver keeps pipelines in its VkPipelineCache (lavapipe keeps only a
     * header there: Mesa caches shaders on disk itself). NULL: no file. */
    const char *pipeline_cache_path;
    /* The attention kernel every call runs, by name (seattn_context_kernel_info() lists them;
     * "flash" is the best flash kernel the device has); the context is not created if the
     * device cannot run it, and a call it cannot take fails. NULL or "": the environment
     * variable SEATTN_KERNEL if set, else the library's choice per call. Vulkan only. */
    const char *kernel;
} seattn_context_options;

/* Creates a context: on the CPU reference, or on a Vulkan device with its own instance, device,
 * compute queue and pipelines. The context owns all of these. On failure *out is NULL and, since
 * no context exists to hold the message, the reason goes to options->log (if any) and to
 * seattn_last_create_error() of this thread. */
SEATTN_API seattn_status seattn_context_create(const seattn_context_options *options,
                                               seattn_context **out);
/* Destroys a context. Destroy its tensors first. NULL is accepted. The caller ensures no work of
 * this context is still running (every seattn call that submits work also waits for it).
 * After SEATTN_ERROR_DEVICE_LOST or SEATTN_ERROR_TIMEOUT every later call on the context that
 * would use the device fails fast with that same status; destroy the context. After a loss
 * destroying it frees everything (a lost device runs nothing more). After a timeout it frees
 * host memory only: seattn's Vulkan objects are leaked on purpose, since the device may still
 * be writing to them. */
SEATTN_API void seattn_context_destroy(seattn_context *ctx);
/* The message of the last failed call on this context ("" if none). Valid until the next call
 * on the context. */
SEATTN_API const char *seattn_context_last_error(const seattn_context *ctx);
/* The raw VkResult of the last failed Vulkan call on this context (0 if none). */
SEATTN_API int32_t seattn_context_last_vk_result(const seattn_context *ctx);
/* The message of this thread's last failed seattn_context_create() ("" if none). */
SEATTN_API const char *seattn_last_create_error(void);
/* Number of validation messages of severity warning or error seen by this context (0 without
 * SEATTN_CONTEXT_VALIDATION). Tests use it to fail on any such message. */
SEATTN_API uint32_t seattn_context_validation_errors(const seattn_context *ctx);

/* What the context's last successful seattn_attention() did, for benchmarks and logs.
 * seattn_context_last_call() copies it into *out (all zero before any call); it returns
 * SEATTN_ERROR_INVALID_ARGUMENT if ctx or out is NULL. Like every call on a context, use it
 * from one thread at a time. */
typedef struct seattn_call_stats {
    double device_ms;    /* device time from the first dispatch's start to the last one's end,
                          * from GPU timestamps; < 0 where the queue has none (and on the CPU
                          * backend) */
    double host_ms;      /* wall time of the call in the library after its argument checks:
                          * planning, recording, submit and wait */
    uint32_t dispatches; /* compute dispatches recorded */
    char kernel[96];     /* the kernel variant, for people: e.g. "texel d128 sg8 t2 r4 plain"
                          * (name, head_dim, then the variant's parameters) */
    int32_t kernel_id;   /* the kernel, for programs: a seattn_kernel_id */
    uint32_t key_splits; /* key splits merged by log-sum-exp (flash-decoding); 1: none */
    uint32_t plain;      /* 1 if the plain specialization ran (every pair a neighbor: no
                          * grouped positions computed at all) */
} seattn_call_stats;

/* seattn_call_stats.kernel_id. */
typedef enum seattn_kernel_id {
    SEATTN_KERNEL_CPU_REFERENCE = 0, /* the CPU backend */
    SEATTN_KERNEL_STORAGE = 1,       /* retired (attention.comp): no call reports it now; the
                                      * value stays reserved */
    SEATTN_KERNEL_TEXEL = 2,         /* shaders/texel.comp: texel buffers and subgroups, CPU
                                      * devices (lavapipe) */
    SEATTN_KERNEL_MERGE = 3,         /* shaders/merge_lse.comp: seattn_attention_merge() */
    SEATTN_KERNEL_FLASH = 4          /* shaders/flash.comp: tiles in registers and shared
                                      * memory, the GPU default */
} seattn_kernel_id;
SEATTN_API seattn_status seattn_context_last_call(const seattn_context *ctx,
                                                  seattn_call_stats *out);

/* A row of the Vulkan backend's kernel table, and whether this context's device can run it. */
typedef struct seattn_kernel_info {
    char name[32];         /* what seattn_context_options.kernel takes */
    char description[160]; /* for people */
    int32_t kernel_id;     /* a seattn_kernel_id */
    uint32_t available;    /* 1 if the device can run it */
    char why_not[160];     /* what the device lacks, when not available */
} seattn_kernel_info;
/* Row index of the kernel table into *out. SEATTN_ERROR_INVALID_ARGUMENT past the last row (so
 * a loop from 0 lists them all), on a CPU-backend context, or for NULL arguments. */
SEATTN_API seattn_status seattn_context_kernel_info(const seattn_context *ctx, uint32_t index,
                                                    seattn_kernel_info *out);

/* ---- Devices ------------------------------------------------------------------------------ */

typedef struct seattn_device_info {
    char name[256];
    char driver[256]; /* driver name and info, where the device reports them */
    uint32_t vendor_id, device_id;
    uint32_t api_version; /* VK_MAKE_API_VERSION encoding */
    uint32_t driver_version;
    int32_t type; /* VkPhysicalDeviceType */
    uint32_t max_storage_buffer_range;
    uint32_t max_compute_shared_memory;
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    uint32_t max_texel_buffer_elements;
    uint32_t subgroup_size;      /* 0 if unknown */
    uint32_t subgroup_ops;       /* VkSubgroupFeatureFlags supported in compute */
    uint32_t storage_16bit;      /* storageBuffer16BitAccess */
    uint32_t shader_float16;     /* shaderFloat16 (VK_KHR_shader_float16_int8 or Vulkan 1.2) */
    float timestamp_period_ns;   /* 0: no compute timestamps */
    uint64_t device_local_bytes; /* size of the largest device-local heap */
    uint32_t index;              /* its position in seattn_device_list(), the number
                                  * seattn_context_options.device takes; UINT32_MAX for an
                                  * app's device (seattn_context_create_vulkan) */
    uint8_t device_uuid[16];     /* deviceUUID and driverUUID (VkPhysicalDeviceIDProperties):
                                  * two identical GPUs, or one CPU under two drivers, differ */
    uint8_t driver_uuid[16];
} seattn_device_info;

/* Lists the Vulkan devices. Writes at most *count entries to infos (which may be NULL to query
 * the count) and sets *count to the number of devices. Returns SEATTN_ERROR_NO_DEVICE if no
 * Vulkan loader or driver is present. Thread-safe. */
SEATTN_API seattn_status seattn_device_list(seattn_device_info *infos, uint32_t *count);
/* The device the context runs on. For the CPU backend, name is "cpu-reference". */
SEATTN_API seattn_status seattn_context_device_info(const seattn_context *ctx,
                                                    seattn_device_info *info);

/* ---- Tensors ------------------------------------------------------------------------------ */

/* Storage types of q, k, v and out. Arithmetic is f32 (the CPU reference: double) whatever the
 * storage: elements are decoded exactly on load (an fp8 element is the f32 product of its value
 * and the tensor's scale, rounded once), and a 16-bit output is rounded to nearest even once, at
 * the end (f16 saturating at +-65504; see Numerics below). lse, the QK-norm weights and the
 * sinks are always f32.
 *  - q and out: f32, f16 or bf16. k and v: any type below.
 *  - f16 needs the device's storageBuffer16BitAccess (enabled by seattn on its own devices; for
 *    an imported device the app says it enabled it): without it a call with an f16 tensor
 *    returns SEATTN_ERROR_UNSUPPORTED and writes nothing. Every other type is read as 32-bit
 *    words and unpacked (a bf16 output is written with 32-bit atomics), so it runs on any
 *    device.
 *  - Strides and offsets count elements (values) for every type. The block types hold their
 *    values in blocks of 32 along head_dim: their head_dim (v_head_dim for v) must be a
 *    multiple of 32 and their offset and both strides multiples of 32, so a vector is whole
 *    blocks; value e sits in block e / 32 (byte (e / 32) * block bytes). A tensor's buffer
 *    offset needs no alignment beyond what seattn_tensor_wrap() asks of every tensor; a view
 *    read as words is read in whole 32-bit words, so a wrapped tensor whose view would end
 *    inside the last word of the bytes it wraps gets SEATTN_ERROR_UNSUPPORTED (wrap up to the
 *    next multiple of 4; seattn's own tensors always are).
 *  - fp8_e4m3 takes a per-tensor f32 scale (k_scale, v_scale in seattn_attention_desc), as
 *    vLLM's and FlashInfer's fp8 KV caches keep. Each distinct pair of scales is a constant of
 *    its own pipelines (compiled once, kept in the pipeline cache). */
typedef enum seattn_dtype {
    SEATTN_DTYPE_F32 = 0,     /* IEEE binary32 */
    SEATTN_DTYPE_F16 = 1,     /* IEEE binary16, little-endian */
    SEATTN_DTYPE_BF16 = 2,    /* the upper 16 bits of a binary32, little-endian */
    SEATTN_DTYPE_Q8_0 = 3,    /* llama.cpp's block_q8_0, 34 bytes a block of 32 values: an f16
                               * scale d, then 32 int8 q; value = d * q */
    SEATTN_DTYPE_Q4_0 = 4,    /* llama.cpp's block_q4_0, 18 bytes a block of 32 values: an f16
                               * scale d, then 16 bytes qs; value i < 16 is ((qs[i] & 15) - 8) d,
                               * value i >= 16 is ((qs[i - 16] >> 4) - 8) d */
    SEATTN_DTYPE_FP8_E4M3 = 5 /* OCP E4M3FN, a byte a value (no infinities, max 448, S.1111.111
                               * NaN); value = e4m3 * scale */
} seattn_dtype;

/* Bytes a tensor of `elements` values of type t occupies (a block type: rounded up to whole
 * blocks of 32); 0 for an unknown type. */
SEATTN_API size_t seattn_dtype_bytes(seattn_dtype t, size_t elements);
/* A readable name ("f32", "f16", "bf16", "q8_0", "q4_0", "fp8_e4m3"), a static string; NULL for
 * an unknown type. seattn_dtype_from_name() is its inverse: SEATTN_ERROR_INVALID_ARGUMENT for an
 * unknown name (*t untouched). All three are pure and thread-safe. */
SEATTN_API const char *seattn_dtype_name(seattn_dtype t);
SEATTN_API seattn_status seattn_dtype_from_name(const char *name, seattn_dtype *t);
/* Encodes n f32 values into type t's bytes (dst holds seattn_dtype_bytes(t, n)), as the engines
 * do: f16 and bf16 round to nearest even; q8_0 and q4_0 are ggml's reference quantizers
 * (quantize_row_q8_0_ref, quantize_row_q4_0_ref) bit for bit, n a multiple of 32; fp8_e4m3 is
 * x / scale in f32, saturated to +-448, rounded to nearest even (vLLM's conversion; NaN stays
 * NaN). scale is read for fp8_e4m3 only (finite and > 0). Decoding gives what every kernel
 * reads. SEATTN_ERROR_INVALID_ARGUMENT for an unknown type, a bad n or scale. Thread-safe. */
SEATTN_API seattn_status seattn_quantize(seattn_dtype t, const float *src, size_t n, void *dst,
                                         float scale);
SEATTN_API seattn_status seattn_dequantize(seattn_dtype t, const void *src, size_t n, float *dst,
                                           float scale);

/* Converts n values between f32 and f16 bits, as seattn does: round to nearest even, past
 * 65504 to inf, NaN stays NaN; widening is exact. src and dst must not overlap. Thread-safe. */
SEATTN_API void seattn_f32_to_f16(const float *src, uint16_t *dst, size_t n);
SEATTN_API void seattn_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/* A tensor is untyped device memory of `bytes` bytes (host memory on the CPU backend); the
 * attention descriptor says how its elements are laid out. Contents start undefined. The
 * context owns the memory; the tensor must be destroyed before its context. */
SEATTN_API seattn_status seattn_tensor_create(seattn_context *ctx, size_t bytes,
                                              seattn_tensor **out);
/* Frees the tensor. NULL is accepted. No work using it may be running. */
SEATTN_API void seattn_tensor_destroy(seattn_tensor *tensor);
SEATTN_API size_t seattn_tensor_bytes(const seattn_tensor *tensor);
/* Copies `bytes` bytes from host memory into the tensor at byte `offset`, and waits. Returns
 * SEATTN_ERROR_BUFFER_TOO_SMALL if offset + bytes exceeds the tensor. */
SEATTN_API seattn_status seattn_tensor_upload(seattn_context *ctx, seattn_tensor *tensor,
                                              size_t offset, const void *src, size_t bytes);
/* Copies `bytes` bytes of the tensor at byte `offset` into host memory, and waits. */
SEATTN_API seattn_status seattn_tensor_download(seattn_context *ctx, const seattn_tensor *tensor,
                                                size_t offset, void *dst, size_t bytes);

/* ---- Attention ---------------------------------------------------------------------------- */

typedef enum seattn_rope_layout {
    SEATTN_ROPE_ROTATE_HALF = 0, /* Hugging Face / NeoX: pairs (x[m], x[m + d/2]) */
    SEATTN_ROPE_INTERLEAVED = 1  /* GPT-J / GGUF llama: pairs (x[2m], x[2m + 1]) */
} seattn_rope_layout;

typedef enum seattn_key_mode {
    SEATTN_KEYS_RAW = 0,    /* keys arrive before RoPE */
    SEATTN_KEYS_ROTATED = 1 /* keys arrive rotated at their own position j, as a KV cache holds
                             * them; the grouped score rotates them further by j/G - j */
} seattn_key_mode;

/* Element strides of a [heads, tokens, head_dim] view; the head_dim elements of one vector are
 * contiguous. Both zero: dense [heads, tokens, head_dim]. Set both for any other layout, e.g.
 * {head = head_dim, token = n_heads * head_dim} for [tokens, heads, head_dim]. */
typedef struct seattn_strides {
    uint64_t head;
    uint64_t token;
} seattn_strides;

/* Flags for seattn_attention_desc.flags. */
#define SEATTN_ATTN_Q_POS 0x1u /* q_pos below is given; else queries are the last q_len tokens */
/* Only the neighbor pairs (p - j < W) take part; with G = 1 this is sliding-window attention. */
#define SEATTN_ATTN_NEIGHBOR_ONLY 0x2u
/* Only the grouped pairs (p - j >= W) take part; a row without any gets out = 0, lse = -inf.
 * With SEATTN_ATTN_NEIGHBOR_ONLY and the lse output these are the two halves the authors'
 * two-pass method merges by log-sum-exp (seattn bench compares it with the fused kernel). */
#define SEATTN_ATTN_GROUPED_ONLY 0x4u
/* QK-norm (Qwen3, Gemma 3, OLMo 2 per head): an RMSNorm of each query (Q_NORM) and each key
 * (K_NORM) over head_dim, x_i * w_i / sqrt(mean(x^2) + eps), applied to the raw vector before
 * scale_base and RoPE. The weights w are optional f32 [head_dim] tensors (all ones when
 * absent, see seattn_attention_tensors). K_NORM needs raw keys (SEATTN_KEYS_RAW): a cache of
 * rotated keys holds them normed already. A zero vector stays zero. */
#define SEATTN_ATTN_Q_NORM 0x8u
#define SEATTN_ATTN_K_NORM 0x10u
/* Attention sinks (gpt-oss): one f32 logit z_h per query head joins the softmax's denominator
 * and has no value: out = sum_j e^s_j v_j / (e^z_h + sum_j e^s_j), and the lse output is
 * ln(e^z_h + sum_j e^s_j). The sinks are an f32 [n_heads] tensor (seattn_attention_tensors,
 * at sinks_offset), clamped like any input; a sink is never softcapped. With the ONLY flags
 * the sink belongs to the neighbor half: a NEIGHBOR_ONLY call includes it, a GROUPED_ONLY
 * call leaves it out, so the two halves merged by seattn_attention_merge() give the fused
 * attention with its sink, counted once. Key splits add it once, after their merge. */
#define SEATTN_ATTN_SINKS 0x20u

/* Numerics, the same on every kernel and the CPU reference:
 *  - Finite inputs always give finite outputs. Elements of q, k and v are clamped to +-2^56
 *    (7.2e16) when loaded, and so are the query after QK-norm, log scaling and the softmax
 *    scale (which are applied to it before RoPE) and the key after QK-norm. Below these
 *    bounds the clamps change nothing; past them attention is a hard maximum anyway. Then no
 *    score or sum can overflow f32, and each output element lies within the range of the
 *    (clamped) values it averages. An f16 output saturates at +-65504.
 *  - +-Inf inputs are clamped like any large value (to +-2^56).
 *  - A NaN input reaches only the rows that use it: a query row's own output, and the rows
 *    that attend the key or value holding it. Those rows get an unspecified value (NaN, or
 *    finite: a texel-kernel value NaN is read as 0); no other row changes.
 *  - Positions are exact up to kv_len < 2^24: RoPE angles come from a table built in double
 *    on the host, never from a float position times a frequency.
 * No input, however bad, makes a call hang or read outside the tensors it was given. */

/* One Self-Extend attention (SPEC.md). `seattn_attention_desc d = {0};` gives every default;
 * n_heads, head_dim, q_len and kv_len must then be set (and G, W for Self-Extend).
 *
 * Query row r of head h sits at position q_pos + r and attends keys j <= q_pos + r, key j being
 * at position j. Pair (p, j) is a neighbor if p - j < W: score dot(RoPE(q, p), RoPE(k, j));
 * else grouped: dot(RoPE(q, p/G + W - W/G), RoPE(k, j/G)) (floor divisions). Scores are
 * multiplied by `scale`; one softmax per row over all its keys; out = sum softmax * v.
 * Query head h reads KV head h / (n_heads / n_kv_heads). */
typedef struct seattn_attention_desc {
    uint32_t n_heads;               /* query heads, >= 1 */
    uint32_t n_kv_heads;            /* 0: n_heads; must divide n_heads (GQA, MQA) */
    uint32_t head_dim;              /* even, 2..512 */
    uint32_t q_len;                 /* query tokens, >= 1 */
    uint32_t kv_len;                /* key tokens, >= 1, < 2^24 */
    uint32_t flags;                 /* SEATTN_ATTN_*; 0: none */
    uint32_t q_pos;                 /* position of query row 0 (only with SEATTN_ATTN_Q_POS; default
                                     * kv_len - q_len); q_pos + q_len must be <= kv_len */
    int32_t group_size;             /* G; 0: 1 (plain RoPE attention); >= 1 */
    int32_t neighbor_window;        /* W, in tokens; >= 1 when G > 1; any value, W % G != 0 too */
    float rope_theta;               /* 0: 10000; > 0 */
    uint32_t rotary_dims;           /* 0: head_dim; even, <= head_dim; the rest pass through */
    seattn_rope_layout rope_layout; /* 0: rotate_half */
    float scale;                    /* softmax scale; 0: 1/sqrt(head_dim); finite and > 0 */
    float scale_base;               /* 0: off; else > 1, and queries are multiplied by
                                     * max(1, ln(p + 1) / ln(scale_base)) before RoPE */
    seattn_key_mode key_mode;       /* 0: raw keys */
    seattn_dtype q_type, k_type, v_type, out_type;               /* storage; 0: f32 */
    seattn_strides q_strides, k_strides, v_strides, out_strides; /* zero: dense */
    /* element offsets of element [0, 0, 0] in each tensor; 0: the start */
    uint64_t q_offset, k_offset, v_offset, out_offset, lse_offset;
    /* optional log-sum-exp output (f32), natural log of sum_j exp(scaled score), one per query
     * row: element lse_offset + h * lse_strides.head + r * lse_strides.token. Zero strides:
     * dense [n_heads, q_len]. Only used when an lse tensor is passed. */
    seattn_strides lse_strides;
    float qk_norm_eps;                     /* with Q_NORM / K_NORM: eps, 0: 1e-6; finite and >= 0 */
    uint64_t q_norm_offset, k_norm_offset; /* element offsets of the norm weights */
    /* RoPE frequencies, for models with RoPE scaling (llama3, yarn, longrope, linear, ...):
     * the angle of pair m at position t is t * rope_inv_freq[m], m < rotary_dims / 2, each
     * finite and > 0 (what transformers calls inv_freq, as doubles). NULL: rope_theta^(-2m /
     * rotary_dims). Grouped positions use the same frequencies. Read during the call only
     * (a recorded call keeps its own table). */
    const double *rope_inv_freq;
    /* RoPE's attention factor (transformers' attention_scaling, YaRN's mscale): the rotated
     * components of q and of raw keys are multiplied by it after the rotation; pass-through
     * dims are not. Keys given rotated (SEATTN_KEYS_ROTATED) are taken to carry it already,
     * as an engine's cache of rotated keys does. 0: 1; finite and > 0. */
    float rope_attention_factor;
    /* Logit softcap c (Gemma 2): 0: off; else finite and > 0, and each scaled score s becomes
     * c * tanh(s / c) before the softmax. It acts on each score alone, so the NEIGHBOR_ONLY /
     * GROUPED_ONLY halves still merge into the whole. */
    float logit_softcap;
    /* The rotated dims are [rotary_offset, rotary_offset + rotary_dims), paired as
     * rope_layout says from there (DeepSeek's MLA: head_dim 192, rotary_offset 128,
     * rotary_dims 64, interleaved); the dims before and after pass through.
     * rotary_offset + rotary_dims <= head_dim. 0: from the first dim. */
    uint32_t rotary_offset;
    /* Size of a v and an out vector (MLA: 128 against q and k's 192); 0: head_dim; 2..512.
     * v's and out's dense strides use it. */
    uint32_t v_head_dim;
    /* element offset of the sinks (SEATTN_ATTN_SINKS) in their tensor */
    uint64_t sinks_offset;
    /* Per-tensor scales of an fp8_e4m3 k and v (value = e4m3 * scale); 0: 1; else finite and
     * > 0. Must be 0 for any other type. */
    float k_scale, v_scale;
} seattn_attention_desc;

/* Runs the attention described by desc on the context's device and waits for it.
 * q: [n_heads, q_len, head_dim] view; k: [n_kv_heads, kv_len, head_dim] view; v: [n_kv_heads,
 * kv_len, v_head_dim] view; out: [n_heads, q_len, v_head_dim] view; lse: NULL or f32 as
 * described above. SEATTN_ATTN_SINKS needs seattn_attention_run() (the sinks tensor).
 * Every field and tensor size is checked before any work: on failure nothing is written to out
 * or lse, the status says what kind of failure, and seattn_context_last_error() names the
 * field. out (and lse) must not overlap q, k or v. */
SEATTN_API seattn_status seattn_attention(seattn_context *ctx, const seattn_attention_desc *desc,
                                          const seattn_tensor *q, const seattn_tensor *k,
                                          const seattn_tensor *v, seattn_tensor *out,
                                          seattn_tensor *lse);

/* K and V over several tensors, "chunks": a KV pool larger than one storage view
 * (maxStorageBufferRange: 128 MiB on Adreno, PowerVR and lavapipe) or one buffer, kept as serving
 * engines keep it. Chunk c holds tokens first_token .. first_token + tokens - 1 of the call's
 * token space (a single call: its kv_len keys; a batch: the kv_tokens tokens of the pool; a paged
 * batch's pages are whole inside chunks: first_token and tokens multiples of page_size). Inside
 * its k and v tensors, token t's vectors sit where desc's k and v offsets and strides put token
 * t - first_token; zero strides here mean [tokens, n_kv_heads, head_dim] (v: v_head_dim), the
 * layout of vLLM's and FlashInfer's pages. Chunks must not overlap in tokens; for a single call
 * or a contiguous batch they cover the token space without gaps; a paged batch may leave gaps,
 * and a block-table entry into a gap, like one past the pool, gives its sequence NaN rows
 * (seattn_batch_check() knows no chunks: it passes such an entry). Each chunk's views must fit
 * its tensors and end within 4 GiB of them.
 *
 * On Vulkan the kernels read chunks by buffer device address, checked on the device against the
 * chunk table (never outside a chunk's tokens); a device without bufferDeviceAddress gets
 * SEATTN_ERROR_UNSUPPORTED. The app owns the tensors and the array; seattn reads the array
 * during the call only (a recording keeps the addresses, so the tensors must outlive it). */
typedef struct seattn_kv_chunk {
    const seattn_tensor *k, *v;
    uint32_t first_token, tokens;
} seattn_kv_chunk;
/* The most chunks a call may have. */
#define SEATTN_MAX_KV_CHUNKS 64u

/* Every tensor of one attention. The norm weights are read only with SEATTN_ATTN_Q_NORM /
 * SEATTN_ATTN_K_NORM; NULL there means all ones. */
typedef struct seattn_attention_tensors {
    const seattn_tensor *q, *k, *v;
    seattn_tensor *out;
    seattn_tensor *lse;                 /* NULL: no log-sum-exp output */
    const seattn_tensor *q_norm_weight; /* f32 [head_dim] at desc->q_norm_offset */
    const seattn_tensor *k_norm_weight; /* f32 [head_dim] at desc->k_norm_offset */
    /* f32 [n_heads] at desc->sinks_offset: read only with SEATTN_ATTN_SINKS, which needs it */
    const seattn_tensor *sinks;
    /* K and V over n_kv_chunks chunks (seattn_kv_chunk); k and v must then be NULL. 0: k, v. */
    const seattn_kv_chunk *kv_chunks;
    uint32_t n_kv_chunks;
} seattn_attention_tensors;

/* seattn_attention() with every tensor in one struct (QK-norm weights and sinks included). */
SEATTN_API seattn_status seattn_attention_run(seattn_context *ctx,
                                              const seattn_attention_desc *desc,
                                              const seattn_attention_tensors *tensors);

/* Merges two attentions of the same query rows over disjoint sets of keys, each given as its
 * output and its log-sum-exp, into the attention over both keys' union, on the device:
 *   out = (e^lse_a out_a + e^lse_b out_b) / (e^lse_a + e^lse_b),  lse = ln(e^lse_a + e^lse_b).
 * The SEATTN_ATTN_NEIGHBOR_ONLY and SEATTN_ATTN_GROUPED_ONLY halves merge into the fused
 * Self-Extend attention (the authors' two-pass method); a cache split in two merges likewise.
 * desc is the attention's descriptor: n_heads, q_len and v_head_dim give the rows, out_type,
 * out_strides and out_offset the layout of all three outputs, lse_strides and lse_offset that
 * of all three log-sum-exps (f32); its other fields are checked but not used. lse may be NULL.
 * out may be out_a or out_b, and lse lse_a or lse_b (merged in place); no other overlap is
 * allowed. A row whose two lse are -inf (no pairs) gets out = 0 and lse = -inf. Checks
 * everything before any work, as seattn_attention() does; waits for the device. */
SEATTN_API seattn_status seattn_attention_merge(
    seattn_context *ctx, const seattn_attention_desc *desc, const seattn_tensor *out_a,
    const seattn_tensor *lse_a, const seattn_tensor *out_b, const seattn_tensor *lse_b,
    seattn_tensor *out, seattn_tensor *lse);

/* ---- Batches: many sequences in one call, a paged KV cache ----------------------------- */

/* One sequence of a batch: five u32 words, the layout of the `seqs` tensor of
 * seattn_attention_batch() (sequence s at words seqs_offset + 5 s). Its q_len query tokens
 * are rows q_start .. q_start + q_len - 1 of the q, out and lse views, at positions q_pos ..
 * q_pos + q_len - 1; it attends its first kv_len keys causally, key j at position j, exactly
 * as seattn_attention() with that q_pos does (decode: q_len 1, q_pos kv_len - 1; a chunk of a
 * prompt: q_pos > 0). q_len 0 is a sequence with nothing to do (a free slot). Keys: with
 * page_size 0, tokens kv_start .. kv_start + kv_len - 1 of the k and v views; paged, key j is
 * token block_table[kv_start + j / P] * P + j % P of the pool (kv_start is the sequence's first
 * block-table entry, as vLLM's row s * max_pages or FlashInfer's indptr[s]). A key keeps its
 * logical position j wherever its page lies, so a cache of rotated keys stays valid. */
typedef struct seattn_seq {
    uint32_t q_start, q_len, q_pos, kv_len, kv_start;
} seattn_seq;

/* Bounds of a batch, which the host vouches for and the grid is sized by. The metadata itself
 * lives in device tensors that the app may change between calls, or between replays of a
 * recorded call, without recording again. `seattn_batch_desc b = {0};` then n_seqs, max_q_len,
 * max_kv_len, q_tokens and kv_tokens (and page_size, block_table_len when paged). */
typedef struct seattn_batch_desc {
    uint32_t n_seqs;             /* sequences, >= 1 */
    uint32_t max_q_len;          /* >= every q_len, >= 1 (1 for a decode batch) */
    uint32_t max_kv_len;         /* >= every kv_len, >= max_q_len, < 2^24 */
    uint32_t q_tokens;           /* rows of the q, out and lse views: [n_heads, q_tokens, head_dim]
                                  * (out: v_head_dim) */
    uint32_t kv_tokens;          /* tokens of the k and v views, [n_kv_heads, kv_tokens, head_dim]
                                  * (v: v_head_dim):
                                  * contiguous, all sequences' keys; paged, the pool's pages * P */
    uint32_t page_size;          /* P: 0 for contiguous keys, else >= 1 (16 and 32 are common) */
    uint32_t block_table_len;    /* paged: u32 entries of the block table, >= 1 */
    uint64_t seqs_offset;        /* u32 element offset of sequence 0 in the seqs tensor */
    uint64_t block_table_offset; /* u32 element offset of entry 0 in the block_table tensor */
} seattn_batch_desc;

/* Runs the attention of every sequence of a batch in one call (one or two dispatches, plus the
 * merge of the key splits of decode, which spread over all sequences' keys) and waits.
 * desc gives everything the sequences share (heads, head_dim, G, W, RoPE, dtypes, strides and
 * offsets, flags but SEATTN_ATTN_Q_POS); its q_len, kv_len and q_pos are not read (set them 0).
 * tensors as for seattn_attention_run(), with the views sized by batch->q_tokens and
 * batch->kv_tokens; seqs holds the sequences (u32, seattn_seq), block_table the pages (u32,
 * NULL when page_size is 0).
 *
 * The host checks the descriptors, the bounds and the tensor sizes before any work, as
 * seattn_attention() does (on failure nothing is written and the message names the field), but
 * never the metadata: it stays on the device (seattn_batch_check() checks a host copy). On the
 * device, a sequence whose rows leave the
 * views (q_start + q_len > q_tokens, or q_len > max_q_len) is skipped: nothing is written for
 * it. A sequence with any other field out of bounds (q_pos + q_len > kv_len, kv_len >
 * max_kv_len, keys past kv_tokens, block-table entries past block_table_len) or a page past the
 * pool (an entry >= kv_tokens / P) gets NaN in every element of its out and lse rows. Rows of
 * two sequences that overlap get either's values. Nothing is ever read or written outside the
 * tensors' views, and no metadata makes a call hang. Rows of out and lse that no sequence
 * covers are not written. */
SEATTN_API seattn_status seattn_attention_batch(seattn_context *ctx,
                                                const seattn_attention_desc *desc,
                                                const seattn_batch_desc *batch,
                                                const seattn_attention_tensors *tensors,
                                                const seattn_tensor *seqs,
                                                const seattn_tensor *block_table);

/* Checks a host copy of a batch's metadata against its bounds, as the device would, and more:
 * also that no two sequences' query rows overlap. seqs has batch->n_seqs entries (seqs_offset
 * is not applied), block_table batch->block_table_len entries (NULL when page_size is 0).
 * SEATTN_SUCCESS, or SEATTN_ERROR_INVALID_ARGUMENT with the first problem written to message
 * (may be NULL) naming the sequence and field, or SEATTN_ERROR_OUT_OF_MEMORY when the overlap
 * check cannot allocate its n_seqs pointers. Needs no context; reads only its arguments;
 * thread-safe. */
SEATTN_API seattn_status seattn_batch_check(const seattn_batch_desc *batch, const seattn_seq *seqs,
                                            const uint32_t *block_table, char *message,
                                            size_t message_size);

/* Checks desc alone (no tensors, no work) and resolves its defaults into *resolved (may be
 * NULL). Useful to validate an engine's configuration early. */
SEATTN_API seattn_status seattn_attention_desc_check(seattn_context *ctx,
                                                     const seattn_attention_desc *desc,
                                                     seattn_attention_desc *resolved);

/* ---- RoPE frequencies from a model's configuration ------------------------------------- */

/* rope_scaling's "rope_type" (or "type") in a Hugging Face config.json. */
typedef enum seattn_rope_type {
    SEATTN_ROPE_TYPE_DEFAULT = 0, /* no rope_scaling */
    SEATTN_ROPE_TYPE_LINEAR = 1,
    SEATTN_ROPE_TYPE_DYNAMIC = 2,
    SEATTN_ROPE_TYPE_YARN = 3,
    SEATTN_ROPE_TYPE_LONGROPE = 4,
    SEATTN_ROPE_TYPE_LLAMA3 = 5
} seattn_rope_type;

/* A model's RoPE as its config.json states it: rope_theta, the rotated dims,
 * max_position_embeddings and the rope_scaling dict. A zero field means the key is absent
 * (transformers' default then applies, as noted). */
typedef struct seattn_rope_config {
    seattn_rope_type type;
    double theta;                              /* rope_theta, > 0 */
    uint32_t rotary_dims;                      /* d = head_dim * partial_rotary_factor: even,
                                                * 2..512 */
    uint32_t max_position_embeddings;          /* M: dynamic, yarn, longrope need it */
    double factor;                             /* s: linear, dynamic, llama3 need it (> 0); yarn
                                                * and longrope default to M / original */
    uint32_t original_max_position_embeddings; /* yarn, longrope (0: M); llama3 needs it.
                                                * Phi-3 keeps it at the config's top level */
    double low_freq_factor, high_freq_factor;  /* llama3: both needed, low < high */
    double beta_fast, beta_slow;               /* yarn: 0 -> 32 and 1 */
    double mscale, mscale_all_dim;             /* yarn, 0: absent */
    double attention_factor;                   /* yarn, longrope, 0: absent (then derived) */
    uint32_t yarn_no_truncate;                 /* yarn: 1 where rope_scaling has "truncate":
                                                * false (gpt-oss); 0: truncate (the default) */
    const double *short_factor, *long_factor;  /* longrope: d / 2 values each, > 0 */
    uint32_t seq_len; /* dynamic and longrope: the length the frequencies are for (transformers
                       * recomputes them past M, resp. switches to long_factor past the
                       * original length); 0: M for dynamic, the short factors for longrope */
} seattn_rope_config;

/* The rotary_dims / 2 frequencies (inv_freq[m], the angle of pair m at position t being
 * t * inv_freq[m]) and the attention factor of config, in double, with the formulas of
 * transformers' modeling_rope_utils.py (shared/golden-models/README.md gives each): what
 * seattn_attention_desc's rope_inv_freq and rope_attention_factor take, written into the
 * caller's inv_freq (rotary_dims / 2 doubles) and *attention_factor; config and its factor
 * lists are read during the call only. A bad field gets SEATTN_ERROR_INVALID_ARGUMENT, nothing
 * written, and seattn_last_create_error() names it. Thread-safe. */
SEATTN_API seattn_status seattn_rope_frequencies(const seattn_rope_config *config, double *inv_freq,
                                                 float *attention_factor);

/* ---- For foreign-function users ----------------------------------------------------------- */

/* The public structs, by number, for seattn_struct_size(). */
typedef enum seattn_struct_id {
    SEATTN_STRUCT_CONTEXT_OPTIONS = 1,   /* seattn_context_options */
    SEATTN_STRUCT_CALL_STATS = 2,        /* seattn_call_stats */
    SEATTN_STRUCT_DEVICE_INFO = 3,       /* seattn_device_info */
    SEATTN_STRUCT_ATTENTION_DESC = 4,    /* seattn_attention_desc */
    SEATTN_STRUCT_ATTENTION_TENSORS = 5, /* seattn_attention_tensors */
    SEATTN_STRUCT_KERNEL_INFO = 6,       /* seattn_kernel_info */
    SEATTN_STRUCT_SEQ = 7,               /* seattn_seq */
    SEATTN_STRUCT_BATCH_DESC = 8,        /* seattn_batch_desc */
    SEATTN_STRUCT_ROPE_CONFIG = 9,       /* seattn_rope_config */
    SEATTN_STRUCT_KV_CHUNK = 10          /* seattn_kv_chunk */
} seattn_struct_id;

/* sizeof the public struct `id` as this library was built, so that bindings that declare the
 * structs themselves (Python's ctypes, other FFIs) can refuse a library they do not match; 0
 * for an unknown id. Thread-safe. */
SEATTN_API size_t seattn_struct_size(seattn_struct_id id);

/* ---- Fault injection, for tests --------------------------------------------------------- */

typedef enum seattn_fault {
    SEATTN_FAULT_HOST_ALLOC = 1,    /* a host allocation of seattn returns NULL */
    SEATTN_FAULT_DEVICE_MEMORY = 2, /* a vkAllocateMemory reports VK_ERROR_OUT_OF_DEVICE_MEMORY */
    SEATTN_FAULT_DEVICE_LOST = 3    /* a queue submission reports VK_ERROR_DEVICE_LOST (and
                                     * submits nothing) */
} seattn_fault;

/* Arms one fault on the calling thread: the n-th event of that kind from now on (1-based)
 * fails as described; n = 0 disarms. Returns 1 if the previously armed fault fired, else 0,
 * so a test can step n until a whole sequence of calls runs without it. Every seattn call is
 * meant to turn the fault into a status (SEATTN_ERROR_OUT_OF_MEMORY, SEATTN_ERROR_DEVICE_LOST),
 * free what it took, and leave the context usable (out of memory) or failing fast (lost). */
SEATTN_API int seattn_debug_fault(seattn_fault kind, uint64_t n);
/* Host allocations seattn has made and not freed, over all threads (tests compare it before
 * and after). Thread-safe, as is seattn_debug_fault (its state is per thread). */
SEATTN_API int64_t seattn_debug_live_allocations(void);

#ifdef __cplusplus
}
#endif

#endif /* SEATTN_SEATTN_H */
