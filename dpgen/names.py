"""Name allocation: readable, deterministic, collision-free names for generated code.

Every generated name is derived from a source name (``h_2`` for the second binding of
``h``, ``W1_bar`` for the adjoint of ``W1``, ``loss_sub`` for the ``-`` inside the
statement that binds ``loss``) and made unique against every name the user wrote, so
a user variable called ``x_bar`` or ``f_pullback`` still works.

The other direction: generated code refers to names of its own (helpers such as
``_unbroadcast``, every module function's ``g_vjp``/``g_jvp``, builtins such as ``range``,
and ``_`` for discarded values). `reserved` lists them; a user variable so named takes a
numbered name, and a *parameter* so named (it keeps its name for keyword callers) is handled
by the renderer, which reaches the hidden function through a module-level alias.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Iterable

from dpgen.backends import BACKENDS, helper_sources

#: Names the generated module defines or imports at module level: every backend's array module
#: alias and the other modules it may import (CuPy's ``cupyx``), so a module generated for one backend
#: reads the same user names as for another, and math.
BACKEND_NAMES = frozenset(
    {backend.alias for backend in BACKENDS.values()}
    | {extra for backend in BACKENDS.values() for extra in backend.extra_modules()}
    | {"math"}
)

#: Suffixes of the module-level functions dpgen generates for a function ``f``
#: (``f_vjp``, ``f_grad``, ``f_jvp``, ``f_hvp``; ``f_jvp_vjp`` is ``f_jvp`` + ``_vjp``).
CONTRACT_SUFFIXES = ("_vjp", "_grad", "_jvp", "_hvp")

#: Builtins generated code calls itself (loops over the tape, slices, the scalar check),
#: ``_``, which it assigns values it discards, and the variables of its loops over dicts.
GENERATED_LOCALS = frozenset(
    {"_", "range", "len", "min", "reversed", "enumerate", "zip", "slice", "ValueError", "key", "value"}
)

#: The generated forms of internal functions outlined from branches and loops:
#: ``_f_line12_then_vjp``, ``_f_line3_for_2_jvp``.
_INTERNAL = re.compile(r"_\w+_line\d+_(then|else|for|while)(_\d+)?(_vjp|_jvp)+")


@functools.lru_cache(maxsize=None)
def helper_names() -> frozenset[str]:
    """The helpers any backend copies into a generated module (``_unbroadcast``, ...)."""
    return frozenset(name for backend in BACKENDS.values() for name in helper_sources(backend))


def reserved(name: str, functions: Iterable[str]) -> bool:
    """Whether generated code may refer to `name` as a module-level name (a helper, a module
    function's generated form, an internal function, a builtin, the backend module) or use it
    itself: a user variable of that name must take another name in the output."""
    return (
        name in BACKEND_NAMES
        or name in GENERATED_LOCALS
        or name in helper_names()
        or any(name == f + suffix for f in functions for suffix in CONTRACT_SUFFIXES)
        or any(name.startswith(f + "_jvp") and name[len(f) + 4 :] in CONTRACT_SUFFIXES for f in functions)
        or _INTERNAL.fullmatch(name) is not None
    )


class NameAllocator:
    """Hands out names not yet taken in one scope (a generated module or function)."""

    def __init__(self, taken: Iterable[str] = (), reserved: Callable[[str], bool] = lambda name: False):
        self.taken: set[str] = set(taken)
        self.reserved = reserved  # names generated code refers to: never handed out
        # base -> n such that base_2 ... base_{n-1} are all taken: where the search for a
        # free suffix starts, so the 10,000th rebinding of a name does not try 10,000 names.
        self._next: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        """`base` if free, else `base_2`, `base_3`, ... (never a counter alone)."""
        if base not in self.taken and not self.reserved(base):
            self.taken.add(base)
            return base
        return self.version(base)

    def version(self, name: str) -> str:
        """A new name for a rebinding of source name `name`: `h_2`, `h_3`, ..."""
        n = self._next.get(name, 2)
        while _numbered(name, n) in self.taken or self.reserved(_numbered(name, n)):
            n += 1
        self.taken.add(_numbered(name, n))
        self._next[name] = n + 1
        return _numbered(name, n)

    def discard(self, name: str) -> None:
        """Free a name again (the smallest free suffixes are handed out first, as before)."""
        self.taken.discard(name)
        base, _, suffix = name.rpartition("_")
        base = base or "_"  # `_2` numbers the user's `_`
        if suffix.isdigit() and int(suffix) < self._next.get(base, 0):
            self._next[base] = int(suffix)  # `base_<suffix>` is the smallest free one again


def _numbered(name: str, n: int) -> str:
    """`h_2` for `h`; `_2` (not `__2`) for a variable the user called `_`."""
    return f"_{n}" if name == "_" else f"{name}_{n}"
