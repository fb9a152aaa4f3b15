"""Expression trees: walkers (`holes`, `substitute`, `close`) and algebraic smart constructors.

The passes build derivative expressions from rule trees (`dpgen.ir.core.Apply`). The smart
constructors here simplify as they build, so generated code reads as a person would write
it: ``g * 1`` is ``g``, ``g * -e`` is ``-g * e``, ``g * (a / b)`` is ``g * a / b``. Each
rewrite is exact in real arithmetic; the reassociations are the ones the rule table always
spelled out by hand, so the generated text stays what it was. `close` binds a template's
holes, giving a self-contained tree (the renderer prints closed trees; a later pass can read
them as ordinary IR).
"""

from __future__ import annotations

from dpgen.ir.core import Apply, Expr, Hole, Index, Lit, Seq, SliceAtom
from dpgen.ir.reverse import Template

MULTIPLY, DIVIDE, NEGATIVE = "numpy.multiply", "numpy.divide", "numpy.negative"
CONJ, REAL = "numpy.conj", "numpy.real"
UNBROADCAST = "dpgen.helpers._unbroadcast"


def children(node: object) -> tuple:
    """The sub-expressions of a node (none for atoms, holes and literals)."""
    if isinstance(node, Apply):
        return node.args + tuple(v for _, v in node.kwargs)
    if isinstance(node, (Seq, Index)):
        return node.items
    if isinstance(node, SliceAtom):
        return tuple(p for p in (node.start, node.stop, node.step) if p is not None)
    return ()


def holes(node: object) -> frozenset[str]:
    """The names of the holes a tree reads."""
    if isinstance(node, Hole):
        return frozenset((node.name,))
    return frozenset(n for child in children(node) for n in holes(child))


def substitute(node: Expr, mapping: dict[str, Expr]) -> Expr:
    """The tree with holes named in `mapping` replaced (other holes stay)."""
    if isinstance(node, Hole):
        return mapping.get(node.name, node)
    if isinstance(node, Apply):
        return Apply(
            node.op,
            tuple(substitute(a, mapping) for a in node.args),
            tuple((k, substitute(v, mapping)) for k, v in node.kwargs),
        )
    if isinstance(node, Seq):
        return Seq(tuple(substitute(i, mapping) for i in node.items), node.is_list)
    if isinstance(node, Index):
        return Index(tuple(substitute(i, mapping) for i in node.items), node.is_tuple)
    if isinstance(node, SliceAtom):
        return SliceAtom(*(None if p is None else substitute(p, mapping) for p in (node.start, node.stop, node.step)))
    return node


def close(template: Template) -> Expr:
    """The template's tree with every hole replaced by its atom: a tree that needs no bindings.

    A list display bound as an operator's operand becomes ``numpy.asarray([...])`` (``[a, b] * 2``
    would repeat the list); a tuple written in the rule (``(len(xs),) + shape``) stays a tuple."""
    bindings = dict(template.bindings)

    def walk(node: Expr) -> Expr:
        if isinstance(node, Hole):
            return bindings[node.name]
        if isinstance(node, Apply):
            if node.op in OPERATORS and not node.kwargs:
                args = tuple(_as_array(bindings[a.name]) if _binds_list(a, bindings) else walk(a) for a in node.args)
            else:
                args = tuple(walk(a) for a in node.args)
            return Apply(node.op, args, tuple((k, walk(v)) for k, v in node.kwargs))
        if isinstance(node, Seq):
            return Seq(tuple(walk(i) for i in node.items), node.is_list)
        if isinstance(node, Index):
            return Index(tuple(walk(i) for i in node.items), node.is_tuple)
        if isinstance(node, SliceAtom):
            return SliceAtom(*(None if p is None else walk(p) for p in (node.start, node.stop, node.step)))
        return node

    return walk(template.expr)


#: Primitives printed as operators: their symbol and Python's precedence (for parentheses in
#: listings). The rules state the same spellings as facts (`infix`, `prefix`), which the
#: renderer reads; `tests/test_rule_table.py` checks the two agree. The IR may not import rules.
OPERATOR_SYMBOLS: dict[str, tuple[str, int]] = {
    "numpy.add": ("+", 10),
    "numpy.subtract": ("-", 10),
    "numpy.multiply": ("*", 11),
    "numpy.divide": ("/", 11),
    "numpy.matmul": ("@", 11),
    "numpy.remainder": ("%", 11),
    "numpy.floor_divide": ("//", 11),
    "numpy.power": ("**", 14),
    "numpy.negative": ("-", 12),  # unary
    "numpy.less": ("<", 5),
    "numpy.less_equal": ("<=", 5),
    "numpy.greater": (">", 5),
    "numpy.greater_equal": (">=", 5),
    "numpy.equal": ("==", 5),
    "numpy.not_equal": ("!=", 5),
}
#: Primitives printed as operators (`+`, `<`, unary `-`); a list display there would not broadcast.
OPERATORS = frozenset(OPERATOR_SYMBOLS)


def _binds_list(node: Expr, bindings: dict) -> bool:
    return isinstance(node, Hole) and isinstance(bindings.get(node.name), Seq)


def _as_array(seq: Seq) -> Apply:
    return Apply("numpy.asarray", (seq,))


def _is_number(node: object) -> bool:
    return isinstance(node, Lit) and type(node.value) in (int, float)


def _is_op(node: object, op: str, arity: int) -> bool:
    return isinstance(node, Apply) and node.op == op and len(node.args) == arity and not node.kwargs


def neg(x: Expr) -> Expr:
    """``-x``: folds ``--e`` to ``e`` and negates number literals."""
    if _is_number(x):
        return Lit(-x.value)
    if _is_op(x, NEGATIVE, 1):
        return x.args[0]
    return Apply(NEGATIVE, (x,))


def mul(a: Expr, b: Expr) -> Expr:
    """``a * b`` with `a` the cotangent or tangent and `b` a local derivative.

    ``a * 1`` -> ``a``; ``a * -e`` -> ``-a * e``; ``a * (p / q)`` -> ``a * p / q``;
    ``a * (p * q)`` -> ``a * p * q`` (left to right, as NumPy code is usually written).
    """
    if _is_number(b) and b.value == 1:
        return a
    if _is_number(b) and b.value < 0:
        return mul(neg(a), Lit(-b.value))
    if _is_op(b, NEGATIVE, 1):
        return mul(neg(a), b.args[0])
    if _is_op(b, DIVIDE, 2):
        return Apply(DIVIDE, (mul(a, b.args[0]), b.args[1]))
    if _is_op(b, MULTIPLY, 2):
        return mul(mul(a, b.args[0]), b.args[1])
    return Apply(MULTIPLY, (a, b))


def conj(x: Expr) -> Expr:
    """``np.conj(x)``: a real number literal is its own conjugate and a complex one is
    conjugated now (``1j`` -> ``-1j``); ``conj(-e)`` is ``-conj(e)``, so `mul` can still move
    the sign onto the cotangent, and ``conj(conj(e))`` is ``e``."""
    if _is_number(x):
        return x
    if isinstance(x, Lit) and type(x.value) is complex:
        return Lit(x.value.conjugate())
    if _is_op(x, NEGATIVE, 1):
        return neg(conj(x.args[0]))
    if _is_op(x, CONJ, 1):
        return x.args[0]
    return Apply(CONJ, (x,))


def real(x: Expr) -> Expr:
    """``np.real(x)``: the part of a cotangent a real variable keeps; a real literal is itself."""
    if _is_number(x):
        return x
    if _is_op(x, NEGATIVE, 1):
        return neg(real(x.args[0]))
    return Apply(REAL, (x,))


def unbroadcast(value: Expr, like: Expr) -> Expr:
    """``unbroadcast(value, like)``; a negation moves outside (``-unbroadcast(e, x)``), so it
    applies to the reduced array, which is smaller."""
    if _is_op(value, NEGATIVE, 1):
        return neg(unbroadcast(value.args[0], like))
    return Apply(UNBROADCAST, (value, like))


def strip_unbroadcast(node: Expr, param: str) -> Expr:
    """``unbroadcast(E, param)`` -> ``E`` everywhere, for an operand broadcasting cannot have grown."""
    if isinstance(node, Apply):
        node = Apply(
            node.op,
            tuple(strip_unbroadcast(a, param) for a in node.args),
            tuple((k, strip_unbroadcast(v, param)) for k, v in node.kwargs),
        )
        if node.op == UNBROADCAST and len(node.args) == 2 and node.args[1] == Hole(param):
            return node.args[0]
        return node
    if isinstance(node, (Seq, Index, SliceAtom)):
        return _strip_items(node, param)
    return node


def _strip_items(node, param: str):
    if isinstance(node, Seq):
        return Seq(tuple(strip_unbroadcast(i, param) for i in node.items), node.is_list)
    if isinstance(node, Index):
        return Index(tuple(strip_unbroadcast(i, param) for i in node.items), node.is_tuple)
    return SliceAtom(*(None if p is None else strip_unbroadcast(p, param) for p in (node.start, node.stop, node.step)))
