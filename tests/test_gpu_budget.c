/* The GPU budget, guarded with no GPU: every variant the planner picks for the GPU kernel is
 * compiled for a real AMD chip by Mesa's RADV on a null device (RADV_FORCE_FAMILY; the chip is
 * not there, the compiler is), and the compiler's own statistics are read back through
 * VK_KHR_pipeline_executable_properties. The test fails if a variant at head_dim <= 256 uses
 * scratch memory or spills a register, and prints a table of them all.
 *
 *   RADV_FORCE_FAMILY=navi31 VK_DRIVER_FILES=.../radeon_icd.json test_gpu_budget navi31
 *
 * tests/gpu_budget.sh runs it for navi21, navi31 and gfx1201 on Mesa 25 (Debian 12's backports,
 * unpacked beside the system's Mesa by tests/mesa_backports.sh). A full seattn context cannot be
 * made on the null device (it has no fences), so the test plans calls with the library's own
 * planner (seattn__plan_make, from the device's limits) and builds only the pipelines. */
#include "vk_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(call)                                                                                   \
    do {                                                                                           \
        VkResult r_ = (call);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                    \
            fprintf(stderr, "%s:%d: %s: VkResult %d\n", __FILE__, __LINE__, #call, (int)r_);       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    int64_t vgprs, pre_vgprs, spill_v, spill_s, scratch, lds, waves;
} stats;

/* Pipelines already compiled (identical plans recur across the variants): their stats. */
typedef struct {
    seattn__kernel kernel;
    uint32_t spec[SEATTN__N_SPEC], req_sg;
    stats s;
} seen;
static seen cache[1024];
static int n_cache;

static VkDevice dev;
static VkPipelineLayout layout;
static VkShaderModule modules[SEATTN__N_VARIANTS][SEATTN__N_KERNELS];
static bool size_control; /* requiredSubgroupSize can be asked for in compute */

static int64_t stat_value(const VkPipelineExecutableStatisticKHR *s) {
    switch (s->format) {
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
        return s->value.b32;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
        return s->value.i64;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
        return (int64_t)s->value.u64;
    default:
        return (int64_t)s->value.f64;
    }
}

/* Compiles the plan's pipeline (with a required subgroup size unless 0) and reads its stats. */
static stats compile(const seattn__plan *pl, uint32_t req_sg) {
    for (int i = 0; i < n_cache; i++)
        if (cache[i].kernel == pl->kernel && cache[i].req_sg == req_sg &&
            memcmp(cache[i].spec, pl->spec, sizeof pl->spec) == 0)
            return cache[i].s;
    const bool f16 = (pl->spec[SEATTN__SPEC_DTYPE] & SEATTN__F16_ANY) != 0;
    const uint32_t var = (f16 ? SEATTN__VARIANT_F16 : 0) |
                         (pl->spec[SEATTN__SPEC_KV_CHUNKS] ? SEATTN__VARIANT_ADDRESS : 0);
    if (!modules[var][pl->kernel]) {
        const seattn__shader *sh = seattn__shader_get(pl->kernel, var);
        VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                        .codeSize = sh->size,
                                        .pCode = sh->code};
        CK(vkCreateShaderModule(dev, &mci, NULL, &modules[var][pl->kernel]));
    }
    VkSpecializationMapEntry me[SEATTN__N_SPEC];
    for (uint32_t i = 0; i < SEATTN__N_SPEC; i++)
        me[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {SEATTN__N_SPEC, me, sizeof pl->spec, pl->spec};
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfoEXT rsg = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO_EXT,
        .requiredSubgroupSize = req_sg};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .pNext = req_sg ? &rsg : NULL,
                  /* full subgroups, as the library asks for flash_sg where it can */
                  .flags = req_sg || pl->kernel == SEATTN__KERNEL_FLASH_SG
                               ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT_EXT
                               : 0,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = modules[var][pl->kernel],
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = layout};
    VkPipeline pipe;
    CK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, NULL, &pipe));
    VkPipelineExecutableInfoKHR xi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR,
                                      .pipeline = pipe};
    uint32_t n = 0;
    CK(vkGetPipelineExecutableStatisticsKHR(dev, &xi, &n, NULL));
    VkPipelineExecutableStatisticKHR st[64];
    if (n > 64) n = 64;
    for (uint32_t i = 0; i < n; i++)
        st[i] = (VkPipelineExecutableStatisticKHR){
            .sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    CK(vkGetPipelineExecutableStatisticsKHR(dev, &xi, &n, st));
    stats s = {-1, -1, -1, -1, -1, -1, -1};
    for (uint32_t i = 0; i < n; i++) {
        const int64_t v = stat_value(&st[i]);
        if (strcmp(st[i].name, "VGPRs") == 0)
            s.vgprs = v;
        else if (strcmp(st[i].name, "Pre-Sched VGPRs") == 0)
            s.pre_vgprs = v;
        else if (strcmp(st[i].name, "Spilled VGPRs") == 0)
            s.spill_v = v;
        else if (strcmp(st[i].name, "Spilled SGPRs") == 0)
            s.spill_s = v;
        else if (strcmp(st[i].name, "Scratch size") == 0)
            s.scratch = v;
        else if (strcmp(st[i].name, "LDS size") == 0)
            s.lds = v;
        else if (strcmp(st[i].name, "Subgroups per SIMD") == 0)
            s.waves = v;
    }
    vkDestroyPipeline(dev, pipe, NULL);
    if (n_cache < 1024) {
        seen *c = &cache[n_cache++];
        c->kernel = pl->kernel;
        memcpy(c->spec, pl->spec, sizeof c->spec);
        c->req_sg = req_sg;
        c->s = s;
    }
    return s;
}

/* One variant of the sweep: a call the planner plans for the device, compiled as it picks. */
typedef struct {
    uint32_t d;
    bool decode, f16, plain, norm;
    uint32_t smem;         /* maxComputeSharedMemorySize the planner is told */
    seattn__kernel kernel; /* flash_sg or flash_smem */
    uint32_t req_sg;       /* a required subgroup size; 0: the driver's choice */
    uint32_t page_size;    /* a batch of sequences with keys in pages of this size; 0: none */
    bool mla;              /* DeepSeek's MLA: d 192 with its last 64 dims rotated (interleaved),
                            * v_head_dim 128; and gpt-oss's sinks and a softcap */
    seattn_dtype kv;       /* a K/V storage type past f32 and f16 (bf16, q8_0, ...); 0: none */
    uint32_t chunks;       /* K and V in this many chunks, read by address; 0: bindings */
} variant;

/* Plans, compiles and prints one variant; returns 1 if it fails the budget (or has no plan). */
static int check_variant(const char *chip, const seattn__caps *caps0, const variant *v, int *rows) {
    seattn_attention_desc r = {.n_heads = 32,
                               .n_kv_heads = 8,
                               .head_dim = v->d,
                               .q_len = v->decode ? 1 : 4096,
                               .kv_len = v->decode ? 32768 : 4096,
                               .q_pos = v->decode ? 32767 : 0,
                               .group_size = v->plain ? 1 : 8,
                               .neighbor_window = v->plain ? 0 : 512,
                               .rotary_dims = v->mla ? 64 : v->d,
                               .rotary_offset = v->mla ? v->d - 64 : 0,
                               .rope_layout = v->mla ? SEATTN_ROPE_INTERLEAVED : 0,
                               .v_head_dim = v->mla ? 128 : v->d,
                               .logit_softcap = v->mla ? 30.0f : 0.0f,
                               .scale = 1.0f,
                               .rope_theta = 10000.0f,
                               .flags = (v->norm ? SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM : 0) |
                                        (v->mla ? SEATTN_ATTN_SINKS : 0)};
    if (v->f16) r.k_type = r.v_type = SEATTN_DTYPE_F16;
    if (v->kv) r.k_type = r.v_type = v->kv;
    if (v->kv == SEATTN_DTYPE_FP8_E4M3) r.k_scale = r.v_scale = 0.01f;
    seattn__caps caps = *caps0;
    caps.limits.maxComputeSharedMemorySize = v->smem;
    if (v->req_sg) caps.sg_min = caps.sg_max = v->req_sg;
    if (v->kernel == SEATTN__KERNEL_FLASH_SG && !caps.flash_sg_ok) return 0;
    const seattn__plan_facts facts = {.q_weight = v->norm,
                                      .k_weight = v->norm,
                                      .n_seqs = v->page_size ? (v->decode ? 32 : 4) : 0,
                                      .page_size = v->page_size,
                                      .kv_chunks = v->chunks};
    seattn__plan pl;
    char why[512], name[160], label[220], sg[16] = "";
    if (seattn__plan_make(&caps, &r, v->kernel, true, &facts, &pl, why, sizeof why) !=
        SEATTN_SUCCESS) {
        printf("%-8s d%u: no plan: %s\n", chip, v->d, why);
        return 1;
    }
    seattn__plan_name(&pl, name, sizeof name);
    if (v->req_sg) snprintf(sg, sizeof sg, " sg%u", v->req_sg);
    snprintf(label, sizeof label, "%s %s smem%uK%s%s", v->decode ? "decode" : "prefill", name,
             v->smem / 1024, sg, v->mla ? " mla" : "");
    const stats s = compile(&pl, v->req_sg);
    const bool bad = v->d <= 256 && (s.scratch != 0 || s.spill_v != 0 || s.spill_s != 0);
    printf("%-8s %-62s %5lld %5lld %6lld %6lld %7lld %6lld %5lld%s\n", chip, label,
           (long long)s.vgprs, (long long)s.pre_vgprs, (long long)s.spill_v, (long long)s.spill_s,
           (long long)s.scratch, (long long)s.lds, (long long)s.waves,
           bad ? "  <- scratch or spills" : "");
    (*rows)++;
    return bad;
}

int main(int argc, char **argv) {
    const char *chip = argc > 1 ? argv[1] : "?";
    CK(volkInitialize());
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pApplicationInfo = &app};
    VkInstance inst;
    CK(vkCreateInstance(&ici, NULL, &inst));
    volkLoadInstance(inst);
    uint32_t n_pd = 8;
    VkPhysicalDevice pds[8];
    CK(vkEnumeratePhysicalDevices(inst, &n_pd, pds));
    VkPhysicalDevice pd = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props;
    for (uint32_t i = 0; i < n_pd && !pd; i++) {
        vkGetPhysicalDeviceProperties(pds[i], &props);
        if (strstr(props.deviceName, "RADV")) pd = pds[i];
    }
    if (!pd) {
        fprintf(stderr, "test_gpu_budget: no RADV device (set RADV_FORCE_FAMILY and "
                        "VK_DRIVER_FILES to RADV's manifest)\n");
        return 1;
    }
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT scp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
    VkPhysicalDeviceSubgroupProperties sgp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &scp};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sgp};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    size_control = (scp.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;

    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pef = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pipelineExecutableInfo = VK_TRUE};
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT,
        .pNext = &pef,
        .subgroupSizeControl = VK_TRUE,
        .computeFullSubgroups = VK_TRUE};
    /* the address builds of flash.comp (K and V in chunks) */
    VkPhysicalDeviceBufferDeviceAddressFeaturesKHR bdaf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES_KHR,
        .pNext = &sgf,
        .bufferDeviceAddress = VK_TRUE};
    VkPhysicalDevice16BitStorageFeatures f16s = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = &bdaf,
        .storageBuffer16BitAccess = VK_TRUE};
    const char *exts[] = {"VK_KHR_pipeline_executable_properties", "VK_EXT_subgroup_size_control",
                          "VK_KHR_buffer_device_address"};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f16s,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = 3,
                              .ppEnabledExtensionNames = exts};
    CK(vkCreateDevice(pd, &dci, NULL, &dev));
    volkLoadDevice(dev);
    VkDescriptorSetLayoutBinding b[SEATTN__N_BINDINGS];
    for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                                              VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    VkDescriptorSetLayoutCreateInfo lci = {.sType =
                                               VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = SEATTN__N_BINDINGS,
                                           .pBindings = b};
    VkDescriptorSetLayout sl;
    CK(vkCreateDescriptorSetLayout(dev, &lci, NULL, &sl));
    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(seattn__push)};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 1,
                                       .pSetLayouts = &sl,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &pcr};
    CK(vkCreatePipelineLayout(dev, &plci, NULL, &layout));

    /* The device as the planner sees it (vk_context.c reads the same at context creation). */
    seattn__caps caps0 = {.limits = props.limits,
                          .subgroup_size = sgp.subgroupSize,
                          .sg_min = scp.minSubgroupSize ? scp.minSubgroupSize : sgp.subgroupSize,
                          .sg_max = scp.maxSubgroupSize ? scp.maxSubgroupSize : sgp.subgroupSize};
    seattn__caps_finish(&caps0, sgp.supportedOperations);

    const uint32_t dims[] = {64, 80, 128, 256, 512};
    const uint32_t smem[] = {16384, props.limits.maxComputeSharedMemorySize};
    /* subgroup sizes flash_sg is compiled for: the driver's choice (0), and each size the
     * device lets a compute shader require, when it lets one be required */
    uint32_t sizes[8] = {0}, n_sizes = 1;
    if (size_control)
        for (uint32_t z = scp.minSubgroupSize; z && z <= scp.maxSubgroupSize && n_sizes < 8; z *= 2)
            sizes[n_sizes++] = z;
    int failures = 0, rows = 0;
    printf("%-8s %-60s %6s %6s %6s %8s %6s %6s\n", "chip", "variant", "VGPRs", "spillV", "spillS",
           "scratch", "LDS", "waves");
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (uint32_t bits = 0; bits < 32; bits++) {
            variant v = {.d = dims[di],
                         .decode = bits & 1,
                         .f16 = bits >> 1 & 1,
                         .plain = bits >> 2 & 1,
                         .norm = bits >> 3 & 1,
                         .smem = smem[bits >> 4 & 1],
                         .kernel = SEATTN__KERNEL_FLASH_SG};
            for (uint32_t zi = 0; zi < n_sizes; zi++) {
                v.req_sg = sizes[zi];
                failures += check_variant(chip, &caps0, &v, &rows);
            }
            v.kernel = SEATTN__KERNEL_FLASH;
            v.req_sg = 0;
            failures += check_variant(chip, &caps0, &v, &rows);
            if (v.f16 && !v.plain && !v.norm) { /* a paged batch of many sequences */
                v.page_size = 16;
                failures += check_variant(chip, &caps0, &v, &rows);
                v.kernel = SEATTN__KERNEL_FLASH_SG;
                failures += check_variant(chip, &caps0, &v, &rows);
            }
        }
    for (uint32_t bits = 0; bits < 8; bits++) { /* MLA's shape, with sinks and a softcap */
        variant v = {.d = 192,
                     .decode = bits & 1,
                     .f16 = bits >> 1 & 1,
                     .smem = smem[bits >> 2 & 1],
                     .kernel = SEATTN__KERNEL_FLASH_SG,
                     .mla = true};
        failures += check_variant(chip, &caps0, &v, &rows);
        v.kernel = SEATTN__KERNEL_FLASH;
        failures += check_variant(chip, &caps0, &v, &rows);
    }
    /* the K/V storage types read as words (kv_types.glsl): each at the head dims its blocks fit,
     * decode and prefill, both kernels, plain and Self-Extend, at the device's shared memory */
    const seattn_dtype kvs[] = {SEATTN_DTYPE_BF16, SEATTN_DTYPE_Q8_0, SEATTN_DTYPE_Q4_0,
                                SEATTN_DTYPE_FP8_E4M3};
    for (size_t ki = 0; ki < sizeof kvs / sizeof kvs[0]; ki++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (uint32_t bits = 0; bits < 4; bits++) {
                if (dims[di] % 32 != 0) continue;
                variant v = {.d = dims[di],
                             .decode = bits & 1,
                             .plain = bits >> 1 & 1,
                             .smem = smem[1],
                             .kernel = SEATTN__KERNEL_FLASH_SG,
                             .kv = kvs[ki]};
                failures += check_variant(chip, &caps0, &v, &rows);
                v.kernel = SEATTN__KERNEL_FLASH;
                failures += check_variant(chip, &caps0, &v, &rows);
            }
    /* K and V in 4 chunks read by address: paged batches, f32, f16 and q8_0, both kernels */
    const seattn_dtype cks[] = {SEATTN_DTYPE_F32, SEATTN_DTYPE_F16, SEATTN_DTYPE_Q8_0};
    for (size_t ki = 0; ki < sizeof cks / sizeof cks[0]; ki++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (uint32_t decode = 0; decode < 2; decode++) {
                if (cks[ki] == SEATTN_DTYPE_Q8_0 && dims[di] % 32 != 0) continue;
                variant v = {.d = dims[di],
                             .decode = decode,
                             .f16 = cks[ki] == SEATTN_DTYPE_F16,
                             .smem = smem[0],
                             .kernel = SEATTN__KERNEL_FLASH_SG,
                             .page_size = 16,
                             .kv = cks[ki] == SEATTN_DTYPE_Q8_0 ? SEATTN_DTYPE_Q8_0 : 0,
                             .chunks = 4};
                failures += check_variant(chip, &caps0, &v, &rows);
                v.kernel = SEATTN__KERNEL_FLASH;
                failures += check_variant(chip, &caps0, &v, &rows);
            }
    printf("%s: %d variants, %d with scratch or spills at head_dim <= 256\n", chip, rows, failures);
    for (int v = 0; v < SEATTN__N_VARIANTS; v++)
        for (int k = 0; k < SEATTN__N_KERNELS; k++)
            if (modules[v][k]) vkDestroyShaderModule(dev, modules[v][k], NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, sl, NULL);
    vkDestroyDevice(dev, NULL);
    vkDestroyInstance(inst, NULL);
    return failures ? 1 : 0;
}
