/* Shader modules, the two descriptor/pipeline layouts, and pipelines built once per shape class
 * (kernel and specialization constants) and kept for the context's life. */
#include "vk_internal.h"

#include <string.h>

seattn__layout seattn__vk_kernel_layout(seattn__kernel kernel) {
    return kernel == SEATTN__KERNEL_TEXEL ? SEATTN__LAYOUT_TEXEL : SEATTN__LAYOUT_STORAGE;
}

/* Binding i of the layout: Q, K, V and the RoPE table (0, 1, 2, 5) are texel buffers in the
 * texel layout; everything else is a storage buffer. */
static VkDescriptorType binding_type(seattn__layout layout, uint32_t i) {
    if (layout == SEATTN__LAYOUT_TEXEL && (i <= 2 || i == 5))
        return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

seattn_status seattn__vk_pipelines_init(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    for (int k = 0; k < SEATTN__N_KERNELS; k++) {
        const seattn__shader *sh = seattn__shader_get((seattn__kernel)k);
        VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                        .codeSize = sh->size,
                                        .pCode = sh->code};
        SEATTN__CHECK(ctx, vk->vkd.vkCreateShaderModule(vk->device, &mci, NULL, &vk->modules[k]));
    }
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
                               .size = sizeof(seattn__push)};
    for (int l = 0; l < 2; l++) {
        VkDescriptorSetLayoutBinding b[SEATTN__N_BINDINGS];
        for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++)
            b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                                  .descriptorType = binding_type(l, i),
                                                  .descriptorCount = 1,
                                                  .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo lci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = SEATTN__N_BINDINGS,
            .pBindings = b};
        SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorSetLayout(vk->device, &lci, NULL,
                                                               &vk->set_layout[l]));
        VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                           .setLayoutCount = 1,
                                           .pSetLayouts = &vk->set_layout[l],
                                           .pushConstantRangeCount = 1,
                                           .pPushConstantRanges = &pcr};
        SEATTN__CHECK(ctx, vk->vkd.vkCreatePipelineLayout(vk->device, &plci, NULL,
                                                          &vk->pipeline_layout[l]));
    }
    VkDescriptorPoolSize ps[2] = {
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 2 * SEATTN__N_BINDINGS},
        {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .descriptorCount = 4}};
    VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 2,
                                       .poolSizeCount = 2,
                                       .pPoolSizes = ps};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorPool(vk->device, &dpci, NULL, &vk->desc_pool));
    VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                        .descriptorPool = vk->desc_pool,
                                        .descriptorSetCount = 2,
                                        .pSetLayouts = vk->set_layout};
    SEATTN__CHECK(ctx, vk->vkd.vkAllocateDescriptorSets(vk->device, &dsai, vk->set));
fail:
    return status;
}

void seattn__vk_pipelines_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    for (uint32_t i = 0; i < vk->n_pipelines; i++)
        vk->vkd.vkDestroyPipeline(vk->device, vk->pipelines[i].pipeline, NULL);
    vk->n_pipelines = 0;
    if (vk->desc_pool) vk->vkd.vkDestroyDescriptorPool(vk->device, vk->desc_pool, NULL);
    for (int l = 0; l < 2; l++) {
        if (vk->pipeline_layout[l])
            vk->vkd.vkDestroyPipelineLayout(vk->device, vk->pipeline_layout[l], NULL);
        if (vk->set_layout[l])
            vk->vkd.vkDestroyDescriptorSetLayout(vk->device, vk->set_layout[l], NULL);
    }
    for (int k = 0; k < SEATTN__N_KERNELS; k++)
        if (vk->modules[k]) vk->vkd.vkDestroyShaderModule(vk->device, vk->modules[k], NULL);
}

seattn_status seattn__vk_pipeline_get(seattn_context *ctx, seattn__kernel kernel,
                                      const uint32_t *spec, VkPipeline *out) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    const size_t spec_bytes = SEATTN__N_SPEC * sizeof(uint32_t);
    for (uint32_t i = 0; i < vk->n_pipelines; i++) {
        const seattn__pipeline *p = &vk->pipelines[i];
        if (p->kernel == kernel && memcmp(p->spec, spec, spec_bytes) == 0) {
            *out = p->pipeline;
            return SEATTN_SUCCESS;
        }
    }
    const uint32_t n_max = sizeof vk->pipelines / sizeof vk->pipelines[0];
    if (vk->n_pipelines == n_max) { /* no work is in flight between calls: drop the oldest */
        vk->vkd.vkDestroyPipeline(vk->device, vk->pipelines[0].pipeline, NULL);
        memmove(vk->pipelines, vk->pipelines + 1, sizeof vk->pipelines[0] * (n_max - 1));
        vk->n_pipelines--;
    }
    /* Constant ids 0 .. N-1 map to spec[0 .. N-1]; ids a shader does not declare are ignored. */
    VkSpecializationMapEntry entries[SEATTN__N_SPEC];
    for (uint32_t i = 0; i < SEATTN__N_SPEC; i++)
        entries[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {.mapEntryCount = SEATTN__N_SPEC,
                               .pMapEntries = entries,
                               .dataSize = spec_bytes,
                               .pData = spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = vk->modules[kernel],
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = vk->pipeline_layout[seattn__vk_kernel_layout(kernel)]};
    VkPipeline pipe = VK_NULL_HANDLE;
    SEATTN__CHECK(ctx, vk->vkd.vkCreateComputePipelines(vk->device, VK_NULL_HANDLE, 1, &ci, NULL,
                                                        &pipe));
    seattn__pipeline *slot = &vk->pipelines[vk->n_pipelines++];
    slot->kernel = kernel;
    memcpy(slot->spec, spec, spec_bytes);
    slot->pipeline = pipe;
    *out = pipe;
fail:
    return status;
}
