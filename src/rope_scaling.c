/* seattn_rope_frequencies(): a model's RoPE frequencies and attention factor from its
 * configuration, in double, with the formulas of Hugging Face transformers'
 * src/transformers/modeling_rope_utils.py as shared/golden-models/README.md states them
 * (default, linear, dynamic, yarn, longrope, llama3). Written to be read beside that file. */
#include "seattn_internal.h"

#include <math.h>

#define BAD(...)                                                                                   \
    seattn__fail(NULL, SEATTN_ERROR_INVALID_ARGUMENT, "seattn_rope_frequencies: " __VA_ARGS__)

static const double PI = 3.14159265358979323846;

/* base^(2m / d): f_m, the divisor of pair m's frequency */
static double f_m(double base, uint32_t m, uint32_t d) {
    return pow(base, 2.0 * m / d);
}

/* YaRN's g(s, u): 1 for s <= 1, else 0.1 u ln s + 1 */
static double yarn_mscale(double s, double u) {
    return s <= 1.0 ? 1.0 : 0.1 * u * log(s) + 1.0;
}

/* YaRN's correction dimension: the pair index whose wavelength makes n turns over orig */
static double yarn_corr(double n, uint32_t d, double theta, double orig) {
    return d * log(orig / (n * 2.0 * PI)) / (2.0 * log(theta));
}

static bool positive(double x) {
    return isfinite(x) && x > 0.0;
}

seattn_status seattn_rope_frequencies(const seattn_rope_config *c, double *inv_freq,
                                      float *attention_factor) {
    seattn__set_create_error("");
    if (!c || !inv_freq || !attention_factor)
        return BAD("config, inv_freq or attention_factor is NULL");
    const uint32_t d = c->rotary_dims, half = d / 2;
    const double theta = c->theta, M = c->max_position_embeddings;
    if (!positive(theta)) return BAD("theta (%g) must be finite and > 0", theta);
    if (d < 2 || d > 512 || d % 2) return BAD("rotary_dims (%u) must be even, 2..512", d);
    if (c->max_position_embeddings < 1 &&
        (c->type == SEATTN_ROPE_TYPE_DYNAMIC || c->type == SEATTN_ROPE_TYPE_YARN ||
         c->type == SEATTN_ROPE_TYPE_LONGROPE))
        return BAD("max_position_embeddings must be >= 1 for dynamic, yarn and longrope");
    if (c->factor != 0.0 && !positive(c->factor))
        return BAD("factor (%g) must be finite and > 0", c->factor);
    if (c->attention_factor != 0.0 && !positive(c->attention_factor))
        return BAD("attention_factor (%g) must be finite and > 0", c->attention_factor);
    const double orig =
        c->original_max_position_embeddings ? (double)c->original_max_position_embeddings : M;
    double af = 1.0;
    switch (c->type) {
    case SEATTN_ROPE_TYPE_DEFAULT:
        for (uint32_t m = 0; m < half; m++)
            inv_freq[m] = 1.0 / f_m(theta, m, d);
        break;
    case SEATTN_ROPE_TYPE_LINEAR:
        if (c->factor == 0.0) return BAD("linear needs factor");
        for (uint32_t m = 0; m < half; m++)
            inv_freq[m] = 1.0 / (c->factor * f_m(theta, m, d));
        break;
    case SEATTN_ROPE_TYPE_DYNAMIC: {
        if (c->factor == 0.0) return BAD("dynamic needs factor");
        const double s = c->factor, L = c->seq_len > M ? (double)c->seq_len : M;
        const double base = theta * pow(s * L / M - (s - 1.0), (double)d / (d - 2.0));
        for (uint32_t m = 0; m < half; m++)
            inv_freq[m] = 1.0 / f_m(base, m, d);
        break;
    }
    case SEATTN_ROPE_TYPE_YARN: {
        const double s = c->factor != 0.0 ? c->factor : M / orig;
        const double fast = c->beta_fast != 0.0 ? c->beta_fast : 32.0;
        const double slow = c->beta_slow != 0.0 ? c->beta_slow : 1.0;
        if (!positive(fast) || !positive(slow))
            return BAD("beta_fast (%g) and beta_slow (%g) must be > 0", fast, slow);
        double low = yarn_corr(fast, d, theta, orig), high = yarn_corr(slow, d, theta, orig);
        if (!c->yarn_no_truncate) {
            low = floor(low);
            high = ceil(high);
        }
        if (low < 0.0) low = 0.0;
        if (high > d - 1.0) high = d - 1.0;
        if (low == high) high += 0.001; /* no division by zero */
        for (uint32_t m = 0; m < half; m++) {
            double r = (m - low) / (high - low); /* the ramp, clamped to [0, 1] */
            r = r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
            const double extrapolated = 1.0 / f_m(theta, m, d),
                         interpolated = 1.0 / (s * f_m(theta, m, d));
            inv_freq[m] = interpolated * r + extrapolated * (1.0 - r);
        }
        if (c->attention_factor != 0.0)
            af = c->attention_factor;
        else if (c->mscale != 0.0 && c->mscale_all_dim != 0.0)
            af = yarn_mscale(s, c->mscale) / yarn_mscale(s, c->mscale_all_dim);
        else
            af = yarn_mscale(s, 1.0);
        break;
    }
    case SEATTN_ROPE_TYPE_LONGROPE: {
        if (!c->short_factor || !c->long_factor)
            return BAD("longrope needs short_factor and long_factor");
        const double *e = c->seq_len > orig ? c->long_factor : c->short_factor;
        for (uint32_t m = 0; m < half; m++) /* all checked before any is written */
            if (!positive((float)e[m]))
                return BAD("longrope factor [%u] (%g) must be > 0", m, e[m]);
        for (uint32_t m = 0; m < half; m++) {
            const float em = (float)e[m]; /* transformers makes them a float32 tensor */
            inv_freq[m] = 1.0 / ((double)em * f_m(theta, m, d));
        }
        const double s = c->factor != 0.0 ? c->factor : M / orig;
        if (c->attention_factor != 0.0)
            af = c->attention_factor;
        else
            af = s <= 1.0 ? 1.0 : sqrt(1.0 + log(s) / log(orig));
        break;
    }
    case SEATTN_ROPE_TYPE_LLAMA3: {
        const double s = c->factor, l = c->low_freq_factor, h = c->high_freq_factor;
        if (s == 0.0 || !c->original_max_position_embeddings)
            return BAD("llama3 needs factor and original_max_position_embeddings");
        if (!positive(l) || !positive(h) || !(l < h))
            return BAD("llama3 needs 0 < low_freq_factor (%g) < high_freq_factor (%g)", l, h);
        const double O = orig, low_wavelen = O / l, high_wavelen = O / h;
        for (uint32_t m = 0; m < half; m++) {
            const double inv = 1.0 / f_m(theta, m, d), lam = 2.0 * PI / inv;
            if (lam > low_wavelen) {
                inv_freq[m] = inv / s;
            } else if (lam < high_wavelen) {
                inv_freq[m] = inv;
            } else {
                const double k = (O / lam - l) / (h - l);
                inv_freq[m] = (1.0 - k) * inv / s + k * inv;
            }
        }
        break;
    }
    default:
        return BAD("type: unknown value %d", (int)c->type);
    }
    *attention_factor = (float)af;
    return SEATTN_SUCCESS;
}
