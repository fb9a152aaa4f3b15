"""dpgen's own output given back as input: recognizing the helpers it copied into it.

A generated module ends with helper functions (``_unbroadcast``, ``_zero_tangent``, ...)
that no rule describes by their Python, but that dpgen knows as primitives: each has an
entry in the rule table (`dpgen.rules.helpers`). A helper counts as dpgen's only when
the module carries dpgen's header and the function is the backend's helper unchanged
(compared as syntax trees, so reformatting does not matter); an edited one is user code.
"""

from __future__ import annotations

import ast

import libcst as cst

from dpgen.backends import BACKENDS, helper_sources
from dpgen.header import read_header
from dpgen.frontend.source import Parsed


def own_helpers(parsed: Parsed) -> frozenset[str]:
    """Names of the module-level functions (and classes) that are dpgen's unedited helpers."""
    header = read_header(parsed.source.text)
    if header is None:
        return frozenset()
    backend = BACKENDS.get(header.options.backend)
    if backend is None:
        return frozenset()
    known = {name: ast.dump(ast.parse(text)) for name, (text, _) in helper_sources(backend, header.source).items()}
    found = set()
    for stmt in parsed.module.body:
        # Most helpers are functions; the checkpointing tapes (`_RevolveTape`) are classes.
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value in known:
            text = cst.Module(body=[stmt]).code
            if ast.dump(ast.parse(text)) == known[stmt.name.value]:
                found.add(stmt.name.value)
    return frozenset(found)
