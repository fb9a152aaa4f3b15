"""Pure functions on IR atoms and statements the lowering builds: constant folding and tests,
renaming, and what an environment still refers to."""

from __future__ import annotations

import ast

import libcst as cst

from dpgen.ir import Apply, Atom, Const, Eqn, Global, Index, Seq, Stmt, Var
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.tables import SPECIAL


def fields_after_outs(stmt: Stmt) -> tuple:
    if isinstance(stmt, Eqn):
        return (stmt.op, stmt.args, stmt.kwargs, stmt.span)
    return (stmt.callee, stmt.args, stmt.kwargs, stmt.span)


def named_constant(qualified: str) -> Atom:
    """``np.pi`` -> ``Global("numpy.pi")``: the IR names the value, the renderer spells it."""
    return Const("None") if qualified == "numpy.newaxis" else Global(qualified)


def is_constant(atom: object) -> bool:
    """A literal, a named constant, or arithmetic on those (``2 * np.pi``)."""
    if isinstance(atom, (Const, Global)):
        return True
    return isinstance(atom, Apply) and all(is_constant(a) for a in atom.args) and not atom.kwargs


def fold(operator: cst.BaseBinaryOp, left: Const, right: Const) -> Const:
    """A constant expression stays constant: `2 * np.pi` needs no equation."""
    ops = {
        cst.Add: ast.Add,
        cst.Subtract: ast.Sub,
        cst.Multiply: ast.Mult,
        cst.Divide: ast.Div,
        cst.Power: ast.Pow,
        cst.Modulo: ast.Mod,
        cst.FloorDivide: ast.FloorDiv,
        cst.MatrixMultiply: ast.MatMult,
    }
    expr = ast.BinOp(
        ast.parse(left.text, mode="eval").body, ops[type(operator)](), ast.parse(right.text, mode="eval").body
    )
    return Const(ast.unparse(expr))


def const_seq(items, is_list: bool) -> Const:
    inner = ", ".join(i.text for i in items)
    if is_list:
        return Const(f"[{inner}]")
    return Const(f"({inner},)" if len(items) == 1 else f"({inner})")


def display_name(name: str) -> str:
    """A usable variable name for an environment key (``<return>`` -> ``out``)."""
    return SPECIAL.get(name, name)


def constant_position(index: Index, length: int) -> int | None:
    """``xs[2]`` or ``xs[-1]`` on a list of known length: the position, else None."""
    if index.is_tuple or len(index.items) != 1 or not isinstance(index.items[0], Const):
        return None
    try:
        value = ast.literal_eval(index.items[0].text)
    except ValueError:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and -length <= value < length:
        return value % length
    return None


def is_string(atom: object) -> bool:
    if not isinstance(atom, Const):
        return False
    try:
        return isinstance(ast.literal_eval(atom.text), str)
    except ValueError:
        return False


def with_renames(atom: Atom, renamed: dict[str, str]) -> Atom:
    """`atom` with each variable whose equation was renamed to its target spelled the new way."""
    if isinstance(atom, Var) and atom.name in renamed:
        return with_renames(Var(renamed[atom.name]), renamed)
    if isinstance(atom, Seq):
        return Seq(tuple(with_renames(item, renamed) for item in atom.items), atom.is_list)
    return atom


def referenced(var: Var, scope: Scope) -> bool:
    """Whether some name is bound to `var`, alone or as an item of a tuple or list display."""

    def holds(atom: object) -> bool:
        return atom == var or (isinstance(atom, Seq) and any(holds(item) for item in atom.items))

    return any(holds(value) for value in scope.env.values())


def vars_in_atom(atom: object) -> bool:
    """Whether a list display (or tuple) holds any variable."""
    if isinstance(atom, Var):
        return True
    if isinstance(atom, Seq):
        return any(vars_in_atom(item) for item in atom.items)
    return False
