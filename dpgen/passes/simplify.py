"""Simplification after the AD pass: drop what the output does not need, rename copies away.

- Forward dead code: equations whose results neither the output nor the pullback reads.
- Copy propagation: ``a_bar = b_bar`` (an identity rule such as ``np.copy``) renames
  ``a_bar`` to ``b_bar`` when ``b_bar`` is not read again, so no alias line is printed.
"""

from __future__ import annotations

import dataclasses
import functools

from dpgen.ir import (
    Comment,
    KeyAddAdjoint,
    ZeroIndexAdjoint,
    AddInPlace,
    AdjointStmt,
    ForEach,
    Hole,
    ForRange,
    ReverseLoop,
    Seq,
    VjpBranch,
    VjpLoop,
    Test,
    CopyAdjoint,
    IndexAddAdjoint,
    SetAdjoint,
    Template,
    UnpackAdjoints,
    Var,
    VjpCall,
    VjpFunction,
    VjpModule,
    ZerosAdjoint,
)
from dpgen.ir.expr import holes
from dpgen.passes.reverse import _vars_in


def _reads(stmt: AdjointStmt) -> set[str]:
    """Variables an adjoint statement reads."""
    if isinstance(stmt, ReverseLoop):
        return {stmt.pullbacks, *_vars_in(stmt.seed), *(n for s in stmt.body for n in _reads(s))}
    if isinstance(stmt, AddInPlace):
        return {stmt.target, stmt.value}
    if isinstance(stmt, ZeroIndexAdjoint):
        return {stmt.source, *_vars_in(stmt.index)}
    if isinstance(stmt, KeyAddAdjoint):
        return {stmt.target, stmt.value}
    if isinstance(stmt, (SetAdjoint, UnpackAdjoints)):
        used = {n for name, atom in stmt.value.bindings if name in holes(stmt.value.expr) for n in _vars_in(atom)}
        if isinstance(stmt, SetAdjoint) and stmt.accumulate:
            used.add(stmt.target)
        return used
    if isinstance(stmt, ZerosAdjoint):
        return {stmt.like.name}
    if isinstance(stmt, CopyAdjoint):
        return {stmt.target}
    if isinstance(stmt, IndexAddAdjoint):
        return {stmt.target, stmt.value, *_vars_in(stmt.index)}
    return set()


@functools.lru_cache(maxsize=None)
def _writes(stmt: AdjointStmt) -> set[str]:
    """Variables an adjoint statement binds or updates."""
    if isinstance(
        stmt, (SetAdjoint, ZerosAdjoint, CopyAdjoint, IndexAddAdjoint, AddInPlace, ZeroIndexAdjoint, KeyAddAdjoint)
    ):
        return {stmt.target}
    if isinstance(stmt, UnpackAdjoints):
        return {t for t in stmt.targets if t}
    if isinstance(stmt, ReverseLoop):
        return {t for t in stmt.targets if t} | {n for s in stmt.body for n in _writes(s)}
    return set()


def _rename(stmt: AdjointStmt, old: str, new: str) -> AdjointStmt:
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
            body=tuple(_rename(s, old, new) for s in stmt.body),
        )
    return stmt


def _propagate_copies(fn: VjpFunction) -> VjpFunction:
    """Drop ``t_bar = s_bar`` when nothing after it uses ``s_bar``: later statements say ``s_bar``.

    One pass in linear time (a 10,000-statement function has thousands of such copies):
    `uses` counts, per current name, the later statements that read or write it, and the
    renames are applied to each statement when the pass reaches it, through `current`
    (original name -> name after the renames so far).
    """
    stmts = fn.backward
    names = [_reads(s) | _writes(s) for s in stmts]
    uses: dict[str, int] = {}
    for found in names:
        for n in found:
            uses[n] = uses.get(n, 0) + 1
    current: dict[str, str] = {}
    holders: dict[str, set[str]] = {}  # current name -> the original names renamed to it
    cotangents = list(fn.cotangents)
    kept = []
    for stmt, found in zip(stmts, names):
        for n in found:
            uses[current.get(n, n)] -= 1  # now: uses by statements after this one
        stmt = _rename_all(stmt, {n: current[n] for n in found if current.get(n, n) != n})
        if isinstance(stmt, SetAdjoint) and not stmt.accumulate and stmt.value.expr == Hole("g"):
            source = dict(stmt.value.bindings)["g"]
            if isinstance(source, Var) and not uses.get(source.name) and source.name not in cotangents:
                target = stmt.target
                moved = holders.pop(target, set()) | ({target} if target not in current else set())
                for original in moved:
                    current[original] = source.name
                holders.setdefault(source.name, set()).update(moved)
                uses[source.name] = uses.pop(target, 0)
                cotangents = [source.name if c == target else c for c in cotangents]
                continue
        kept.append(stmt)
    return dataclasses.replace(fn, backward=tuple(kept), cotangents=tuple(cotangents))


def _rename_all(stmt: AdjointStmt, renames: dict[str, str]) -> AdjointStmt:
    """Apply several renames at once (through placeholders, so ``a->b, b->c`` never merges a and b)."""
    if not renames:
        return stmt
    placeholders = {old: f"<rename {k}>" for k, old in enumerate(renames)}
    for old, placeholder in placeholders.items():
        stmt = _rename(stmt, old, placeholder)
    for old, placeholder in placeholders.items():
        stmt = _rename(stmt, placeholder, renames[old])
    return stmt


def _forward_reads(stmt) -> set[str]:
    """Variables a forward-sweep statement reads."""
    if isinstance(stmt, VjpBranch):
        branch = stmt.branch
        return (
            set(_vars_in(branch.inputs))
            | set(_vars_in(branch.test.result))
            | {n for e in branch.test.body for n in _forward_reads(e)}
        )
    if isinstance(stmt, VjpLoop):
        loop = stmt.loop
        reads = set(_vars_in(loop.init)) | set(_vars_in(loop.invariants))
        if isinstance(loop.over, Test):
            reads |= set(_vars_in(loop.over.result)) | {n for e in loop.over.body for n in _forward_reads(e)}
        elif isinstance(loop.over, ForRange):
            reads |= set(_vars_in(loop.over.args))
        else:
            reads |= set(_vars_in(loop.over.sequences))
        return reads
    eqn = stmt.call if isinstance(stmt, VjpCall) else stmt
    return set(_vars_in(eqn.args)) | {n for _, a in eqn.kwargs for n in _vars_in(a)}


def _outs(stmt) -> tuple[str, ...]:
    if isinstance(stmt, VjpCall):
        return stmt.call.outs
    if isinstance(stmt, VjpBranch):
        return stmt.branch.outs
    if isinstance(stmt, VjpLoop):
        return stmt.loop.carried
    return stmt.outs


def _drop_dead_forward(fn: VjpFunction) -> VjpFunction:
    live = set(_vars_in(fn.source.result))
    for stmt in fn.backward:
        live |= _reads(stmt)
    kept = []
    for stmt in reversed(fn.forward):
        keeps_pullback = getattr(stmt, "pullback", "_") != "_" or getattr(stmt, "pullbacks", "_") != "_"
        if any(out in live for out in _outs(stmt)) or keeps_pullback:
            kept.append(stmt)
            live |= _forward_reads(stmt)
            if isinstance(stmt, VjpLoop):
                live |= set(stmt.loop.carried)  # read by the loop's own next iteration
    return dataclasses.replace(fn, forward=tuple(reversed(kept)))


def _substitute(node, old: str, new: str):
    """`node` with every ``Var(old)`` replaced by ``Var(new)``, through nested IR values."""
    if node == Var(old):
        return Var(new)
    if isinstance(node, tuple):
        return tuple(_substitute(item, old, new) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(
            node, **{f.name: _substitute(getattr(node, f.name), old, new) for f in dataclasses.fields(node)}
        )
    return node


def _all_names(fn: VjpFunction) -> set[str]:
    """Every variable name of a function's forward sweep and pullback."""
    names = {p.name for p in fn.source.params} | {fn.seed} | set(_vars_in(fn.forward))
    for stmt in fn.forward:
        names |= set(_outs(stmt))
    for stmt in fn.backward:
        names |= _reads(stmt) | _writes(stmt)
    return names


def _rename_adjoint(fn: VjpFunction, old: str, new: str) -> VjpFunction:
    def swap(target):
        if isinstance(target, tuple):
            return tuple(swap(t) for t in target)
        return new if target == old else target

    return dataclasses.replace(
        fn,
        backward=tuple(_rename(s, old, new) for s in fn.backward),
        cotangents=swap(fn.cotangents),
        seed=swap(fn.seed),
        seed_unpack=swap(fn.seed_unpack) if fn.seed_unpack is not None else None,
    )


def _reuse_loop_names(fn: VjpFunction) -> VjpFunction:
    """Name loop-carried values after their source names: ``for x in xs: h = ...`` carries
    `h`, not `h_2`. When the value entering the loop already has that name and nothing reads
    it afterwards, the loop carries it directly and no ``h_2 = h`` line is needed."""
    for i, stmt in enumerate(fn.forward):
        if not isinstance(stmt, VjpLoop):
            continue
        loop = stmt.loop
        later = fn.forward[i + 1 :]
        read_later = {n for s in later for n in _forward_reads(s)} | {n for s in fn.backward for n in _reads(s)}
        read_later |= set(_vars_in(fn.source.result)) | set(_vars_in(loop.invariants))
        if isinstance(loop.over, ForEach):
            read_later |= set(_vars_in(loop.over.sequences))
        starts = [a.name for a in loop.init if isinstance(a, Var)]
        used = _all_names(fn)
        for out, name, start in zip(loop.carried, loop.sources, loop.init):
            reuse_start = start == Var(name) and name not in read_later and starts.count(name) == 1
            if out == name or not (reuse_start or name not in used):
                continue
            renamed = dataclasses.replace(
                stmt, loop=dataclasses.replace(loop, carried=tuple(name if c == out else c for c in loop.carried))
            )
            fn = dataclasses.replace(
                fn,
                forward=fn.forward[:i] + (_substitute(renamed, out, name),) + _substitute(later, out, name),
                backward=_substitute(fn.backward, out, name),
                source=dataclasses.replace(fn.source, result=_substitute(fn.source.result, out, name)),
            )
            if f"{out}_bar" in _all_names(fn) and f"{name}_bar" not in _all_names(fn):
                fn = _rename_adjoint(fn, f"{out}_bar", f"{name}_bar")
            return _reuse_loop_names(fn)  # look again with the new names
    return fn


def _drop_empty_comments(fn: VjpFunction) -> VjpFunction:
    """A source-line comment whose statements simplified away would label nothing."""
    stmts = fn.backward
    kept = tuple(
        s
        for i, s in enumerate(stmts)
        if not (isinstance(s, Comment) and (i + 1 == len(stmts) or isinstance(stmts[i + 1], Comment)))
    )
    return dataclasses.replace(fn, backward=kept)


def simplify(module: VjpModule) -> VjpModule:
    """Apply every simplification to every function."""
    return dataclasses.replace(
        module,
        functions=tuple(
            _drop_empty_comments(_reuse_loop_names(_drop_dead_forward(_propagate_copies(f)))) for f in module.functions
        ),
    )
