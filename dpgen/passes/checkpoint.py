"""Checkpointing (issue 12): apply the ``# dpgen: checkpoint`` pragmas to the reverse-mode IR.

VjpModule -> VjpModule, IR only. It decides *what* is checkpointed and how; the run-time tapes
(`_RevolveTape`, `_OnlineTape` in the backend's helpers) carry out the schedule, and
`dpgen.render.reverse` writes the calls to them.

Semantics, precisely:

- **Advancing a step is running its forward half and dropping its pullback.** No plain-primal
  functions are generated: a step is advanced by calling the body's ordinary ``<body>_vjp`` and
  throwing the pullback away at once, so its residuals die with it. Step functions never mutate
  their inputs (the forward sweep copies before ``x[i] = v``, lists are rebuilt by ``append``),
  so a stored state, the tuple of the loop-carried values before a step, stays valid.
- **A loop** with the pragma gets `VjpLoop.checkpoint` (`LoopCheckpoint`): its forward sweep
  hands every step to a tape (``tape.step(body_vjp, targets, state, invariants)``) instead of
  appending the step's pullback to a list, and its replay takes ``(step, pullback)`` pairs from
  ``tape.pullbacks()``, last step first; the replay's statements are unchanged.
  - ``schedule="revolve"``: a ``for`` loop without ``break`` (over ``range(...)``, the rows of an
    array, ``zip``/``enumerate``/``reversed`` of sequences), whose trip count is known on entry.
    Griewank and Walther's binomial schedule: with ``s`` snapshots and ``n`` steps the number of
    step recomputations is the proven minimum for ``(n, s)``; memory is ``s`` states plus the
    working state and one step's pullback. ``snapshots=auto`` is ``ceil(log2 n)`` at run time.
  - ``schedule="online"``: a ``while`` loop, or a ``for`` loop with ``break``, whose trip count
    is not known until it ends: the tape's online (doubling) scheme, with the bounds its
    docstring states.
  - The tape holds states, not per-iteration residuals: `VjpLoop.residuals` stays the body's
    (what a scan would stack), and with a checkpoint they are recomputed, not stored.
  - A checkpointed loop that keeps no tape (nothing in it is differentiated: `replay` is None)
    is left as it is, with a located warning "nothing to checkpoint".
- **A def** with the pragma gets `VjpFunction.checkpoint` and `recorded` (``_f_vjp_recorded``):
  ``f_vjp`` runs ``_f_vjp_recorded`` (the ordinary vjp) for the value, drops its pullback and
  keeps only its inputs; its pullback runs ``_f_vjp_recorded`` again and uses that pullback.
  Callers (other functions' vjp, loop bodies) call ``f_vjp`` as before: that is where memory is
  saved. ``f_grad`` (and ``f_hvp``) call ``_f_vjp_recorded`` directly: checkpointing the whole
  gradient would only run f twice. `VjpFunction.residuals` is then f's parameters, what f_vjp's
  pullback holds (and what callers keep per call: `dpgen.analysis.residuals.kept`); the recorded
  vjp's pullback holds `residuals.residuals(fn)`, computed from the unchanged `backward`.
- **Composition.** Checkpointed loops nest (an inner loop's tape lives in the outer body's
  pullback, so it dies when the outer tape drops that pullback and is rebuilt on recomputation),
  sit inside checkpointed defs, and call checkpointed defs. ``--mode hvp`` runs this pass on
  its inner reverse module (the reverse mode of f_jvp, whose loops are the source loops), so
  f_hvp is checkpointed too. ``--mode forward`` keeps no tape: the pragma changes nothing there.
"""

from __future__ import annotations

import dataclasses

from dpgen.analysis import residuals
from dpgen.errors import DiagnosticSink
from dpgen.ir import ForEach, ForRange, Loop, LoopCheckpoint, Test, VjpFunction, VjpLoop, VjpModule
from dpgen.ir.walk import backward_reads, backward_writes, outs, variables
from dpgen.names import NameAllocator


def checkpoint(module: VjpModule, sink: DiagnosticSink) -> VjpModule:
    """`module` with every checkpoint pragma applied (see the module docstring)."""
    if not any(_wants_checkpoint(fn) for fn in module.functions):
        return module  # no pragma: the very same IR, so the output is byte-identical
    return residuals.attach(
        dataclasses.replace(module, functions=tuple(_function(fn, sink) for fn in module.functions))
    )


def _wants_checkpoint(fn: VjpFunction) -> bool:
    return fn.source.checkpoint is not None or any(
        isinstance(s, Loop) and s.checkpoint is not None for s in fn.source.body
    )


def _function(fn: VjpFunction, sink: DiagnosticSink) -> VjpFunction:
    if not _wants_checkpoint(fn):
        return fn
    names = NameAllocator(_all_names(fn))
    tapes: dict[str, VjpLoop] = {}  # the tape name before -> the checkpointed node
    # By body name: simplify may have renamed the loop's carried values (a new Loop object).
    reversed_loops = {s.loop.body for s in fn.forward if isinstance(s, VjpLoop) and s.replay is not None}
    for loop in fn.source.body:
        # A loop simplify dropped (nothing reads it) or one nothing differentiated flows through.
        if isinstance(loop, Loop) and loop.checkpoint is not None and loop.body not in reversed_loops:
            sink.warning(
                loop.checkpoint.span,
                "nothing to checkpoint: the pullback does not go back through this loop "
                "(nothing it computes is differentiated), so it keeps no tape",
            )
    for stmt in fn.forward:
        if not isinstance(stmt, VjpLoop) or stmt.loop.checkpoint is None or stmt.replay is None:
            continue
        loop = stmt.loop
        # A `for` knows its trip count on entry unless it may `break`: Revolve needs the count.
        schedule = "revolve" if isinstance(loop.over, (ForRange, ForEach)) and not loop.breaks else "online"
        assert isinstance(loop.over, (ForRange, ForEach, Test)), loop.over
        tapes[stmt.pullbacks] = dataclasses.replace(
            stmt,
            pullbacks=names.fresh("loop_tape"),  # it holds states now, not pullbacks
            checkpoint=LoopCheckpoint(schedule, loop.checkpoint.snapshots, loop.checkpoint.span),
        )

    def swap(stmt):
        return tapes.get(stmt.pullbacks, stmt) if isinstance(stmt, VjpLoop) else stmt

    fn = dataclasses.replace(
        fn, forward=tuple(swap(s) for s in fn.forward), backward=tuple(swap(s) for s in fn.backward)
    )
    if fn.source.checkpoint is not None:
        # Module level, like `f_vjp` itself: `names.reserved` keeps user variables off the
        # `_f_..._vjp` forms, and the pipeline refuses two generated functions of one name.
        fn = dataclasses.replace(fn, checkpoint=fn.source.checkpoint, recorded=f"_{fn.name}_recorded")
    return fn


def _all_names(fn: VjpFunction) -> set[str]:
    """Every name of a function's vjp (forward sweep and pullback), so a new one clashes with none."""
    taken = set(fn.source.taken_names) | {p.name for p in fn.source.params} | {fn.seed, fn.pullback_name}
    taken |= set(variables(fn.forward))
    for stmt in fn.forward:
        taken |= set(outs(stmt))
        if isinstance(stmt, VjpLoop):
            taken |= {stmt.pullbacks, stmt.pullback, stmt.flag} | set(stmt.loop.targets)
        elif hasattr(stmt, "pullback"):
            taken.add(stmt.pullback)
    for stmt in fn.backward:
        taken |= backward_reads(stmt) | set(backward_writes(stmt))
        if isinstance(stmt, VjpLoop) and stmt.replay is not None:
            taken.add(stmt.replay.index)
    return taken
