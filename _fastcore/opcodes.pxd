# The opcodes and, for each, its value and its forward-mode derivative: the one definition of their arithmetic.
# A .pxd of inline functions, because both VMs (`exprvm`, `causalvm`) then compile these very lines into their
# own loops, where a constant opcode folds each call down to its one formula; `models.expressions.apply` is
# the same table in plain Python for the reference evaluator, and tests/test_opcodes.py holds the three together.
cimport cython
from libc.math cimport cos, exp, fabs, log, pow, sin, sqrt, tanh

cdef enum:
    OP_CONST = 0  # stack VM only: push a constant
    OP_VAR = 1    # stack VM only: push an input
    OP_ADD = 2
    OP_SUB = 3
    OP_MUL = 4
    OP_DIV = 5
    OP_POW = 6
    OP_NEG = 7
    OP_LT = 8
    OP_LE = 9
    OP_GT = 10
    OP_GE = 11
    OP_EQ = 12
    OP_NE = 13
    OP_MIN = 14
    OP_MAX = 15
    OP_ABS = 16
    OP_CLIP = 17
    OP_EXP = 18
    OP_LOG = 19
    OP_SIN = 20
    OP_COS = 21
    OP_TANH = 22
    OP_SQRT = 23
    OP_WHERE = 24
    OP_SIGN = 25
    OP_LAST_EXPRESSION = 25  # the expression language's opcodes are 0 .. this; the register VM's own follow
    OP_COPY = 26            # register VM only: a, with its tangent
    OP_CLAMP_TANGENT = 27   # register VM only, applied by the VM itself (it reads the time)
    OP_CLAMP_VALUE = 28     # register VM only, likewise
    OP_DIV_POW2 = 29        # register VM only: a / b for b = ±2^k, with c = 1/b (exact): products, not quotients
    N_OPS = 30


cdef inline int op_arity(int op) noexcept nogil:
    """How many operands op reads (a; a, b; or a, b, c)."""
    if op == OP_NEG or op == OP_COPY or OP_ABS == op or OP_EXP <= op <= OP_SQRT or op == OP_SIGN:
        return 1
    if op == OP_CLIP or op == OP_WHERE or op == OP_DIV_POW2:
        return 3
    return 2


@cython.cdivision(True)  # IEEE division: x / 0 is inf or nan, as in Python's reference a fault, not an exception
cdef inline double op_value(int op, double a, double b, double c) noexcept nogil:
    """The value of op on its operands."""
    cdef double r
    if op == OP_ADD:
        return a + b
    if op == OP_SUB:
        return a - b
    if op == OP_MUL:
        return a * b
    if op == OP_DIV:
        return a / b
    if op == OP_DIV_POW2:
        return a * c
    if op == OP_POW:
        return pow(a, b)
    if op == OP_NEG:
        return -a
    if op == OP_LT:
        return 1.0 if a < b else 0.0
    if op == OP_LE:
        return 1.0 if a <= b else 0.0
    if op == OP_GT:
        return 1.0 if a > b else 0.0
    if op == OP_GE:
        return 1.0 if a >= b else 0.0
    if op == OP_EQ:
        return 1.0 if a == b else 0.0
    if op == OP_NE:
        return 1.0 if a != b else 0.0
    if op == OP_MIN:  # ties (and a nan b) go to a
        return b if b < a else a
    if op == OP_MAX:
        return b if b > a else a
    if op == OP_ABS:
        return fabs(a)
    if op == OP_CLIP:  # clip(a, lo = b, hi = c): ties stay inside, a nan a stays
        r = c if a > c else a
        return b if a < b else r
    if op == OP_WHERE:  # where(a, b, c): a nan condition counts as true
        return b if a != 0.0 else c
    if op == OP_EXP:
        return exp(a)
    if op == OP_LOG:
        return log(a)
    if op == OP_SIN:
        return sin(a)
    if op == OP_COS:
        return cos(a)
    if op == OP_TANH:
        return tanh(a)
    if op == OP_SQRT:
        return sqrt(a)
    if op == OP_SIGN:
        return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)
    return a  # OP_COPY


@cython.cdivision(True)
cdef inline double op_tangent(int op, double a, double b, double c, double r, double da, double db,
                              double dc) noexcept nogil:
    """The derivative of r = op_value(op, a, b, c) along the operands' tangents da, db, dc; at a kink, the
    derivative of the branch the value takes (comparisons and sign: 0)."""
    cdef double d
    if op == OP_ADD:
        return da + db
    if op == OP_SUB:
        return da - db
    if op == OP_MUL:
        return da * b + a * db
    if op == OP_DIV:
        return (da * b - a * db) / (b * b)
    if op == OP_DIV_POW2:  # c * c = 1 / (b * b) exactly, b being ±2^k
        return (da * b - a * db) * (c * c)
    if op == OP_POW:  # the terms of da and db only where they move (0 * inf would be nan)
        d = b * pow(a, b - 1.0) * da if (da != 0.0 and b != 0.0) else 0.0
        return d + r * log(a) * db if db != 0.0 else d
    if op == OP_NEG:
        return -da
    if op == OP_MIN:
        return db if b < a else da
    if op == OP_MAX:
        return db if b > a else da
    if op == OP_ABS:
        return da if a > 0.0 else (-da if a < 0.0 else 0.0)
    if op == OP_CLIP:
        d = dc if a > c else da
        return db if a < b else d
    if op == OP_WHERE:
        return db if a != 0.0 else dc
    if op == OP_EXP:
        return r * da
    if op == OP_LOG:
        return da / a
    if op == OP_SIN:
        return cos(a) * da
    if op == OP_COS:
        return -sin(a) * da
    if op == OP_TANH:
        return (1.0 - r * r) * da
    if op == OP_SQRT:
        return da / (2.0 * r)
    if OP_LT <= op <= OP_NE or op == OP_SIGN:
        return 0.0
    return da  # OP_COPY
