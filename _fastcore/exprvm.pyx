"""A stack machine for `models.expressions` programs: values and forward-mode tangents in one pass.

A program is rows of (opcode, argument): CONST pushes constants[arg], VAR pushes input row
arg; every other opcode pops its operands and pushes one result. Each batch element runs the
whole program with its own small stacks (values and tangents side by side).
"""
from libc.math cimport isfinite
from libc.stdint cimport int64_t

from _fastcore.opcodes cimport *  # OP_CONST ... OP_LAST_EXPRESSION with op_arity, op_value, op_tangent

import numpy as np

cdef enum:
    OK = 0
    DIVISION_BY_ZERO = 1
    NOT_FINITE = 2

# The expression language's opcodes by name (an opcode added to the table without its name here fails on import).
(CONST, VAR, ADD, SUB, MUL, DIV, POW, NEG, LT, LE, GT, GE, EQ, NE, MIN, MAX, ABS, CLIP, EXP, LOG, SIN, COS, TANH,
 SQRT, WHERE, SIGN) = range(OP_LAST_EXPRESSION + 1)
LAST_EXPRESSION = OP_LAST_EXPRESSION
COPY, DIV_POW2 = OP_COPY, OP_DIV_POW2  # the register VM's own operations (`causalvm`), from the same table
ARITY = tuple(op_arity(op) for op in range(N_OPS))  # operands each opcode reads: the table's op_arity, for Python
ERROR_TEXT = {DIVISION_BY_ZERO: "division by zero", NOT_FINITE: "a non-finite value or derivative (overflow, or "
              "log/sqrt/power of a number outside its domain)"}


cdef int run_one(const int64_t[:, ::1] code, const double[::1] consts, const double[:, ::1] X,
                 const double[:, ::1] dX, Py_ssize_t i, double* v, double* dv, double* out, double* dout) noexcept nogil:
    """Run the program on batch element i; returns an error code."""
    cdef Py_ssize_t pc, top = -1
    cdef int op, n
    cdef double a, b, c, r
    cdef int status = OK
    for pc in range(code.shape[0]):
        op = <int>code[pc, 0]
        if op == OP_CONST:
            top += 1
            v[top] = consts[code[pc, 1]]
            dv[top] = 0.0
            continue
        if op == OP_VAR:
            top += 1
            v[top] = X[code[pc, 1], i]
            dv[top] = dX[code[pc, 1], i]
            continue
        n = op_arity(op)
        top -= n - 1  # the operands are v[top], v[top + 1], v[top + 2]; the result goes to v[top]
        a = v[top]
        b = v[top + 1] if n > 1 else 0.0
        c = v[top + 2] if n > 2 else 0.0
        r = op_value(op, a, b, c)
        dv[top] = op_tangent(op, a, b, c, r, dv[top], dv[top + 1] if n > 1 else 0.0, dv[top + 2] if n > 2 else 0.0)
        v[top] = r
        if op == OP_DIV and b == 0.0 and status == OK:
            status = DIVISION_BY_ZERO
        # clip and where only select: their operands were checked where they were computed
        if op != OP_CLIP and op != OP_WHERE and not (isfinite(r) and isfinite(dv[top])) and status == OK:
            status = NOT_FINITE
    out[0] = v[0]
    dout[0] = dv[0]
    if status == OK and not (isfinite(v[0]) and isfinite(dv[0])):
        status = NOT_FINITE
    return status


def check_program(code, constants, Py_ssize_t n_inputs, Py_ssize_t depth):
    """Raise ValueError unless code, constants and depth make a program the VM can run on n_inputs inputs."""
    if not isinstance(code, np.ndarray) or code.dtype != np.int64 or code.ndim != 2 or code.shape[1] != 2:
        raise ValueError("code: expected an (n, 2) int64 array")
    if code.shape[0] == 0:
        raise ValueError("code: expected at least one instruction")
    if not isinstance(constants, np.ndarray) or constants.dtype != np.float64 or constants.ndim != 1:
        raise ValueError("constants: expected a 1-D float64 array")
    if depth < 1:
        raise ValueError("depth: expected >= 1")
    if np.any(code[:, 0] < 0) or np.any(code[:, 0] > OP_LAST_EXPRESSION):
        raise ValueError("code: unknown opcode")
    var_rows = code[code[:, 0] == OP_VAR, 1]
    if len(var_rows) and (var_rows.min() < 0 or var_rows.max() >= n_inputs):
        raise ValueError("code: an input index is outside the inputs")
    const_rows = code[code[:, 0] == OP_CONST, 1]
    if len(const_rows) and (const_rows.min() < 0 or const_rows.max() >= constants.shape[0]):
        raise ValueError("code: a constant index is outside the constants")


def run_program(code, constants, inputs, tangents, Py_ssize_t depth):
    """Evaluate a program on every column of inputs (n_inputs, batch): (values, tangents, error codes)."""
    if inputs.ndim != 2 or tangents.shape != inputs.shape:
        raise ValueError(f"inputs and tangents: expected equal (n_inputs, batch) arrays, got {inputs.shape} "
                         f"and {tangents.shape}")
    check_program(code, constants, inputs.shape[0], depth)
    return run_checked(code, constants, inputs, tangents, depth)


def run_checked(code, constants, inputs, tangents, Py_ssize_t depth):
    """`run_program` for a program already passed through `check_program` (for these input rows): no checks."""
    cdef Py_ssize_t batch = inputs.shape[1]
    values = np.empty(batch)
    dvalues = np.empty(batch)
    errors = np.zeros(batch, dtype=np.int8)
    stack = np.empty(depth)
    dstack = np.empty(depth)
    cdef const int64_t[:, ::1] c = code
    cdef const double[::1] k = constants
    cdef const double[:, ::1] X = inputs
    cdef const double[:, ::1] dX = tangents
    cdef double[::1] out = values
    cdef double[::1] dout = dvalues
    cdef signed char[::1] err = errors
    cdef double[::1] s = stack
    cdef double[::1] ds = dstack
    cdef Py_ssize_t i
    with nogil:
        for i in range(batch):
            err[i] = run_one(c, k, X, dX, i, &s[0], &ds[0], &out[i], &dout[i])
    return values, dvalues, errors
