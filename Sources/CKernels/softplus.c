// Softplus with sharpness β, fused with the bias add, as PyTorch computes it (threshold 20):
//
//     t = β(a + b),  σ = a + b            when t > 20,
//                    (max(t, 0) + log1p(e^{−|t|})) / β   otherwise,
//     σ' = 1 when t > 20, else e^{t}/(1 + e^{t}) written as (t < 0 ? e^{−|t|} : 1)/(1 + e^{−|t|}).
//
// e^{m} for m ≤ 0: Cody–Waite reduction m = n·ln2 + r and a degree-6 polynomial in r, with 2ⁿ
// built in the exponent bits; log1p(u) for u ∈ [0, 1] as 2·atanh(u/(2 + u)) from eight terms of
// its odd series (|u/(2 + u)| ≤ 1/3). Branch-free, so one loop body compiles to 16-wide
// AVX-512, 8-wide AVX2+FMA or 4-wide SSE2 code; the variant is chosen at run time.
#include "CKernels.h"
#include "multiversion.h"

#include <string.h>

static inline LPN_BODY float exp_non_positive(float m) {
    float x = m > -87.0f ? m : -87.0f;
    // Round x·log₂e to the nearest integer with the 1.5·2²³ shifter (exact for |n| < 2²²).
    const float shifter = 12582912.0f;
    float shifted = x * 1.44269504f + shifter;
    float n = shifted - shifter;
    float r = x - n * 0.693359375f + n * 2.1219444e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.0000001e-1f;
    p = p * r * r + r + 1.0f;
    // n sits in the low mantissa bits of `shifted`: 2ⁿ = bits ((n + 127) << 23).
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline LPN_BODY float log1p_unit(float u) {
    float s = u / (2.0f + u);
    float s2 = s * s;
    float p = 1.0f / 15;
    p = p * s2 + 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

static inline LPN_BODY void bias_softplus_body(float *values, float *slopes, const float *bias,
                                              ptrdiff_t channels, ptrdiff_t pixels, float beta) {
    const float inverse_beta = 1.0f / beta;
    for (ptrdiff_t c = 0; c < channels; c++) {
        const float b = bias ? bias[c] : 0.0f;
        float *restrict v = values + c * pixels;
        float *restrict s = slopes + c * pixels;
        for (ptrdiff_t i = 0; i < pixels; i++) {
            float a = v[i] + b;
            float t = a * beta;
            float neg_abs = t < 0 ? t : -t;
            float e = exp_non_positive(neg_abs);
            float value = ((t > 0 ? t : 0.0f) + log1p_unit(e)) * inverse_beta;
            float slope = (t < 0 ? e : 1.0f) / (1.0f + e);
            v[i] = t > 20.0f ? a : value;
            s[i] = t > 20.0f ? 1.0f : slope;
        }
    }
}

LPN_MULTIVERSION(bias_softplus,
                 (float *values, float *slopes, const float *bias, ptrdiff_t channels, ptrdiff_t pixels, float beta),
                 (values, slopes, bias, channels, pixels, beta))

void lpn_bias_softplus_at(int level, float *values, float *slopes, const float *bias,
                          ptrdiff_t channels, ptrdiff_t pixels, float beta) {
    if (level > lpn_kernel_level()) level = lpn_kernel_level();
    LPN_DISPATCH(level, bias_softplus, (values, slopes, bias, channels, pixels, beta))
}

void lpn_bias_softplus(float *values, float *slopes, const float *bias,
                       ptrdiff_t channels, ptrdiff_t pixels, float beta) {
    lpn_bias_softplus_at(lpn_kernel_level(), values, slopes, bias, channels, pixels, beta);
}

static inline LPN_BODY void multiply_body(float *restrict values, const float *restrict factors, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) values[i] *= factors[i];
}

LPN_MULTIVERSION(multiply, (float *values, const float *factors, ptrdiff_t count), (values, factors, count))

void lpn_multiply(float *values, const float *factors, ptrdiff_t count) {
    LPN_DISPATCH(lpn_kernel_level(), multiply, (values, factors, count))
}
