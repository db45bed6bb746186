/* optiscape's own sin(2πt), cos(2πt) and log(x), written so that a compiler vectorises loops over them.
 *
 * libm's sin, cos and log are calls the compiler cannot vectorise: on Rastrigin they were most of an explorer's
 * move. These are branch-free (selects, not jumps) and use only IEEE +, -, *, /, sqrt, rint, floor and bit
 * operations, so a loop over them runs four lanes at a time on AVX2 and gives, per lane, the same bits as
 * one scalar call (no -ffast-math, no contraction: setup.py builds with -ffp-contract=off). The Python
 * references call the scalar versions (`_fastcore.vecmath`), so kernels and references stay equal to the bit.
 *
 * os_sincos_2pi(t): t = q/4 + f exactly (q = rint(4t); Sterbenz makes t - q/4 exact), |f| <= 1/8, then
 * fdlibm's __kernel_sin and __kernel_cos (as in musl) at y = 2πf, |y| <= π/4, rotated by the quadrant q mod 4.
 * Error against the true sin(2πt), cos(2πt): within 2 ulp (tested), for every finite t; inf and nan give nan.
 * (libm's sin(2π * t) rounds 2πt first: for t near 5 that alone is an error of ~2e-15 absolute.)
 *
 * os_log(x): fdlibm's __ieee754_log (as in musl 1.1), x = 2^k m with m in [sqrt(2)/2, sqrt(2)), without its
 * branches for zero, negative, subnormal and non-finite x: valid for normal x in [2^-1022, 2^1000] (tested
 * within 1 ulp there); the kernels call it on 1 - u for a uniform u in [0, 1), that is on [2^-53, 1].
 */
#ifndef OPTISCAPE_VECMATH_H
#define OPTISCAPE_VECMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OS_TWO_PI 6.28318530717958647692

static inline uint64_t os_bits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double os_from_bits(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

static inline __attribute__((always_inline)) void os_sincos_2pi(double t, double* sin_out, double* cos_out) {
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    double q = rint(4.0 * t);
    double f = t - 0.25 * q;                       /* exact */
    double quadrant = q - 4.0 * rint(0.25 * q);    /* q mod 4 as -2, -1, 0, 1 or 2 (-1 is 3, -2 is 2), exact */
    double y = OS_TWO_PI * f;
    double z = y * y, w = z * z, r, v, sy, cy, hz, one_minus_hz;
    r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);     /* musl __sin(y, 0, 0) */
    v = z * y;
    sy = y + v * (S1 + z * r);
    r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));   /* musl __cos(y, 0) */
    hz = 0.5 * z;
    one_minus_hz = 1.0 - hz;
    cy = one_minus_hz + (((1.0 - one_minus_hz) - hz) + z * r);
    /* sin(qπ/2 + y), cos(qπ/2 + y): q mod 4 = 0: (sy, cy); 1: (cy, -sy); 2: (-sy, -cy); 3: (-cy, sy) */
    int swap = fabs(quadrant) == 1.0;
    double s = swap ? cy : sy;
    double c = swap ? sy : cy;
    *sin_out = (quadrant < 0.0) | (quadrant == 2.0) ? -s : s;
    *cos_out = (quadrant == 1.0) | (fabs(quadrant) == 2.0) ? -c : c;
}

static inline __attribute__((always_inline)) double os_log(double x) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    /* reduce x into [sqrt(2)/2, sqrt(2)): shift the high word so that the exponent steps at sqrt(2)/2 */
    uint64_t ix = os_bits(x) + ((uint64_t)(0x3ff00000 - 0x3fe6a09e) << 32);
    uint64_t biased_k = ix >> 52;                                   /* k + 1023 */
    double m = os_from_bits((ix & 0x000fffffffffffffULL) + ((uint64_t)0x3fe6a09e << 32));
    double dk = os_from_bits(0x4330000000000000ULL | biased_k) - 4503599627371519.0;  /* 2^52 + 1023: k, exact */
    double f = m - 1.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
    double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
    double R = t2 + t1;
    return s * (hfsq + R) + dk * ln2_lo - hfsq + f + dk * ln2_hi;
}

/* s[k], c[k] = sin(2π t[k]), cos(2π t[k]) for k < n */
static inline void os_sincos_2pi_n(const double* t, double* s, double* c, ptrdiff_t n) {
    ptrdiff_t k;
    #pragma omp simd
    for (k = 0; k < n; k++) os_sincos_2pi(t[k], &s[k], &c[k]);
}

/* Box-Muller: z[2m], z[2m + 1] = ρ cos(2π w[m]), ρ sin(2π w[m]), ρ = sqrt(-2 ln(1 - u[m])), for m < n */
static inline void os_box_muller_n(const double* u, const double* w, double* z, ptrdiff_t n) {
    ptrdiff_t m;
    #pragma omp simd
    for (m = 0; m < n; m++) {
        double radius = sqrt(-2.0 * os_log(1.0 - u[m])), s, c;
        os_sincos_2pi(w[m], &s, &c);
        z[2 * m] = radius * c;
        z[2 * m + 1] = radius * s;
    }
}

#endif
