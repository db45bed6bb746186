"""Every opcode of the one table (`_fastcore/opcodes.pxd`), in every evaluator, held to the Python reference
(`models.expressions.apply`) bit for bit: the stack VM (`_fastcore.exprvm`) and the register VM
(`_fastcore.causalvm`), on a grid of operands with the edges whose behaviour is defined (±0, division by zero,
log and sqrt of negatives, overflow, clip's and min/max's ties, where/sign/abs at 0, inf and nan inputs)."""

import itertools
import math

import numpy as np
import pytest

from _fastcore import causalvm, exprvm
from models.expressions import apply

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.0, 1e-200, 5e-324, 710.0, 1e308, -1e308, math.inf, math.nan]
POWERS_OF_TWO = [1.0, 0.5, -2.0, 1024.0]
# (da, db, dc) per channel: two runs of X and Y, so that every tangent is zero somewhere and non-zero elsewhere
TANGENTS = [((1.0, -0.5, 0.25), (0.0, 1.0, -2.0)), ((-0.0, 0.0, 1.0), (2.0, 0.0, -0.0))]
ARITY = exprvm.ARITY  # the table's op_arity (test_the_arity_table_is_the_languages holds it to the parser's)
OPS = [*range(exprvm.ADD, exprvm.LAST_EXPRESSION + 1), causalvm.COPY, causalvm.DIV_POW2]


def _operands(op: int) -> np.ndarray:
    """(3, n) operand rows a, b, c: the grid, over as many operands as op reads (c = 1/b for DIV_POW2)."""
    if op == causalvm.DIV_POW2:
        rows = [(a, b, 1.0 / b) for a, b in itertools.product(EDGES, POWERS_OF_TWO)]
    else:
        rows = [(*p, *[0.0] * (3 - ARITY[op])) for p in itertools.product(EDGES, repeat=ARITY[op])]
    return np.array(rows).T.copy()


def _reference(op: int, abc: np.ndarray, tangents: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, tangents and faults by the Python table; a fault where Python raises or gives a non-finite number."""
    n = abc.shape[1]
    values, derivatives, faults = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    for i in range(n):
        try:
            values[i], derivatives[i] = apply(op, *abc[:, i].tolist(), *tangents)
        except (ValueError, ZeroDivisionError, OverflowError):
            faults[i] = True
            continue
        faults[i] = not (math.isfinite(values[i]) and math.isfinite(derivatives[i]))
    return values, derivatives, faults


def _assert_bits(label: str, got: np.ndarray, expected: np.ndarray, where: np.ndarray, abc: np.ndarray) -> None:
    differ = where & (got.view(np.int64) != expected.view(np.int64))
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        raise AssertionError(f"{label} at operands {abc[:, i].tolist()}: {got[i]!r}, the reference {expected[i]!r}")


def _causal(op: int, abc: np.ndarray, x: tuple, y: tuple, uniform: str) -> tuple[int, np.ndarray]:
    """One step of a register program whose last state row is op on the first three (each copied forward);
    the operands named in uniform are read from uniform slots instead (flagged, as the compiler does)."""
    flags = sum(flag for flag, k in zip(causalvm.UNIFORM, "abc", strict=True) if k in uniform)
    body = []
    for old, new in ((0, 4), (4, 0)):
        slots = [9 + k if name in uniform else old + k for k, name in enumerate("abc")]
        body.append([(causalvm.COPY, new + k, old + k, old + k, old + k) for k in range(3)]
                    + [(op | flags | causalvm.CHECK, new + 3, *slots)])
    state = np.zeros((4, 3, abc.shape[1]))
    state[:3, 0] = abc
    state[:3, 1] = np.array(x)[:, None]
    state[:3, 2] = np.array(y)[:, None]
    fault, _ = causalvm.run_system(np.zeros((0, 5), dtype=np.int32), np.array(body, dtype=np.int32), 12,
                                   abc[:, 0].copy(), state, 0.0, 1)
    return fault, state[3, :, 0]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("tangents", TANGENTS)
@pytest.mark.parametrize("uniform", ["", "a", "b", "bc"])  # the register VM's operands read from uniform slots
def test_every_evaluator_equals_the_reference_table(op, tangents, uniform):
    x, y = ([0.0 if k in uniform else t for k, t in zip("abc", channel, strict=True)] for channel in tangents)
    abc = _operands(op)
    values, dx, faults = _reference(op, abc, x)
    values_y, dy, faults_y = _reference(op, abc, y)
    ok = ~(faults | faults_y)

    if op <= exprvm.LAST_EXPRESSION and not uniform:  # the expression language's opcodes: the stack VM too
        arity = ARITY[op]
        code = np.array([(exprvm.VAR, k) for k in range(arity)] + [(op, 0)], dtype=np.int64)
        for tangent, value, expected, fault in ((x, values, dx, faults), (y, values_y, dy, faults_y)):
            dX = np.repeat(np.array(tangent)[:arity, None], abc.shape[1], axis=1)
            got, dgot, errors = exprvm.run_program(code, np.zeros(0), abc[:arity].copy(), dX, arity)
            assert ((errors != 0) == fault).all(), f"exprvm faults differ for opcode {op}"
            if op == exprvm.DIV:
                assert (errors[abc[1] == 0.0] == 1).all()  # named as a division by zero
            _assert_bits(f"exprvm value of opcode {op}", got, value, ~fault, abc)
            _assert_bits(f"exprvm tangent of opcode {op}", dgot, expected, ~fault, abc)

    # the register VM checks a result by the sum of its three channels, which can overflow where each is finite
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = ok & ~np.isfinite(values + dx + dy)
    outcomes = [(_causal(op, abc[:, [i]], x, y, uniform), i) for i in range(abc.shape[1])]
    faulted = np.array([fault == 0 for (fault, _), _ in outcomes])
    assert (faulted == (~ok | overflow)).all(), f"causalvm faults differ for opcode {op}"
    got = np.array([row for (_, row), _ in outcomes]).T
    for channel, expected in enumerate((values, dx, dy)):
        _assert_bits(f"causalvm channel {channel} of opcode {op}", got[channel].copy(), expected, ok & ~overflow, abc)


def test_the_arity_table_is_the_languages():
    """op_arity, which both VMs and the causal compiler read, against the operands the language gives each
    operator and function (`models.expressions`), and the register VM's own opcodes."""
    from models.expressions import _BINARY, _COMPARE, FUNCTIONS

    language = {op: 2 for op in [*_BINARY.values(), *_COMPARE.values()]}
    language |= {op: 2 if count is None else count for op, count in FUNCTIONS.values()}  # min, max fold pairs
    language |= {exprvm.NEG: 1, causalvm.COPY: 1, causalvm.DIV_POW2: 3}
    assert {op: ARITY[op] for op in language} == language
    assert set(language) == set(OPS)  # every opcode an evaluator runs has its count here
