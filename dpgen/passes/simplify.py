"""Simplification after the AD pass: drop what the output does not need, rename copies away.

- Forward dead code: equations whose results neither the output nor the pullback reads.
- Copy propagation: ``a_bar = b_bar`` (an identity rule such as ``np.copy``) renames
  ``a_bar`` to ``b_bar`` when ``b_bar`` is not read again, so no alias line is printed.
"""

from __future__ import annotations

import dataclasses

from dpgen.ir import (
    Comment,
    ForEach,
    Hole,
    VjpLoop,
    SetAdjoint,
    Var,
    VjpFunction,
    VjpModule,
)
from dpgen.analysis import residuals
from dpgen.ir.walk import backward_reads, backward_writes, outs, reads, rename, rename_all, substitute, variables


def _propagate_copies(fn: VjpFunction) -> VjpFunction:
    """Drop ``t_bar = s_bar`` when nothing after it uses ``s_bar``: later statements say ``s_bar``.

    One pass in linear time (a 10,000-statement function has thousands of such copies):
    `uses` counts, per current name, the later statements that read or write it, and the
    renames are applied to each statement when the pass reaches it, through `current`
    (original name -> name after the renames so far).
    """
    stmts = fn.backward
    names = [backward_reads(s) | backward_writes(s) for s in stmts]
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
        stmt = rename_all(stmt, {n: current[n] for n in found if current.get(n, n) != n})
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


def _drop_dead_forward(fn: VjpFunction) -> VjpFunction:
    live = set(variables(fn.source.result))
    for stmt in fn.backward:
        live |= backward_reads(stmt)
    kept = []
    for stmt in reversed(fn.forward):
        keeps_pullback = getattr(stmt, "pullback", "_") != "_" or getattr(stmt, "pullbacks", "_") != "_"
        if any(out in live for out in outs(stmt)) or keeps_pullback:
            kept.append(stmt)
            live |= reads(stmt)
            if isinstance(stmt, VjpLoop):
                live |= set(stmt.loop.carried)  # read by the loop's own next iteration
    return dataclasses.replace(fn, forward=tuple(reversed(kept)))


def _all_names(fn: VjpFunction) -> set[str]:
    """Every variable name of a function's forward sweep and pullback."""
    names = {p.name for p in fn.source.params} | {fn.seed} | set(variables(fn.forward))
    for stmt in fn.forward:
        names |= set(outs(stmt))
    for stmt in fn.backward:
        names |= backward_reads(stmt) | backward_writes(stmt)
    return names


def _rename_adjoint(fn: VjpFunction, old: str, new: str) -> VjpFunction:
    def swap(target):
        if isinstance(target, tuple):
            return tuple(swap(t) for t in target)
        return new if target == old else target

    return dataclasses.replace(
        fn,
        backward=tuple(rename(s, old, new) for s in fn.backward),
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
        read_later = {n for s in later for n in reads(s)} | {n for s in fn.backward for n in backward_reads(s)}
        read_later |= set(variables(fn.source.result)) | set(variables(loop.invariants))
        if isinstance(loop.over, ForEach):
            read_later |= set(variables(loop.over.sequences))
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
                forward=fn.forward[:i] + (substitute(renamed, out, name),) + substitute(later, out, name),
                backward=substitute(fn.backward, out, name),
                source=dataclasses.replace(fn.source, result=substitute(fn.source.result, out, name)),
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
    """Apply every simplification to every function, then recompute the residuals they changed."""
    return residuals.attach(
        dataclasses.replace(
            module,
            functions=tuple(
                _drop_empty_comments(_reuse_loop_names(_drop_dead_forward(_propagate_copies(f))))
                for f in module.functions
            ),
        )
    )
