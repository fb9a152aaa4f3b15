"""Backends: what the generated code imports and how it spells array operations.

A backend is data, not code: the passes never ask which backend they serve; the
renderer reads this description and the backend's template folder. NumPy is the only
backend today; CuPy and JAX add a `Backend` and a folder (JAX sets
``in_place_updates=False``, so index scatters render as ``.at[index].add(value)``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    name: str  #: the ``--backend`` option value
    module: str  #: the array module the generated code imports
    alias: str  #: the name it is imported as; rule templates write ``np`` for it
    templates: str  #: folder under ``dpgen/templates`` with module.py.j2 and helpers.py.j2
    in_place_updates: bool  #: arrays support ``x[i] += v`` (False for JAX)


NUMPY = Backend(name="numpy", module="numpy", alias="np", templates="numpy", in_place_updates=True)

BACKENDS = {b.name: b for b in (NUMPY,)}
