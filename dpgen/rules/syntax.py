"""Rule expressions: Python text -> expression trees, once, when a rule is registered.

This is the only place rule text is parsed. ``"g * np.cos(x)"`` becomes
``Apply("numpy.multiply", (Hole("g"), Apply("numpy.cos", (Hole("x"),))))``: operators map
to their primitives (``*`` -> ``numpy.multiply``, unary ``-`` -> ``numpy.negative``,
``<`` -> ``numpy.less``), ``np.X`` to ``numpy.X``, ``math.X`` stays, builtins become
``builtins.X`` and any other called name is a backend helper (``unbroadcast`` ->
``dpgen.helpers._unbroadcast``). A name that is neither a hole nor one of those, or
syntax a tree cannot hold, is a `MalformedRule` raised at import.
"""

from __future__ import annotations

import ast
import builtins

from dpgen.ir import Apply, Expr, Global, Hole, Index, Lit, Seq, SliceAtom
from dpgen.ir.expr import OPERATORS

#: The prefix of a helper primitive's qualified name in the rule table.
HELPER_PREFIX = "dpgen.helpers."

BINARY = {
    ast.Add: "numpy.add",
    ast.Sub: "numpy.subtract",
    ast.Mult: "numpy.multiply",
    ast.Div: "numpy.divide",
    ast.Pow: "numpy.power",
    ast.MatMult: "numpy.matmul",
    ast.Mod: "numpy.remainder",
    ast.FloorDiv: "numpy.floor_divide",
}
COMPARE = {
    ast.Lt: "numpy.less",
    ast.LtE: "numpy.less_equal",
    ast.Gt: "numpy.greater",
    ast.GtE: "numpy.greater_equal",
    ast.Eq: "numpy.equal",
    ast.NotEq: "numpy.not_equal",
}
# The IR's list of operator primitives (printed infix) is exactly what the parser maps operators to.
assert OPERATORS == frozenset(BINARY.values()) | frozenset(COMPARE.values()) | {"numpy.negative"}
_MODULES = {"np": "numpy", "math": "math"}


class MalformedRule(ValueError):
    """A rule expression dpgen cannot turn into a tree (raised when the rule is registered)."""


def parse(text: str, holes: frozenset[str] | set[str]) -> Expr:
    """The tree of a rule expression over the hole names `holes`."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as error:
        raise MalformedRule(f"rule expression {text!r}: {error.msg}") from None
    return _Parser(text, frozenset(holes)).expr(node)


class _Parser:
    def __init__(self, text: str, holes: frozenset[str]):
        self.text, self.holes = text, holes

    def fail(self, what: str) -> MalformedRule:
        return MalformedRule(f"rule expression {self.text!r}: {what}")

    def expr(self, node: ast.expr) -> Expr:
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float, complex, str, bool, type(None)):
                raise self.fail(f"unsupported literal {ast.unparse(node)}")
            return Lit(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.expr(node.operand)
            if isinstance(operand, Lit) and type(operand.value) in (int, float):
                return Lit(-operand.value)
            return Apply("numpy.negative", (operand,))
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return Apply(BINARY[type(node.op)], (self.expr(node.left), self.expr(node.right)))
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE:
            return Apply(COMPARE[type(node.ops[0])], (self.expr(node.left), self.expr(node.comparators[0])))
        if isinstance(node, ast.Name):
            if node.id in self.holes:
                return Hole(node.id)
            raise self.fail(f"unknown name '{node.id}' (not a parameter, g, ans or t)")
        if isinstance(node, ast.Attribute):
            qualified = self.qualified(node)
            if qualified is not None:
                return Global(qualified)
            return Apply("dpgen.getattr", (self.expr(node.value), Lit(node.attr)))
        if isinstance(node, ast.Call):
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise self.fail("* and ** arguments are not supported")
            op = self.function(node.func)
            return Apply(
                op, tuple(self.expr(a) for a in node.args), tuple((k.arg, self.expr(k.value)) for k in node.keywords)
            )
        if isinstance(node, ast.Subscript):
            return Apply("dpgen.getitem", (self.expr(node.value), self.index(node.slice)))
        if isinstance(node, (ast.Tuple, ast.List)):
            return Seq(tuple(self.expr(e) for e in node.elts), isinstance(node, ast.List))
        raise self.fail(f"unsupported syntax {ast.unparse(node)!r}")

    def qualified(self, node: ast.expr) -> str | None:
        """``np.linalg.inv`` -> ``numpy.linalg.inv``; None unless rooted at ``np`` or ``math``."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in _MODULES and node.id not in self.holes and parts:
            return ".".join([_MODULES[node.id]] + parts[::-1])
        return None

    def function(self, func: ast.expr) -> str:
        """The qualified name of a called function."""
        if isinstance(func, ast.Attribute):
            qualified = self.qualified(func)
            if qualified is None:
                raise self.fail(f"cannot call {ast.unparse(func)!r} (only np.*, math.*, builtins and helpers)")
            return qualified
        if isinstance(func, ast.Name) and func.id not in self.holes:
            if hasattr(builtins, func.id):
                return f"builtins.{func.id}"
            return f"{HELPER_PREFIX}_{func.id}"
        raise self.fail(f"cannot call {ast.unparse(func)!r}")

    def index(self, node: ast.expr) -> Expr:
        if isinstance(node, ast.Slice):
            return Index((self.slice(node),), False)
        if isinstance(node, ast.Tuple):
            return Index(tuple(self.slice(e) if isinstance(e, ast.Slice) else self.expr(e) for e in node.elts), True)
        return self.expr(node)

    def slice(self, node: ast.Slice) -> SliceAtom:
        return SliceAtom(*(None if p is None else self.expr(p) for p in (node.lower, node.upper, node.step)))
