r"""The whole compiler in one place, top to bottom:

    parse -> fence -> lower -> reverse -> simplify -> checkpoint --> render -> format
                             \-> forward -> prune -> hvp -------/

`--mode` picks the passes: reverse (f_vjp, f_grad), forward (f_jvp), hvp (f_hvp: the
forward pass's IR made core IR and differentiated in reverse, see `dpgen.passes.hvp`), or several.

The stages that produce IR are listed once, in `STAGES`: `--dump-after STAGE` prints the IR of
any of them (`ir_after`), and `Stages.after` keeps all of them for tests.

Each stage is a module with one job. Errors are collected per stage and raised as one
`SourceErrors`, so a file with several problems reports all of them in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dpgen import __version__
from dpgen.backends import BACKENDS
from dpgen.deep import run_deep
from dpgen.errors import DiagnosticSink, InputError, Span
from dpgen.frontend.fence import fence
from dpgen.render.format import format_code
from dpgen.header import Header, Options, read_header
from dpgen.passes.hvp import hvp
from dpgen.passes.forward import forward, prune
from dpgen.ir import HvpModule, JvpModule, Module, VjpModule
from dpgen.frontend.lower import lower
from dpgen.frontend.own_helpers import own_helpers
from dpgen.passes.checkpoint import checkpoint
from dpgen.passes.derivative import derivatives
from dpgen.passes.reverse import reverse
from dpgen.render.module import render
from dpgen.rules import RULES_VERSION
from dpgen.passes.simplify import simplify
from dpgen.frontend.source import Source, parse

MODES = ("reverse", "forward", "hvp")

#: The stages whose IR `--dump-after STAGE` prints, in the order they run. The one list: the CLI
#: offers exactly these, and `_generate` records each stage's result under its name (a test
#: checks that every stage listed is recorded). A new stage is a name here plus one `record` call.
STAGES = ("lower", "reverse", "simplify", "checkpoint", "forward", "prune", "hvp")

#: The modes that run each stage (lower runs in every mode).
STAGE_MODES = {
    "lower": MODES,
    "reverse": ("reverse",),
    "simplify": ("reverse",),
    "checkpoint": ("reverse",),  # hvp runs it too, on its inner module (recorded as part of "hvp")
    "forward": ("forward", "hvp"),
    "prune": ("forward", "hvp"),
    "hvp": ("hvp",),
}


def parse_modes(text: str) -> tuple[str, ...] | None:
    """``"forward,reverse"`` -> ``("reverse", "forward")``, in canonical order; None if invalid."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(p not in MODES for p in parts) or len(set(parts)) != len(parts):
        return None
    return tuple(m for m in MODES if m in parts)


@dataclass(frozen=True)
class Stages:
    """Intermediate results, for `--dump-ir` and tests."""

    lowered: Module
    reversed: VjpModule | None
    forward: JvpModule | None
    hessian: HvpModule | None
    text: str
    after: dict = field(default_factory=dict)  #: stage name (from STAGES) -> the IR it produced
    warnings: tuple = ()  #: `Diagnostic`s of severity "warning": printed to stderr, they change nothing else


class _Stop(Exception):
    """Raised by `_Recorder` once the stage `--dump-after` asks for has run: nothing later runs,
    so the IR of a stage can be seen even when a later stage would fail."""

    def __init__(self, ir):
        self.ir = ir


class _Recorder:
    """Keeps each stage's IR by name; stops the run after `stop_after`."""

    def __init__(self, stop_after: str | None = None):
        self.after: dict[str, object] = {}
        self.stop_after = stop_after

    def __call__(self, stage: str, ir):
        assert stage in STAGES, stage  # a stage recorded must be listed, so --dump-after offers it
        self.after[stage] = ir
        if stage == self.stop_after:
            raise _Stop(ir)
        return ir


def _refuse_reverse_output(source: Source, sink: DiagnosticSink) -> None:
    """dpgen's reverse-mode output is not differentiated again yet: say where and what is missing.

    What is missing is the closure: `f_vjp` returns `f_pullback`, a function defined inside it
    that reads `f_vjp`'s variables, and the front end lowers module-level functions only. The
    error points at the first such ``def`` and names the two ways to second derivatives."""
    header = read_header(source.text)
    if header is None or "reverse" not in (parse_modes(header.options.mode) or ()):
        return
    where, closure, outer = Span(1, 1), None, None
    enclosing = None
    for number, line in enumerate(source.text.split("\n"), start=1):
        found = _DEF.match(line)
        if found and not found[1]:
            enclosing = found[2]
        elif found and enclosing:
            where, closure, outer = Span(number, len(found[1]) + 1), found[2], enclosing
            break
    what = (
        f"its pullback '{closure}' is a closure (a function defined inside '{outer}' that reads its variables)"
        if closure
        else "its pullbacks are closures (functions defined inside the f_vjp functions)"
    )
    sink.error(
        where,
        f"this is dpgen's reverse-mode output: {what}, and dpgen differentiates module-level functions "
        f"only, so reverse over reverse is not available yet; for second derivatives run --mode hvp on "
        f"{header.source}, or run dpgen diff on its --mode forward output",
    )
    sink.raise_if_any()


_DEF = re.compile(r"^(\s*)def (\w+)\(")


def _refuse_clashing_names(lowered: Module, vjp, jvp, hessian, sink: DiagnosticSink) -> None:
    """Two generated functions of one name would leave only the second: `g_jvp_vjp` is both
    the reverse mode of a user function `g_jvp` and, with --mode hvp, the inner function of
    `g_hvp`. The contract names are fixed, so the user renames one function."""
    defined: list[str] = []
    for module in (vjp, hessian.inner if hessian else None):
        for fn in module.functions if module else ():
            defined.append(fn.name)
            if fn.recorded:
                defined.append(fn.recorded)
            if not fn.source.internal and not fn.source.returns_tuple:
                defined.append(fn.grad_name)
            if fn.derivative is not None and not fn.derivative.breaks:
                defined.append(fn.derivative.name)
    defined += [fn.name for fn in jvp.functions] if jvp else []
    defined += [fn.name for fn in hessian.functions] if hessian else []
    users = sorted((f for f in lowered.functions if not f.internal), key=lambda f: len(f.name))
    seen: set[str] = set()
    for name in defined:
        if name in seen:
            owners = [f for f in users if name.lstrip("_").startswith(f.name)]
            if len(owners) >= 2:
                sink.error(
                    owners[-1].span,
                    f"the generated function '{name}' would be defined twice, for '{owners[0].name}' and for "
                    f"'{owners[-1].name}' (rename '{owners[-1].name}')",
                )
            else:
                sink.error(Span(1, 1), f"the generated function '{name}' would be defined twice (rename a function)")
        seen.add(name)
    sink.raise_if_any()


def generate(source: Source, options: Options = Options()) -> Stages:
    """Differentiate one source module; raises SourceErrors with every problem found.

    Runs in a thread with a deep stack (`dpgen.deep`): every stage recurses over trees.
    """
    return run_deep(_generate, source, options, _Recorder())


def ir_after(source: Source, options: Options, stage: str):
    """The IR `stage` produced (for `--dump-after`); later stages do not run.

    Raises InputError for a stage not in STAGES or one the modes of `options` do not run.
    """
    if stage not in STAGES:
        raise InputError(f"error: unknown stage '{stage}' (available: {', '.join(STAGES)})")
    modes = parse_modes(options.mode) or ()
    if not set(modes) & set(STAGE_MODES[stage]):
        raise InputError(
            f"error: the stage '{stage}' does not run with --mode {options.mode} "
            f"(it runs with --mode {' or '.join(STAGE_MODES[stage])})"
        )
    try:
        run_deep(_generate, source, options, _Recorder(stop_after=stage))
    except _Stop as stop:
        return stop.ir
    raise AssertionError(f"the stage '{stage}' did not run")  # STAGE_MODES disagrees with _generate


def _generate(source: Source, options: Options, record: _Recorder) -> Stages:
    modes = parse_modes(options.mode)
    if modes is None:
        raise InputError(
            f"error: unknown mode '{options.mode}' (available: {', '.join(MODES)}, or several joined by commas)"
        )
    if options.backend not in BACKENDS:
        raise InputError(f"error: unknown backend '{options.backend}' (available: {', '.join(BACKENDS)})")
    sink = DiagnosticSink(source.path)
    _refuse_reverse_output(source, sink)
    parsed = parse(source)
    helpers = own_helpers(parsed)
    rejected = fence(parsed, sink, helpers)
    lowered = lower(parsed, sink, skip=rejected, helpers=helpers)
    sink.raise_if_any()
    record("lower", lowered)
    # Both passes run before any error is raised, so one run reports the problems of every mode.
    vjp = reverse(lowered, sink) if "reverse" in modes else None
    tangents = forward(lowered, sink) if "forward" in modes or "hvp" in modes else None
    sink.raise_if_any()
    if vjp is not None:
        vjp = record("simplify", simplify(record("reverse", derivatives(vjp))))
        vjp = record("checkpoint", checkpoint(vjp, sink))
    if tangents is not None:
        tangents = record("prune", prune(record("forward", tangents)))
    jvp = tangents if "forward" in modes else None
    backend = BACKENDS[options.backend]
    hessian = None
    if "hvp" in modes:  # reverse over forward: the forward-mode module, differentiated again
        hessian = record("hvp", hvp(lowered, tangents, sink))
    _refuse_clashing_names(lowered, vjp, jvp, hessian, sink)
    header = Header(source.name, __version__, RULES_VERSION, Options(",".join(modes), options.backend), source.sha256)
    text = format_code(render(lowered, vjp, jvp, backend, header.render(), hessian))
    return Stages(
        lowered,
        vjp,
        jvp,
        hessian,
        text,
        record.after,
        tuple(sorted(sink.warnings, key=lambda d: (d.span.line, d.span.col))),
    )
