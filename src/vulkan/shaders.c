/* The only file that includes the generated SPIR-V (build/spirv/NAME.spv.h). */
#include "vk_internal.h"

#include "flash.spv.h"
#include "flash_bda.spv.h"
#include "flash_bda_f16.spv.h"
#include "flash_f16.spv.h"
#include "flash_sg.spv.h"
#include "flash_sg_bda.spv.h"
#include "flash_sg_bda_f16.spv.h"
#include "flash_sg_f16.spv.h"
#include "merge.spv.h"
#include "merge_f16.spv.h"
#include "merge_lse.spv.h"
#include "merge_lse_f16.spv.h"
#include "texel.spv.h"
#include "texel_bda.spv.h"
#include "texel_bda_f16.spv.h"
#include "texel_f16.spv.h"

#define SHADER(name)                                                                               \
    { #name, seattn__spv_##name, sizeof seattn__spv_##name }

/* [variant: 1 f16, 2 K and V by address (SEATTN_BDA; texel and flash kernels)][kernel] */
static const seattn__shader shaders[SEATTN__N_VARIANTS][SEATTN__N_KERNELS] = {
    {[SEATTN__KERNEL_MERGE] = SHADER(merge),
     [SEATTN__KERNEL_TEXEL] = SHADER(texel),
     [SEATTN__KERNEL_MERGE_LSE] = SHADER(merge_lse),
     [SEATTN__KERNEL_FLASH] = SHADER(flash),
     [SEATTN__KERNEL_FLASH_SG] = SHADER(flash_sg)},
    {[SEATTN__KERNEL_MERGE] = SHADER(merge_f16),
     [SEATTN__KERNEL_TEXEL] = SHADER(texel_f16),
     [SEATTN__KERNEL_MERGE_LSE] = SHADER(merge_lse_f16),
     [SEATTN__KERNEL_FLASH] = SHADER(flash_f16),
     [SEATTN__KERNEL_FLASH_SG] = SHADER(flash_sg_f16)},
    {[SEATTN__KERNEL_TEXEL] = SHADER(texel_bda),
     [SEATTN__KERNEL_FLASH] = SHADER(flash_bda),
     [SEATTN__KERNEL_FLASH_SG] = SHADER(flash_sg_bda)},
    {[SEATTN__KERNEL_TEXEL] = SHADER(texel_bda_f16),
     [SEATTN__KERNEL_FLASH] = SHADER(flash_bda_f16),
     [SEATTN__KERNEL_FLASH_SG] = SHADER(flash_sg_bda_f16)},
};

const seattn__shader *seattn__shader_get(seattn__kernel kernel, uint32_t variant) {
    return &shaders[variant][kernel];
}
