/* Shader modules, the one descriptor/pipeline layout, and pipelines built once per shape
 * class (kernel, workgroup size, head_dim, key tile) and kept for the context's life. */
#include "vk_internal.h"

#include <string.h>

seattn_status seattn__vk_pipelines_init(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    for (int k = 0; k < 2; k++) {
        const seattn__shader *sh = seattn__shader_get((seattn__kernel)k);
        VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                        .codeSize = sh->size,
                                        .pCode = sh->code};
        SEATTN__CHECK(ctx, vk->vkd.vkCreateShaderModule(vk->device, &mci, NULL, &vk->modules[k]));
    }
    VkDescriptorSetLayoutBinding b[SEATTN__N_BINDINGS];
    for (uint32_t i = 0; i < SEATTN__N_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = SEATTN__N_BINDINGS,
        .pBindings = b};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorSetLayout(vk->device, &lci, NULL,
                                                           &vk->set_layout));
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
                               .size = sizeof(seattn__push)};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 1,
                                       .pSetLayouts = &vk->set_layout,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &pcr};
    SEATTN__CHECK(ctx, vk->vkd.vkCreatePipelineLayout(vk->device, &plci, NULL,
                                                      &vk->pipeline_layout));
    VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                               .descriptorCount = SEATTN__N_BINDINGS};
    VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 1,
                                       .poolSizeCount = 1,
                                       .pPoolSizes = &ps};
    SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorPool(vk->device, &dpci, NULL, &vk->desc_pool));
    VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                        .descriptorPool = vk->desc_pool,
                                        .descriptorSetCount = 1,
                                        .pSetLayouts = &vk->set_layout};
    SEATTN__CHECK(ctx, vk->vkd.vkAllocateDescriptorSets(vk->device, &dsai, &vk->set));
fail:
    return status;
}

void seattn__vk_pipelines_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    for (uint32_t i = 0; i < vk->n_pipelines; i++)
        vk->vkd.vkDestroyPipeline(vk->device, vk->pipelines[i].pipeline, NULL);
    vk->n_pipelines = 0;
    if (vk->desc_pool) vk->vkd.vkDestroyDescriptorPool(vk->device, vk->desc_pool, NULL);
    if (vk->pipeline_layout)
        vk->vkd.vkDestroyPipelineLayout(vk->device, vk->pipeline_layout, NULL);
    if (vk->set_layout) vk->vkd.vkDestroyDescriptorSetLayout(vk->device, vk->set_layout, NULL);
    for (int k = 0; k < 2; k++)
        if (vk->modules[k]) vk->vkd.vkDestroyShaderModule(vk->device, vk->modules[k], NULL);
}

seattn_status seattn__vk_pipeline_get(seattn_context *ctx, seattn__kernel kernel, uint32_t wg,
                                      uint32_t head_dim, uint32_t bc, VkPipeline *out) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
    for (uint32_t i = 0; i < vk->n_pipelines; i++) {
        const seattn__pipeline *p = &vk->pipelines[i];
        if (p->kernel == kernel && p->wg == wg && p->head_dim == head_dim && p->bc == bc) {
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
    const uint32_t data[3] = {wg, head_dim, bc};
    const VkSpecializationMapEntry entries[3] = {{0, 0, 4}, {1, 4, 4}, {2, 8, 4}};
    VkSpecializationInfo spec = {.mapEntryCount = kernel == SEATTN__KERNEL_MERGE ? 2 : 3,
                                 .pMapEntries = entries,
                                 .dataSize = sizeof data,
                                 .pData = data};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = vk->modules[kernel],
                  .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = vk->pipeline_layout};
    VkPipeline pipe = VK_NULL_HANDLE;
    SEATTN__CHECK(ctx, vk->vkd.vkCreateComputePipelines(vk->device, VK_NULL_HANDLE, 1, &ci, NULL,
                                                        &pipe));
    vk->pipelines[vk->n_pipelines++] =
        (seattn__pipeline){.kernel = kernel, .wg = wg, .head_dim = head_dim, .bc = bc,
                           .pipeline = pipe};
    *out = pipe;
fail:
    return status;
}
