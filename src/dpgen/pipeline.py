"""The whole compiler in one place, top to bottom:

    parse -> fence -> lower -> reverse -> simplify -> render -> format

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
from dpgen.ir import Module, VjpModule
from dpgen.lower import lower
from dpgen.reverse import reverse
from dpgen.render import render
from dpgen.rules import RULES_VERSION
from dpgen.simplify import simplify
from dpgen.source import Source, parse

MODES = ("reverse",)


@dataclass(frozen=True)
class Stages:
    """Intermediate results, for `--dump-ir` and tests."""

    lowered: Module
    reversed: VjpModule
    text: str


def generate(source: Source, options: Options = Options()) -> Stages:
    """Differentiate one source module; raises SourceErrors with every problem found."""
    if options.mode not in MODES:
        raise InputError(f"error: unknown mode '{options.mode}' (available: {', '.join(MODES)})")
    if options.backend not in BACKENDS:
        raise InputError(f"error: unknown backend '{options.backend}' (available: {', '.join(BACKENDS)})")
    sink = DiagnosticSink(source.path)
    parsed = parse(source)
    rejected = fence(parsed, sink)
    lowered = lower(parsed, sink, skip=rejected)
    sink.raise_if_any()
    vjp = simplify(reverse(lowered, sink))
    sink.raise_if_any()
    header = Header(source.name, __version__, RULES_VERSION, options, source.sha256)
    text = format_code(render(vjp, BACKENDS[options.backend], header.render()))
    return Stages(lowered, vjp, text)
