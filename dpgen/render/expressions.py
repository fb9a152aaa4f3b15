"""Printing expressions: IR atoms, expression trees, primitive calls and tests -> Python `ast`.

The one place that knows how a value is spelled. Expressions are built as `ast` nodes and printed
with `ast.unparse`, which puts parentheses exactly where precedence needs them; rule templates
get their holes bound and small constant patterns folded (``x ** (2 - 1)`` -> ``x``). The
printer also holds what every statement renderer shares: the backend, its helpers and
statement macros (`ExpressionPrinter.statement`), and the helpers the printed code uses.
The statements themselves live in `reverse` (forward sweep, pullback) and `forward` (tangents).
"""

from __future__ import annotations

import ast
import copy
import functools

from dpgen import rules
from dpgen.backends import Backend, helper_sources, statements
from dpgen.ir import (
    Apply,
    Atom,
    Call,
    Const,
    Expr,
    Global,
    Index,
    Lit,
    Seq,
    SliceAtom,
    Template,
    Test,
    Var,
)
from dpgen.ir.expr import close
from dpgen.rules.helpers import HELPER_PREFIX

# Python's operator syntax, by spelling; which primitive each spelling writes is a fact of
# that primitive's rule (`Rule.infix`, `Rule.prefix`).
_BINARY_SYNTAX = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "/": ast.Div,
    "**": ast.Pow,
    "@": ast.MatMult,
    "%": ast.Mod,
    "//": ast.FloorDiv,
}
_COMPARISON_SYNTAX = {
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
    "==": ast.Eq,
    "!=": ast.NotEq,
    "is": ast.Is,
    "is not": ast.IsNot,
}
_BOOLEAN_SYNTAX = {"and": ast.And, "or": ast.Or}
_PREFIX_SYNTAX = {"-": ast.USub, "not": ast.Not}

INFIX = {r.name: _BINARY_SYNTAX[r.infix] for r in rules.TABLE.values() if r.infix in _BINARY_SYNTAX}
COMPARE = {r.name: _COMPARISON_SYNTAX[r.infix] for r in rules.TABLE.values() if r.infix in _COMPARISON_SYNTAX}
BOOLEAN = {r.name: _BOOLEAN_SYNTAX[r.infix] for r in rules.TABLE.values() if r.infix in _BOOLEAN_SYNTAX}
PREFIX = {r.name: _PREFIX_SYNTAX[r.prefix] for r in rules.TABLE.values() if r.prefix is not None}
#: Marks a reference to a module-level name that a parameter hides (see `ExpressionPrinter.ref`).
ALIAS_MARK = "\x00"


class _Fold(ast.NodeTransformer):
    """Fold the constant patterns substituted templates produce: ``x ** 1``, ``2 - 1``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        left, right = node.left, node.right
        if _is_number(left) and _is_number(right) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = _number(left), _number(right)
            value = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
            return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))
        if isinstance(node.op, (ast.Pow, ast.Mult, ast.Div)) and _is_number(right, 1):
            return left
        if isinstance(node.op, ast.Mult) and _is_number(left, 1):
            return right
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.UnaryOp)
            and isinstance(node.operand.op, ast.USub)
        ):
            return node.operand.operand
        return node


def _number(node: ast.AST) -> int | float:
    """The value of a number literal, or of a negated one (``-1.5``)."""
    if isinstance(node, ast.UnaryOp):
        return -_number(node.operand)
    return node.value


def _is_number(node: ast.AST, value: object = None) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _is_number(node.operand):
        return value is None
    ok = isinstance(node, ast.Constant) and type(node.value) in (int, float)
    return ok and (value is None or node.value == value)


def _literal(value: object) -> ast.expr:
    """A literal as the parser read it: a negative number is a negation (``2 ** -1`` stays right)."""
    if type(value) in (int, float) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


@functools.lru_cache(maxsize=None)
def _parse(text: str) -> ast.expr:
    """A front-end constant's source text (``2.0``, ``np.pi``): atoms from the user's module
    still carry their text; rule expressions never reach here."""
    return ast.parse(text, mode="eval").body


class ExpressionPrinter:
    """The base of `dpgen.render.module.Renderer`: prints expressions for one module and
    remembers which helpers its code uses; the statement mixins build on it."""

    def __init__(self, backend: Backend, source_name: str = "the source"):
        self.backend = backend
        self.source_name = source_name  #: the differentiated file's name, for comments citing its lines
        self.helpers = helper_sources(backend, source_name)
        self.statements = statements(backend)  #: the statement macros (`statement`)
        self.used_helpers: set[str] = set()
        self.shadowed: frozenset[str] = frozenset()  #: the parameters of the function being rendered
        self.key, self.value = "key", "value"  #: names of the pullback's loops over dict adjoints

    def ref(self, name: str) -> str:
        """`name`, a module-level (or builtin) name the code being rendered refers to; marked
        when a parameter of the function hides it, so `render` spells it through an alias."""
        return ALIAS_MARK + name if name in self.shadowed else name

    # ------------------------------------------------------------- atoms
    def atom(self, atom: Atom | None) -> ast.expr:
        if atom is None:
            return ast.Constant(None)
        if isinstance(atom, Var):
            return ast.Name(atom.name)
        if isinstance(atom, Const):
            return self._modules(copy.deepcopy(_parse(atom.text)))
        if isinstance(atom, Seq):
            items = [self.atom(i) for i in atom.items]
            return ast.List(items) if atom.is_list else ast.Tuple(items)
        if isinstance(atom, Index):
            items = [self._index_item(i, in_subscript=True) for i in atom.items]
            return ast.Tuple(items) if atom.is_tuple else items[0]
        if isinstance(atom, (Apply, Lit, Global)):  # a tree the passes made, e.g. np.zeros_like(out)
            return self.expr(atom)
        raise TypeError(atom)

    def _index_item(self, item: Atom | SliceAtom, in_subscript: bool) -> ast.expr:
        if isinstance(item, SliceAtom):
            parts = [None if p is None else self.atom(p) for p in (item.start, item.stop, item.step)]
            if in_subscript:
                return ast.Slice(*parts)
            return ast.Call(
                ast.Name(self.ref("slice")), [p if p is not None else ast.Constant(None) for p in parts], []
            )
        return self.atom(item)

    def index_value(self, index: Index) -> ast.expr:
        """An index as a value (for ``np.add.at``): slices become ``slice(...)`` calls."""
        items = [self._index_item(i, in_subscript=False) for i in index.items]
        return ast.Tuple(items) if index.is_tuple else items[0]

    def _modules(self, node: ast.expr) -> ast.expr:
        """Spell the array module as the backend imports it: qualified names in the IR
        (``numpy.pi``, ``numpy.zeros_like(x)``) and ``np`` in rule text become its alias."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id == "np":
                n.id = self.backend.alias
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "numpy":
                n.value.id = self.backend.alias
        return node

    # -------------------------------------------------------- expressions
    def template(self, template: Template) -> ast.expr:
        """A rule's tree with its holes bound, folded (``x ** (2 - 1)`` -> ``x``)."""
        return _Fold().visit(self.expr(close(template)))

    def expr(self, node: Expr) -> ast.expr:
        """An expression tree (holes bound) as an `ast` node: infix where the primitive has an
        operator, ``np`` spelled as the backend imports it, helpers and builtins through `ref`."""
        if isinstance(node, Lit):
            return _literal(node.value)
        if isinstance(node, Global):
            return self._qualified(node.name)
        if isinstance(node, Seq):
            items = [self.expr(i) for i in node.items]
            return ast.List(items) if node.is_list else ast.Tuple(items)
        if isinstance(node, Index):
            items = [self._tree_index_item(i) for i in node.items]
            return ast.Tuple(items) if node.is_tuple else items[0]
        if not isinstance(node, Apply):
            return self.atom(node)
        op, args = node.op, node.args
        if not node.kwargs:
            if op in INFIX and len(args) == 2:
                return ast.BinOp(self.expr(args[0]), INFIX[op](), self.expr(args[1]))
            if op in COMPARE and len(args) == 2:
                return ast.Compare(self.expr(args[0]), [COMPARE[op]()], [self.expr(args[1])])
            if op == "numpy.negative" and len(args) == 1:
                return ast.UnaryOp(ast.USub(), self.expr(args[0]))
            if op == "dpgen.getitem":
                return ast.Subscript(self.expr(args[0]), self.expr(args[1]))
            if op == "dpgen.getattr":
                return ast.Attribute(self.expr(args[0]), args[1].value)
            if op == "dpgen.call":
                return ast.Call(self.expr(args[0]), [self.expr(a) for a in args[1:]], [])
        if op.startswith(HELPER_PREFIX):
            name = op[len(HELPER_PREFIX) :]
            self.use_helper(name)
            func: ast.expr = ast.Name(self.ref(name))
        elif op.startswith("builtins."):  # `len`, `sum` in a rule: a parameter may hide them
            func = ast.Name(self.ref(op[len("builtins.") :]))
        else:
            func = self._qualified(op)
        return ast.Call(func, [self.expr(a) for a in args], [ast.keyword(k, self.expr(v)) for k, v in node.kwargs])

    def _tree_index_item(self, item) -> ast.expr:
        if isinstance(item, SliceAtom):
            return ast.Slice(*[None if p is None else self.expr(p) for p in (item.start, item.stop, item.step)])
        return self.expr(item)

    def _qualified(self, name: str) -> ast.expr:
        """``numpy.linalg.inv`` -> ``np.linalg.inv`` (the backend's alias), ``math.e`` as is."""
        parts = name.split(".")
        if parts[0] == "builtins":  # `dtype=float`
            return ast.Name(".".join(parts[1:]))
        node: ast.expr = ast.Name(self.backend.alias if parts[0] == "numpy" else parts[0])
        for part in parts[1:]:
            node = ast.Attribute(node, part)
        return node

    def use_helper(self, name: str) -> None:
        if name not in self.used_helpers:
            self.used_helpers.add(name)
            for called in self.helpers[name][1]:
                self.use_helper(called)

    def call_expr(self, op: str, args: tuple[Atom, ...], kwargs: tuple[tuple[str, Atom], ...]) -> ast.expr:
        """The forward expression of one primitive, as the source would write it."""
        if op in INFIX and len(args) == 2 and not kwargs:
            return ast.BinOp(self.atom(args[0]), INFIX[op](), self.atom(args[1]))
        if op in COMPARE and len(args) == 2 and not kwargs:
            return ast.Compare(self.atom(args[0]), [COMPARE[op]()], [self.atom(args[1])])
        if op in PREFIX and len(args) == 1 and not kwargs:
            return ast.UnaryOp(PREFIX[op](), self.atom(args[0]))
        if op in BOOLEAN:
            return ast.BoolOp(BOOLEAN[op](), [self.atom(args[0]), self.atom(args[1])])
        if op == "dpgen.ifexp":
            return ast.IfExp(self.atom(args[0]), self.atom(args[1]), self.atom(args[2]))
        if op in ("dpgen.getitem", "dpgen.getkey"):
            return ast.Subscript(self.atom(args[0]), self.atom(args[1]))
        if op == "dpgen.assign":
            return self.atom(args[0])
        if op == "dpgen.append":  # a new list: earlier versions stay as they were
            return ast.List([ast.Starred(self.atom(args[0])), self.atom(args[1])])
        module, _, name = op.rpartition(".")
        if op.startswith(HELPER_PREFIX):  # dpgen's own helper, from a generated module read back
            self.use_helper(name)
            return ast.Call(
                ast.Name(self.ref(name)),
                [self.atom(a) for a in args],
                [ast.keyword(k, self.atom(v)) for k, v in kwargs],
            )
        if module == "builtins":
            func: ast.expr = ast.Name(name)
        else:
            parts = module.split(".")
            root = self.backend.alias if parts[0] == "numpy" else parts[0]
            func = ast.Name(root)
            for part in parts[1:] + [name]:
                func = ast.Attribute(func, part)
        return ast.Call(func, [self.atom(a) for a in args], [ast.keyword(k, self.atom(v)) for k, v in kwargs])

    def test(self, test: Test, jvp: bool = False) -> ast.expr:
        """A test's equations as one expression: ``np.abs(dx) > tol and k < 50``."""
        inline: dict[str, ast.expr] = {}

        class _Inline(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.expr:
                return copy.deepcopy(inline[node.id]) if node.id in inline else node

        for stmt in test.body:
            if isinstance(stmt, Call):  # a module function in a test: its value only
                value = ast.Subscript(self._jvp_call(stmt) if jvp else self._vjp_call(stmt), ast.Constant(0))
            else:
                value = self.call_expr(stmt.op, stmt.args, stmt.kwargs)
            inline[stmt.outs[0]] = _Inline().visit(value)
        return _Inline().visit(self.atom(test.result))

    def _jvp_call(self, call: Call) -> ast.expr:
        """A module function's value through its JVP, with zero (None) tangents."""
        zero = [ast.keyword(n, ast.Constant(None)) for n in self.tangent_names[call.callee]]
        return ast.Call(
            ast.Name(self.ref(f"{call.callee}_jvp")),
            [self.atom(a) for a in call.args],
            [ast.keyword(k, self.atom(v)) for k, v in call.kwargs] + zero,
        )

    def _vjp_call(self, call: Call) -> ast.expr:
        return ast.Call(
            ast.Name(self.ref(f"{call.callee}_vjp")),
            [self.atom(a) for a in call.args],
            [ast.keyword(k, self.atom(v)) for k, v in call.kwargs],
        )

    # ------------------------------------------------- statement shapes
    def statement(self, shape: str, **values: str | list[str]) -> list[str]:
        """One statement shape from the backend's ``statements.j2``, as lines: the backend
        spells the statement (in-place or functional), the renderer has printed its parts."""
        text = str(getattr(self.statements, shape)(**values))
        return [line for line in text.split("\n") if line.strip()]

    def index_text(self, index: Index) -> str:
        """An index as written between brackets (``1:, ::2``): slices stay slices."""
        return ast.unparse(ast.Subscript(ast.Name("_"), self.atom(index)))[2:-1]
