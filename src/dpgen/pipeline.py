r"""The whole compiler in one place, top to bottom:

    parse -> fence -> lower -> reverse -> simplify -> render -> format
                             \-> forward --/

`--mode` picks the passes: reverse (f_vjp, f_grad), forward (f_jvp), or both in one module.

Each stage is a module with one job. Errors are collected per stage and raised as one
`SourceErrors`, so a file with several problems reports all of them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpgen import __version__
from dpgen.backend import BACKENDS
from dpgen.errors import DiagnosticSink, InputError
from dpgen.fence import fence
from dpgen.format import format_code
from dpgen.header import Header, Options
from dpgen.forward import forward, prune
from dpgen.ir import JvpModule, Module, VjpModule
from dpgen.lower import lower
from dpgen.reverse import reverse
from dpgen.render import render
from dpgen.rules import RULES_VERSION
from dpgen.simplify import simplify
from dpgen.source import Source, parse

MODES = ("reverse", "forward")


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
    text: str


def generate(source: Source, options: Options = Options()) -> Stages:
    """Differentiate one source module; raises SourceErrors with every problem found."""
    modes = parse_modes(options.mode)
    if modes is None:
        raise InputError(f"error: unknown mode '{options.mode}' (available: {', '.join(MODES)}, or several joined by commas)")
    if options.backend not in BACKENDS:
        raise InputError(f"error: unknown backend '{options.backend}' (available: {', '.join(BACKENDS)})")
    sink = DiagnosticSink(source.path)
    parsed = parse(source)
    rejected = fence(parsed, sink)
    lowered = lower(parsed, sink, skip=rejected)
    sink.raise_if_any()
    vjp = simplify(reverse(lowered, sink)) if "reverse" in modes else None
    jvp = prune(forward(lowered, sink)) if "forward" in modes else None
    sink.raise_if_any()
    header = Header(source.name, __version__, RULES_VERSION, Options(",".join(modes), options.backend), source.sha256)
    text = format_code(render(lowered, vjp, jvp, BACKENDS[options.backend], header.render()))
    return Stages(lowered, vjp, jvp, text)
