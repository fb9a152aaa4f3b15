"""The one IR walker: what atoms and statements read, write and pass on, and how to rewrite them.

Every pass and analysis asks the same few questions of the IR: which variables an atom holds,
which a statement reads or binds, which function a call, branch or loop runs and what each of
its parameters is fed, and which of a loop body's parameters are targets, carried values or
invariants. The answers live here, for the core nodes (`ir.core`) and the nodes the reverse and
forward passes add (`ir.reverse`, `ir.forward`), so a new node type is taught to the walker once.

`reads` and `writes` dispatch on the node type through one table each (`dispatch`); a node type
missing from a table is an internal error, not a silent "reads nothing". A `VjpLoop` owns both
halves of a loop and sits in the forward sweep and in the pullback: `reads`/`writes` give its
forward half, `backward_reads`/`backward_writes` (for pullback statements) its replay.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, Mapping, TypeVar

from dpgen.ir.core import (
    Atom,
    Branch,
    Call,
    Apply,
    Eqn,
    ForEach,
    ForRange,
    Function,
    Index,
    Loop,
    Param,
    Seq,
    SliceAtom,
    Test,
    Var,
)
from dpgen.ir.forward import DefaultTangent, JvpBranch, JvpCall, JvpLoop, SetTangent, ZeroTangent
from dpgen.ir.reverse import (
    AddInPlace,
    Comment,
    CopyAdjoint,
    IndexAddAdjoint,
    KeyAddAdjoint,
    ReverseLoop,
    SetAdjoint,
    Template,
    UnpackAdjoints,
    VjpBranch,
    VjpCall,
    VjpLoop,
    ZeroIndexAdjoint,
    ZerosAdjoint,
)
from dpgen.ir.expr import holes

T = TypeVar("T")

# ----------------------------------------------------------------------------- dispatch


def dispatch(node: object, table: Mapping[type, Callable[..., T]], *args: object) -> T:
    """Call the handler `table` holds for the node's type (the first class of its MRO found)."""
    for cls in type(node).__mro__:
        handler = table.get(cls)
        if handler is not None:
            return handler(node, *args)
    raise TypeError(f"no handler for IR node {type(node).__name__}")


def core(stmt: object) -> Eqn | Call | Branch | Loop:
    """The source statement a reverse- or forward-mode node stands for (a core one: itself)."""
    if isinstance(stmt, (VjpCall, JvpCall)):
        return stmt.call
    if isinstance(stmt, (VjpBranch, JvpBranch)):
        return stmt.branch
    if isinstance(stmt, (VjpLoop, JvpLoop)):
        return stmt.loop
    return stmt


# -------------------------------------------------------------------------------- atoms


def variables(atom: object) -> list[str]:
    """Variable names inside an atom (a Seq, an Index or a tuple of atoms), in order, with repeats."""
    if isinstance(atom, Var):
        return [atom.name]
    if isinstance(atom, (Seq, Index)):
        return [n for item in atom.items for n in variables(item)]
    if isinstance(atom, SliceAtom):
        return [n for part in (atom.start, atom.stop, atom.step) for n in variables(part)]
    if isinstance(atom, tuple):
        return [n for item in atom for n in variables(item)]
    if isinstance(atom, Apply):  # an expression atom such as ``numpy.zeros_like(out)``
        return variables(atom.args) + [n for _, value in atom.kwargs for n in variables(value)]
    return []


def template_reads(template: Template) -> set[str]:
    """Variables a template reads: those bound to the holes its tree uses."""
    names = holes(template.expr)
    return {n for name, atom in template.bindings if name in names for n in variables(atom)}


# ------------------------------------------------------------- calls, arms, loop bodies


def bind_call(stmt: Call, callee: Function) -> dict[str, Atom]:
    """Callee parameter name -> the atom the call passes it (positional, then keyword)."""
    values = dict(zip((p.name for p in callee.params), stmt.args))
    values.update(stmt.kwargs)
    return values


@dataclass(frozen=True)
class BodyLayout:
    """Where things sit in a loop body's parameter list: the loop targets first, then the carried
    values, then the invariants. The body returns the carried values in the same order."""

    targets: slice
    carried: slice
    invariants: slice

    def role(self, k: int) -> str:
        """``"target"``, ``"carried"`` or ``"invariant"`` for the body's `k`-th parameter."""
        if k < self.targets.stop:
            return "target"
        if k < self.carried.stop:
            return "carried"
        return "invariant"


def body_layout(loop: Loop) -> BodyLayout:
    """The layout of `loop`'s body parameters (the one place that does this index arithmetic)."""
    n_targets, n_carried = len(loop.targets), len(loop.carried)
    start = n_targets + n_carried
    return BodyLayout(slice(0, n_targets), slice(n_targets, start), slice(start, start + len(loop.invariants)))


def loop_arguments(loop: Loop) -> list:
    """What each body parameter is fed from: the iterated sequence, the initial carried value, or the invariant."""
    n_targets = len(loop.targets)
    if isinstance(loop.over, ForEach):
        sequences = list(loop.over.sequences)
        feeds = ([None] if loop.over.enumerate else []) + sequences
    else:
        feeds = [None] * n_targets
    return feeds[:n_targets] + list(loop.init) + list(loop.invariants)


def callees(stmt: object) -> tuple[str, ...]:
    """The module functions a statement runs: the callee, both arms, or the loop body."""
    stmt = core(stmt)
    if isinstance(stmt, Call):
        return (stmt.callee,)
    if isinstance(stmt, Branch):
        return (stmt.then, stmt.orelse)
    if isinstance(stmt, Loop):
        return (stmt.body,)
    return ()


def arguments(stmt: object, callee: Function) -> list[tuple[Param, Atom | None]]:
    """Each parameter of `callee` (one of `callees(stmt)`) with the atom `stmt` feeds it.

    A call's parameter it does not pass gets None (its default); a loop target gets the
    iterated sequence, or None for a position or a range counter (see `loop_arguments`).
    """
    stmt = core(stmt)
    if isinstance(stmt, Call):
        bound = bind_call(stmt, callee)
        return [(p, bound.get(p.name)) for p in callee.params]
    if isinstance(stmt, Branch):
        return list(zip(callee.params, stmt.inputs))
    if isinstance(stmt, Loop):
        return list(zip(callee.params, loop_arguments(stmt)))
    return []


# -------------------------------------------------------------------------------- reads


def _call_reads(stmt: Eqn | Call) -> set[str]:
    # A Call inside an if/while test is read inline, like an equation.
    return set(variables(stmt.args)) | {n for _, a in stmt.kwargs for n in variables(a)}


def _test_reads(test: Test) -> set[str]:
    # The names the test's own equations bind are included: they are bound nowhere else, so
    # counting them as read changes no liveness decision (and kept the answers as they were).
    return {n for eqn in test.body for n in reads(eqn)} | set(variables(test.result))


def _branch_reads(branch: Branch) -> set[str]:
    return set(variables(branch.inputs)) | _test_reads(branch.test)


def _loop_reads(loop: Loop) -> set[str]:
    over = loop.over
    if isinstance(over, Test):
        over_reads = _test_reads(over)
    elif isinstance(over, ForRange):
        over_reads = set(variables(over.args))
    else:
        over_reads = set(variables(over.sequences))
    return over_reads | set(variables(loop.init)) | set(variables(loop.invariants))


def _set_tangent_reads(stmt: SetTangent) -> set[str]:
    used = set(variables(stmt.like)) if stmt.like else set()
    for term in stmt.terms:
        if isinstance(term, Template):
            used |= template_reads(term)
        else:
            used |= set(variables(term.args)) | set(variables(tuple(v for _, v in term.kwargs)))
    return used


def _set_adjoint_reads(stmt: SetAdjoint | UnpackAdjoints) -> set[str]:
    used = template_reads(stmt.value)
    if isinstance(stmt, SetAdjoint) and stmt.accumulate:
        used.add(stmt.target)
    return used


_READS: dict[type, Callable[..., set[str]]] = {
    # core statements (and the forward sweep's wrappers of them)
    Eqn: _call_reads,
    Call: _call_reads,
    Branch: _branch_reads,
    Loop: _loop_reads,
    VjpCall: lambda s: _call_reads(s.call),
    VjpBranch: lambda s: _branch_reads(s.branch),
    VjpLoop: lambda s: _loop_reads(s.loop),
    # forward mode
    JvpCall: lambda s: _call_reads(s.call) | set(variables(s.tangents)),
    JvpBranch: lambda s: _branch_reads(s.branch) | set(variables(s.tangents)),
    JvpLoop: lambda s: (
        _loop_reads(s.loop)
        | {n for row in s.rows if row is not None for n in variables(row[1])}
        | set(variables(s.dinit))
        | set(variables(s.tangents))
    ),
    SetTangent: _set_tangent_reads,
    ZeroTangent: lambda s: set(variables(s.like)),
    DefaultTangent: lambda s: {s.target, s.like.name},  # it tests whether the tangent is None
    # reverse mode: the pullback's statements
    SetAdjoint: _set_adjoint_reads,
    UnpackAdjoints: _set_adjoint_reads,
    ReverseLoop: lambda s: {*variables(s.seed), *(n for b in s.body for n in backward_reads(b))},
    AddInPlace: lambda s: {s.target, s.value},
    ZeroIndexAdjoint: lambda s: {s.source, *variables(s.index)},
    KeyAddAdjoint: lambda s: {s.target, s.value},
    ZerosAdjoint: lambda s: {s.like.name},
    CopyAdjoint: lambda s: {s.target},
    IndexAddAdjoint: lambda s: {s.target, s.value, *variables(s.index)},
    Comment: lambda s: set(),
}


def reads(stmt: object) -> set[str]:
    """Variables a statement reads (core, forward-sweep, adjoint or tangent statement)."""
    return dispatch(stmt, _READS)


# ------------------------------------------------------------------------------- writes


def _named(*names: str | None) -> set[str]:
    """The names given, without the placeholders for "none" (None, "" and "_")."""
    return {n for n in names if n and n != "_"}


_WRITES: dict[type, Callable[..., set[str]]] = {
    Eqn: lambda s: set(s.outs),
    Call: lambda s: set(s.outs),
    Branch: lambda s: set(s.outs),
    Loop: lambda s: set(s.outs),
    VjpCall: lambda s: set(s.call.outs) | _named(s.pullback),
    VjpBranch: lambda s: set(s.branch.outs) | _named(s.pullback),
    VjpLoop: lambda s: set(s.loop.outs) | _named(s.pullbacks, s.pullback, s.flag),
    JvpCall: lambda s: set(s.call.outs) | _named(*s.douts),
    JvpBranch: lambda s: set(s.branch.outs) | _named(*s.douts),
    JvpLoop: lambda s: set(s.loop.outs) | _named(*s.dcarried, *(row[0] for row in s.rows if row is not None), s.flag),
    SetTangent: lambda s: {s.target},
    ZeroTangent: lambda s: {s.target},
    DefaultTangent: lambda s: {s.target},
    SetAdjoint: lambda s: {s.target},
    ZerosAdjoint: lambda s: {s.target},
    CopyAdjoint: lambda s: {s.target},
    IndexAddAdjoint: lambda s: {s.target},
    AddInPlace: lambda s: {s.target},
    ZeroIndexAdjoint: lambda s: {s.target},
    KeyAddAdjoint: lambda s: {s.target},
    UnpackAdjoints: lambda s: {t for t in s.targets if t},
    ReverseLoop: lambda s: {s.index} | {t for t in s.targets if t} | {n for b in s.body for n in backward_writes(b)},
    Comment: lambda s: set(),
}


@functools.lru_cache(maxsize=None)
def writes(stmt: object) -> frozenset[str]:
    """Variables a statement binds or updates (pullbacks, flags and tangents included).

    Cached: simplify asks it of every adjoint statement several times."""
    return frozenset(dispatch(stmt, _WRITES))


def backward_reads(stmt: object) -> set[str]:
    """Variables a pullback statement reads: there a `VjpLoop` stands for its replay, which
    reads the tape of per-iteration pullbacks besides what the replay's statements read."""
    if isinstance(stmt, VjpLoop):
        return {stmt.pullbacks} | reads(stmt.replay)
    return reads(stmt)


def backward_writes(stmt: object) -> frozenset[str]:
    """Variables a pullback statement binds or updates (a `VjpLoop`: its replay's)."""
    if isinstance(stmt, VjpLoop):
        return writes(stmt.replay)
    return writes(stmt)


def outs(stmt: object) -> tuple[str, ...]:
    """The source values a statement binds: a core statement's outputs, or those of the one a
    reverse- or forward-mode node stands for (without pullbacks or tangents)."""
    return core(stmt).outs


# ----------------------------------------------------------------------------- rewriting


def substitute(node, old: str, new: str):
    """`node` with every ``Var(old)`` replaced by ``Var(new)``, through nested IR values."""
    if node == Var(old):
        return Var(new)
    if isinstance(node, tuple):
        return tuple(substitute(item, old, new) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(
            node, **{f.name: substitute(getattr(node, f.name), old, new) for f in dataclasses.fields(node)}
        )
    return node


def rename(stmt, old: str, new: str):
    """An adjoint statement with variable `old` renamed `new`, where it is read and where it is
    written (adjoint targets are names, not atoms); other statements come back unchanged."""

    def swap(atom):
        if isinstance(atom, Seq):  # e.g. the tuple of cotangents handed to a pullback
            return Seq(tuple(swap(item) for item in atom.items), atom.is_list)
        return Var(new) if atom == Var(old) else atom

    if isinstance(stmt, (SetAdjoint, UnpackAdjoints)):
        value = Template(stmt.value.expr, tuple((k, swap(v)) for k, v in stmt.value.bindings))
        if isinstance(stmt, SetAdjoint):
            return dataclasses.replace(stmt, target=new if stmt.target == old else stmt.target, value=value)
        return UnpackAdjoints(tuple(new if t == old else t for t in stmt.targets), value)
    if isinstance(stmt, (ZerosAdjoint, CopyAdjoint)):
        return dataclasses.replace(stmt, target=new if stmt.target == old else stmt.target)
    if isinstance(stmt, ZeroIndexAdjoint):
        return dataclasses.replace(
            stmt, target=new if stmt.target == old else stmt.target, source=new if stmt.source == old else stmt.source
        )
    if isinstance(stmt, (IndexAddAdjoint, AddInPlace, KeyAddAdjoint)):
        return dataclasses.replace(
            stmt, target=new if stmt.target == old else stmt.target, value=new if stmt.value == old else stmt.value
        )
    if isinstance(stmt, ReverseLoop):
        return dataclasses.replace(
            stmt,
            targets=tuple(new if t == old else t for t in stmt.targets),
            seed=Seq(tuple(swap(v) for v in stmt.seed.items)),
            body=tuple(rename(s, old, new) for s in stmt.body),
        )
    if isinstance(stmt, VjpLoop):  # in the pullback: its replay; `residuals.attach` rejoins the halves
        return dataclasses.replace(stmt, replay=rename(stmt.replay, old, new))
    return stmt


def rename_all(stmt, renames: dict[str, str]):
    """Apply several renames at once (through placeholders, so ``a->b, b->c`` never merges a and b)."""
    if not renames:
        return stmt
    placeholders = {old: f"<rename {k}>" for k, old in enumerate(renames)}
    for old, placeholder in placeholders.items():
        stmt = rename(stmt, old, placeholder)
    for old, placeholder in placeholders.items():
        stmt = rename(stmt, placeholder, renames[old])
    return stmt
