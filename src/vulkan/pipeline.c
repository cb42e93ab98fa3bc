/* The two descriptor/pipeline layouts, and shader modules and pipelines built on first use, once
 * per kernel and per shape class (kernel, f16 variant and specialization constants), kept for
 * the context's life: recorded work may use any of them until seattn_context_recycle(), so none
 * is dropped early. A module is created only when a call needs it, so a kernel that declares a
 * capability the device lacks (flash_sg's subgroup shuffles, 16-bit storage) costs nothing
 * there. */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

seattn__layout seattn__vk_kernel_layout(seattn__kernel kernel) {
    return kernel == SEATTN__KERNEL_TEXEL ? SEATTN__LAYOUT_TEXEL : SEATTN__LAYOUT_STORAGE;
}

/* Binding i of the layout: Q, K, V and the RoPE table (0, 1, 2, 5) are texel buffers in the
 * texel layout; everything else (the norm weights too) is a storage buffer. */
static VkDescriptorType binding_type(seattn__layout layout, uint32_t i) {
    if (layout == SEATTN__LAYOUT_TEXEL && (i <= 2 || i == 5))
        return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

seattn_status seattn__vk_pipelines_init(seattn_context *ctx) {
    seattn_status status = SEATTN_SUCCESS;
    seattn__vk *vk = ctx->vk;
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
        SEATTN__CHECK(ctx, vk->vkd.vkCreateDescriptorSetLayout(vk->device, &lci, vk->alloc,
                                                               &vk->set_layout[l]));
        VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                           .setLayoutCount = 1,
                                           .pSetLayouts = &vk->set_layout[l],
                                           .pushConstantRangeCount = 1,
                                           .pPushConstantRanges = &pcr};
        SEATTN__CHECK(ctx, vk->vkd.vkCreatePipelineLayout(vk->device, &plci, vk->alloc,
                                                          &vk->pipeline_layout[l]));
    }
fail:
    return status;
}

void seattn__vk_pipelines_free(seattn_context *ctx) {
    seattn__vk *vk = ctx->vk;
    for (uint32_t i = 0; i < vk->n_pipelines; i++)
        vk->vkd.vkDestroyPipeline(vk->device, vk->pipelines[i].pipeline, vk->alloc);
    vk->n_pipelines = 0;
    if (vk->pipeline_cache)
        vk->vkd.vkDestroyPipelineCache(vk->device, vk->pipeline_cache, vk->alloc);
    for (int l = 0; l < 2; l++) {
        if (vk->pipeline_layout[l])
            vk->vkd.vkDestroyPipelineLayout(vk->device, vk->pipeline_layout[l], vk->alloc);
        if (vk->set_layout[l])
            vk->vkd.vkDestroyDescriptorSetLayout(vk->device, vk->set_layout[l], vk->alloc);
    }
    for (int v = 0; v < SEATTN__N_VARIANTS; v++)
        for (int k = 0; k < SEATTN__N_KERNELS; k++)
            if (vk->modules[v][k])
                vk->vkd.vkDestroyShaderModule(vk->device, vk->modules[v][k], vk->alloc);
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
    const bool f16 = (spec[SEATTN__SPEC_DTYPE] & SEATTN__F16_ANY) != 0;
    /* KV_CHUNKS also moves the meta words merge.comp reads, which has no address build */
    const bool address = spec[SEATTN__SPEC_KV_CHUNKS] != 0 && kernel != SEATTN__KERNEL_MERGE &&
                         kernel != SEATTN__KERNEL_MERGE_LSE;
    const uint32_t variant =
        (f16 ? SEATTN__VARIANT_F16 : 0) | (address ? SEATTN__VARIANT_ADDRESS : 0);
    /* the f16 variants declare StorageBuffer16BitAccess: only where the device enabled it */
    if (f16 && !vk->storage_16bit)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED,
                            "f16 tensors need storageBuffer16BitAccess, which is not enabled on "
                            "'%s'",
                            vk->info.name);
    /* the address variants declare PhysicalStorageBufferAddresses (the caller checked) */
    if (!seattn__shader_get(kernel, variant)->code)
        return seattn__fail(ctx, SEATTN_ERROR_UNSUPPORTED, "kernel %d has no address build",
                            (int)kernel);
    if (!vk->modules[variant][kernel]) {
        const seattn__shader *sh = seattn__shader_get(kernel, variant);
        VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                        .codeSize = sh->size,
                                        .pCode = sh->code};
        SEATTN__CHECK(ctx, vk->vkd.vkCreateShaderModule(vk->device, &mci, vk->alloc,
                                                        &vk->modules[variant][kernel]));
    }
    if (vk->n_pipelines == vk->cap_pipelines) {
        const uint32_t cap = vk->cap_pipelines ? 2 * vk->cap_pipelines : 16;
        seattn__pipeline *grown = seattn__realloc(vk->pipelines, cap * sizeof *grown);
        if (!grown)
            return seattn__fail(ctx, SEATTN_ERROR_OUT_OF_MEMORY, "no memory for a pipeline");
        vk->pipelines = grown;
        vk->cap_pipelines = cap;
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
                  /* flash_sg's rows are whole inside subgroups (the planner makes the workgroup
                   * a multiple of the largest size): full subgroups, where promised */
                  .flags = kernel == SEATTN__KERNEL_FLASH_SG && vk->full_subgroups
                               ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT_EXT
                               : 0,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = vk->modules[variant][kernel],
                  .pName = "main",
                  .pSpecializationInfo = &si},
        .layout = vk->pipeline_layout[seattn__vk_kernel_layout(kernel)]};
    VkPipeline pipe = VK_NULL_HANDLE;
    SEATTN__CHECK(ctx, vk->vkd.vkCreateComputePipelines(vk->device, vk->pipeline_cache, 1, &ci,
                                                        vk->alloc, &pipe));
    seattn__pipeline *slot = &vk->pipelines[vk->n_pipelines++];
    slot->kernel = kernel;
    memcpy(slot->spec, spec, spec_bytes);
    slot->pipeline = pipe;
    *out = pipe;
fail:
    return status;
}
