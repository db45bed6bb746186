# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A register machine for a whole causal world: every node, every step, values and two tangents, lane-vectorised.

Seed 000, "Defining Optimization", Parts 3-4 (SPEC §3): W runs with its X tangent (τ_n = 1) and its Y
tangent (τ = 0 on A) in one value pass. `models.causal_program` compiles a world's node expressions
(`models.expressions` bytecode) into one register program; this module runs it.

Slots. A slot holds one number per lane in three channels: value, X tangent, Y tangent. The tile buffer
is slot-major, [slot][channel][lane], TILE lanes per channel, so every instruction is one loop (or three)
over contiguous lanes that the compiler vectorises (no -ffast-math: per lane, each instruction is the
same IEEE arithmetic as `_fastcore.exprvm`, so results equal it bit for bit). Slots are, in order:
two banks of `n_state` state slots (bank b holds the state after an even/odd number of steps), the time t,
the uniforms (constants and parameters: one value for every lane, zero tangents), then temporaries.

Instructions are rows (op, dst, a, b, c) of int32. The prologue runs once per tile (uniform
subexpressions: constant folding that cannot differ from evaluating them every step); the body is
given twice, body[p] reading bank p and writing bank 1 - p, and runs once per step with p = step % 2.
Opcodes below 26 are `_fastcore.exprvm`'s, with the same derivatives at kinks (the branch W takes);
COPY, CLAMP_TANGENT and CLAMP_VALUE move values between slots and apply A (the clamp) at time t.

Channel modes. Bits 12-13 of an instruction's opcode word give its X tangent channel's mode, bits 14-15 its
Y channel's: FULL (computed and stored), DEAD (computed for the fault check only: nothing reads the channel
before it is overwritten, e.g. the Y tangent of a node that A clamps at every t), SKIP (neither: the result
is +0 and the slot already holds +0, or it is +0 and nothing reads it). `models.causal_program.channel_modes`
proves them for one start (the state's tangent channels that are +0 in every lane): a channel is known +0
where the instruction's tangent formula gives exactly +0 from +0 operand tangents whenever the values are
finite (+0 - +0 = +0, but 0 * k takes k's sign, so a product needs a uniform factor with a clear sign bit;
neg, abs, sin, cos and sqrt are never known +0), and across steps as the greatest fixed point over the two
banks' bodies. Where a value is not finite a skipped channel may differ from the full one, but then the
value itself reaches a check in the same step (+ - * neg copy keep a non-finite value non-finite). A run
takes the body compiled for its start; the modes change no bit of any result (tested against the plain
body). So that the promises hold from the first step, a tile starts with bank 1 a copy of bank 0 and the
time, uniforms and temporaries at +0. The loops are compiled once per pair of modes (Cython fused types as
tags), so the mode tests cost nothing per lane.

Faults. For every instruction flagged CHECKED each lane sums value + X + Y (its stored or DEAD channels) into
s and ORs the bits of s - s into a per-step flag held in a register: x - x is +0 (all bits zero) for a finite
x and nan for inf or nan, so the flag is nonzero at the end of a step iff some checked sum was not finite:
some instruction produced a non-finite number or divided by zero (x / 0 is never finite) in that step, or a
finite sum overflowed (harmless: the caller re-checks that step). The compiler flags every node's result and
every result read by an instruction that can turn a non-finite input into finite outputs (all but + - *
neg, copy and division by a power of two, which keep some output non-finite), so no non-finite number goes
unseen. The kernel reports the first such step; the caller re-runs it with the node-by-node VM, which
names the node and the fault.

Threads. Tiles are handed out one at a time (OpenMP dynamic schedule), so a thread slowed by other work on
its core takes fewer of them; each thread's buffer starts on its own 64-byte line. A tile's numbers do not
depend on which thread runs it.
"""
from cython.parallel cimport prange, threadid
from libc.math cimport cos, exp, fabs, log, pow, sin, sqrt, tanh
from libc.stdint cimport int32_t, uint64_t
from libc.string cimport memcpy

from _fastcore.opcodes cimport *  # OP_CONST ... OP_SIGN, the expression language's

import numpy as np

cdef enum:
    TILE = 128  # lanes per tile: one slot's three channels are 3 KiB; a step touches its banks and temporaries (L1)

cdef enum:
    OP_COPY = 26           # dst = a (all three channels)
    OP_CLAMP_TANGENT = 27  # Y tangent of dst = 0 if t <= b (b < 0: every t)
    OP_CLAMP_VALUE = 28    # dst = value of a, tangents 0, if t <= b (b < 0: every t)
    OP_DIV_POW2 = 29       # DIV by a uniform b = ±2^k: slots c, c + 1 hold 1/b and 1/(b*b), multiplied instead
    N_OPS = 30
    UNIFORM_A = 256        # added to an opcode: operand a (b: 512, c: 1024) is a uniform slot
    UNIFORM_B = 512
    UNIFORM_C = 1024
    CHECKED = 2048         # added to an opcode: add the result into the fault sum (else a later check sees it)
    MODE_SHIFT = 12        # bits 12-13: the X tangent channel's mode, 14-15: the Y channel's
    FULL = 0               # computed and stored
    DEAD = 1               # computed for the fault sum, not stored (nothing reads it before it is overwritten)
    SKIP = 2               # neither: the result is +0 and the slot holds +0 already, or nothing reads it

COPY, CLAMP_TANGENT, CLAMP_VALUE, DIV_POW2 = OP_COPY, OP_CLAMP_TANGENT, OP_CLAMP_VALUE, OP_DIV_POW2
MODES = {"full": FULL, "dead": DEAD, "skip": SKIP}
MODE_BITS = MODE_SHIFT  # a channel's mode m is m << MODE_BITS (X) or m << (MODE_BITS + 2) (Y)
FUSED_UNIFORM = frozenset({(OP_SUB, 2), (OP_ADD, 2), (OP_MUL, 1), (OP_MUL, 2), (OP_DIV_POW2, 2), (OP_CLIP, 6)})
UNIFORM = (UNIFORM_A, UNIFORM_B, UNIFORM_C)
CHECK = CHECKED
LANES = TILE


cdef inline void tangent(int op, double* d, const double* v, const double* va, const double* da,
                         const double* vb, const double* db, const double* vc, const double* dc) noexcept nogil:
    """One tangent channel of instruction op: d from the operands' values (va, vb, vc), tangents (da, db, dc)
    and the result's value v; the formulas of `_fastcore.exprvm.run_one`."""
    cdef Py_ssize_t l
    cdef double a, b, c, x, y, z, r
    if op == OP_ADD:
        for l in range(TILE):
            d[l] = da[l] + db[l]
    elif op == OP_SUB:
        for l in range(TILE):
            d[l] = da[l] - db[l]
    elif op == OP_MUL:
        for l in range(TILE):
            d[l] = da[l] * vb[l] + va[l] * db[l]
    elif op == OP_DIV:
        for l in range(TILE):
            b = vb[l]
            d[l] = (da[l] * b - va[l] * db[l]) / (b * b)
    elif op == OP_POW:
        for l in range(TILE):
            a = va[l]
            b = vb[l]
            x = da[l]
            r = b * pow(a, b - 1.0) * x if (x != 0.0 and b != 0.0) else 0.0
            if db[l] != 0.0:
                r = r + v[l] * log(a) * db[l]
            d[l] = r
    elif op == OP_NEG:
        for l in range(TILE):
            d[l] = -da[l]
    elif OP_LT <= op <= OP_NE or op == OP_SIGN:
        for l in range(TILE):
            d[l] = 0.0
    elif op == OP_MIN:
        for l in range(TILE):
            x = da[l]
            y = db[l]
            d[l] = y if vb[l] < va[l] else x
    elif op == OP_MAX:
        for l in range(TILE):
            x = da[l]
            y = db[l]
            d[l] = y if vb[l] > va[l] else x
    elif op == OP_ABS:
        for l in range(TILE):
            a = va[l]
            x = da[l]
            d[l] = x if a > 0.0 else (-x if a < 0.0 else 0.0)
    elif op == OP_CLIP:  # clip(a, lo = b, hi = c): ties stay inside
        for l in range(TILE):
            a = va[l]
            x = da[l]
            y = db[l]
            z = dc[l]
            d[l] = y if a < vb[l] else (z if a > vc[l] else x)
    elif op == OP_WHERE:
        for l in range(TILE):
            y = db[l]
            z = dc[l]
            d[l] = y if va[l] != 0.0 else z
    elif op == OP_EXP:
        for l in range(TILE):
            d[l] = v[l] * da[l]
    elif op == OP_LOG:
        for l in range(TILE):
            d[l] = da[l] / va[l]
    elif op == OP_SIN:
        for l in range(TILE):
            d[l] = cos(va[l]) * da[l]
    elif op == OP_COS:
        for l in range(TILE):
            d[l] = -sin(va[l]) * da[l]
    elif op == OP_TANH:
        for l in range(TILE):
            r = v[l]
            d[l] = (1.0 - r * r) * da[l]
    elif op == OP_SQRT:
        for l in range(TILE):
            d[l] = da[l] / (2.0 * v[l])
    else:  # OP_COPY
        for l in range(TILE):
            d[l] = da[l]


cdef inline void value(int op, double* v, const double* va, const double* vb, const double* vc) noexcept nogil:
    """The value channel of instruction op (the formulas of `_fastcore.exprvm.run_one`)."""
    cdef Py_ssize_t l
    cdef double a, b, c
    if op == OP_ADD:
        for l in range(TILE):
            v[l] = va[l] + vb[l]
    elif op == OP_SUB:
        for l in range(TILE):
            v[l] = va[l] - vb[l]
    elif op == OP_MUL:
        for l in range(TILE):
            v[l] = va[l] * vb[l]
    elif op == OP_DIV:
        for l in range(TILE):
            v[l] = va[l] / vb[l]
    elif op == OP_POW:
        for l in range(TILE):
            v[l] = pow(va[l], vb[l])
    elif op == OP_NEG:
        for l in range(TILE):
            v[l] = -va[l]
    elif op == OP_LT:
        for l in range(TILE):
            v[l] = 1.0 if va[l] < vb[l] else 0.0
    elif op == OP_LE:
        for l in range(TILE):
            v[l] = 1.0 if va[l] <= vb[l] else 0.0
    elif op == OP_GT:
        for l in range(TILE):
            v[l] = 1.0 if va[l] > vb[l] else 0.0
    elif op == OP_GE:
        for l in range(TILE):
            v[l] = 1.0 if va[l] >= vb[l] else 0.0
    elif op == OP_EQ:
        for l in range(TILE):
            v[l] = 1.0 if va[l] == vb[l] else 0.0
    elif op == OP_NE:
        for l in range(TILE):
            v[l] = 1.0 if va[l] != vb[l] else 0.0
    elif op == OP_MIN:
        for l in range(TILE):
            a = va[l]
            b = vb[l]
            v[l] = b if b < a else a
    elif op == OP_MAX:
        for l in range(TILE):
            a = va[l]
            b = vb[l]
            v[l] = b if b > a else a
    elif op == OP_ABS:
        for l in range(TILE):
            v[l] = fabs(va[l])
    elif op == OP_CLIP:
        for l in range(TILE):
            a = va[l]
            b = vb[l]
            c = vc[l]
            v[l] = b if a < b else (c if a > c else a)
    elif op == OP_WHERE:
        for l in range(TILE):
            b = vb[l]
            c = vc[l]
            v[l] = b if va[l] != 0.0 else c
    elif op == OP_EXP:
        for l in range(TILE):
            v[l] = exp(va[l])
    elif op == OP_LOG:
        for l in range(TILE):
            v[l] = log(va[l])
    elif op == OP_SIN:
        for l in range(TILE):
            v[l] = sin(va[l])
    elif op == OP_COS:
        for l in range(TILE):
            v[l] = cos(va[l])
    elif op == OP_TANH:
        for l in range(TILE):
            v[l] = tanh(va[l])
    elif op == OP_SQRT:
        for l in range(TILE):
            v[l] = sqrt(va[l])
    elif op == OP_SIGN:
        for l in range(TILE):
            a = va[l]
            v[l] = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)
    else:  # OP_COPY
        for l in range(TILE):
            v[l] = va[l]


# The channel modes as types, so that the fused loops are compiled once per pair of modes (X, Y) with the
# mode tests resolved at compile time (Cython fused types): distinct C types, used only as tags.
ctypedef signed char XFull
ctypedef short XDead
ctypedef int XSkip
ctypedef long long YFull
ctypedef float YDead
ctypedef double YSkip

ctypedef fused XMode:
    XFull
    XDead
    XSkip

ctypedef fused YMode:
    YFull
    YDead
    YSkip


cdef inline uint64_t bits(double v) noexcept nogil:
    """The bits of v: those of v - v are all zero if v is finite (x - x = +0), not if it is inf or nan."""
    cdef uint64_t u
    memcpy(&u, &v, 8)
    return u


cdef inline void execute(const int32_t* code, Py_ssize_t n, double* buf, uint64_t* bad, double t) noexcept nogil:
    """Run n instructions on one tile; OR the bits of (s - s) into bad for the sum s of every checked result's
    channels (the fault detector: nonzero iff some sum is not finite)."""
    cdef Py_ssize_t i, l
    cdef int op, uniform, check, mx, my
    cdef uint64_t m
    cdef double v
    cdef double* dst
    cdef double* a
    cdef double* b
    cdef double* c
    cdef double* dx
    cdef double* dy
    cdef double dead[2 * TILE]  # where a DEAD channel of the generic path goes
    for i in range(n):
        op = code[5 * i] & 255
        uniform = (code[5 * i] >> 8) & 7
        check = code[5 * i] & CHECKED
        mx = (code[5 * i] >> MODE_SHIFT) & 3
        my = (code[5 * i] >> (MODE_SHIFT + 2)) & 3
        dst = buf + <Py_ssize_t>code[5 * i + 1] * 3 * TILE
        a = buf + <Py_ssize_t>code[5 * i + 2] * 3 * TILE
        if op == OP_CLAMP_TANGENT:
            if my != SKIP and (code[5 * i + 3] < 0 or t <= code[5 * i + 3]):
                for l in range(TILE):
                    dst[2 * TILE + l] = 0.0
            continue
        if op == OP_CLAMP_VALUE:
            if code[5 * i + 3] < 0 or t <= code[5 * i + 3]:
                for l in range(TILE):
                    dst[l] = a[l]
                    dst[TILE + l] = 0.0
                    dst[2 * TILE + l] = 0.0
            continue
        b = buf + <Py_ssize_t>code[5 * i + 3] * 3 * TILE
        c = buf + <Py_ssize_t>code[5 * i + 4] * 3 * TILE
        # the fused loops, specialised (inlined with constant modes) for each pair of channel modes
        if mx == FULL and my == FULL:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XFull>0, <YFull>0):
                continue
        elif mx == FULL and my == SKIP:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XFull>0, <YSkip>0):
                continue
        elif mx == FULL and my == DEAD:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XFull>0, <YDead>0):
                continue
        elif mx == SKIP and my == FULL:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XSkip>0, <YFull>0):
                continue
        elif mx == SKIP and my == SKIP:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XSkip>0, <YSkip>0):
                continue
        elif mx == SKIP and my == DEAD:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XSkip>0, <YDead>0):
                continue
        elif mx == DEAD and my == FULL:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XDead>0, <YFull>0):
                continue
        elif mx == DEAD and my == SKIP:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XDead>0, <YSkip>0):
                continue
        else:
            if fused_any(op, uniform, dst, a, b, c, bad, check, <XDead>0, <YDead>0):
                continue
        value(op, dst, a, b, c)
        dx = dst + TILE if mx == FULL else dead
        dy = dst + 2 * TILE if my == FULL else dead + TILE
        if mx != SKIP:
            tangent(op, dx, dst, a, a + TILE, b, b + TILE, c, c + TILE)
        if my != SKIP:
            tangent(op, dy, dst, a, a + 2 * TILE, b, b + 2 * TILE, c, c + 2 * TILE)
        if check:  # a SKIP channel holds +0 (the compiler's promise), or a value in this step is not finite
            m = 0
            for l in range(TILE):
                v = dst[l]
                if mx != SKIP:
                    v = v + dx[l]
                if my != SKIP:
                    v = v + dy[l]
                m = m | bits(v - v)
            bad[0] = bad[0] | m


cdef inline bint fused_any(int op, int uniform, double* d, const double* a, const double* b, const double* c,
                           uint64_t* bad, int check, XMode mx, YMode my) noexcept nogil:
    """`fused_uniform` if it covers the instruction, else `fused`: False if neither does."""
    if uniform and fused_uniform(op, uniform, d, a, b, c, bad, check, mx, my):
        return True
    return fused(op, d, a, b, c, bad, check, mx, my)


cdef inline bint fused_uniform(int op, int uniform, double* d, const double* a, const double* b,
                               const double* c, uint64_t* bad, int check, XMode mx, YMode my) noexcept nogil:
    """`fused` for an operand that is a uniform (flag bit 1: a, 2: b, 4: c): one number for every lane,
    tangents zero, written as literal zeros so that the arithmetic is exactly `fused`'s. False if not covered.
    mx, my: the X and Y channels' modes (FULL, DEAD: not stored, SKIP: neither computed nor stored)."""
    cdef Py_ssize_t l
    cdef double x, y, r, p, k, lo, hi, w, s
    cdef uint64_t m = 0
    if op == OP_SUB and uniform == 2:
        k = b[0]
        for l in range(TILE):
            r = a[l] - k
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] - 0.0
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] - 0.0
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_ADD and uniform == 2:
        k = b[0]
        for l in range(TILE):
            r = a[l] + k
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] + 0.0
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] + 0.0
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_MUL and uniform == 1:
        k = a[0]
        for l in range(TILE):
            p = b[l]
            r = k * p
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = 0.0 * p + k * b[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = 0.0 * p + k * b[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_MUL and uniform == 2:
        k = b[0]
        for l in range(TILE):
            p = a[l]
            r = p * k
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] * k + p * 0.0
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] * k + p * 0.0
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_DIV_POW2 and uniform == 2:
        k = b[0]
        hi = c[0]
        w = c[3 * TILE]
        for l in range(TILE):
            p = a[l]
            r = p * hi
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = (a[TILE + l] * k - p * 0.0) * w
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = (a[2 * TILE + l] * k - p * 0.0) * w
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_CLIP and uniform == 6:  # a selection: its results are checked inputs, no fault sum
        lo = b[0]
        hi = c[0]
        for l in range(TILE):  # one test per select (lo wins over hi, nan stays): blends, not branches
            p = a[l]
            r = hi if p > hi else p
            d[l] = lo if p < lo else r
            if XMode is XFull:
                x = a[TILE + l]
                x = 0.0 if p > hi else x
                d[TILE + l] = 0.0 if p < lo else x
            if YMode is YFull:
                y = a[2 * TILE + l]
                y = 0.0 if p > hi else y
                d[2 * TILE + l] = 0.0 if p < lo else y
    else:
        return False
    bad[0] = bad[0] | m
    return True


cdef inline bint fused(int op, double* d, const double* a, const double* b, const double* c,
                       uint64_t* bad, int check, XMode mx, YMode my) noexcept nogil:
    """The common instructions as one loop over the lanes (value, both tangents, the fault sum); False for
    the others. Same formulas as `value` and `tangent`; b's tangents are read even where they are zero.
    mx, my: the X and Y channels' modes, as in `fused_uniform`."""
    cdef Py_ssize_t l
    cdef double x, y, r, p, q, u, w, s
    cdef uint64_t m = 0
    if op == OP_ADD:
        for l in range(TILE):
            r = a[l] + b[l]
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] + b[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] + b[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_SUB:
        for l in range(TILE):
            r = a[l] - b[l]
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] - b[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] - b[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_MUL:
        for l in range(TILE):
            p = a[l]
            q = b[l]
            r = p * q
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l] * q + p * b[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l] * q + p * b[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_DIV:
        for l in range(TILE):
            p = a[l]
            q = b[l]
            r = p / q
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = (a[TILE + l] * q - p * b[TILE + l]) / (q * q)
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = (a[2 * TILE + l] * q - p * b[2 * TILE + l]) / (q * q)
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_DIV_POW2:  # q = ±2^k: p / q == p * (1/q) and z / (q*q) == z * (1/(q*q)), exactly
        for l in range(TILE):
            p = a[l]
            q = b[l]
            u = c[l]
            w = c[3 * TILE + l]
            r = p * u
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = (a[TILE + l] * q - p * b[TILE + l]) * w
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = (a[2 * TILE + l] * q - p * b[2 * TILE + l]) * w
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_NEG:
        for l in range(TILE):
            r = -a[l]
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = -a[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = -a[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_CLIP:  # clip(a, lo = b, hi = c): ties stay inside; one test per select (blends, no branches)
        for l in range(TILE):
            p = a[l]
            q = b[l]
            u = c[l]
            r = u if p > u else p
            r = q if p < q else r
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l]
                w = c[TILE + l]
                x = w if p > u else x
                w = b[TILE + l]
                x = w if p < q else x
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l]
                w = c[2 * TILE + l]
                y = w if p > u else y
                w = b[2 * TILE + l]
                y = w if p < q else y
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    elif op == OP_COPY:
        for l in range(TILE):
            r = a[l]
            d[l] = r
            s = r
            if XMode is not XSkip:
                x = a[TILE + l]
                if XMode is XFull:
                    d[TILE + l] = x
                s = s + x
            if YMode is not YSkip:
                y = a[2 * TILE + l]
                if YMode is YFull:
                    d[2 * TILE + l] = y
                s = s + y
            if check:
                m = m | bits(s - s)
    else:
        return False
    bad[0] = bad[0] | m
    return True


cdef Py_ssize_t run_tile(const int32_t* prologue, Py_ssize_t n_prologue, const int32_t* body, Py_ssize_t n_body,
                         double* buf, Py_ssize_t n_slots, Py_ssize_t n_state, Py_ssize_t time_slot,
                         const double* uniforms, Py_ssize_t n_uniforms, double* state, Py_ssize_t batch,
                         Py_ssize_t first, double t0, Py_ssize_t steps, double* record) noexcept nogil:
    """Advance lanes [first, first + TILE) of state (n_state, 3, batch) by steps steps, in place.

    Lanes past the batch repeat lane `first`. Returns the first step (0-based) whose check failed, or -1
    (the state is then left as it was). record (steps, n_state, 3), if not NULL, gets lane 0 after each step.
    """
    cdef Py_ssize_t s, l, k, j, lane, bank
    cdef double* slot
    cdef double t
    for s in range(n_state):  # bank 0 <- state
        for k in range(3):
            slot = buf + (s * 3 + k) * TILE
            for l in range(TILE):
                lane = first + l if first + l < batch else first
                slot[l] = state[(s * 3 + k) * batch + lane]
    for l in range(n_state * 3 * TILE):  # bank 1 <- bank 0: the channels the compiler knows are +0 hold +0 in both
        buf[n_state * 3 * TILE + l] = buf[l]
    for l in range(time_slot * 3 * TILE, n_slots * 3 * TILE):  # the time, uniforms and temporaries: +0
        buf[l] = 0.0
    for s in range(n_uniforms):
        slot = buf + (time_slot + 1 + s) * 3 * TILE
        for l in range(TILE):
            slot[l] = uniforms[s]
            slot[TILE + l] = 0.0
            slot[2 * TILE + l] = 0.0
    cdef uint64_t bad = 0
    execute(prologue, n_prologue, buf, &bad, t0)
    for j in range(steps):
        t = t0 + 1 + j
        slot = buf + time_slot * 3 * TILE
        for l in range(TILE):
            slot[l] = t
        execute(body + (j % 2) * n_body * 5, n_body, buf, &bad, t)
        if bad != 0:
            return j
        if record != NULL:
            bank = ((j + 1) % 2) * n_state
            for s in range(n_state):
                for k in range(3):
                    record[(j * n_state + s) * 3 + k] = buf[((bank + s) * 3 + k) * TILE]
    bank = (steps % 2) * n_state
    for s in range(n_state):
        for k in range(3):
            slot = buf + ((bank + s) * 3 + k) * TILE
            for l in range(TILE):
                if first + l < batch:
                    state[(s * 3 + k) * batch + first + l] = slot[l]
    return -1


def check_system(prologue, body, Py_ssize_t n_slots, Py_ssize_t n_state, uniforms):
    """Raise ValueError unless prologue (n, 5) and body (2, n, 5) int32 programs fit n_slots slots."""
    if not isinstance(prologue, np.ndarray) or prologue.dtype != np.int32 or prologue.ndim != 2 \
            or prologue.shape[1] != 5:
        raise ValueError("prologue: expected an (n, 5) int32 array")
    if not isinstance(body, np.ndarray) or body.dtype != np.int32 or body.ndim != 3 or body.shape[0] != 2 \
            or body.shape[2] != 5:
        raise ValueError("body: expected a (2, n, 5) int32 array")
    if not isinstance(uniforms, np.ndarray) or uniforms.dtype != np.float64 or uniforms.ndim != 1:
        raise ValueError("uniforms: expected a 1-D float64 array")
    if n_state < 0 or n_slots < 2 * n_state + 1 + uniforms.shape[0]:
        raise ValueError(f"n_slots: expected at least 2 * n_state + 1 + len(uniforms), got {n_slots}")
    for name, code in (("prologue", prologue), ("body", body.reshape(-1, 5))):
        if len(code) == 0:
            continue
        ops = code[:, 0] & 255
        if np.any(code[:, 0] >> 8 > 255) or np.any((code[:, 0] >> MODE_SHIFT) & 3 == 3) \
                or np.any((code[:, 0] >> (MODE_SHIFT + 2)) & 3 == 3):
            raise ValueError(f"{name}: unknown uniform flags or channel modes")
        if ops.min() < 0 or ops.max() >= N_OPS:
            raise ValueError(f"{name}: unknown opcode")
        if np.any((ops == OP_CONST) | (ops == OP_VAR)):
            raise ValueError(f"{name}: CONST and VAR are stack instructions: use slots")
        slots = np.where((ops[:, None] == OP_CLAMP_TANGENT) | (ops[:, None] == OP_CLAMP_VALUE),
                         np.stack([code[:, 1], code[:, 2], code[:, 2], code[:, 2]], axis=1), code[:, 1:])
        if slots.min() < 0 or slots.max() >= n_slots:
            raise ValueError(f"{name}: a slot index is outside [0, {n_slots})")
        pairs = code[ops == OP_DIV_POW2, 4]
        if len(pairs) and pairs.max() + 1 >= n_slots:
            raise ValueError(f"{name}: a reciprocal pair is outside the slots")
        if np.any(code[:, 1] == 2 * n_state):
            raise ValueError(f"{name}: an instruction writes the time slot")


def run_system(prologue, body, Py_ssize_t n_slots, uniforms, state, double t0, Py_ssize_t steps,
               int threads=1, bint record=True):
    """Advance state (n_state, 3, batch) by steps steps from time t0 (the first step is at t0 + 1), in place.

    Returns (first faulty step or -1, record): record (steps, n_state, 3) holds lane 0 after each step
    (values, X, Y tangents). If a step faults, state is unchanged and record is meaningless. Tiles of
    LANES lanes run on `threads` OpenMP threads; every lane's numbers are the same for any thread count.
    """
    if not isinstance(state, np.ndarray) or state.dtype != np.float64 or state.ndim != 3 or state.shape[1] != 3 \
            or not state.flags.c_contiguous:
        raise ValueError("state: expected a C-contiguous (n_state, 3, batch) float64 array")
    if state.shape[2] < 1:
        raise ValueError("state: expected a batch of at least one")
    if steps < 0 or threads < 1:
        raise ValueError("steps: expected >= 0; threads: expected >= 1")
    check_system(prologue, body, n_slots, state.shape[0], uniforms)
    return run_checked(prologue, body, n_slots, uniforms, state, t0, steps, threads, record)


_threads_started = False


def threads_started():
    """Whether this process has run a kernel on more than one OpenMP thread (GNU OpenMP then does not survive
    a fork: a process pool must not fork from here)."""
    return _threads_started


def run_checked(prologue, body, Py_ssize_t n_slots, uniforms, state, double t0, Py_ssize_t steps,
                int threads=1, bint record=True):
    """`run_system` for arguments already checked (by `check_system` and the shapes above): no checks."""
    global _threads_started
    cdef Py_ssize_t n_state = state.shape[0], batch = state.shape[2]
    cdef Py_ssize_t n_tiles = (batch + TILE - 1) // TILE
    if threads > 1 and n_tiles > 1:
        _threads_started = True
    cdef Py_ssize_t n_prologue = prologue.shape[0], n_body = body.shape[1]
    records = np.zeros((steps, n_state, 3))
    faults = np.full(n_tiles, -1, dtype=np.intp)
    original = state.copy()
    cdef const int32_t[:, ::1] pro = np.ascontiguousarray(prologue)
    cdef const int32_t[:, :, ::1] bod = np.ascontiguousarray(body)
    cdef const double[::1] uni = uniforms
    cdef double[:, :, ::1] st = state
    cdef double[:, :, ::1] rec = records
    cdef Py_ssize_t[::1] fault = faults
    cdef const int32_t* p_pro = &pro[0, 0] if n_prologue else NULL
    cdef const int32_t* p_body = &bod[0, 0, 0] if n_body else NULL
    cdef const double* p_uni = &uni[0] if uni.shape[0] else NULL
    cdef double* p_state = &st[0, 0, 0]
    cdef double* p_rec = &rec[0, 0, 0] if (record and steps > 0 and n_state > 0) else NULL
    cdef Py_ssize_t n_uni = uni.shape[0], time_slot = 2 * n_state, tile
    # each thread's buffer starts on its own 64-byte line (whole AVX vectors, no line split, no sharing)
    cdef Py_ssize_t per_thread = n_slots * 3 * TILE + 8
    buffers = np.empty(threads * per_thread + 8)
    cdef double[::1] scratch = buffers
    cdef double* p_scratch = &scratch[0]
    p_scratch = p_scratch + (64 - <Py_ssize_t>p_scratch % 64) % 64 // 8
    cdef double* buf
    for tile in prange(n_tiles, nogil=True, num_threads=threads, schedule="dynamic"):
        buf = p_scratch + threadid() * per_thread
        fault[tile] = run_tile(p_pro, n_prologue, p_body, n_body, buf, n_slots, n_state,
                               time_slot, p_uni, n_uni, p_state, batch, tile * TILE, t0, steps,
                               p_rec if tile == 0 else NULL)
    bad = faults[faults >= 0]
    if len(bad):
        state[...] = original
        return int(bad.min()), records
    return -1, records
