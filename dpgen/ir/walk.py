"""Which variables an IR statement reads and which it binds: `reads(stmt)` and `writes(stmt)`.

Covers the core statements, the reverse pass's forward-sweep nodes and its adjoint statements.
A `VjpLoop` stands for its forward half here (what the iterations read and bind); its reverse
half is the `ReverseLoop` in `VjpLoop.replay`, which reads the tape `VjpLoop.pullbacks` besides
what `reads(replay)` gives.

Rule expressions are still Python text (`Template.text`, and `Const` text such as
``np.zeros_like(out)``), so their names are found by parsing that text; once rules are IR
trees, this becomes a plain walk.
"""

from __future__ import annotations

import ast
import functools

from dpgen.ir.core import Branch, Call, Const, Eqn, ForEach, ForRange, Index, Loop, Seq, SliceAtom, Test, Var
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


@functools.lru_cache(maxsize=None)
def _text_names(text: str) -> frozenset[str]:
    """The plain names a Python expression mentions (``np.zeros_like(out)`` -> np, out)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:  # not an expression (never produced today): it reads nothing we can name
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def atom_reads(atom: object) -> set[str]:
    """Variables an atom (or a tuple of atoms) reads, constants' text included."""
    if isinstance(atom, Var):
        return {atom.name}
    if isinstance(atom, Const):
        return set(_text_names(atom.text))
    if isinstance(atom, (Seq, Index)):
        return {n for item in atom.items for n in atom_reads(item)}
    if isinstance(atom, SliceAtom):
        return {n for part in (atom.start, atom.stop, atom.step) for n in atom_reads(part)}
    if isinstance(atom, tuple):
        return {n for item in atom for n in atom_reads(item)}
    return set()


def template_reads(template: Template) -> set[str]:
    """Variables a rule expression reads: the atoms bound to the names its text uses."""
    used = _text_names(template.text)
    return {n for name, atom in template.bindings if name in used for n in atom_reads(atom)}


def _test_reads(test: Test) -> set[str]:
    inner = {n for e in test.body for n in reads(e)}
    return (inner | atom_reads(test.result)) - {o for e in test.body for o in e.outs}


def reads(stmt: object) -> set[str]:
    """Variables `stmt` reads (for a `VjpLoop`: its forward half)."""
    if isinstance(stmt, (Eqn, Call)):
        return atom_reads(stmt.args) | {n for _, a in stmt.kwargs for n in atom_reads(a)}
    if isinstance(stmt, VjpCall):
        return reads(stmt.call)
    if isinstance(stmt, VjpBranch):
        return reads(stmt.branch)
    if isinstance(stmt, Branch):
        return atom_reads(stmt.inputs) | _test_reads(stmt.test)
    if isinstance(stmt, VjpLoop):
        return reads(stmt.loop)
    if isinstance(stmt, Loop):
        found = atom_reads(stmt.init) | atom_reads(stmt.invariants)
        if isinstance(stmt.over, Test):
            found |= _test_reads(stmt.over)
        elif isinstance(stmt.over, ForRange):
            found |= atom_reads(stmt.over.args)
        elif isinstance(stmt.over, ForEach):
            found |= atom_reads(stmt.over.sequences)
        return found
    # adjoint statements
    if isinstance(stmt, (SetAdjoint, UnpackAdjoints)):
        found = template_reads(stmt.value)
        if isinstance(stmt, SetAdjoint) and stmt.accumulate:
            found.add(stmt.target)
        return found
    if isinstance(stmt, ZerosAdjoint):
        return {stmt.like.name}
    if isinstance(stmt, CopyAdjoint):
        return {stmt.target}
    if isinstance(stmt, (AddInPlace, KeyAddAdjoint)):
        return {stmt.target, stmt.value}
    if isinstance(stmt, IndexAddAdjoint):
        return {stmt.target, stmt.value} | atom_reads(stmt.index)
    if isinstance(stmt, ZeroIndexAdjoint):
        return {stmt.source} | atom_reads(stmt.index)
    if isinstance(stmt, ReverseLoop):
        # Names the body binds in one step are read by the next: only reads from outside count.
        inner = {n for s in stmt.body for n in reads(s)} - {stmt.index} - {t for t in stmt.targets if t}
        return atom_reads(stmt.seed) | inner
    if isinstance(stmt, Comment):
        return set()
    raise TypeError(f"no reads for {type(stmt).__name__}")


def writes(stmt: object) -> set[str]:
    """Variables `stmt` binds or updates (for a `VjpLoop`: its forward half)."""
    if isinstance(stmt, (Eqn, Call, Branch)):
        return set(stmt.outs)
    if isinstance(stmt, Loop):
        return set(stmt.carried)
    if isinstance(stmt, VjpCall):
        return set(stmt.call.outs) | {stmt.pullback} - {"_"}
    if isinstance(stmt, VjpBranch):
        return set(stmt.branch.outs) | {stmt.pullback} - {"_"}
    if isinstance(stmt, VjpLoop):
        return set(stmt.loop.carried) | set(stmt.loop.targets) | {stmt.pullbacks, stmt.pullback, stmt.flag} - {"_", ""}
    if isinstance(
        stmt, (SetAdjoint, ZerosAdjoint, CopyAdjoint, IndexAddAdjoint, AddInPlace, ZeroIndexAdjoint, KeyAddAdjoint)
    ):
        return {stmt.target}
    if isinstance(stmt, UnpackAdjoints):
        return {t for t in stmt.targets if t}
    if isinstance(stmt, ReverseLoop):
        return {stmt.index} | {t for t in stmt.targets if t} | {n for s in stmt.body for n in writes(s)}
    if isinstance(stmt, Comment):
        return set()
    raise TypeError(f"no writes for {type(stmt).__name__}")
