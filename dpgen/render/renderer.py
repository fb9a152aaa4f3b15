"""Rendering: reverse-mode IR -> Python source text, through the backend's Jinja2 templates.

Expressions are built as Python `ast` nodes and printed with `ast.unparse`, which puts
parentheses exactly where precedence needs them; rule templates are parsed once, their
names replaced by atoms, and small constant patterns folded (``x ** (2 - 1)`` -> ``x``).
Statement shapes (in-place or functional updates, loops, branches) come from the backend's
``statements.j2`` macros (`Renderer.statement`), fed the printed expressions; the shared
module template lays the lines out and `format` (black) does the final layout.
"""

from __future__ import annotations

import ast
import copy
import functools
import re

from dpgen import rules
from dpgen.backends import Backend, environment, helper_sources, statements, template_name
from dpgen.escape import comment_text, docstring_text
from dpgen.ir import (
    Apply,
    Expr,
    Global,
    Lit,
    KeyAddAdjoint,
    ZeroIndexAdjoint,
    AddInPlace,
    AdjointStmt,
    Call,
    ForRange,
    Test,
    VjpBranch,
    VjpLoop,
    Atom,
    Comment,
    Const,
    CopyAdjoint,
    Eqn,
    HvpFunction,
    HvpModule,
    Index,
    IndexAddAdjoint,
    JvpModule,
    Module,
    Seq,
    SetAdjoint,
    SliceAtom,
    Template,
    UnpackAdjoints,
    Var,
    VjpCall,
    VjpFunction,
    VjpModule,
    ZerosAdjoint,
)
from dpgen.ir.expr import close
from dpgen.ir.hvp import HvpFunction, HvpModule
from dpgen.names import NameAllocator
from dpgen.rules.helpers import HELPER_PREFIX
from dpgen.render.forward import JvpRendering

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
#: Marks a reference to a module-level name that a parameter hides (see `Renderer.ref`).
ALIAS_MARK = "\x00"
COMMENT_WIDTH = 88  # black's line length: a longer comment keeps only its location


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


class Renderer(JvpRendering):
    """Renders one module; remembers which helpers and modules its code uses."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.helpers = helper_sources(backend)
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

    # --------------------------------------------------------- statements
    def statement(self, shape: str, **values: str | list[str]) -> list[str]:
        """One statement shape from the backend's ``statements.j2``, as lines: the backend
        spells the statement (in-place or functional), the renderer has printed its parts."""
        text = str(getattr(self.statements, shape)(**values))
        return [line for line in text.split("\n") if line.strip()]

    def index_text(self, index: Index) -> str:
        """An index as written between brackets (``1:, ::2``): slices stay slices."""
        return ast.unparse(ast.Subscript(ast.Name("_"), self.atom(index)))[2:-1]

    def set_index(self, target: str, base: Atom, index: Index, value: Atom) -> list[str]:
        """``target = base`` with ``base[index] = value`` written in: the array itself is left
        as it was, since the pullback may still read it."""
        return self.statement(
            "set_index",
            target=target,
            base=ast.unparse(self.atom(base)),
            index=self.index_text(index),
            value=ast.unparse(self.atom(value)),
        )

    def forward(self, stmt) -> list[str]:
        if isinstance(stmt, VjpBranch):
            return self.forward_branch(stmt)
        if isinstance(stmt, VjpLoop):
            return self.forward_loop(stmt)
        if isinstance(stmt, Eqn) and stmt.op == "dpgen.setitem":
            return self.set_index(stmt.outs[0], *stmt.args)
        return [self.forward_line(stmt)]

    def forward_branch(self, stmt: VjpBranch) -> list[str]:
        branch = stmt.branch
        outs = ast.Tuple([ast.Name(o) for o in branch.outs])
        arms = []
        for arm in (branch.then, branch.orelse):
            call = ast.Call(ast.Name(self.ref(f"{arm}_vjp")), [self.atom(a) for a in branch.inputs], [])
            arms.append([ast.unparse(ast.Assign([ast.Tuple([outs, ast.Name(stmt.pullback)])], call, lineno=0))])
        return self.statement("branch", test=ast.unparse(self.test(branch.test)), then=arms[0], orelse=arms[1])

    def forward_loop(self, stmt: VjpLoop) -> list[str]:
        loop = stmt.loop
        lines = []
        for out, start in zip(loop.carried, loop.init):
            if start != Var(out):
                lines.append(f"{out} = {ast.unparse(self.atom(start))}")
        if stmt.pullbacks != "_":
            lines += self.statement("new_tape", tape=stmt.pullbacks)
        args = (
            [ast.Name(t) for t in loop.targets]
            + [ast.Name(c) for c in loop.carried]
            + [self.atom(a) for a in loop.invariants]
        )
        results = [ast.Name(c) for c in loop.carried] + ([ast.Name(stmt.flag)] if loop.breaks else [])
        call = ast.Call(ast.Name(self.ref(f"{loop.body}_vjp")), args, [])
        body = [ast.unparse(ast.Assign([ast.Tuple([ast.Tuple(results), ast.Name(stmt.pullback)])], call, lineno=0))]
        if stmt.pullbacks != "_":
            body += self.statement("record", tape=stmt.pullbacks, pullback=stmt.pullback)
        if loop.breaks:
            body += self.statement("break_if", flag=stmt.flag)
        over = loop.over
        if isinstance(over, Test):
            return lines + self.statement("while_loop", test=ast.unparse(self.test(over)), body=body)
        if isinstance(over, ForRange):
            iterable = f"{self.ref('range')}({', '.join(ast.unparse(self.atom(a)) for a in over.args)})"
        else:
            iterable = ", ".join(ast.unparse(self.atom(a)) for a in over.sequences)
            if over.enumerate:
                iterable = f"{self.ref('enumerate')}({iterable})"
            elif over.reverse:
                iterable = f"{self.ref('reversed')}({iterable})"
            elif len(over.sequences) > 1:
                iterable = f"{self.ref('zip')}({iterable})"
        return lines + self.statement("for_loop", targets=", ".join(loop.targets), iterable=iterable, body=body)

    def forward_line(self, stmt: Eqn | VjpCall) -> str:
        if isinstance(stmt, VjpCall):
            call = stmt.call
            outs = _targets(call.outs)
            value = ast.Call(
                ast.Name(self.ref(f"{call.callee}_vjp")),
                [self.atom(a) for a in call.args],
                [ast.keyword(k, self.atom(v)) for k, v in call.kwargs],
            )
            return ast.unparse(ast.Assign([ast.Tuple([outs, ast.Name(stmt.pullback)])], value, lineno=0))
        return ast.unparse(ast.Assign([_targets(stmt.outs)], self.call_expr(stmt.op, stmt.args, stmt.kwargs), lineno=0))

    def backward(self, stmt: AdjointStmt) -> list[str]:
        if isinstance(stmt, Comment):
            # "model.py:12: <source statement>": user text, so one escaped line (dpgen.escape)
            text = f"# {comment_text(stmt.text)}"
            if len(text) + 8 > COMMENT_WIDTH:
                text = "# " + comment_text(stmt.text.split(": ", 1)[0])
            return [text]
        if isinstance(stmt, SetAdjoint):
            value = self.template(stmt.value)
            if stmt.accumulate and stmt.is_dict:
                return self.statement("accumulate_entries", target=stmt.target, part=ast.unparse(value), key=self.key)
            if stmt.in_place:
                return self.statement(
                    "add_into", target=stmt.target, value=ast.unparse(value), sum=_sum(stmt.target, value)
                )
            if stmt.accumulate:
                value = ast.BinOp(ast.Name(stmt.target), ast.Add(), value)
            return [ast.unparse(ast.Assign([ast.Name(stmt.target)], value, lineno=0))]
        if isinstance(stmt, UnpackAdjoints):
            value = self.template(stmt.value)
            if len(stmt.targets) == 1:
                value = ast.Subscript(value, ast.Constant(0))
                return [ast.unparse(ast.Assign([ast.Name(stmt.targets[0])], value, lineno=0))]
            names = ast.Tuple([ast.Name(t if t is not None else "_") for t in stmt.targets])
            return [ast.unparse(ast.Assign([names], value, lineno=0))]
        if isinstance(stmt, ZerosAdjoint):
            # Integer inputs still get floating-point cotangents, so the buffer cannot use x's dtype.
            self.use_helper("_zeros_like")
            zeros_like = self.ref("_zeros_like")
            if stmt.is_dict:
                skip = ", ".join(stmt.assigned) + ("," if len(stmt.assigned) == 1 else "")
                return self.statement(
                    "zeros_entries",
                    target=stmt.target,
                    like=stmt.like.name,
                    zeros_like=zeros_like,
                    key=self.key,
                    value=self.value,
                    skip=f"({skip})" if stmt.assigned else "",
                )
            return self.statement("zeros", target=stmt.target, like=stmt.like.name, zeros_like=zeros_like)
        if isinstance(stmt, CopyAdjoint) and stmt.is_dict:
            return self.statement("copy_entries", target=stmt.target, key=self.key, value=self.value)
        if isinstance(stmt, CopyAdjoint):
            return self.statement("copy", target=stmt.target)
        if isinstance(stmt, KeyAddAdjoint):
            key = ast.unparse(self.atom(stmt.key))
            return self.statement("set_key" if stmt.first else "add_key", target=stmt.target, key=key, value=stmt.value)
        if isinstance(stmt, ZeroIndexAdjoint):
            index = self.index_text(stmt.index)
            return self.statement("zero_index", target=stmt.target, source=stmt.source, index=index)
        if isinstance(stmt, AddInPlace) and stmt.is_dict:
            return self.statement("add_entries", target=stmt.target, value=stmt.value, key=self.key)
        if isinstance(stmt, AddInPlace):
            return self.statement(
                "add_into", target=stmt.target, value=stmt.value, sum=_sum(stmt.target, ast.Name(stmt.value))
            )
        if isinstance(stmt, VjpLoop):  # the loop's reverse half: replay the tape of per-iteration pullbacks
            replay, tape = stmt.replay, stmt.pullbacks
            call = ast.Call(ast.Subscript(ast.Name(tape), ast.Name(replay.index)), [self.atom(replay.seed)], [])
            names = ast.Tuple([ast.Name(t if t is not None else "_") for t in replay.targets])
            body = [ast.unparse(ast.Assign([names], call, lineno=0))]
            for inner in replay.body:
                body += self.backward(inner)
            return self.statement(
                "reverse_walk",
                index=replay.index,
                tape=tape,
                reversed=self.ref("reversed"),
                range=self.ref("range"),
                len=self.ref("len"),
                body=body,
            )
        if isinstance(stmt, IndexAddAdjoint):
            index = self.index_text(stmt.index)
            if stmt.may_repeat:
                # An integer-array index may name an element twice; a scatter-add adds both times.
                return self.statement(
                    "scatter_add",
                    function=self.backend.qualified(self.backend.scatter_add or ""),
                    target=stmt.target,
                    index=index,
                    index_value=ast.unparse(self.index_value(stmt.index)),
                    value=stmt.value,
                )
            return self.statement("index_add", target=stmt.target, index=index, value=stmt.value)
        raise TypeError(stmt)

    # ----------------------------------------------------------- functions
    def function(self, fn: VjpFunction) -> dict:
        src = fn.source
        self.shadowed = frozenset(p.name for p in src.params)
        # The pullback's own loop and comprehension variables for dict adjoints; user
        # variables of these names were renamed (`names.reserved`), parameters keep theirs.
        locals_ = NameAllocator(self.shadowed)
        self.key, self.value = locals_.fresh("key"), locals_.fresh("value")
        params = ", ".join(p.name if p.default is None else f"{p.name}={p.default.text}" for p in src.params)
        backward = []
        if fn.seed_unpack is not None:
            backward.append(ast.unparse(ast.Assign([_unpack_target(fn.seed_unpack)], ast.Name(fn.seed), lineno=0)))
        for stmt in fn.backward:
            backward.extend(self.backward(stmt))
        cotangents = ast.unparse(ast.Tuple([ast.Name(c) if c else ast.Constant(None) for c in fn.cotangents]))
        return dict(
            kind="vjp",
            source_name=src.name,
            name=fn.name,
            params=params,
            call_args=", ".join(p.name for p in src.params),
            forward=self.check_real(fn.name, src) + [line for s in fn.forward for line in self.forward(s)],
            description=(
                f"{src.description[0].upper()}{src.description[1:]}, and its pullback"
                if src.internal
                else f"{src.name} and its pullback"
            ),
            pullback=fn.pullback_name,
            seed=fn.seed,
            backward=backward,
            cotangents=cotangents,
            result=ast.unparse(self.atom(src.result)),
            grad=self.grad(fn),
        )

    def check_real(self, name: str, src) -> list[str]:
        """``_check_real("f_vjp", x=x)`` at a public entry: a complex argument is an error,
        never a number (the rules assume real values). Internal functions need no check, nor
        parameters annotated `float`: declared real, and scalar code calls small functions
        so often that the check would cost as much as the function (the `ode` benchmark)."""
        params = [p.name for p in src.params if p.differentiable and not p.scalar]
        if src.internal or not params:
            return []
        self.use_helper("_check_real")
        return [f"{self.ref('_check_real')}({name!r}, {', '.join(f'{p}={p}' for p in params)})"]

    def hvp_function(self, fn: HvpFunction) -> dict:
        src = fn.source
        self.shadowed = frozenset(p.name for p in src.params)
        names = NameAllocator(p.name for p in src.params)
        directions = [names.fresh(f"v{p.name}") for p in src.params]
        params = [p.name if p.default is None else f"{p.name}={p.default.text}" for p in src.params]
        params += [f"{v}=None" if any(p.default for p in src.params) else v for v in directions]
        rows = [k for k, d in enumerate(fn.differentiable) if d]
        if len(rows) == 1:
            pick, what = f"[{rows[0]}]", f"with respect to {src.params[rows[0]].name}"
        else:
            pick, what = f"[:{len(src.params)}]", "one entry per parameter (None where not differentiable)"
        return dict(
            kind="hvp",
            name=fn.name,
            params=", ".join(params),
            call_args=", ".join([p.name for p in src.params] + directions),
            directions=", ".join(directions),
            source_name=src.name,
            vjp_name=self.ref(fn.vjp_name),
            error=self.ref("ValueError"),
            out=names.fresh("out"),
            dout=names.fresh("dout"),
            pullback=names.fresh("pullback"),
            pick=pick,
            what=what,
        )

    def grad(self, fn: VjpFunction) -> dict | None:
        if isinstance(fn.source.result, Seq) or fn.source.internal or fn.source.returns_tuple:
            return None  # a tuple is not a real scalar
        names = NameAllocator(p.name for p in fn.source.params)
        differentiable = [i for i, c in enumerate(fn.cotangents) if c is not None]
        if len(differentiable) == 1:
            pick, what = f"[{differentiable[0]}]", f" with respect to {fn.source.params[differentiable[0]].name}"
        else:
            pick, what = "", ", one entry per parameter (None where not differentiable)"
        return dict(
            name=fn.grad_name,
            vjp=self.ref(fn.name),
            error=self.ref("ValueError"),
            out=names.fresh("out"),
            pullback=names.fresh(fn.pullback_name),
            pick=pick,
            what=what,
        )


def _unpack_target(targets: tuple) -> ast.expr:
    """``(a_bar, (b_bar, _))`` for nested unpacking targets; None becomes ``_``."""
    return ast.Tuple([_unpack_target(t) if isinstance(t, tuple) else ast.Name(t or "_") for t in targets])


def _sum(target: str, value: ast.expr) -> str:
    """``target + value``, parenthesized as the operands need."""
    return ast.unparse(ast.BinOp(ast.Name(target), ast.Add(), value))


def _targets(outs: tuple[str, ...]) -> ast.expr:
    return ast.Name(outs[0]) if len(outs) == 1 else ast.Tuple([ast.Name(o) for o in outs])


def render(
    source: Module,
    vjp: VjpModule | None,
    jvp: JvpModule | None,
    backend: Backend,
    header: str,
    hessian: HvpModule | None = None,
) -> str:
    """The generated module's text, before black: each source function's vjp/grad, then its
    jvp; then the Hessian-vector products and the reverse-mode module of the JVPs they call."""
    renderer = Renderer(backend)
    renderer.tangent_names = {f.source.name: f.tangent_params for f in jvp.functions} if jvp else {}
    vjps = {f.source.name: renderer.function(f) for f in vjp.functions} if vjp else {}
    jvps = {f.source.name: renderer.jvp_function(f) for f in jvp.functions} if jvp else {}
    functions = [block[f.name] for f in source.functions for block in (vjps, jvps) if f.name in block]
    if hessian is not None:
        functions += [renderer.hvp_function(f) for f in hessian.functions]
        functions += [renderer.function(f) for f in hessian.inner.functions]
    body_text = "\n".join(
        line for f in functions for line in f.get("forward", []) + f.get("backward", []) + f.get("body", [])
    )
    imports = []
    if re.search(r"\bmath\.", body_text) or any(re.search(r"\bmath\.", line) for line in source.prelude):
        imports.append("import math")
    imports.append(
        f"import {backend.module} as {backend.alias}" if backend.module != backend.alias else f"import {backend.module}"
    )
    helpers = [text for name, (text, _) in renderer.helpers.items() if name in renderer.used_helpers]
    text = (
        environment(backend)
        .get_template(template_name(backend, "module.py.j2"))
        .render(
            header=header,
            source_name=source.source_name,
            reverse=vjp is not None,
            forward=jvp is not None,
            hvp=hessian is not None,
            imports=imports,
            prelude=source.prelude,
            functions=functions,
            helpers=helpers,
            np=backend.alias,
        )
    )
    return _resolve_aliases(text)


def _resolve_aliases(text: str) -> str:
    """Spell each marked reference (`Renderer.ref`) through a module-level alias.

    A parameter hides the module-level name it shares (``def f_grad(x, f_vjp)`` cannot call
    the function ``f_vjp``), and a parameter keeps the user's name: callers may pass it by
    keyword. The alias is free everywhere in the module, so nothing hides it."""
    marked = sorted(set(re.findall(ALIAS_MARK + r"(\w+)", text)))
    if not marked:
        return text
    names = NameAllocator(re.findall(r"\w+", text))
    aliases = {name: names.fresh(f"_{name}") for name in marked}
    text = re.sub(ALIAS_MARK + r"(\w+)", lambda m: aliases[m.group(1)], text)
    lines = [f"{alias} = {name}" for name, alias in aliases.items()]
    return (
        text.rstrip("\n")
        + "\n\n\n# Other names for the functions above where a parameter hides theirs.\n"
        + "\n".join(lines)
        + "\n"
    )
