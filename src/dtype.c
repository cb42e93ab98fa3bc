/* Storage types: sizes, names, and the encoders and decoders every backend agrees with (the CPU
 * reference decodes through seattn__dtype_load; the shaders' kv_types.glsl mirrors it). */
#include "seattn_internal.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "fp8_e4m3"};
#define N_TYPES (sizeof names / sizeof names[0])

bool seattn__dtype_known(seattn_dtype t) {
    return (unsigned)t < N_TYPES;
}

bool seattn__dtype_block(seattn_dtype t) {
    return t == SEATTN_DTYPE_Q8_0 || t == SEATTN_DTYPE_Q4_0;
}

size_t seattn__dtype_block_bytes(seattn_dtype t) {
    return t == SEATTN_DTYPE_Q8_0 ? 34 : 18;
}

size_t seattn__dtype_size(seattn_dtype t) {
    switch (t) {
    case SEATTN_DTYPE_F16:
    case SEATTN_DTYPE_BF16:
        return 2;
    case SEATTN_DTYPE_FP8_E4M3:
        return 1;
    default:
        return 4;
    }
}

uint64_t seattn__dtype_byte(seattn_dtype t, uint64_t e) {
    return seattn__dtype_block(t) ? e / 32 * seattn__dtype_block_bytes(t)
                                  : e * seattn__dtype_size(t);
}

size_t seattn_dtype_bytes(seattn_dtype t, size_t elements) {
    if (!seattn__dtype_known(t)) return 0;
    if (seattn__dtype_block(t)) return (elements + 31) / 32 * seattn__dtype_block_bytes(t);
    return elements * seattn__dtype_size(t);
}

const char *seattn_dtype_name(seattn_dtype t) {
    return seattn__dtype_known(t) ? names[t] : NULL;
}

seattn_status seattn_dtype_from_name(const char *name, seattn_dtype *t) {
    for (unsigned i = 0; name && i < N_TYPES; i++)
        if (strcmp(name, names[i]) == 0) {
            if (t) *t = (seattn_dtype)i;
            return SEATTN_SUCCESS;
        }
    return SEATTN_ERROR_INVALID_ARGUMENT;
}

static float bits_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t float_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint16_t read16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static void write16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* OCP E4M3FN: bias 7, 3 mantissa bits, subnormals m 2^-9, S.1111.111 NaN, no infinities. */
static float fp8_e4m3_value(uint8_t b) {
    const uint32_t e = (b >> 3) & 15u, m = b & 7u;
    float x;
    if (e == 15 && m == 7)
        x = NAN;
    else if (e == 0)
        x = (float)m * 0x1p-9f;
    else
        x = bits_float((e + 120u) << 23 | m << 20);
    return (b & 0x80) ? -x : x;
}

/* x in E4M3FN, saturated to +-448, round to nearest even; NaN stays NaN. */
static uint8_t fp8_e4m3_encode(float x) {
    const uint8_t sign = signbit(x) ? 0x80 : 0;
    if (isnan(x)) return 0x7f;
    float a = fabsf(x);
    if (a >= 448.0f) return sign | 0x7e;
    /* the spacing of E4M3 values at a: 2^-9 below 2^-6 (subnormals), else 2^(floor(log2 a) - 3) */
    int ex;
    frexpf(a, &ex); /* a = f 2^ex, f in [0.5, 1) */
    const float ulp = a < 0x1p-6f ? 0x1p-9f : ldexpf(1.0f, ex - 1 - 3);
    const float q = nearbyintf(a / ulp) * ulp; /* exact: a / ulp < 2^5; ties to even (default
                                                * rounding mode) */
    if (q < 0x1p-6f) return sign | (uint8_t)(q * 512.0f); /* a subnormal: m 2^-9, m < 8 */
    const uint32_t b = float_bits(q); /* q <= 448: exponent 2^-6 .. 2^8, three mantissa bits */
    return sign | (uint8_t)((((b >> 23) - 120u) << 3) | ((b >> 20) & 7u));
}

uint16_t seattn__float_to_bf16(float f) {
    const uint32_t b = float_bits(f);
    if (isnan(f)) return (uint16_t)((b >> 16) | 0x40u);
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

float seattn__dtype_load(seattn_dtype t, const void *base, uint64_t e, float scale) {
    const uint8_t *p = base;
    switch (t) {
    case SEATTN_DTYPE_F32:
        return ((const float *)base)[e];
    case SEATTN_DTYPE_F16:
        return seattn__half_to_float(read16(p + 2 * e));
    case SEATTN_DTYPE_BF16:
        return bits_float((uint32_t)read16(p + 2 * e) << 16);
    case SEATTN_DTYPE_FP8_E4M3:
        return fp8_e4m3_value(p[e]) * scale;
    case SEATTN_DTYPE_Q8_0: {
        const uint8_t *blk = p + e / 32 * 34;
        return seattn__half_to_float(read16(blk)) * (float)(int8_t)blk[2 + e % 32];
    }
    case SEATTN_DTYPE_Q4_0: {
        const uint8_t *blk = p + e / 32 * 18;
        const uint32_t j = (uint32_t)(e % 32);
        const int q = j < 16 ? (blk[2 + j] & 15) : (blk[2 + j - 16] >> 4);
        return seattn__half_to_float(read16(blk)) * (float)(q - 8);
    }
    }
    return NAN;
}

static void quantize_q8_0(const float *x, uint8_t *blk) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
    write16(blk, seattn__float_to_half(d));
    for (int j = 0; j < 32; j++)
        blk[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

static void quantize_q4_0(const float *x, uint8_t *blk) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    const float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
    write16(blk, seattn__float_to_half(d));
    for (int j = 0; j < 16; j++) {
        const int8_t a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[16 + j] * id + 8.5f);
        const uint8_t xa = (uint8_t)(a < 15 ? a : 15), xb = (uint8_t)(b < 15 ? b : 15);
        blk[2 + j] = (uint8_t)(xa | xb << 4);
    }
}

static seattn_status check_args(seattn_dtype t, size_t n, const void *a, const void *b,
                                float scale) {
    if (!seattn__dtype_known(t) || (n && (!a || !b))) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (seattn__dtype_block(t) && n % 32 != 0) return SEATTN_ERROR_INVALID_ARGUMENT;
    if (t == SEATTN_DTYPE_FP8_E4M3 && !(isfinite(scale) && scale > 0.0f))
        return SEATTN_ERROR_INVALID_ARGUMENT;
    return SEATTN_SUCCESS;
}

seattn_status seattn_quantize(seattn_dtype t, const float *src, size_t n, void *dst, float scale) {
    seattn_status s = check_args(t, n, src, dst, scale);
    if (s != SEATTN_SUCCESS) return s;
    uint8_t *p = dst;
    for (size_t i = 0; i < n; i++)
        switch (t) {
        case SEATTN_DTYPE_F32:
            memcpy(p + 4 * i, &src[i], 4);
            break;
        case SEATTN_DTYPE_F16:
            write16(p + 2 * i, seattn__float_to_half(src[i]));
            break;
        case SEATTN_DTYPE_BF16:
            write16(p + 2 * i, seattn__float_to_bf16(src[i]));
            break;
        case SEATTN_DTYPE_FP8_E4M3:
            p[i] = fp8_e4m3_encode(src[i] / scale);
            break;
        case SEATTN_DTYPE_Q8_0:
            if (i % 32 == 0) quantize_q8_0(src + i, p + i / 32 * 34);
            break;
        case SEATTN_DTYPE_Q4_0:
            if (i % 32 == 0) quantize_q4_0(src + i, p + i / 32 * 18);
            break;
        }
    return SEATTN_SUCCESS;
}

seattn_status seattn_dequantize(seattn_dtype t, const void *src, size_t n, float *dst,
                                float scale) {
    seattn_status s = check_args(t, n, src, dst, scale);
    if (s != SEATTN_SUCCESS) return s;
    for (size_t i = 0; i < n; i++)
        dst[i] = seattn__dtype_load(t, src, i, scale);
    return SEATTN_SUCCESS;
}
