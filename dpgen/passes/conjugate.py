"""Complex cotangents from the real rules: conjugating what a rule reads of complex primals.

The convention (DEVELOPERS.md, design of issue 11) is ``z_bar = w_bar * conj(f'(z))`` for a
holomorphic ``w = f(z)``. A holomorphic rule's real cotangent ``R(g, primals)`` has real
coefficients, so its complex cotangent is ``R(g, conj(primals))``: every hole bound to a
primal value that may be complex (a parameter, or ``ans``) reads its conjugate, never ``g``,
and never a hole read only for its shape (``unbroadcast(g, x)``'s ``x``, ``np.shape(a)``),
whose conjugate would be a wasted copy. An elementwise rule's local derivative ``d`` is
conjugated as a whole where it must be (``g * np.conj(np.cos(z))``), so the pass can still
read ``np.cos(z)`` from the forward sweep; a real factor stays outside the conjugate
(``g * 2 * np.conj(z)``). Real primals keep the real rule's tree unchanged.
"""

from __future__ import annotations

from typing import Callable

from dpgen.ir import Apply, Expr, Hole, Index, Lit, Seq, SliceAtom
from dpgen.analysis.residuals import SHAPE_ATTRIBUTES, shape_only_positions
from dpgen.ir.expr import DIVIDE, MULTIPLY, NEGATIVE, children, conj, holes, neg


def has_complex_literal(node: object) -> bool:
    """Whether a tree holds a complex number literal (``1j * g``)."""
    if isinstance(node, Lit):
        return type(node.value) is complex
    return any(has_complex_literal(child) for child in children(node))


def may_be_complex(node: Expr, complex_holes: frozenset[str]) -> bool:
    """Whether a tree may have a complex value: it reads a complex hole or a complex literal."""
    return bool(holes(node) & complex_holes) or has_complex_literal(node)


def conjugate_derivative(derivative: Expr, complex_holes: frozenset[str]) -> Expr:
    """``conj(d)`` for an elementwise rule's local derivative `d`, as few conjugates as the
    tree allows: one around each largest part that may be complex, real factors outside."""
    return _conjugate(derivative, lambda node: may_be_complex(node, complex_holes))


def _conjugate(node: Expr, needs: Callable[[Expr], bool]) -> Expr:
    if not needs(node):
        return node
    if isinstance(node, Apply) and not node.kwargs:
        if node.op == NEGATIVE and len(node.args) == 1:
            return neg(_conjugate(node.args[0], needs))
        if node.op in (MULTIPLY, DIVIDE) and len(node.args) == 2 and _is_negation(node.args[0]):
            # conj(-a / b) = -conj(a / b): the sign stays outside, where `mul` moves it to g.
            return neg(_conjugate(Apply(node.op, (node.args[0].args[0], node.args[1])), needs))
        if node.op in (MULTIPLY, DIVIDE) and len(node.args) == 2 and not all(needs(a) for a in node.args):
            # conj(a * b) = a * conj(b) for a real `a`: the conjugate covers only what needs it.
            return Apply(node.op, tuple(_conjugate(a, needs) for a in node.args))
    return conj(node)


def _is_negation(node: Expr) -> bool:
    return isinstance(node, Apply) and node.op == NEGATIVE and len(node.args) == 1 and not node.kwargs


def conjugate_holes(tree: Expr, complex_holes: frozenset[str], skip: frozenset[str] = frozenset()) -> Expr:
    """`tree` with every hole of `complex_holes` (but `skip`) read as its conjugate, except
    where the tree reads it only for its shape; complex literals are conjugated too.

    `skip` holds holes whose value the tree never depends on: a multilinear rule's cotangent
    for one operand reads that operand only for its shape (``matmul_vjp_lhs(g, x1, x2)``)."""
    targets = complex_holes - skip

    def walk(node: object, shape: bool) -> object:
        if isinstance(node, Hole):
            return conj(node) if node.name in targets and not shape else node
        if isinstance(node, Lit):
            return conj(node) if type(node.value) is complex else node
        if isinstance(node, Apply):
            if node.op == "dpgen.getattr" and isinstance(node.args[1], Lit) and node.args[1].value in SHAPE_ATTRIBUTES:
                return node
            positions = shape_only_positions(node.op)
            return Apply(
                node.op,
                tuple(walk(a, shape or k in positions) for k, a in enumerate(node.args)),
                tuple((key, walk(v, shape)) for key, v in node.kwargs),
            )
        if isinstance(node, Seq):
            return Seq(tuple(walk(i, shape) for i in node.items), node.is_list)
        if isinstance(node, Index):
            return Index(tuple(walk(i, shape) for i in node.items), node.is_tuple)
        if isinstance(node, SliceAtom):
            return SliceAtom(*(None if p is None else walk(p, shape) for p in (node.start, node.stop, node.step)))
        return node

    return walk(tree, False)
