"""A causal world compiled into one register program for `_fastcore.causalvm`.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from _fastcore import causalvm
from _fastcore import exprvm as vm
from models.expressions import Program

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
        return causalvm.run_checked(self.prologue, self.body, self.n_slots, self.uniforms, state,
                                    float(t0), steps, max(1, min(threads, tiles)), True)


class _Builder:
    def __init__(self, n_state: int, uniform_values: Sequence[float]) -> None:
        self.n_state = n_state
        self.time_slot = 2 * n_state
        self.uniform_slot: dict[str, int] = {}
        for value in uniform_values:
            self.uniform_slot.setdefault(float(value).hex(), self.time_slot + 1 + len(self.uniform_slot))
        values = [float.fromhex(key) for key in self.uniform_slot]
        self.reciprocals: dict[int, int] = {}  # slot of a uniform ±2^k -> slot of 1/it
        for key, slot in list(self.uniform_slot.items()):
            value = float.fromhex(key)
            if _power_of_two(value):
                self.reciprocals[slot] = self.time_slot + 1 + len(values)
                values.append(1.0 / value)
        self.uniforms = np.array(values, dtype=np.float64)
        self.n_slots = self.time_slot + 1 + len(self.uniforms)
        # slots whose value is the same on every lane, every step
        self.uniform = {*self.uniform_slot.values(), *self.reciprocals.values()}
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
            arity = vm.ARITY[op]
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
            if op == vm.DIV and b in self.reciprocals:  # x / 2^k: the same number by a multiplication
                op, c = causalvm.DIV_POW2, self.reciprocals[b]
            slots = [*operands, c] if op == causalvm.DIV_POW2 else operands
            flags = sum(flag for flag, slot in zip(causalvm.UNIFORM, slots, strict=False) if slot in self.uniform)
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
