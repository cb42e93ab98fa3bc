/* The only file that includes the generated SPIR-V (build/spirv/NAME.spv.h). */
#include "vk_internal.h"

#include "attention.spv.h"
#include "merge.spv.h"
#include "texel.spv.h"

static const seattn__shader shaders[] = {
    [SEATTN__KERNEL_ATTENTION] = {"attention", seattn__spv_attention,
                                  sizeof seattn__spv_attention},
    [SEATTN__KERNEL_MERGE] = {"merge", seattn__spv_merge, sizeof seattn__spv_merge},
    [SEATTN__KERNEL_TEXEL] = {"texel", seattn__spv_texel, sizeof seattn__spv_texel},
};

const seattn__shader *seattn__shader_get(seattn__kernel kernel) { return &shaders[kernel]; }
