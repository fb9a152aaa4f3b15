"""Generate code in memory and load it: every numerical test goes through the real pipeline
(source text in, generated module out), so a rule is only ever tested the way users meet it."""

from __future__ import annotations

import copy
import textwrap
import types

from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.pipeline import generate


def generated_text(source: str, name: str = "model.py", options: Options = Options()) -> str:
    return generate(Source(name, textwrap.dedent(source)), options).text


def load(text: str, name: str = "generated") -> types.ModuleType:
    """Execute generated code as a fresh module (the generated module is self-contained)."""
    module = types.ModuleType(name)
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


def load_source(source: str, name: str = "model") -> types.ModuleType:
    """Execute the *user's* source, to get the primal functions for finite differences."""
    return load(textwrap.dedent(source), name)


def differentiate(source: str) -> tuple[types.ModuleType, types.ModuleType]:
    """(primal module, generated module) for a source text."""
    return load_source(source), load(generated_text(source))


def fresh(args: list) -> list:
    """Deep copies: a primal that mutates its arguments must not change the next evaluation."""
    return copy.deepcopy(list(args))
