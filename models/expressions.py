"""A small, safe expression language for causal-graph nodes and game payoffs (ARCHITECTURE "expressions").

An expression is parsed with `ast` and checked against a whitelist: numbers, the names it is
given (parents, parameters), + - * / **, unary minus, comparisons (< <= > >= == !=) and the
functions min max abs clip exp log sin cos tanh sqrt where sign. Anything else (attribute
access, subscripts, other calls, comprehensions, lambdas, strings, `__` names, huge constant
exponents) is refused with a message naming the piece and its position. It is compiled to a
compact stack bytecode that `_fastcore.exprvm` evaluates over a batch of inputs at once, on
values and, in the same pass, on tangents (forward-mode dual numbers), so derivatives are
exact. Nothing is ever passed to `eval` or `exec`.

Derivative conventions at kinks ("use the branch that W takes"): comparisons and
sign have zero derivative; min/max, clip, abs and where follow the branch the value takes
(ties go to the first argument of min/max and to the inside of clip; abs'(0) = 0).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from _fastcore import exprvm as vm
from models.errors import WorldError

MAX_CONSTANT_EXPONENT = 64  # x ** k with a literal |k| above this is refused (2 ** 10 ** 10 is not a model)
MAX_LENGTH = 4000  # characters in one expression
MAX_NESTING = 200  # syntax-tree levels in one expression, every node kind counted (the compiler recurses per level)

# name -> (opcode, number of arguments; None = two or more, folded left)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (vm.MIN, None),
    "max": (vm.MAX, None),
    "abs": (vm.ABS, 1),
    "clip": (vm.CLIP, 3),
    "exp": (vm.EXP, 1),
    "log": (vm.LOG, 1),
    "sin": (vm.SIN, 1),
    "cos": (vm.COS, 1),
    "tanh": (vm.TANH, 1),
    "sqrt": (vm.SQRT, 1),
    "where": (vm.WHERE, 3),
    "sign": (vm.SIGN, 1),
}
_BINARY = {ast.Add: vm.ADD, ast.Sub: vm.SUB, ast.Mult: vm.MUL, ast.Div: vm.DIV, ast.Pow: vm.POW}
_COMPARE = {ast.Lt: vm.LT, ast.LtE: vm.LE, ast.Gt: vm.GT, ast.GtE: vm.GE, ast.Eq: vm.EQ, ast.NotEq: vm.NE}
_DESCRIBE = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.BoolOp: "'and'/'or' (use where, min, max)",
    ast.IfExp: "'x if c else y' (use where(c, x, y))", ast.Tuple: "tuples", ast.List: "lists", ast.Dict: "dicts",
    ast.Set: "sets", ast.Starred: "starred arguments", ast.NamedExpr: "assignment", ast.Await: "await",
    ast.JoinedStr: "strings", ast.FormattedValue: "strings",
}


class ExpressionError(WorldError):
    """An expression that is not in the language: the message names the piece, its position and what is allowed."""


@dataclass(frozen=True)
class Program:
    """A compiled expression: bytecode (op, argument) rows, constants, and the names of its inputs in order."""

    text: str
    names: tuple[str, ...]
    code: np.ndarray  # (n_ops, 2) int64
    constants: np.ndarray  # (n_constants,) float64
    depth: int  # the stack depth it needs
    tree: ast.Expression

    @property
    def used(self) -> set[str]:
        """The input names the expression actually reads."""
        return {self.names[arg] for op, arg in self.code if op == vm.VAR}

    def evaluate(self, inputs: Mapping[str, Any], tangents: Mapping[str, Any] | None = None) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
        """Values and tangents over a batch: inputs (and tangents) map each name to a number or a (batch,) array.

        Raises ExpressionError naming the first element where a division by zero or a non-finite value occurred.
        """
        batch = max([np.size(v) for v in inputs.values()] + [1])
        X = np.zeros((len(self.names), batch))
        dX = np.zeros((len(self.names), batch))
        for i, name in enumerate(self.names):
            if name not in inputs:
                raise ExpressionError(f"expression {self.text!r}: no value given for {name!r}")
            X[i] = inputs[name]
            if tangents is not None and name in tangents:
                dX[i] = tangents[name]
        values, dvalues, errors = self.run(X, dX)
        fault = self.first_fault(errors)
        if fault is not None:
            raise ExpressionError(f"expression {self.text!r}: {fault[1]} (batch element {fault[0]})")
        return values, dvalues

    @staticmethod
    def first_fault(errors: np.ndarray) -> tuple[int, str] | None:
        """(batch element, what happened) for the first element the VM flagged, or None."""
        bad = np.flatnonzero(errors)
        return (int(bad[0]), vm.ERROR_TEXT[int(errors[bad[0]])]) if len(bad) else None

    def __post_init__(self) -> None:
        vm.check_program(self.code, self.constants, len(self.names), self.depth)

    def run(self, X: np.ndarray, dX: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The VM on (n_names, batch) values and tangents: (values, tangents, error codes per element)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        dX = np.ascontiguousarray(dX, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != len(self.names) or dX.shape != X.shape:
            raise ValueError(f"inputs and tangents: expected ({len(self.names)}, batch) arrays, got {X.shape} "
                             f"and {dX.shape}")
        return vm.run_checked(self.code, self.constants, X, dX, self.depth)

    def reference(self, env: Mapping[str, float], tangents: Mapping[str, float] | None = None) -> tuple[float,
                                                                                                       float]:
        """(value, tangent) by walking the syntax tree in plain Python: the independent check of the VM."""
        dual = _Reference(env, tangents or {})
        return dual.visit(self.tree.body)


def _fail(text: str, node: ast.AST, what: str) -> ExpressionError:
    column = getattr(node, "col_offset", 0)
    piece = ast.get_source_segment(text, node) or type(node).__name__
    return ExpressionError(f"expression {text!r}: {what}: {piece!r} at column {column + 1}")


def _literal(node: ast.AST) -> float | None:
    """The value of a numeric literal or a negated one, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _literal(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


class _Compiler:
    def __init__(self, text: str, names: Sequence[str]) -> None:
        self.text = text
        self.names = list(names)
        self.code: list[tuple[int, int]] = []
        self.constants: list[float] = []
        self.depth = 0
        self.max_depth = 0

    def emit(self, op: int, arg: int = 0, pops: int = 0, pushes: int = 1) -> None:
        self.code.append((op, arg))
        self.depth += pushes - pops
        self.max_depth = max(self.max_depth, self.depth)

    def constant(self, value: float) -> None:
        self.constants.append(value)
        self.emit(vm.CONST, len(self.constants) - 1)

    def visit(self, node: ast.AST) -> None:
        text = self.text
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise _fail(text, node, "only numbers are allowed as constants")
            if not math.isfinite(float(node.value)):
                raise _fail(text, node, "constants must be finite")
            self.constant(float(node.value))
        elif isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise _fail(text, node, "names starting with '__' are not allowed")
            if node.id in FUNCTIONS:
                raise _fail(text, node, f"{node.id!r} is a function: call it with arguments")
            if node.id not in self.names:
                known = ", ".join(self.names) or "none"
                raise _fail(text, node, f"unknown name (expected one of: {known})")
            self.emit(vm.VAR, self.names.index(node.id))
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise _fail(text, node, f"operator {type(node.op).__name__} is not allowed (allowed: + - * / **)")
            if isinstance(node.op, ast.Pow):
                exponent = _literal(node.right)
                if exponent is None and isinstance(node.right, ast.BinOp) and isinstance(node.right.op, ast.Pow):
                    raise _fail(text, node, "stacked powers are not allowed")
                if exponent is not None and abs(exponent) > MAX_CONSTANT_EXPONENT:
                    raise _fail(text, node, f"exponent too large (at most {MAX_CONSTANT_EXPONENT} in magnitude)")
            self.visit(node.left)
            self.visit(node.right)
            self.emit(_BINARY[type(node.op)], pops=2)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                self.visit(node.operand)
                self.emit(vm.NEG, pops=1)
            elif isinstance(node.op, ast.UAdd):
                self.visit(node.operand)
            else:
                raise _fail(text, node, "only unary + and - are allowed")
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise _fail(text, node, "chained comparisons are not allowed (compare two things)")
            if type(node.ops[0]) not in _COMPARE:
                raise _fail(text, node, "only < <= > >= == != are allowed")
            self.visit(node.left)
            self.visit(node.comparators[0])
            self.emit(_COMPARE[type(node.ops[0])], pops=2)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id.startswith("__"):
                raise _fail(text, node.func, "names starting with '__' are not allowed")
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                allowed = ", ".join(FUNCTIONS)
                raise _fail(text, node, f"calls are limited to {allowed}")
            if node.keywords:
                raise _fail(text, node, "keyword arguments are not allowed")
            op, arity = FUNCTIONS[node.func.id]
            count = len(node.args)
            if (arity is None and count < 2) or (arity is not None and count != arity):
                expected = "two or more arguments" if arity is None else f"{arity} argument{'s' * (arity != 1)}"
                raise _fail(text, node, f"{node.func.id} takes {expected}, got {count}")
            for arg in node.args:
                self.visit(arg)
            if arity is None:
                for _ in range(count - 1):
                    self.emit(op, pops=2)
            else:
                self.emit(op, pops=arity)
        else:
            what = _DESCRIBE.get(type(node), type(node).__name__)
            raise _fail(text, node, f"not allowed ({what})")


def _nesting(tree: ast.AST) -> int:
    """The syntax tree's depth, counted without recursion (a deep tree is what is being refused)."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def compile_expression(text: str, names: Sequence[str]) -> Program:
    """Parse and compile `text`, whose free names must be among `names`, or raise ExpressionError."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression: expected text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression: longer than {MAX_LENGTH} characters")
    for name in names:
        if not name.isidentifier() or name.startswith("__") or name in FUNCTIONS:
            raise ExpressionError(f"input name {name!r}: expected an identifier that is not a function name "
                                  "and does not start with '__'")
    try:
        with warnings.catch_warnings():  # "1if x else 2" warns (a digit runs into a keyword): refuse it in one line
            warnings.simplefilter("error", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"expression {text!r}: not valid syntax at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression: nested too deeply (at most {MAX_NESTING} levels)") from None
    if _nesting(tree.body) > MAX_NESTING:
        raise ExpressionError(f"expression: nested deeper than {MAX_NESTING} levels (operators, calls and signs "
                              "each count one); expected a flatter expression, e.g. a sum split with parentheses")
    compiler = _Compiler(text.strip(), names)
    compiler.visit(tree.body)
    code = np.array(compiler.code, dtype=np.int64).reshape(-1, 2)
    return Program(text.strip(), tuple(names), code, np.array(compiler.constants, dtype=np.float64),
                   compiler.max_depth, tree)


def apply(op: int, a: float, b: float = 0.0, c: float = 0.0, da: float = 0.0, db: float = 0.0,
          dc: float = 0.0) -> tuple[float, float]:
    """(value, derivative) of opcode op in plain floats: `_fastcore/opcodes.pxd`'s op_value and op_tangent, line for
    line, so the reference checks the VMs' arithmetic. Where C gives inf or nan (x / 0, log(-1), exp(1000))
    Python's math raises ValueError, ZeroDivisionError or OverflowError instead: a fault either way."""
    if op == vm.ADD:
        return a + b, da + db
    if op == vm.SUB:
        return a - b, da - db
    if op == vm.MUL:
        return a * b, da * b + a * db
    if op == vm.DIV:
        return a / b, (da * b - a * db) / (b * b)
    if op == vm.DIV_POW2:  # c = 1 / b, b = ±2^k: the same numbers as DIV, by products
        return a * c, (da * b - a * db) * (c * c)
    if op == vm.POW:
        r = math.pow(a, b)
        d = b * math.pow(a, b - 1.0) * da if (da != 0.0 and b != 0.0) else 0.0
        return r, (d + r * math.log(a) * db if db != 0.0 else d)
    if op == vm.NEG:
        return -a, -da
    if op in _COMPARISONS:
        return float(_COMPARISONS[op](a, b)), 0.0
    if op == vm.MIN:  # ties go to the first argument
        return (b, db) if b < a else (a, da)
    if op == vm.MAX:
        return (b, db) if b > a else (a, da)
    if op == vm.ABS:
        return abs(a), (da if a > 0.0 else -da if a < 0.0 else 0.0)
    if op == vm.CLIP:  # clip(a, lo = b, hi = c): ties stay inside
        return (b, db) if a < b else (c, dc) if a > c else (a, da)
    if op == vm.WHERE:
        return (b, db) if a != 0.0 else (c, dc)
    if op == vm.EXP:
        r = math.exp(a)
        return r, r * da
    if op == vm.LOG:
        return math.log(a), da / a
    if op == vm.SIN:
        return math.sin(a), math.cos(a) * da
    if op == vm.COS:
        return math.cos(a), -math.sin(a) * da
    if op == vm.TANH:
        r = math.tanh(a)
        return r, (1.0 - r * r) * da
    if op == vm.SQRT:
        r = math.sqrt(a)
        return r, da / (2.0 * r)
    if op == vm.SIGN:
        return (1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0), 0.0
    if op == vm.COPY:
        return a, da
    raise ValueError(f"opcode {op}: not an operation")


_COMPARISONS = {vm.LT: operator.lt, vm.LE: operator.le, vm.GT: operator.gt, vm.GE: operator.ge, vm.EQ: operator.eq,
                vm.NE: operator.ne}


class _Reference:
    """Dual-number evaluation of a checked syntax tree by `apply`, in plain Python floats."""

    def __init__(self, env: Mapping[str, float], tangents: Mapping[str, float]) -> None:
        self.env, self.tangents = env, tangents

    def visit(self, node: ast.AST) -> tuple[float, float]:
        if isinstance(node, ast.Constant):
            return float(node.value), 0.0
        if isinstance(node, ast.Name):
            return float(self.env[node.id]), float(self.tangents.get(node.id, 0.0))
        if isinstance(node, ast.UnaryOp):
            a, da = self.visit(node.operand)
            return apply(vm.NEG, a, da=da) if isinstance(node.op, ast.USub) else (a, da)
        if isinstance(node, ast.BinOp):
            (a, da), (b, db) = self.visit(node.left), self.visit(node.right)
            return apply(_BINARY[type(node.op)], a, b, da=da, db=db)
        if isinstance(node, ast.Compare):
            (a, da), (b, db) = self.visit(node.left), self.visit(node.comparators[0])
            return apply(_COMPARE[type(node.ops[0])], a, b, da=da, db=db)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        op, arity = FUNCTIONS[node.func.id]
        args = [self.visit(a) for a in node.args]
        if arity is None:  # min, max: folded left, as compiled
            result = args[0]
            for arg in args[1:]:
                result = apply(op, result[0], arg[0], da=result[1], db=arg[1])
            return result
        values, tangents = zip(*args, strict=True)
        return apply(op, *values, *[0.0] * (3 - arity), *tangents)
