"""Which values are provably scalars, found without running anything.

A binary rule must reduce its cotangent to each operand's shape (`unbroadcast`) only
when broadcasting may have happened; when every operand is a scalar it cannot, and the
pullback skips the call. Scalars come from literals, ``float``/``int`` annotations,
``math`` functions, full reductions (``np.sum(x)``) and arithmetic on scalars.
"""

from __future__ import annotations

import ast

from dpgen.ir import Const, Eqn, Function, Var

# Primitives whose result is a scalar whatever their arguments.
_SCALAR_RESULTS = ("math.", "builtins.float", "builtins.int", "builtins.len", "numpy.ndim", "numpy.size")
# Reductions: a scalar when they reduce every axis (axis=None, keepdims=False).
_REDUCTIONS = {"numpy.sum", "numpy.mean", "numpy.prod", "numpy.max", "numpy.min", "numpy.var", "numpy.std", "numpy.linalg.norm"}
# Elementwise primitives: a scalar when every argument is.
_ELEMENTWISE_PREFIXES = ("numpy.", "builtins.abs", "builtins.min", "builtins.max", "builtins.pow")
_NOT_ELEMENTWISE = {"numpy.matmul", "numpy.dot", "numpy.outer", "numpy.reshape", "numpy.broadcast_to", "numpy.expand_dims", "numpy.zeros", "numpy.ones", "numpy.full", "numpy.stack", "numpy.concatenate", "numpy.einsum", "numpy.tensordot", "numpy.inner", "numpy.arange", "numpy.linspace", "numpy.eye", "numpy.shape", "numpy.zeros_like", "numpy.ones_like", "numpy.empty", "numpy.empty_like", "numpy.full_like", "numpy.identity", "numpy.linalg.inv", "numpy.linalg.solve", "numpy.linalg.det", "numpy.trace", "numpy.where"}


def is_scalar_constant(atom: object) -> bool:
    """A literal number, ``None`` or a named constant such as ``np.pi``."""
    if not isinstance(atom, Const):
        return False
    try:
        node = ast.parse(atom.text, mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    if isinstance(node, ast.BinOp):  # folded constant arithmetic, e.g. 2 * np.pi
        return is_scalar_constant(Const(ast.unparse(node.left))) and is_scalar_constant(Const(ast.unparse(node.right)))
    return (isinstance(node, ast.Constant) and not isinstance(node.value, str)) or isinstance(node, ast.Attribute)


def scalar_variables(function: Function, scalar_params: frozenset[str]) -> frozenset[str]:
    """Names of the function's variables that always hold a scalar."""
    scalars = set(scalar_params)

    def scalar(atom: object) -> bool:
        return (isinstance(atom, Var) and atom.name in scalars) or is_scalar_constant(atom)

    for stmt in function.body:
        if not isinstance(stmt, Eqn) or len(stmt.outs) != 1:
            continue
        op = stmt.op
        kwargs = dict(stmt.kwargs)
        if op.startswith(_SCALAR_RESULTS):
            scalars.add(stmt.outs[0])
        elif op in _REDUCTIONS:
            axis = kwargs.get("axis", stmt.args[1] if len(stmt.args) > 1 and op != "numpy.linalg.norm" else Const("None"))
            keepdims = kwargs.get("keepdims", Const("False"))
            if axis == Const("None") and keepdims == Const("False") and (op != "numpy.linalg.norm" or len(stmt.args) < 3):
                scalars.add(stmt.outs[0])
        elif op.startswith(_ELEMENTWISE_PREFIXES) and op not in _NOT_ELEMENTWISE:
            if stmt.args and all(scalar(a) for a in stmt.args) and all(scalar(v) or k in ("dtype",) for k, v in stmt.kwargs):
                scalars.add(stmt.outs[0])
    return frozenset(scalars)
