"""Backends: what the generated code imports and how it spells array operations.

A backend is data, not code: the passes never ask which backend they serve; the
renderer reads this description and the backend's template folder. NumPy is the only
backend today; CuPy and JAX add a `Backend` and a folder (JAX sets
``in_place_updates=False``, so index scatters render as ``.at[index].add(value)``).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import jinja2


@dataclass(frozen=True)
class Backend:
    name: str  #: the ``--backend`` option value
    module: str  #: the array module the generated code imports
    alias: str  #: the name it is imported as; rule templates write ``np`` for it
    templates: str  #: folder under ``dpgen/templates`` with module.py.j2 and helpers.py.j2
    in_place_updates: bool  #: arrays support ``x[i] += v`` (False for JAX)


NUMPY = Backend(name="numpy", module="numpy", alias="np", templates="numpy", in_place_updates=True)

BACKENDS = {b.name: b for b in (NUMPY,)}


_HELPER_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("dpgen", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@functools.lru_cache(maxsize=None)
def helper_sources(backend: Backend) -> dict[str, tuple[str, frozenset[str]]]:
    """The backend's helpers: name -> (source text, helpers it calls), in file order."""
    text = _HELPER_TEMPLATES.get_template(f"{backend.templates}/helpers.py.j2").render(np=backend.alias)
    tree = ast.parse(text)
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    helpers = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            source = ast.get_source_segment(text, node)
            called = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names and n.id != node.name}
            helpers[node.name] = (source, frozenset(called))
    return helpers
