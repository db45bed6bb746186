"""A causal world compiled into one register program for `_fastcore.causalvm` (seed 000, Parts 3-4; SPEC §3).

Every node's update (`models.expressions` stack bytecode) becomes register instructions (op, dst, a, b, c)
over slots, concatenated in the graph's topological order for same-time edges: a lag-1 parent is read
from the previous step's bank, a same-time parent from the new one. Parameters and literals are uniform
slots; instructions that read only uniforms run once, in the prologue (constant folding by the same
arithmetic); everything else runs every step. A division by a literal or parameter that is a power of two
is a multiplication by its reciprocal (the same number: both results are the one rounding of the same quotient).
W carries its X and Y tangents; with a finite δ, the worlds
x and y are compiled too (values only: their tangents start and stay zero, as in the node-by-node path).
A's clamp is applied as in `CausalModel.step`: Y's tangent of a clamped node is zeroed, and in the finite
world y a clamped node takes W's value.

Before a run, `SystemProgram.body_for` picks the body with channel modes for the run's start: tangent
channels known to stay +0 are not computed, channels overwritten before they are read are not stored
(`channel_modes`; `_fastcore.causalvm`, "Channel modes"). Compiled once per set of +0 start channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from _fastcore import causalvm
from _fastcore import exprvm as vm
from models.expressions import Program

_UNARY = {vm.NEG, vm.ABS, vm.EXP, vm.LOG, vm.SIN, vm.COS, vm.TANH, vm.SQRT, vm.SIGN}
_TERNARY = {vm.CLIP, vm.WHERE}
# A non-finite input of these gives some non-finite output (value or tangent): their results need no fault check
# unless read by another kind of instruction or a node's result (`_fastcore.causalvm`, "Faults").
_KEEPS_NON_FINITE = {vm.ADD, vm.SUB, vm.MUL, vm.NEG, causalvm.COPY, causalvm.DIV_POW2}
LANES = causalvm.LANES  # conditions per tile


@dataclass(frozen=True)
class SystemProgram:
    """One world's register program: state rows are (world, variable), world-major, in `worlds` x `names` order."""

    prologue: np.ndarray  # (n, 5) int32
    body: np.ndarray  # (2, n, 5) int32: body[p] reads bank p, writes bank 1 - p
    n_slots: int
    uniforms: np.ndarray  # (n_uniforms,) float64
    worlds: tuple[str, ...]  # ("w",), or ("w", "x", "y") with a finite δ
    names: tuple[str, ...]  # the variables, in state order
    _masked: dict = field(default_factory=dict, compare=False, repr=False)  # zero channels -> masked body

    def __post_init__(self) -> None:
        causalvm.check_system(self.prologue, self.body, self.n_slots, self.n_state, self.uniforms)

    @property
    def n_state(self) -> int:
        return len(self.worlds) * len(self.names)

    def row(self, world: str, name: str) -> int:
        """The state row of a variable in a world."""
        return self.worlds.index(world) * len(self.names) + self.names.index(name)

    def run(self, state: np.ndarray, t0: int, steps: int, threads: int = 1) -> tuple[int, np.ndarray]:
        """Advance state (n_state, 3, batch) in place by steps steps from time t0: (first faulty step or -1, record).

        record (steps, n_state, 3): the first condition's values, X and Y tangents after each step.
        """
        if state.shape[:2] != (self.n_state, 3):
            raise ValueError(f"state: expected ({self.n_state}, 3, batch), got {state.shape}")
        tiles = -(-state.shape[2] // LANES)
        return causalvm.run_checked(self.prologue, self.body_for(state), self.n_slots, self.uniforms, state,
                                    float(t0), steps, max(1, min(threads, tiles)), True)

    def body_for(self, state: np.ndarray) -> np.ndarray:
        """The body with channel modes (`channel_modes`) for the tangent channels of state that are +0 in every
        condition (all bits zero), compiled once per such set."""
        zero = np.flatnonzero(~state[:, 1:].view(np.int64).any(axis=2))
        key = tuple(zero.tolist())  # index row * 2 + (channel - 1)
        if key not in self._masked:
            channels = {(i // 2, i % 2 + 1) for i in key}
            self._masked[key] = channel_modes(self.prologue, self.body, self.n_state, self.n_slots, self.uniforms,
                                              channels)
        return self._masked[key]


class _Builder:
    def __init__(self, n_state: int, uniform_values: Sequence[float]) -> None:
        self.n_state = n_state
        self.time_slot = 2 * n_state
        self.uniform_slot: dict[str, int] = {}
        for value in uniform_values:
            self.uniform_slot.setdefault(float(value).hex(), self.time_slot + 1 + len(self.uniform_slot))
        values = [float.fromhex(key) for key in self.uniform_slot]
        self.reciprocals: dict[int, int] = {}  # slot of a uniform ±2^k -> slot of 1/it (next: 1/it²)
        for key, slot in list(self.uniform_slot.items()):
            value = float.fromhex(key)
            if _power_of_two(value):
                self.reciprocals[slot] = self.time_slot + 1 + len(values)
                values += [1.0 / value, 1.0 / (value * value)]
        self.uniforms = np.array(values, dtype=np.float64)
        self.n_slots = self.time_slot + 1 + len(self.uniforms)
        self.uniform = set(self.uniform_slot.values())  # slots whose value is the same on every lane, every step
        self.folded: dict[tuple[int, ...], int] = {}  # prologue instruction (op, a, b, c) -> its slot
        self.prologue: list[tuple[int, int, int, int, int]] = []
        self.free: list[int] = []  # temporaries of the body free for reuse

    def constant(self, value: float) -> int:
        return self.uniform_slot[float(value).hex()]

    def temporary(self) -> int:
        if self.free:
            return self.free.pop()
        self.n_slots += 1
        return self.n_slots - 1

    def release(self, slot: int) -> None:
        if slot >= self.time_slot + 1 + len(self.uniforms) and slot not in self.uniform and slot not in self.free:
            self.free.append(slot)

    def node(self, program: Program, resolve: Mapping[str, int], dst: int, body: list) -> None:
        """Emit `program` so that its value lands in slot dst; resolve maps each input name to a slot."""
        stack: list[int] = []
        producer: dict[int, int] = {}  # temporary slot -> index in body of the instruction that wrote it
        for op, arg in program.code.tolist():
            if op == vm.CONST:
                stack.append(self.constant(program.constants[arg]))
                continue
            if op == vm.VAR:
                stack.append(resolve[program.names[arg]])
                continue
            arity = 1 if op in _UNARY else 3 if op in _TERNARY else 2
            operands = stack[-arity:]
            del stack[-arity:]
            a, b, c = (operands + [operands[0]] * 3)[:3]
            if all(s in self.uniform for s in operands):
                key = (op, a, b, c)
                if key not in self.folded:
                    self.n_slots += 1
                    self.folded[key] = self.n_slots - 1
                    self.uniform.add(self.n_slots - 1)
                    self.prologue.append((op | causalvm.CHECK, self.n_slots - 1, a, b, c))
                stack.append(self.folded[key])
                continue
            result = self.temporary()
            flags = sum(flag for flag, s in zip(causalvm.UNIFORM, operands, strict=False) if s in self.uniform)
            if op == vm.DIV and b in self.reciprocals:  # x / 2^k: the same number by a multiplication
                op, c = causalvm.DIV_POW2, self.reciprocals[b]
            if op not in _KEEPS_NON_FINITE:
                for slot in operands:
                    if slot in producer:
                        body[producer[slot]] = _checked(body[producer[slot]])
            producer[result] = len(body)
            body.append((op + flags, result, a, b, c))
            for slot in set(operands):
                self.release(slot)
            stack.append(result)
        (top,) = stack
        if body and body[-1][1] == top and top not in self.uniform and top != dst and self._is_temporary(top):
            body[-1] = _checked((body[-1][0], dst, *body[-1][2:]))
        else:
            body.append((causalvm.COPY + causalvm.CHECK, dst, top, top, top))
        self.release(top)

    def _is_temporary(self, slot: int) -> bool:
        return slot >= self.time_slot + 1 + len(self.uniforms) and slot not in self.uniform


def _checked(instruction: tuple[int, ...]) -> tuple[int, ...]:
    """The instruction with its result added into the fault sum."""
    return (instruction[0] | causalvm.CHECK, *instruction[1:])


def _power_of_two(value: float) -> bool:
    """Is value ±2^k with 1/value, value² and 1/value² normal numbers (so dividing equals multiplying)?"""
    mantissa, exponent = math.frexp(value)
    return abs(mantissa) == 0.5 and -250 < exponent < 250


def compile_system(programs: Mapping[str, Program], order: Sequence[str], same_time: Mapping[str, Sequence[str]],
                   parameters: Mapping[str, float], clamp: Sequence[str], clamp_until: int | None,
                   finite: bool) -> SystemProgram:
    """The whole world as one register program (every program must read the inputs [*variables, *parameters, t])."""
    names = tuple(programs)
    worlds = ("w", "x", "y") if finite else ("w",)
    n_state = len(worlds) * len(names)
    literals = [float(v) for p in programs.values() for v in p.constants]
    builder = _Builder(n_state, [*parameters.values(), *literals])
    until = -1 if clamp_until is None else int(clamp_until)
    bodies: list[list[tuple[int, ...]]] = [[], []]
    for parity in (0, 1):
        previous, new = parity * n_state, (1 - parity) * n_state
        body = bodies[parity]
        for w, world in enumerate(worlds):
            for name in order:
                resolve = {v: (new if v in same_time[name] else previous) + w * len(names) + i
                           for i, v in enumerate(names)}
                resolve.update({k: builder.constant(v) for k, v in parameters.items()})
                resolve["t"] = builder.time_slot
                dst = new + w * len(names) + names.index(name)
                builder.node(programs[name], resolve, dst, body)
                if name in clamp and world == "w":
                    body.append((causalvm.CLAMP_TANGENT, dst, dst, until, dst))
                elif name in clamp and world == "y":
                    body.append((causalvm.CLAMP_VALUE, dst, new + names.index(name), until, dst))
    if len(bodies[0]) != len(bodies[1]):
        raise AssertionError("the two banks' bodies differ in length")
    prologue = np.array(builder.prologue, dtype=np.int32).reshape(-1, 5)
    body = np.array(bodies, dtype=np.int32).reshape(2, -1, 5)
    return SystemProgram(prologue, body, builder.n_slots, builder.uniforms, worlds, names)


# Known-zero tangent channels and dead stores (`_fastcore.causalvm`, "Channel modes").
_COMPARES = {vm.LT, vm.LE, vm.GT, vm.GE, vm.EQ, vm.NE, vm.SIGN}
_FULL, _DEAD, _SKIP = causalvm.MODES["full"], causalvm.MODES["dead"], causalvm.MODES["skip"]


def _zero_tangent(op: int, za: bool, zb: bool, zc: bool, a_positive: bool, b_positive: bool,
                  b_square_positive: bool) -> bool:
    """Is the kernel's tangent of op exactly +0 whenever the operands' tangents read as +0 (za, zb, zc) and every
    value of the instruction is finite? a_positive, b_positive: the operand is a uniform with its sign bit clear.

    +0 - +0 = +0 + +0 = +0, but a product or quotient of a zero takes the other factor's sign (and
    -0 + -0 = -0), so MUL, DIV need a uniform factor with a clear sign bit (then that product is +0 and +0 + ±0
    is +0); NEG, ABS, SIN, COS make -0; SQRT's da / (2 sqrt(a)) is 0/0 at a = 0, a finite value.
    """
    if op in (vm.ADD, vm.SUB, vm.MIN, vm.MAX, vm.POW):
        return za and zb
    if op == vm.MUL:
        return za and zb and (a_positive or b_positive)
    if op == causalvm.DIV_POW2:  # (da b - a db) / b² by multiplying with 1/b², a normal number
        return za and zb and b_positive
    if op == vm.DIV:  # (da b - a db) / (b b): 0/0 where b² underflows, though a / b is finite
        return za and zb and b_square_positive
    if op in _COMPARES:
        return True
    if op in (vm.EXP, vm.LOG, vm.TANH, causalvm.COPY):  # exp(a) da, da / a (a > 0), (1 - tanh²) da: factors >= +0
        return za
    if op == vm.CLIP:
        return za and zb and zc
    if op == vm.WHERE:
        return zb and zc
    return False


def _uniform_values(prologue: np.ndarray, first_uniform: int, uniforms: np.ndarray) -> dict[int, float]:
    """Uniform slots' values where Python's float arithmetic gives the kernel's number (+ - * / neg are IEEE)."""
    values = {first_uniform + i: float(v) for i, v in enumerate(uniforms)}
    for row in prologue.tolist():
        op, dst, a, b = row[0] & 255, row[1], row[2], row[3]
        x, y = values.get(a), values.get(b)
        value = None
        if x is not None and y is not None:
            if op == vm.ADD:
                value = x + y
            elif op == vm.SUB:
                value = x - y
            elif op == vm.MUL:
                value = x * y
            elif op == vm.DIV and y != 0:
                value = x / y
            elif op == vm.NEG:
                value = -x
        if value is None:
            values.pop(dst, None)
        else:
            values[dst] = value
    return values


def _positive(values: Mapping[int, float], slot: int) -> bool:
    value = values.get(slot)
    return value is not None and not math.isnan(value) and math.copysign(1.0, value) > 0


def _dead_channels(body: np.ndarray, n_state: int) -> list[tuple[bool, bool]]:
    """Per instruction: is its X (Y) tangent channel overwritten before anything reads it (liveness, backwards)?
    Every channel of the state slots is live at the end of the body; temporaries are not."""
    live = {(slot, ch) for slot in range(2 * n_state) for ch in range(3)}
    dead: list[tuple[bool, bool]] = []
    for opw, dst, a, b, c in reversed(body.tolist()):
        op = opw & 255
        if op == causalvm.CLAMP_TANGENT:
            dead.append((False, False))
            if b < 0:
                live.discard((dst, 2))
            continue
        if op == causalvm.CLAMP_VALUE:
            dead.append((False, False))
            if b < 0:
                live -= {(dst, 0), (dst, 1), (dst, 2)}
            live.add((a, 0))
            continue
        dead.append(((dst, 1) not in live, (dst, 2) not in live))
        live -= {(dst, 0), (dst, 1), (dst, 2)}
        channels = (0,) if op in _COMPARES else (0, 1, 2)
        live |= {(slot, ch) for slot in {a, b, c} for ch in channels}
    return dead[::-1]


def _step(body: np.ndarray, zero: set, dead: list, values: Mapping[int, float], modes: list | None) -> set:
    """The tangent channels known to hold +0 after one body, from those before it; modes, if given, gets each
    instruction's (X mode, Y mode)."""
    zero = set(zero)
    for (opw, dst, a, b, c), (dead_x, dead_y) in zip(body.tolist(), dead, strict=True):
        op, uniform, checked = opw & 255, (opw >> 8) & 7, bool(opw & causalvm.CHECK)
        if op == causalvm.CLAMP_TANGENT:
            known = (dst, 2) in zero
            if b < 0:
                zero.add((dst, 2))
            if modes is not None:
                modes.append((_FULL, _SKIP if known else _FULL))
            continue
        if op == causalvm.CLAMP_VALUE:
            if b < 0:
                zero |= {(dst, 1), (dst, 2)}
            if modes is not None:
                modes.append((_FULL, _FULL))
            continue
        literal = uniform if (op, uniform) in causalvm.FUSED_UNIFORM else 0  # uniform operands read as 0.0
        pair = []
        for ch, is_dead in ((1, dead_x), (2, dead_y)):
            za, zb, zc = ((literal >> j) & 1 or (slot, ch) in zero for j, slot in enumerate((a, b, c)))
            result = _zero_tangent(op, za, zb, zc, _positive(values, a), _positive(values, b),
                                  _positive(values, b) and values[b] * values[b] > 0)
            if result and (is_dead or (dst, ch) in zero):
                pair.append(_SKIP)  # the slot keeps its +0 (or nothing reads it)
            elif is_dead and checked:
                pair.append(_DEAD)  # the slot keeps what it held
            else:
                pair.append(_FULL)
                if result:
                    zero.add((dst, ch))
                else:
                    zero.discard((dst, ch))
        if modes is not None:
            modes.append(tuple(pair))
    return zero


def channel_modes(prologue: np.ndarray, body: np.ndarray, n_state: int, n_slots: int, uniforms: np.ndarray,
                  zero_state: set[tuple[int, int]]) -> np.ndarray:
    """The body with each instruction's tangent channels' modes, for a state whose channels zero_state (row,
    channel) hold +0 in every condition.

    A channel is SKIP where its result is +0 and the slot holds +0 already (or nothing reads it), DEAD where
    nothing reads it before it is overwritten (computed for the fault sum only). What holds +0 at the start of
    a step is the greatest fixed point over the two banks' bodies, from the tile's start: both banks hold the
    state (+0 in zero_state), the time, the uniforms and every temporary hold +0 in their tangent channels.
    """
    first_uniform = 2 * n_state + 1
    values = _uniform_values(prologue, first_uniform, uniforms)
    start = {(slot, ch) for slot in range(2 * n_state, n_slots) for ch in (1, 2)}
    start |= {(bank + row, ch) for row, ch in zero_state for bank in (0, n_state)}
    for opw, dst, a, b, c in prologue.tolist():  # run once, every channel stored
        op = opw & 255
        literal = ((opw >> 8) & 7) if (op, (opw >> 8) & 7) in causalvm.FUSED_UNIFORM else 0
        for ch in (1, 2):
            za, zb, zc = ((literal >> j) & 1 or (slot, ch) in start for j, slot in enumerate((a, b, c)))
            if _zero_tangent(op, za, zb, zc, _positive(values, a), _positive(values, b),
                                  _positive(values, b) and values[b] * values[b] > 0):
                start.add((dst, ch))
            else:
                start.discard((dst, ch))
    dead = [_dead_channels(body[p], n_state) for p in (0, 1)]
    known = start
    while True:
        after = _step(body[1], _step(body[0], known, dead[0], values, None), dead[1], values, None)
        narrowed = known & after
        if narrowed == known:
            break
        known = narrowed
    modes: list[list] = [[], []]
    _step(body[1], _step(body[0], known, dead[0], values, modes[0]), dead[1], values, modes[1])
    masked = body.copy()
    for p in (0, 1):
        for i, (mode_x, mode_y) in enumerate(modes[p]):
            masked[p, i, 0] |= (mode_x << causalvm.MODE_BITS) | (mode_y << (causalvm.MODE_BITS + 2))
    return masked
