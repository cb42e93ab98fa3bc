/* The only file that includes the generated SPIR-V (build/spirv/NAME.spv.h). */
#include "vk_internal.h"

#include "attention.spv.h"
#include "merge.spv.h"

static const seattn__shader shaders[] = {
    [SEATTN__KERNEL_ATTENTION] = {"attention", seattn__spv_attention,
                                  sizeof seattn__spv_attention},
    [SEATTN__KERNEL_MERGE] = {"merge", seattn__spv_merge, sizeof seattn__spv_merge},
};

const seattn__shader *seattn__shader_get(seattn__kernel kernel) { return &shaders[kernel]; }
