"""Name allocation: readable, deterministic, collision-free names for generated code.

Every generated name is derived from a source name (``h_2`` for the second binding of
``h``, ``W1_bar`` for the adjoint of ``W1``, ``loss_sub`` for the ``-`` inside the
statement that binds ``loss``) and made unique against every name the user wrote, so
a user variable called ``x_bar`` or ``f_pullback`` still works.
"""

from __future__ import annotations

from typing import Iterable

#: Names the generated module defines or imports at module level.
BACKEND_NAMES = frozenset({"np", "math"})


class NameAllocator:
    """Hands out names not yet taken in one scope (a generated module or function)."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken: set[str] = set(taken)
        # base -> n such that base_2 ... base_{n-1} are all taken: where the search for a
        # free suffix starts, so the 10,000th rebinding of a name does not try 10,000 names.
        self._next: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        """`base` if free, else `base_2`, `base_3`, ... (never a counter alone)."""
        if base not in self.taken:
            self.taken.add(base)
            return base
        return self.version(base)

    def version(self, name: str) -> str:
        """A new name for a rebinding of source name `name`: `h_2`, `h_3`, ..."""
        n = self._next.get(name, 2)
        while f"{name}_{n}" in self.taken:
            n += 1
        self.taken.add(f"{name}_{n}")
        self._next[name] = n + 1
        return f"{name}_{n}"

    def discard(self, name: str) -> None:
        """Free a name again (the smallest free suffixes are handed out first, as before)."""
        self.taken.discard(name)
        base, _, suffix = name.rpartition("_")
        if suffix.isdigit() and int(suffix) < self._next.get(base, 0):
            self._next[base] = int(suffix)  # `base_<suffix>` is the smallest free one again
