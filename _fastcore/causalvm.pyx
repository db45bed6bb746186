"""A register machine for a whole causal world: every node, every step, values and two tangents in one pass.

`models.causal.program` compiles a world's node expressions (`models.expressions` bytecode) into one register
program; this module runs it over a batch of conditions, TILE lanes (conditions) at a time. W runs with its X
tangent and its Y tangent (zero on the clamped nodes A). Every operation is `_fastcore/opcodes.pxd`'s op_value and
op_tangent, the lines `_fastcore.exprvm` runs too, so the results are the node-by-node VM's to the bit.

Slots. A slot holds one number per lane in three channels: value, X tangent, Y tangent; a tile's buffer is
[slot][channel][lane], so an instruction is one plain loop over contiguous lanes that the compiler vectorises.
Slots are, in order: two banks of `n_state` state slots (bank b holds the state after an even/odd number of
steps), the time t, the uniforms (constants and parameters: one number in every lane, tangents zero), then
temporaries.

Instructions are rows (op, dst, a, b, c) of int32; op may carry UNIFORM_A, _B, _C (that operand is a slot with
the same numbers in every lane) and CHECKED. The prologue runs once per tile (the instructions that read
uniforms only); the body is given twice, body[p] reading bank p and writing bank 1 - p, and runs once per step
with p = step % 2. CLAMP_TANGENT and CLAMP_VALUE apply A at time t (their b is a time, not a slot).

Faults. For an instruction flagged CHECKED, each lane adds its value and two tangents into s; s - s is +0 for a
finite s and nan otherwise, so a step is flagged iff some checked sum is not finite: some instruction produced a
non-finite number (x / 0 is never finite), or a finite sum overflowed (harmless: the caller re-runs that step).
The compiler flags every node's result and every result that a later instruction could turn finite again.
The kernel reports the first flagged step; the caller re-runs it with the node-by-node VM, which names the node
and the fault.

Threads. Tiles are handed out one at a time (OpenMP dynamic schedule), so a thread slowed by other work on its
core takes fewer of them; a tile's numbers do not depend on which thread runs it.
"""
from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, uint64_t
from libc.string cimport memcpy

from _fastcore.opcodes cimport *  # OP_CONST ... OP_DIV_POW2 with op_value, op_tangent
# An instruction never writes a slot it reads (check_system refuses one): 1.04x on bench.causal's world (7.33
# against 7.60 ms, one thread), without the overlap test before each vector loop.
from _fastcore.pointers cimport In, Out

import numpy as np

cdef enum:
    TILE = 128  # lanes per tile: a slot's three channels are 3 KiB; a step's banks and temporaries stay in L1
    UNIFORM_A = 256  # added to an opcode: operand a (b: 512, c: 1024) is a uniform slot
    UNIFORM_B = 512
    UNIFORM_C = 1024
    CHECKED = 2048  # added to an opcode: the result goes into the fault check (else a later check sees it)

COPY, CLAMP_TANGENT, CLAMP_VALUE, DIV_POW2 = OP_COPY, OP_CLAMP_TANGENT, OP_CLAMP_VALUE, OP_DIV_POW2
CHECK = CHECKED
UNIFORM = (UNIFORM_A, UNIFORM_B, UNIFORM_C)
LANES = TILE


cdef inline uint64_t bits(double v) noexcept nogil:
    """The bits of v: those of v - v are all zero if v is finite (x - x = +0), not if it is inf or nan."""
    cdef uint64_t u
    memcpy(&u, &v, 8)
    return u


# Which operands are uniform slots, as types (Cython fused types used as tags), so that each pattern's loop is
# compiled on its own with its operand reads settled at compile time.
ctypedef signed char Lanes
ctypedef short UniformA
ctypedef int UniformB
ctypedef long long UniformBC

ctypedef fused Pattern:
    Lanes
    UniformA
    UniformB
    UniformBC


cdef bint lanes(int op, Pattern pattern, Out d, In a, In b, In c, bint check) noexcept nogil:
    """op on every lane of a tile: value and both tangents into slot d; with check, whether some lane's sum of
    the three is not finite.

    A uniform operand (Pattern) holds the same numbers in every lane (a uniform, or a prologue result): read
    from lane 0, so that the loop loads only what differs between lanes. Called with a constant op, the compiler
    clones this per op with op_value and op_tangent folded to one formula, and vectorises the loop.
    """
    cdef Py_ssize_t l, la, lb, lc
    cdef double r, x, y, s
    cdef uint64_t bad = 0
    for l in range(TILE):
        la = 0 if Pattern is UniformA else l
        lb = 0 if Pattern is UniformB or Pattern is UniformBC else l
        lc = 0 if Pattern is UniformBC else l
        r = op_value(op, a[la], b[lb], c[lc])
        x = op_tangent(op, a[la], b[lb], c[lc], r, a[TILE + la], b[TILE + lb], c[TILE + lc])
        y = op_tangent(op, a[la], b[lb], c[lc], r, a[2 * TILE + la], b[2 * TILE + lb], c[2 * TILE + lc])
        d[l] = r
        d[TILE + l] = x
        d[2 * TILE + l] = y
        if check:
            s = r + x + y
            bad = bad | bits(s - s)
    return bad != 0


cdef inline bint by_op(int op, Pattern pattern, double* d, const double* a, const double* b, const double* c,
                       bint check) noexcept nogil:
    """`lanes` with a constant op for the common instructions, each then a vectorised loop of its own; the rest
    share one scalar loop. On bench.causal's world (portable build, one thread) the constant op measured 2.8x
    (66.7 against 23.5 ms) and the uniform patterns 1.4x more (19.8 against 14.0 ms); on the x86-64-v3 build the
    uniform patterns measured 1.27x (50.3 against 39.8 ms for 50,000 conditions x 500 steps)."""
    if op == OP_ADD:
        return lanes(OP_ADD, pattern, d, a, b, c, check)
    if op == OP_SUB:
        return lanes(OP_SUB, pattern, d, a, b, c, check)
    if op == OP_MUL:
        return lanes(OP_MUL, pattern, d, a, b, c, check)
    if op == OP_DIV:
        return lanes(OP_DIV, pattern, d, a, b, c, check)
    if op == OP_DIV_POW2:
        return lanes(OP_DIV_POW2, pattern, d, a, b, c, check)
    if op == OP_NEG:
        return lanes(OP_NEG, pattern, d, a, b, c, check)
    if op == OP_CLIP:
        return lanes(OP_CLIP, pattern, d, a, b, c, check)
    if op == OP_COPY:
        return lanes(OP_COPY, pattern, d, a, b, c, check)
    return lanes(op, <Lanes>0, d, a, b, c, check)


cdef inline bint run_op(int op, int uniform, double* d, const double* a, const double* b, const double* c,
                        bint check) noexcept nogil:
    """`by_op` for the instruction's pattern of uniform operands."""
    if uniform == UNIFORM_A:
        return by_op(op, <UniformA>0, d, a, b, c, check)
    if uniform == UNIFORM_B:
        return by_op(op, <UniformB>0, d, a, b, c, check)
    if uniform == UNIFORM_B | UNIFORM_C:
        return by_op(op, <UniformBC>0, d, a, b, c, check)
    return by_op(op, <Lanes>0, d, a, b, c, check)


cdef bint execute(const int32_t* code, Py_ssize_t n, double* buf, double t) noexcept nogil:
    """Run n instructions on one tile at time t; whether some checked result is not finite."""
    cdef Py_ssize_t i, l
    cdef int op
    cdef bint bad = False, fault
    cdef double* d
    cdef const int32_t* row
    for i in range(n):
        row = code + 5 * i
        op = row[0] & 255
        d = buf + <Py_ssize_t>row[1] * 3 * TILE
        if op == OP_CLAMP_TANGENT or op == OP_CLAMP_VALUE:
            if row[3] < 0 or t <= row[3]:  # clamped up to time row[3] (< 0: always)
                for l in range(TILE):
                    if op == OP_CLAMP_VALUE:
                        d[l] = buf[<Py_ssize_t>row[2] * 3 * TILE + l]
                        d[TILE + l] = 0.0
                    d[2 * TILE + l] = 0.0
            continue
        fault = run_op(op, row[0] & (UNIFORM_A | UNIFORM_B | UNIFORM_C), d, buf + <Py_ssize_t>row[2] * 3 * TILE,
                       buf + <Py_ssize_t>row[3] * 3 * TILE, buf + <Py_ssize_t>row[4] * 3 * TILE, row[0] & CHECKED)
        bad = bad | fault
    return bad


cdef Py_ssize_t run_tile(const int32_t* prologue, Py_ssize_t n_prologue, const int32_t* body, Py_ssize_t n_body,
                         double* buf, Py_ssize_t n_slots, Py_ssize_t n_state, Py_ssize_t time_slot,
                         const double* uniforms, Py_ssize_t n_uniforms, double* state, Py_ssize_t batch,
                         Py_ssize_t first, double t0, Py_ssize_t steps, double* record, bint reads_time) noexcept nogil:
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
    for l in range(n_state * 3 * TILE, n_slots * 3 * TILE):  # everything else, the uniforms' tangents too: +0
        buf[l] = 0.0
    for s in range(n_uniforms):
        slot = buf + (time_slot + 1 + s) * 3 * TILE
        for l in range(TILE):
            slot[l] = uniforms[s]
    cdef bint fault = execute(prologue, n_prologue, buf, t0)  # a fault here is the first step's
    for j in range(steps):
        t = t0 + 1 + j
        slot = buf + time_slot * 3 * TILE
        for l in range(TILE if reads_time else 0):  # where no node reads t, a pass less per step (1.05x on the bench)
            slot[l] = t
        if execute(body + (j % 2) * n_body * 5, n_body, buf, t) or fault:
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
        if np.any(code[:, 0] & ~(255 | UNIFORM_A | UNIFORM_B | UNIFORM_C | CHECKED)):
            raise ValueError(f"{name}: unknown flags")
        if ops.min() < 0 or ops.max() >= N_OPS:
            raise ValueError(f"{name}: unknown opcode")
        if np.any((ops == OP_CONST) | (ops == OP_VAR)):
            raise ValueError(f"{name}: CONST and VAR are stack instructions: use slots")
        clamps = (ops == OP_CLAMP_TANGENT) | (ops == OP_CLAMP_VALUE)  # b is a time; CLAMP_TANGENT's a is its dst
        slots = np.where(clamps[:, None], np.stack([code[:, 1], code[:, 2], code[:, 2], code[:, 2]], axis=1),
                         code[:, 1:])
        if slots.min() < 0 or slots.max() >= n_slots:
            raise ValueError(f"{name}: a slot index is outside [0, {n_slots})")
        if np.any(code[:, 1] == 2 * n_state):
            raise ValueError(f"{name}: an instruction writes the time slot")
        if np.any(~clamps[:, None] & (code[:, 2:] == code[:, 1:2])):
            raise ValueError(f"{name}: an instruction reads the slot it writes; expected its result in another slot")


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
    code = np.concatenate([prologue, body.reshape(-1, 5)])
    cdef bint reads_time = bool(np.any(code[:, 2:] == time_slot))  # conservative: b and c of a clamp are no slots
    for tile in prange(n_tiles, nogil=True, num_threads=threads, schedule="dynamic"):
        buf = p_scratch + threadid() * per_thread
        fault[tile] = run_tile(p_pro, n_prologue, p_body, n_body, buf, n_slots, n_state,
                               time_slot, p_uni, n_uni, p_state, batch, tile * TILE, t0, steps,
                               p_rec if tile == 0 else NULL, reads_time)
    bad = faults[faults >= 0]
    if len(bad):
        state[...] = original
        return int(bad.min()), records
    return -1, records
