"""Backends are descriptions: a backend that differs from NumPy only in its `Backend` and its
template folder generates working code.

The `xp` backend exists only here. It imports the stand-in module `xp_standin` (NumPy whose
arrays are read-only and have JAX's ``.at[index].add/.set``) as ``xp``, updates arrays
functionally, and its template folder (tests/backend_templates/xp) holds one file that
includes NumPy's helpers. Every golden case runs through it, in every mode, and must give
the NumPy backend's values; the read-only arrays make any in-place update left over fail.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest

from support import xp_standin
from support import load
from support import assert_close as _assert_close
from support import random_tangent
from support.golden import CASES, GOLDEN, HVP_CASES, golden_inputs
from dpgen.backends import BACKENDS, NUMPY, Backend
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.pipeline import generate

XP = Backend(
    name="xp",
    module="support.xp_standin",
    alias="xp",
    templates="xp",
    updates="functional",
    template_dirs=(str(Path(__file__).parent / "backend_templates"),),
)


def assert_close(got, expected, rtol, atol, what):
    """`test_forward.assert_close` on plain arrays, where None (no cotangent) matches None."""
    got = xp_standin.unwrap(got)
    if isinstance(expected, (list, tuple)) and any(e is None for e in expected):
        assert [g is None for g in got] == [e is None for e in expected], what
        got = type(got)(g for g in got if g is not None)
        expected = type(expected)(e for e in expected if e is not None)
    _assert_close(got, expected, rtol, atol, what)


@pytest.fixture
def xp_backend(monkeypatch):
    monkeypatch.setitem(BACKENDS, XP.name, XP)
    return XP


def _generate(case: str, mode: str, backend: str) -> str:
    source = (GOLDEN / case / "model.py").read_text(encoding="utf-8")
    return generate(Source("model.py", source), Options(mode=mode, backend=backend)).text


def _functions(text: str) -> str:
    """The generated functions' code, without comments (which cite the source) and without
    the helpers copied after them."""
    return re.sub(r"#.*", "", text.split("# Helpers used by")[0])


@pytest.mark.parametrize("case", CASES)
def test_functional_backend_matches_numpy(case, xp_backend):
    """Values, cotangents and tangents of every golden function, xp against NumPy."""
    modes = "reverse,forward,hvp" if case in HVP_CASES else "reverse,forward"
    text = _generate(case, modes, "xp")
    body = _functions(text)
    assert "import support.xp_standin as xp" in text and not re.search(r"\bnp\.", body)
    assert not re.search(r"\] \+= |\.copy\(\)|\.add\.at\(", body), "an in-place spelling in a functional backend"
    ours, theirs = load(text), load(_generate(case, modes, "numpy"))
    rng = np.random.default_rng(7)
    for name, args in golden_inputs(case)(rng).items():
        out, pullback = theirs.__dict__[f"{name}_vjp"](*copy.deepcopy(args))
        got_out, got_pullback = ours.__dict__[f"{name}_vjp"](*xp_standin.wrap(copy.deepcopy(args)))
        assert_close(got_out, out, 1e-12, 1e-12, f"{case}.{name}: value")
        seed = random_tangent(out, rng) if not isinstance(out, (bool, np.bool_)) else None
        if seed is not None:
            expected = pullback(copy.deepcopy(seed))
            assert_close(got_pullback(xp_standin.wrap(seed)), expected, 1e-12, 1e-12, f"{case}.{name}: cotangents")
        tangents = [random_tangent(a, rng) for a in args]
        expected = theirs.__dict__[f"{name}_jvp"](*copy.deepcopy(args), *copy.deepcopy(tangents))
        got = ours.__dict__[f"{name}_jvp"](*xp_standin.wrap(copy.deepcopy(args)), *xp_standin.wrap(tangents))
        assert_close(got, expected, 1e-12, 1e-12, f"{case}.{name}: tangents")
        if case in HVP_CASES and np.ndim(out) == 0:
            expected = theirs.__dict__[f"{name}_hvp"](*copy.deepcopy(args), *copy.deepcopy(tangents))
            got = ours.__dict__[f"{name}_hvp"](*xp_standin.wrap(copy.deepcopy(args)), *xp_standin.wrap(tangents))
            assert_close(got, expected, 1e-12, 1e-12, f"{case}.{name}: Hessian-vector product")


def test_functional_spellings(xp_backend):
    """The statement shapes the indexing golden needs, spelled with ``.at[]``."""
    body = _functions(_generate("indexing", "reverse,forward", "xp"))
    assert ".at[" in body and ".add(" in body


def test_backend_description_is_checked():
    with pytest.raises(ValueError, match="updates"):
        Backend(name="b", module="b", alias="b", templates="b", updates="sometimes")
    with pytest.raises(ValueError, match="loops"):
        Backend(name="b", module="b", alias="b", templates="b", loops="lax.scan")
    with pytest.raises(ValueError, match="scatter_add"):
        Backend(name="b", module="b", alias="b", templates="b", updates="in-place")


def test_qualified_names_go_through_the_alias():
    assert NUMPY.qualified("numpy.add.at") == "np.add.at"
    assert XP.qualified("numpy.zeros_like") == "xp.zeros_like"
    assert XP.qualified("math.pi") == "math.pi"
