"""Residuals: the forward values a pullback reads, found from its statements, and attached to the IR.

The reverse pass splits every function, loop body and branch arm into a forward half (the
forward sweep) and a backward half (the pullback). What crosses from one to the other is the
set of names the backward statements read that the forward half binds (parameters, equation
outputs, callees' pullbacks and loop tapes), minus what the backward half binds itself. That
set is `VjpFunction.residuals`, in the order the forward half binds them.

A value read only for its shape and dtype (``zeros_like(x)``, the ``x`` of ``unbroadcast(g, x)``
or ``unreduce(g, x, ...)``, ``np.shape(x)``: the rules' `shape_only` fact) needs no array kept: such names go to
`VjpFunction.shape_residuals` instead, so ``np.sum(x)`` keeps no array, and a JAX backend can
take them as static shapes. `attach` computes both for every function of a module, copies each
callee's into the calls, arms and loops that keep its pullback, and makes each loop's forward
and backward occurrences one `VjpLoop` node again (a pass may have rewritten one of them).
"""

from __future__ import annotations

import dataclasses
import functools

from dpgen import rules
from dpgen.ir import (
    Apply,
    Comment,
    Hole,
    Index,
    Lit,
    Seq,
    SetAdjoint,
    SliceAtom,
    Var,
    Template,
    UnpackAdjoints,
    VjpBranch,
    VjpCall,
    VjpFunction,
    VjpLoop,
    VjpModule,
    ZerosAdjoint,
)
from dpgen.ir.walk import reads, writes

#: The one helper without a rule (it returns a list of arrays, see `rules/helpers.py`) that reads
#: an argument, a list of arrays, only for their shapes.
_SPLIT_LIKE = "dpgen.helpers._split_like"


@functools.lru_cache(maxsize=None)
def shape_only_positions(op: str) -> frozenset[int]:
    """Positions of the arguments `op` reads only for shape and dtype: the rule's
    `shape_only` fact (``np.zeros_like(a)``, ``unbroadcast(g, x)``)."""
    if op == _SPLIT_LIKE:
        return frozenset({1})
    rule = rules.lookup(op)
    if rule is None:
        return frozenset()
    return frozenset(rule.params.index(name) for name in rule.shape_only)


#: Attributes that read only an array's metadata (``x.shape``).
SHAPE_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype"})


def _leaves(node: object, shape: bool, bindings: dict, found: list[tuple[str, bool]]) -> None:
    """Append (variable, read only for its shape) for every variable `node` reads; a rule's
    hole reads the atom `bindings` gives it. Everything under a shape-only argument position
    (``unbroadcast(g, x)``'s `x`, a list of arrays in ``split_like``) is read for its shape."""
    if isinstance(node, Var):
        found.append((node.name, shape))
    elif isinstance(node, Hole):
        if node.name in bindings:
            _leaves(bindings[node.name], shape, {}, found)
    elif isinstance(node, Apply):
        if node.op == "dpgen.getattr" and isinstance(node.args[1], Lit) and node.args[1].value in SHAPE_ATTRIBUTES:
            _leaves(node.args[0], True, bindings, found)
            return
        positions = shape_only_positions(node.op)
        for k, arg in enumerate(node.args):
            _leaves(arg, shape or k in positions, bindings, found)
        for _, value in node.kwargs:
            _leaves(value, shape, bindings, found)
    elif isinstance(node, (Seq, Index)):
        for item in node.items:
            _leaves(item, shape, bindings, found)
    elif isinstance(node, SliceAtom):
        for part in (node.start, node.stop, node.step):
            _leaves(part, shape, bindings, found)
    elif isinstance(node, tuple):
        for item in node:
            _leaves(item, shape, bindings, found)


def _split(node: object, bindings: dict | None = None) -> tuple[set[str], set[str]]:
    """(value reads, shape-only reads) of a tree or atom. A name read both ways is read for
    its value: one read of the array is enough to keep it."""
    found: list[tuple[str, bool]] = []
    _leaves(node, False, bindings or {}, found)
    values = {name for name, shape in found if not shape}
    return values, {name for name, shape in found if shape} - values


def _atom_reads_split(atom: object) -> tuple[set[str], set[str]]:
    """(value reads, shape-only reads) of an atom (``numpy.zeros_like(out)`` reads `out`'s shape)."""
    return _split(atom)


def _template_split(template: Template) -> tuple[set[str], set[str]]:
    """(value reads, shape-only reads) of a rule expression, through its bindings."""
    return _split(template.expr, dict(template.bindings))


def _backward_reads(stmts: tuple) -> tuple[set[str], set[str], set[str]]:
    """(value reads, shape-only reads, writes) of a sequence of adjoint statements."""
    values: set[str] = set()
    shapes: set[str] = set()
    bound: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, VjpLoop):  # where the replay runs: it reads the tape
            if stmt.replay is not None:
                v, s, w = _backward_reads(stmt.replay.body)
                index_and_targets = {stmt.replay.index} | {t for t in stmt.replay.targets if t}
                values |= {stmt.pullbacks} | _atom_reads_split(stmt.replay.seed)[0] | (v - index_and_targets)
                shapes |= s - index_and_targets
                bound |= writes(stmt.replay)
            continue
        if isinstance(stmt, (SetAdjoint, UnpackAdjoints)):
            v, s = _template_split(stmt.value)
            if isinstance(stmt, SetAdjoint) and stmt.accumulate:
                v.add(stmt.target)
            values |= v
            shapes |= s
        elif isinstance(stmt, ZerosAdjoint):
            shapes.add(stmt.like.name)
        elif not isinstance(stmt, Comment):
            values |= reads(stmt)
        bound |= writes(stmt)
    return values, shapes, bound


def forward_names(fn: VjpFunction) -> list[str]:
    """What the forward half binds, in order: the parameters, then the forward sweep's names."""
    names = [p.name for p in fn.source.params]
    for stmt in fn.forward:
        for name in _ordered_writes(stmt):
            if name not in names:
                names.append(name)
    return names


def _ordered_writes(stmt) -> list[str]:
    if isinstance(stmt, VjpCall):
        return [*stmt.call.outs, stmt.pullback]
    if isinstance(stmt, VjpBranch):
        return [*stmt.branch.outs, stmt.pullback]
    if isinstance(stmt, VjpLoop):
        return [*stmt.loop.targets, *stmt.loop.carried, stmt.pullbacks, stmt.pullback, stmt.flag]
    return sorted(writes(stmt))


def residuals(fn: VjpFunction) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(residuals, shape residuals) of one function: see the module docstring."""
    values, shapes, bound = _backward_reads(fn.backward)
    if fn.seed_unpack is not None:
        bound |= _flatten(fn.seed_unpack)
    bound.add(fn.seed)
    order = [n for n in forward_names(fn) if n not in ("_", "") and n not in bound]
    return (
        tuple(n for n in order if n in values),
        tuple(n for n in order if n in shapes and n not in values),
    )


def kept(fn: VjpFunction) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What `fn`'s pullback holds: its residuals, or for a checkpointed def
    (`dpgen.passes.checkpoint`) only its inputs, from which the pullback reruns the recorded vjp
    (whose pullback holds `residuals(fn)`)."""
    if fn.checkpoint is not None:
        return tuple(p.name for p in fn.source.params), ()
    return residuals(fn)


def _flatten(targets: tuple) -> set[str]:
    found = set()
    for t in targets:
        found |= _flatten(t) if isinstance(t, tuple) else {t} if t else set()
    return found


def attach(module: VjpModule) -> VjpModule:
    """The module with every function's residuals computed and copied where they are kept.

    Each `VjpLoop` takes its forward fields from its place in the forward sweep and its
    `replay` from its place in the pullback, and the same node is put in both places.
    """
    table = {fn.source.name: kept(fn) for fn in module.functions}
    functions = {fn.source.name: fn.source for fn in module.functions}

    def fill(stmt):
        if isinstance(stmt, VjpCall) and stmt.pullback != "_":
            return dataclasses.replace(stmt, residuals=table[stmt.call.callee][0])
        if isinstance(stmt, VjpBranch) and stmt.pullback != "_":
            then, orelse = stmt.branch.then, stmt.branch.orelse
            return dataclasses.replace(stmt, then_residuals=table[then][0], orelse_residuals=table[orelse][0])
        if isinstance(stmt, VjpLoop) and stmt.pullbacks != "_":
            loop = stmt.loop
            body = functions[loop.body]
            invariant = {p.name for p in body.params[len(loop.targets) + len(loop.carried) :]}
            per_step, shapes = table[loop.body]
            return dataclasses.replace(
                stmt,
                residuals=per_step,
                invariant_residuals=tuple(n for n in per_step if n in invariant),
                shape_residuals=shapes,
            )
        return stmt

    result = []
    for fn in module.functions:
        replays = {s.pullbacks: s.replay for s in fn.backward if isinstance(s, VjpLoop)}
        forward = []
        for stmt in fn.forward:
            stmt = fill(stmt)
            if isinstance(stmt, VjpLoop):
                stmt = dataclasses.replace(stmt, replay=replays.get(stmt.pullbacks) if stmt.pullbacks != "_" else None)
            forward.append(stmt)
        loops = {s.pullbacks: s for s in forward if isinstance(s, VjpLoop) and s.replay is not None}
        backward = tuple(loops[s.pullbacks] if isinstance(s, VjpLoop) else s for s in fn.backward)
        values, shapes = table[fn.source.name]
        result.append(
            dataclasses.replace(fn, forward=tuple(forward), backward=backward, residuals=values, shape_residuals=shapes)
        )
    return dataclasses.replace(module, functions=tuple(result))
