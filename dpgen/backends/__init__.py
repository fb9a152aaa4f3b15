"""Backends: what the generated code imports and how it spells array statements.

A backend is a description, not code: the passes never ask which backend they serve (they
write qualified names such as ``numpy.zeros_like``); the renderer computes expressions and
asks the backend's templates for the statement shapes around them. What a backend is:

- a `Backend` below (its array module and alias, in-place or functional updates, its loop
  strategy, how it adds into an index that may repeat), registered in `BACKENDS`;
- a folder ``dpgen/templates/<templates>/`` with ``helpers.py.j2`` (the helper functions
  generated modules copy) and, only if the shared spellings do not fit, ``statements.j2``.

Everything else is shared: ``dpgen/templates/module.py.j2`` lays out every module, and
``dpgen/templates/statements.j2`` spells each statement in-place or functionally, as the
description says. CuPy and JAX are a `Backend`, a folder and their tests each.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import jinja2

from dpgen.escape import docstring_text

#: The update styles a backend may have (`Backend.updates`).
UPDATE_STYLES = ("in-place", "functional")
#: The loop strategies the renderer knows (`Backend.loops`); ``lax.scan`` and friends come with JAX.
LOOP_STRATEGIES = ("python",)


@dataclass(frozen=True)
class Backend:
    #: The ``--backend`` option value, recorded in the generated header.
    name: str
    #: The array module the generated code imports (``import numpy as np``).
    module: str
    #: The name the module is imported as. Passes and rules write qualified names
    #: (``numpy.zeros_like``; rule text also writes ``np.``), which render through this alias.
    alias: str
    #: The backend's template folder: ``helpers.py.j2``, and ``statements.j2`` where the shared
    #: statement spellings do not fit. Looked up in `template_dirs`, then in ``dpgen/templates``.
    templates: str
    #: How an array element is updated: ``"in-place"`` (``x_bar[i] += v``, ``x_bar = x_bar.copy()``
    #: before adding into an array another adjoint may share) or ``"functional"`` (arrays are
    #: immutable: ``x_bar = x_bar.at[i].add(v)``, ``x_bar.at[i].set(0)``, and no defensive copies).
    updates: str = "in-place"
    #: How loops are rendered. ``"python"``: ``for``/``while`` loops, and a list of pullbacks the
    #: backward sweep walks in reverse (``lax.scan``/``fori_loop``/``while_loop`` come with JAX).
    loops: str = "python"
    #: In-place backends only: the function (a qualified name, called as ``f(x, index, values)``)
    #: that adds into an index that may name an element twice, where ``x[index] += values`` would
    #: add once (NumPy: ``numpy.add.at``; CuPy: ``cupyx.scatter_add``). Functional updates need
    #: none: ``x.at[index].add(values)`` adds every occurrence.
    scatter_add: str | None = None
    #: Folders searched for templates before ``dpgen/templates`` (a backend kept outside the
    #: package, such as the tests' stand-ins).
    template_dirs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A description the renderer cannot honour fails when it is made, not halfway through a module.
        if self.updates not in UPDATE_STYLES:
            raise ValueError(f"backend {self.name}: updates={self.updates!r}, not one of {UPDATE_STYLES}")
        if self.loops not in LOOP_STRATEGIES:
            raise ValueError(f"backend {self.name}: loops={self.loops!r}, not one of {LOOP_STRATEGIES}")
        if self.updates == "in-place" and self.scatter_add is None:
            raise ValueError(f"backend {self.name}: in-place updates need a scatter_add function")

    def extra_modules(self) -> tuple[str, ...]:
        """Modules besides `module` that generated code may call into (``cupyx`` for CuPy's
        scatter-add): imported by a generated module only where its text uses them."""
        root = (self.scatter_add or "").partition(".")[0]
        return (root,) if root and root not in ("numpy", self.module.partition(".")[0]) else ()

    def qualified(self, name: str) -> str:
        """How the generated code spells a qualified name: ``numpy.add.at`` -> ``np.add.at``.
        The IR names array functions by their NumPy API names; the backend's module offers
        that API under its alias (``cupy`` as ``cp``, ``jax.numpy`` as ``jnp``)."""
        root, dot, rest = name.partition(".")
        return self.alias + dot + rest if root == "numpy" else name


NUMPY = Backend(
    name="numpy", module="numpy", alias="np", templates="numpy", updates="in-place", scatter_add="numpy.add.at"
)

#: CuPy offers NumPy's API on the GPU, in place as NumPy; ``cupyx.scatter_add`` is its ``np.add.at``
#: (the generated module imports ``cupyx`` only where it adds into an index that may repeat).
#: Its helpers (templates/cupy) are NumPy's, but for the few that CuPy cannot run or would run
#: with a host round trip.
CUPY = Backend(
    name="cupy", module="cupy", alias="cp", templates="cupy", updates="in-place", scatter_add="cupyx.scatter_add"
)

#: The backends ``--backend`` offers, by name.
BACKENDS = {b.name: b for b in (NUMPY, CUPY)}


@functools.lru_cache(maxsize=None)
def environment(backend: Backend) -> jinja2.Environment:
    """The Jinja2 environment of a backend's templates: its own folders first, then dpgen's."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(list(backend.template_dirs))]
    loaders.append(jinja2.PackageLoader("dpgen", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every docstring in the templates interpolates through `|doc`: user text (file names) and
    # dpgen's own descriptions alike, so none can close the docstring early.
    env.filters["doc"] = docstring_text
    return env


def template_name(backend: Backend, name: str) -> str:
    """The backend's own ``<templates>/<name>`` if it has one, else the shared ``<name>``."""
    own = f"{backend.templates}/{name}"
    try:
        environment(backend).get_template(own)
    except jinja2.TemplateNotFound:
        return name
    return own


@functools.lru_cache(maxsize=None)
def statements(backend: Backend):
    """The backend's statement macros (``statements.j2``), as a module of callables."""
    template = environment(backend).get_template(template_name(backend, "statements.j2"))
    return template.make_module(vars={"np": backend.alias, "updates": backend.updates})


@functools.lru_cache(maxsize=None)
def helper_sources(backend: Backend, source: str = "the source") -> dict[str, tuple[str, frozenset[str]]]:
    """The backend's helpers: name -> (source text, helpers it calls), in file order. `source`,
    the differentiated file's name, is what `_check_real`'s message cites (escaped there).
    A helper is a top-level function, or a class (the checkpointing tapes, `_RevolveTape`)."""
    template = environment(backend).get_template(f"{backend.templates}/helpers.py.j2")
    text = template.render(np=backend.alias, source=source)
    tree = ast.parse(text)
    kinds = (ast.FunctionDef, ast.ClassDef)
    names = {node.name for node in tree.body if isinstance(node, kinds)}
    helpers = {}
    for node in tree.body:
        if isinstance(node, kinds):
            source = ast.get_source_segment(text, node)
            called = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names and n.id != node.name}
            helpers[node.name] = (source, frozenset(called))
    return helpers
