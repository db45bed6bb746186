# The expression language's opcodes (`models.expressions`), shared by the stack VM (`exprvm`) and the
# whole-system register VM (`causalvm`), which extends them.
cdef enum:
    OP_CONST = 0
    OP_VAR = 1
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
