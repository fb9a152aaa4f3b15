"""Shared test harness: generate code in memory, load it, compare with finite differences.

Every numerical test goes through the real pipeline (source text in, generated module
out), so a rule is only ever tested the way users meet it.
"""

from __future__ import annotations

import copy
import textwrap
import types

import numpy as np

from dpgen.header import Options
from dpgen.pipeline import generate
from dpgen.frontend.source import Source


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


def central_difference(f, args: list, i: int, cotangent, eps: float = 1e-6) -> np.ndarray | float:
    """<cotangent, df/d args[i]> by central differences in float64, element by element."""
    x = np.asarray(args[i], dtype=float)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        for sign in (+1, -1):
            shifted = x.copy()
            shifted[idx] += sign * eps
            trial = fresh(args)
            trial[i] = shifted if np.ndim(args[i]) else float(shifted)
            grad[idx] += sign * np.sum(np.asarray(cotangent) * np.asarray(f(*trial)))
    grad /= 2 * eps
    return grad if np.ndim(args[i]) else float(grad)


def check_vjp(primal, vjp, args: list, rng: np.random.Generator, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Check every non-None cotangent of `vjp` against central differences of `primal`."""
    before = fresh(args)
    out, pullback = vjp(*args)
    for arg, kept in zip(args, before):
        np.testing.assert_array_equal(arg, kept, err_msg="the generated vjp mutated an argument")
    np.testing.assert_allclose(out, primal(*fresh(args)), rtol=1e-12, atol=1e-12)
    cotangent = rng.normal(size=np.shape(out)) if np.ndim(out) else 1.0
    cotangents = pullback(cotangent)
    assert len(cotangents) == len(args)
    for i, got in enumerate(cotangents):
        if got is None:
            continue
        expected = central_difference(primal, args, i, cotangent)
        assert np.shape(got) == np.shape(args[i]), f"cotangent {i}: shape {np.shape(got)} != {np.shape(args[i])}"
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"cotangent of argument {i}")
