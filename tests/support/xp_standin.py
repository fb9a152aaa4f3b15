"""A stand-in array module for the tests' functional-update backend: NumPy, immutable in spirit.

It offers NumPy's API, but every array it returns is an `AtArray`, which has JAX's functional
updates: ``x.at[index].add(v)`` and ``x.at[index].set(v)`` return a new array and leave ``x``
as it was, and Python code cannot update an array in place. Code generated for the `xp` test backend (tests/test_backends.py) imports it as
``xp``; it never updates an array in place, so this module lets the tests run that code and
compare its values with the NumPy backend's without installing JAX.
"""

from __future__ import annotations

import types

import numpy as _np


class AtArray(_np.ndarray):
    """An ndarray with ``.at`` and no in-place updates from Python code; NumPy keeps the
    subclass through arithmetic and indexing. As JAX's arrays are immutable, an in-place
    update the functional spelling left behind (``x[i] += v``, ``x += v``) raises instead of
    passing unnoticed. (NumPy's own C code, which writes into arrays it has just made, is
    not affected: it never calls these methods.)"""

    @property
    def at(self) -> "_At":
        return _At(self)

    def _immutable(self, *args):
        raise TypeError("an in-place update of an immutable array: use .at[index].add/.set")

    __setitem__ = __iadd__ = __isub__ = __imul__ = __itruediv__ = __ipow__ = __imatmul__ = _immutable


class _At:
    def __init__(self, array: AtArray):
        self.array = array

    def __getitem__(self, index) -> "_Update":
        return _Update(self.array, index)


class _Update:
    def __init__(self, array: AtArray, index):
        self.array, self.index = array, index

    def add(self, value) -> AtArray:
        # As in JAX, an index that names an element twice adds twice (np.add.at, unbuffered).
        out = _np.array(self.array, copy=True)  # a plain, writable copy
        _np.add.at(out, self.index, value)
        return out.view(AtArray)

    def set(self, value) -> AtArray:
        out = _np.array(self.array, copy=True)
        out[self.index] = value
        return out.view(AtArray)


def wrap(value):
    """`value` with every plain ndarray in it viewed as an `AtArray` (lists, tuples, dicts too)."""
    if type(value) is _np.ndarray:
        return value.view(AtArray)
    if isinstance(value, dict):
        return {k: wrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(wrap(v) for v in value)
    return value


def unwrap(value):
    """`value` with every `AtArray` in it as a plain (writable) ndarray, for comparisons."""
    if isinstance(value, AtArray):
        return _np.array(value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v) for v in value)
    return value


class _Function:
    """A NumPy function (or ufunc) whose array results are `AtArray`s; attributes pass through."""

    def __init__(self, function):
        self._function = function

    def __call__(self, *args, **kwargs):
        return wrap(self._function(*args, **kwargs))

    def __getattr__(self, name):
        return _lookup(getattr(self._function, name))


class _Namespace:
    """A NumPy submodule (``xp.linalg``) whose functions return `AtArray`s."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _lookup(getattr(self._module, name))


def _lookup(value):
    if isinstance(value, types.ModuleType):
        return _Namespace(value)
    if callable(value) and not isinstance(value, type):
        return _Function(value)
    return value  # types (ndarray, float64), constants (pi, newaxis)


def __getattr__(name: str):
    return _lookup(getattr(_np, name))
