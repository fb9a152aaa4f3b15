"""Residuals: the forward values a pullback reads, found from its statements, and attached to the IR.

The reverse pass splits every function, loop body and branch arm into a forward half (the
forward sweep) and a backward half (the pullback). What crosses from one to the other is the
set of names the backward statements read that the forward half binds (parameters, equation
outputs, callees' pullbacks and loop tapes), minus what the backward half binds itself. That
set is `VjpFunction.residuals`, in the order the forward half binds them.

A value read only for its shape and dtype (``zeros_like(x)``, the ``x`` of ``unbroadcast(g, x)``
or ``unreduce(g, x, ...)``, ``np.shape(x)``) needs no array kept: such names go to
`VjpFunction.shape_residuals` instead, so ``np.sum(x)`` keeps no array, and a JAX backend can
take them as static shapes. `attach` computes both for every function of a module, copies each
callee's into the calls, arms and loops that keep its pullback, and makes each loop's forward
and backward occurrences one `VjpLoop` node again (a pass may have rewritten one of them).
"""

from __future__ import annotations

import ast
import dataclasses
import functools

from dpgen.ir import (
    Comment,
    Const,
    Index,
    Seq,
    SetAdjoint,
    Template,
    UnpackAdjoints,
    VjpBranch,
    VjpCall,
    VjpFunction,
    VjpLoop,
    VjpModule,
    ZerosAdjoint,
)
from dpgen.ir.walk import atom_reads, reads, writes

#: Functions (as rule expressions spell them: ``np.``, the IR's qualified ``numpy.``, or a
#: helper's bare name) and the
#: positions of their arguments they read only for shape and dtype. The helpers are the
#: backend's (`templates/<backend>/helpers.py.j2`); each of them, for every backend, must
#: keep to this.
SHAPE_ONLY_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "unbroadcast": (1,),
    "unreduce": (1,),
    "keepdims": (1,),
    "split_like": (1,),
    "zeros_like": (0,),
    "np.zeros_like": (0,),
    "numpy.zeros_like": (0,),
    "np.ones_like": (0,),
    "numpy.ones_like": (0,),
    "np.empty_like": (0,),
    "numpy.empty_like": (0,),
    "np.shape": (0,),
    "numpy.shape": (0,),
    "np.ndim": (0,),
    "numpy.ndim": (0,),
    "np.size": (0,),
    "numpy.size": (0,),
    "len": (0,),
}
#: Attributes that read only an array's metadata (``x.shape``).
SHAPE_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype"})


@functools.lru_cache(maxsize=None)
def _shape_only_names(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names read for their value, names read only for shape) in a Python expression.

    A name in both is read for its value: one read of the array is enough to keep it.
    """
    tree = ast.parse(text, mode="eval")
    shape: set[int] = set()  # ids of Name nodes in shape-only positions
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            positions = SHAPE_ONLY_ARGUMENTS.get(ast.unparse(node.func), ())
            for k in positions:
                if k < len(node.args):
                    arg = node.args[k]
                    # A list of arrays (``split_like(g, [a, b], 0)``): each item's shape.
                    items = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
                    shape.update(id(item) for item in items if isinstance(item, ast.Name))
        elif isinstance(node, ast.Attribute) and node.attr in SHAPE_ATTRIBUTES and isinstance(node.value, ast.Name):
            shape.add(id(node.value))
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    values = frozenset(n.id for n in names if id(n) not in shape)
    return values, frozenset(n.id for n in names if id(n) in shape) - values


def _atom_reads_split(atom: object) -> tuple[set[str], set[str]]:
    """(value reads, shape-only reads) of an atom: a constant's text may be ``np.zeros_like(out)``."""
    if isinstance(atom, Const):
        values, shapes = _shape_only_names(atom.text)
        return set(values), set(shapes)
    if isinstance(atom, (tuple, Seq, Index)):
        values, shapes = set(), set()
        for item in atom if isinstance(atom, tuple) else atom.items:
            v, s = _atom_reads_split(item)
            values |= v
            shapes |= s
        return values, shapes
    return atom_reads(atom), set()


def _template_split(template: Template) -> tuple[set[str], set[str]]:
    """(value reads, shape-only reads) of a rule expression, through its bindings."""
    text_values, text_shapes = _shape_only_names(template.text)
    values, shapes = set(), set()
    for name, atom in template.bindings:
        v, s = _atom_reads_split(atom)
        if name in text_values:
            values |= v
            shapes |= s
        elif name in text_shapes:
            shapes |= v | s
    return values, shapes


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
    table = {fn.source.name: residuals(fn) for fn in module.functions}
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
