/* Loops over a block of explorers held coordinate-major, one explorer per vector lane (`_fastcore.explorers`).
 *
 * A block array A holds coordinate k of explorer j at A[k * lanes + j], lanes a multiple of OS_LANE_TILE, so
 * that one vector instruction works on the same coordinate of several explorers. The loops work on the first
 * `width` lanes (the block's explorers, up to a multiple of OS_LANE_TILE): a short block costs its own explorers,
 * not a whole block. Every per-explorer sum still runs term by term in coordinate order (k = 0, 1, ..., d - 1),
 * as one explorer at a time sums it: lanes are different explorers, never parts of one sum, so the results are
 * the bits the scalar references give. (Summed explorer by explorer, each sum is a chain of dependent additions;
 * in lanes, four explorers' sums advance per instruction.) IEEE +, -, *, /, sqrt and selects only, no
 * contraction (setup.py).
 */
#ifndef OPTISCAPE_LANES_H
#define OPTISCAPE_LANES_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "vecmath.h"

#define OS_LANE_TILE 8  /* explorers whose sums are held in registers at once: two AVX2 vectors */

/* condition ? a : b, by bit masks: GCC would otherwise move a division that only one side reads into a branch,
 * and a loop with a branch (a division that may trap) does not vectorise */
static inline double os_where(int condition, double a, double b) {
    uint64_t mask = -(uint64_t)(condition != 0);
    return os_from_bits((os_bits(a) & mask) | (os_bits(b) & ~mask));
}

/* Moving a block between rows (X[j * stride + k]: explorer j's coordinates side by side, as the model stores
 * them) and lanes (A[k * lanes + j]) is a transpose: four explorers by four coordinates at a time in AVX
 * registers (two shuffles per vector), the ragged edges one number at a time. Copies only: no arithmetic. */
#ifdef __AVX__
#include <immintrin.h>

/* dst[q * dst_stride + i] = r_i[q] for q, i < 4: the 4 x 4 block r0..r3 (rows) stored transposed */
static inline void os_store_transposed4(__m256d r0, __m256d r1, __m256d r2, __m256d r3, double* dst,
                                        ptrdiff_t dst_stride) {
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(dst + dst_stride, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(dst + 2 * dst_stride, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(dst + 3 * dst_stride, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#define OS_BY_FOUR 4
#else
#define OS_BY_FOUR 0x7fffffff  /* no AVX: every number one at a time */
#endif

/* A[k * lanes + j] = X[j * stride + k], for rows j < count and columns k < cols */
static inline void os_lanes_from_rows(const double* restrict X, ptrdiff_t stride, ptrdiff_t cols, ptrdiff_t count,
                                      ptrdiff_t lanes, double* restrict A) {
    ptrdiff_t j = 0, k;
    for (; j + OS_BY_FOUR <= count; j += 4) {
        const double* x = X + j * stride;
        for (k = 0; k + OS_BY_FOUR <= cols; k += 4) {
#ifdef __AVX__
            os_store_transposed4(_mm256_loadu_pd(x + k), _mm256_loadu_pd(x + stride + k),
                                 _mm256_loadu_pd(x + 2 * stride + k), _mm256_loadu_pd(x + 3 * stride + k),
                                 A + k * lanes + j, lanes);
#endif
        }
        for (; k < cols; k++)
            for (int q = 0; q < 4; q++) A[k * lanes + j + q] = x[q * stride + k];
    }
    for (; j < count; j++)
        for (k = 0; k < cols; k++) A[k * lanes + j] = X[j * stride + k];
}

/* A[k * lanes + j] = X[j * d + k] and D[k * lanes + j] = X[j * d + k] - B[owner[j] * d + k] (an explorer's
 * coordinates, and the same minus its algorithm's row of B), for j < count, k < d */
static inline void os_lanes_from_rows_minus(const double* restrict X, const double* restrict B,
                                            const int64_t* restrict owner, ptrdiff_t d, ptrdiff_t count,
                                            ptrdiff_t lanes, double* restrict A, double* restrict D) {
    ptrdiff_t j = 0, k;
    for (; j + OS_BY_FOUR <= count; j += 4) {
        const double* x = X + j * d;
        const double* b[4] = {B + owner[j] * d, B + owner[j + 1] * d, B + owner[j + 2] * d, B + owner[j + 3] * d};
        for (k = 0; k + OS_BY_FOUR <= d; k += 4) {
#ifdef __AVX__
            for (int q = 4; q < 8; q++) __builtin_prefetch(x + q * d + k);  /* the next four rows */
            __m256d x0 = _mm256_loadu_pd(x + k), x1 = _mm256_loadu_pd(x + d + k);
            __m256d x2 = _mm256_loadu_pd(x + 2 * d + k), x3 = _mm256_loadu_pd(x + 3 * d + k);
            os_store_transposed4(x0, x1, x2, x3, A + k * lanes + j, lanes);
            os_store_transposed4(_mm256_sub_pd(x0, _mm256_loadu_pd(b[0] + k)),
                                 _mm256_sub_pd(x1, _mm256_loadu_pd(b[1] + k)),
                                 _mm256_sub_pd(x2, _mm256_loadu_pd(b[2] + k)),
                                 _mm256_sub_pd(x3, _mm256_loadu_pd(b[3] + k)), D + k * lanes + j, lanes);
#endif
        }
        for (; k < d; k++)
            for (int q = 0; q < 4; q++) {
                A[k * lanes + j + q] = x[q * d + k];
                D[k * lanes + j + q] = x[q * d + k] - b[q][k];
            }
    }
    for (; j < count; j++)
        for (k = 0; k < d; k++) {
            A[k * lanes + j] = X[j * d + k];
            D[k * lanes + j] = X[j * d + k] - B[owner[j] * d + k];
        }
}

/* X[j * d + k] = A[k * lanes + j], for j < count, k < d */
static inline void os_lanes_to_rows(const double* restrict A, ptrdiff_t d, ptrdiff_t count, ptrdiff_t lanes,
                                    double* restrict X) {
    ptrdiff_t j = 0, k;
    for (; j + OS_BY_FOUR <= count; j += 4) {
        double* x = X + j * d;
        for (k = 0; k + OS_BY_FOUR <= d; k += 4) {
#ifdef __AVX__
            const double* a = A + k * lanes + j;
            os_store_transposed4(_mm256_loadu_pd(a), _mm256_loadu_pd(a + lanes), _mm256_loadu_pd(a + 2 * lanes),
                                 _mm256_loadu_pd(a + 3 * lanes), x + k, d);
#endif
        }
        for (; k < d; k++)
            for (int q = 0; q < 4; q++) x[q * d + k] = A[k * lanes + j + q];
    }
    for (; j < count; j++)
        for (k = 0; k < d; k++) X[j * d + k] = A[k * lanes + j];
}

/* value[j] += Σ_k T[k, j] (T may be NULL: value untouched), gn[j] = Σ_k G[k, j]², zg[j] = Σ_k Z[k, j] G[k, j],
 * r2[j] = Σ_k D[k, j]², each from +0.0 (value from its own start) and term by term in k order */
static inline void os_lanes_sums(const double* restrict T, const double* restrict G, const double* restrict Z,
                                 const double* restrict D, ptrdiff_t d, ptrdiff_t lanes, ptrdiff_t width,
                                 double* restrict value, double* restrict gn, double* restrict zg,
                                 double* restrict r2) {
    for (ptrdiff_t j0 = 0; j0 < width; j0 += OS_LANE_TILE) {
        double v[OS_LANE_TILE], g[OS_LANE_TILE], z[OS_LANE_TILE], r[OS_LANE_TILE];
        for (int j = 0; j < OS_LANE_TILE; j++) {
            v[j] = value[j0 + j];
            g[j] = 0.0;
            z[j] = 0.0;
            r[j] = 0.0;
        }
        for (ptrdiff_t k = 0; k < d; k++) {
            const double* t = T + k * lanes + j0;  /* unread when T is NULL */
            const double* gk = G + k * lanes + j0;
            const double* zk = Z + k * lanes + j0;
            const double* dk = D + k * lanes + j0;
            if (T) {
                #pragma omp simd
                for (int j = 0; j < OS_LANE_TILE; j++) v[j] = v[j] + t[j];
            }
            #pragma omp simd
            for (int j = 0; j < OS_LANE_TILE; j++) {
                g[j] = g[j] + gk[j] * gk[j];
                z[j] = z[j] + zk[j] * gk[j];
                r[j] = r[j] + dk[j] * dk[j];
            }
        }
        for (int j = 0; j < OS_LANE_TILE; j++) {
            value[j0 + j] = v[j];
            gn[j0 + j] = g[j];
            zg[j0 + j] = z[j];
            r2[j0 + j] = r[j];
        }
    }
}

/* Where gn[j] (= |∇L|) > 0: G[k, j] becomes the descent direction -G[k, j] / gn[j] and Z[k, j] its part
 * orthogonal to it, Z - p G with p = z . d = -zg[j] / gn[j]; where gn[j] = 0, Z stays and G is not read again.
 * un[j] = |Z[., j]| afterwards (squares summed in k order, then sqrt). */
static inline void os_lanes_orthogonal(double* restrict G, double* restrict Z, const double* restrict gn,
                                       const double* restrict zg, ptrdiff_t d, ptrdiff_t lanes,
                                       ptrdiff_t width, double* restrict un) {
    for (ptrdiff_t j0 = 0; j0 < width; j0 += OS_LANE_TILE) {
        double norm[OS_LANE_TILE], proj[OS_LANE_TILE], u[OS_LANE_TILE];
        for (int j = 0; j < OS_LANE_TILE; j++) {
            norm[j] = gn[j0 + j];
            proj[j] = -zg[j0 + j] / norm[j];
            u[j] = 0.0;
        }
        for (ptrdiff_t k = 0; k < d; k++) {
            double* gk = G + k * lanes + j0;
            double* zk = Z + k * lanes + j0;
            #pragma omp simd
            for (int j = 0; j < OS_LANE_TILE; j++) {
                double direction = -gk[j] / norm[j];
                double z = zk[j], orthogonal = z - proj[j] * direction;
                z = os_where(norm[j] > 0.0, orthogonal, z);
                gk[j] = direction;
                zk[j] = z;
                u[j] = u[j] + z * z;
            }
        }
        #pragma omp simd
        for (int j = 0; j < OS_LANE_TILE; j++) un[j0 + j] = sqrt(u[j]);
    }
}

/* Per explorer j < count of algorithm a = owner[j]: its niche, inside[j] = (R2[a] < 0 or r2[j] <= R2[a]), and
 * its move's c[j], s[j] = cos S, sin S of a inside, 0, 1 (blind) outside, step[j] = V[a]; its spawn kind from
 * its draw v = draw[j]: 1 if v < p1[a], 2 if p1[a] <= v < p1[a] + p2[a], else 0. Gathers and selects, no
 * branches: the niche test is no pattern a branch predictor could learn. */
static inline void os_lanes_niche_spawn(const int64_t* restrict owner, const double* restrict R2,
                                        const double* restrict cs, const double* restrict sn,
                                        const double* restrict V, const double* restrict p1,
                                        const double* restrict p2, const double* restrict r2,
                                        const double* restrict draw, ptrdiff_t count, double* restrict c,
                                        double* restrict s, double* restrict step, uint8_t* restrict inside,
                                        int8_t* restrict kind) {
    #pragma omp simd
    for (ptrdiff_t j = 0; j < count; j++) {
        int64_t a = owner[j];
        double radius2 = R2[a], v = draw[j], first = p1[a];
        int in = (radius2 < 0.0) | (r2[j] <= radius2);
        inside[j] = (uint8_t)in;
        c[j] = os_where(in, cs[a], 0.0);
        s[j] = os_where(in, sn[a], 1.0);
        step[j] = V[a];
        kind[j] = (int8_t)((v < first) + 2 * ((v >= first) & (v < first + p2[a])));
    }
}

/* X[k, j] += step[j] (c[j] G[k, j] + s[j] w) where gn[j] > 0, else step[j] w; w = Z[k, j] / un[j], or 0.0
 * where un[j] = 0. finite[j] = 1 if every new coordinate of explorer j is finite, else 0. */
static inline void os_lanes_move(double* restrict X, const double* restrict G, const double* restrict Z,
                                 const double* restrict gn, const double* restrict un, const double* restrict c,
                                 const double* restrict s, const double* restrict step, ptrdiff_t d,
                                 ptrdiff_t lanes, ptrdiff_t width, int64_t* restrict finite) {
    for (ptrdiff_t j0 = 0; j0 < width; j0 += OS_LANE_TILE) {
        double along[OS_LANE_TILE], across[OS_LANE_TILE], norm[OS_LANE_TILE], cj[OS_LANE_TILE], sj[OS_LANE_TILE],
               vj[OS_LANE_TILE];
        int64_t ok[OS_LANE_TILE];  /* in registers across k: no load and store of a flag per coordinate */
        for (int j = 0; j < OS_LANE_TILE; j++) {
            along[j] = gn[j0 + j] > 0.0;
            across[j] = un[j0 + j] > 0.0;
            norm[j] = un[j0 + j];
            cj[j] = c[j0 + j];
            sj[j] = s[j0 + j];
            vj[j] = step[j0 + j];
            ok[j] = 1;
        }
        for (ptrdiff_t k = 0; k < d; k++) {
            double* xk = X + k * lanes + j0;
            const double* gk = G + k * lanes + j0;
            const double* zk = Z + k * lanes + j0;
            #pragma omp simd
            for (int j = 0; j < OS_LANE_TILE; j++) {
                double w = os_where(across[j] != 0.0, zk[j] / norm[j], 0.0);
                double v = os_where(along[j] != 0.0, cj[j] * gk[j] + sj[j] * w, w);
                double x = xk[j] + vj[j] * v;
                xk[j] = x;
                ok[j] &= fabs(x) <= DBL_MAX;
            }
        }
        for (int j = 0; j < OS_LANE_TILE; j++) finite[j0 + j] = ok[j];
    }
}

/* Box-Muller in lanes: Z[2q, j], Z[2q + 1, j] = ρ cos(2π v), ρ sin(2π v), ρ = sqrt(-2 ln(1 - u)), for the
 * uniforms u = R[2q, j], v = R[2q + 1, j] of pair q < pairs (`vecmath.h`'s ln, sin(2π·), cos(2π·)) */
static inline void os_lanes_box_muller(const double* restrict R, ptrdiff_t pairs, ptrdiff_t lanes,
                                       ptrdiff_t width, double* restrict Z) {
    for (ptrdiff_t q = 0; q < pairs; q++)
        for (ptrdiff_t j0 = 0; j0 < width; j0 += OS_LANE_TILE) {
            const double* u = R + 2 * q * lanes + j0;
            const double* v = R + (2 * q + 1) * lanes + j0;
            double* zc = Z + 2 * q * lanes + j0;
            double* zs = Z + (2 * q + 1) * lanes + j0;
            #pragma omp simd
            for (int j = 0; j < OS_LANE_TILE; j++) {
                double radius = sqrt(-2.0 * os_log(1.0 - u[j])), sine, cosine;
                os_sincos_2pi(v[j], &sine, &cosine);
                zc[j] = radius * cosine;
                zs[j] = radius * sine;
            }
        }
}

#endif
