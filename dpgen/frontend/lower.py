"""Lowering: libcst tree -> IR in A-normal form (see `dpgen.frontend.lowering`).

The lowering lives in the package `dpgen.frontend.lowering`, one module per job; this module
keeps the names the rest of dpgen and the tests use: `lower` and the syntax and rule tables.
"""

from dpgen.frontend.lowering.driver import Lowering, lower
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.tables import (
    _BINARY_SYNTAX,
    _COMPARISON_SYNTAX,
    _AUGMENTED_SYNTAX,
    BINARY_OPS,
    AUGMENTED_OPS,
    COMPARISONS,
    NEGATIVE,
    SHORT_NAMES,
    METHODS,
    VARARG_METHODS,
    ATTRIBUTES,
    CONSTANTS,
    NONDIFFERENTIABLE_ANNOTATIONS,
    OPERATORS,
    REFUSED_CALLS,
    VIEWS,
    ROW,
    RETURN,
    BREAK,
    SPECIAL,
    COPY_BUDGET,
)

__all__ = [
    "Lowering",
    "Scope",
    "lower",
    "_BINARY_SYNTAX",
    "_COMPARISON_SYNTAX",
    "_AUGMENTED_SYNTAX",
    "BINARY_OPS",
    "AUGMENTED_OPS",
    "COMPARISONS",
    "NEGATIVE",
    "SHORT_NAMES",
    "METHODS",
    "VARARG_METHODS",
    "ATTRIBUTES",
    "CONSTANTS",
    "NONDIFFERENTIABLE_ANNOTATIONS",
    "OPERATORS",
    "REFUSED_CALLS",
    "VIEWS",
    "ROW",
    "RETURN",
    "BREAK",
    "SPECIAL",
    "COPY_BUDGET",
]
