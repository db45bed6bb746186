/* numpy's PCG64 (PCG XSL RR 128/64, O'Neill 2014), inlined: the same stream as numpy.random.PCG64, drawn
 * from a copy of its state held in registers instead of through the bit generator's function pointer.
 *
 * numpy steps the 128-bit LCG and then outputs from the new state (pcg64.h: pcg_setseq_128_xsl_rr_64_random_r);
 * Generator.random() is (next64 >> 11) * 2^-53. os_pcg64_advance jumps delta steps along the stream in
 * O(log delta) (Brown 1994; pcg_advance_lcg_128), as PCG64.advance(delta) does.
 */
#ifndef OPTISCAPE_PCG64_H
#define OPTISCAPE_PCG64_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t state_high, state_low, inc_high, inc_low; } os_pcg64;

#define OS_PCG64_MULTIPLIER (((__uint128_t)2549297995355413924ULL << 64) | 4865540595714422341ULL)

static inline __uint128_t os_u128(uint64_t high, uint64_t low) { return ((__uint128_t)high << 64) | low; }

static inline double os_pcg64_double(__uint128_t state) {
    uint64_t xored = (uint64_t)(state >> 64) ^ (uint64_t)state;
    unsigned rot = (unsigned)(state >> 122);
    uint64_t out = (xored >> rot) | (xored << ((-rot) & 63));
    return (double)(out >> 11) * (1.0 / 9007199254740992.0);
}

static inline double os_pcg64_next_double(__uint128_t* state, __uint128_t inc) {
    *state = *state * OS_PCG64_MULTIPLIER + inc;
    return os_pcg64_double(*state);
}

/* fill u[0:count] with the next count doubles of the stream, advancing g. Three interleaved chains, each
 * stepping three draws at a time (state_{q+3} = M^3 state_q + inc (M^2 + M + 1)), so that three 128-bit
 * multiplications are in flight instead of one after the other: the same numbers, in the same order. The last
 * triple is output outside the loop, so that the loop never writes the running state back (a 128-bit value
 * stored as two halves and read back whole stalls store forwarding on every turn). */
static inline void os_pcg64_fill(os_pcg64* g, double* u, ptrdiff_t count) {
    const __uint128_t M = OS_PCG64_MULTIPLIER, M2 = M * M, M3 = M2 * M;
    __uint128_t state = os_u128(g->state_high, g->state_low), inc = os_u128(g->inc_high, g->inc_low);
    ptrdiff_t q = 0;
    if (count >= 6) {
        const __uint128_t plus3 = inc * (M2 + M + 1);
        __uint128_t s1 = state * M + inc, s2 = s1 * M + inc, s3 = s2 * M + inc;
        for (; q + 6 <= count; q += 3) {
            u[q] = os_pcg64_double(s1);
            u[q + 1] = os_pcg64_double(s2);
            u[q + 2] = os_pcg64_double(s3);
            s1 = s1 * M3 + plus3;
            s2 = s2 * M3 + plus3;
            s3 = s3 * M3 + plus3;
        }
        u[q] = os_pcg64_double(s1);
        u[q + 1] = os_pcg64_double(s2);
        u[q + 2] = os_pcg64_double(s3);
        q += 3;
        state = s3;
    }
    for (; q < count; q++) u[q] = os_pcg64_next_double(&state, inc);
    g->state_high = (uint64_t)(state >> 64);
    g->state_low = (uint64_t)state;
}

static inline void os_pcg64_advance(os_pcg64* g, uint64_t delta) {
    __uint128_t mult = OS_PCG64_MULTIPLIER, plus = os_u128(g->inc_high, g->inc_low);
    __uint128_t acc_mult = 1, acc_plus = 0;
    while (delta > 0) {
        if (delta & 1) {
            acc_mult *= mult;
            acc_plus = acc_plus * mult + plus;
        }
        plus = (mult + 1) * plus;
        mult *= mult;
        delta /= 2;
    }
    __uint128_t state = acc_mult * os_u128(g->state_high, g->state_low) + acc_plus;
    g->state_high = (uint64_t)(state >> 64);
    g->state_low = (uint64_t)state;
}

#endif
