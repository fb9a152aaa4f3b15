"""The CuPy backend (``--backend cupy``), tested without a GPU, and with one where there is one.

There is no GPU on the machines that run these tests, so:
- (a) every golden case's CuPy output is checked as text: it imports ``cupy as cp`` (and
  ``cupyx`` exactly where it adds into an index that may repeat), no NumPy is left in its
  code, it scatter-adds where the NumPy output calls ``np.add.at``, and it is black-formatted;
- (b) it runs against a stand-in that maps ``cupy``/``cupyx`` onto NumPy (put in sys.modules
  for the test only) and must give the NumPy backend's values, cotangents and tangents. The
  stand-in also refuses what CuPy refuses and NumPy allows (a Python list of numbers where an
  array is expected; ``count_nonzero(..., keepdims=)``), so helpers that NumPy alone would
  let pass are caught;
- (c) a test marked ``gpu`` runs the real CuPy when it imports and has a device (skipped here).
"""

from __future__ import annotations

import copy
import io
import re
import sys
import tokenize
import types

import black
import numpy as np
import pytest
from click.testing import CliRunner

from support import load
from support import assert_close as _assert_close
from support import random_tangent
from support.golden import CASES, GOLDEN, HVP_CASES, golden_inputs
from support.rule_cases import CASES as RULE_CASES
from support.rule_cases import XFAIL, case_args, case_rng
from support.generate import generated_text
from dpgen.cli import main
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.pipeline import generate

#: Functions that take a shape or a Python sequence of numbers in CuPy too (``cupy.ndim`` and
#: ``cupy.result_type`` fall back to NumPy's for host values).
_TAKE_LISTS = {"zeros", "ones", "empty", "full", "array", "asarray", "eye", "arange", "ndim", "result_type"}


def _generate(case: str, mode: str, backend: str) -> str:
    source = (GOLDEN / case / "model.py").read_text(encoding="utf-8")
    return generate(Source("model.py", source), Options(mode=mode, backend=backend)).text


def _modes(case: str) -> str:
    return "reverse,forward,hvp" if case in HVP_CASES else "reverse,forward"


def _code(text: str) -> str:
    """The generated code without comments and strings (which cite the NumPy source, as do
    the error messages naming ``np.linalg.norm``): its names and operators, one line each."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    lines: dict[int, list[str]] = {}
    for token in tokens:
        if token.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
            lines.setdefault(token.start[0], []).append(token.string)
    return "\n".join("".join(line) for line in lines.values())


# ------------------------------------------------------------------ (a) the text


@pytest.mark.parametrize("case", CASES)
def test_cupy_text(case):
    text = _generate(case, _modes(case), "cupy")
    numpy_text = _generate(case, _modes(case), "numpy")
    code = _code(text)
    assert "import cupy as cp\n" in text
    assert not re.search(r"\bnp\.|\bnumpy\b", code), "NumPy left in the CuPy output"
    scatters = len(re.findall(r"\bnp\.add\.at\(", _code(numpy_text)))
    assert len(re.findall(r"\bcupyx\.scatter_add\(", code)) == scatters
    assert ("import cupyx\n" in text) == (scatters > 0), "cupyx is imported exactly where it is used"
    assert "--backend cupy" in text.splitlines()[1], "the header records the backend"
    assert black.format_str(text, mode=black.Mode()) == text
    # The backend changes only the spelling of the functions (the helpers have CuPy versions):
    # as many lines, with np. as cp. and np.add.at as cupyx.scatter_add.
    functions, numpy_functions = (t.split("# Helpers used by")[0] for t in (text, numpy_text))
    assert len(functions.splitlines()) - text.count("import cupyx\n") == len(numpy_functions.splitlines())


def test_scatter_add_is_cupyx():
    code = _code(_generate("indexing", "reverse", "cupy"))
    assert "cupyx.scatter_add(x_bar,idx,picked_bar)" in code


# ---------------------------------------------------- (b) against a NumPy stand-in


class _StrictFunction:
    """A NumPy function that, as CuPy's does, refuses a Python list of numbers for its array."""

    def __init__(self, name, function):
        self._name, self._function = name, function

    def __call__(self, *args, **kwargs):
        first = args[0] if args else None
        if isinstance(first, list) and not all(isinstance(v, np.ndarray) for v in first):
            raise TypeError(f"cupy.{self._name}: unsupported type list (the stand-in mimics CuPy)")
        return self._function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._function, name)


def _count_nonzero(a, axis=None):
    """CuPy's signature: no keepdims."""
    return np.count_nonzero(a, axis=axis)


def _standin_cupy() -> types.ModuleType:
    module = types.ModuleType("cupy")

    def lookup(name):
        if name == "count_nonzero":
            return _count_nonzero
        value = getattr(np, name)
        if callable(value) and not isinstance(value, type) and name not in _TAKE_LISTS:
            return _StrictFunction(name, value)
        return value

    module.__getattr__ = lookup
    return module


@pytest.fixture
def standin(monkeypatch):
    """``cupy`` and ``cupyx`` in sys.modules for this test only, mapped onto NumPy."""
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = np.add.at
    monkeypatch.setitem(sys.modules, "cupy", _standin_cupy())
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)


def assert_close(got, expected, what):
    if isinstance(expected, (list, tuple)) and any(e is None for e in expected):
        assert [g is None for g in got] == [e is None for e in expected], what
        got = type(got)(g for g in got if g is not None)
        expected = type(expected)(e for e in expected if e is not None)
    _assert_close(got, expected, 1e-12, 1e-12, what)


def _compare(ours, theirs, case, args, rng, xp=np):
    """Values, cotangents, tangents (and HVPs) of each golden function, CuPy against NumPy.
    `xp` moves arguments to the device and back (NumPy for the stand-in, CuPy on a GPU)."""
    to_device = lambda v: _map(v, xp.asarray)  # noqa: E731
    to_host = lambda v: _map(v, lambda a: a.get() if hasattr(a, "get") else a)  # noqa: E731
    for name, args in args.items():
        out, pullback = theirs.__dict__[f"{name}_vjp"](*copy.deepcopy(args))
        got_out, got_pullback = ours.__dict__[f"{name}_vjp"](*to_device(copy.deepcopy(args)))
        assert_close(to_host(got_out), out, f"{case}.{name}: value")
        if not isinstance(out, (bool, np.bool_)):
            seed = random_tangent(out, rng)
            expected = pullback(copy.deepcopy(seed))
            assert_close(to_host(got_pullback(to_device(seed))), expected, f"{case}.{name}: cotangents")
        tangents = [random_tangent(a, rng) for a in args]
        expected = theirs.__dict__[f"{name}_jvp"](*copy.deepcopy(args), *copy.deepcopy(tangents))
        got = ours.__dict__[f"{name}_jvp"](*to_device(copy.deepcopy(args)), *to_device(tangents))
        assert_close(to_host(got), expected, f"{case}.{name}: tangents")
        if case in HVP_CASES and np.ndim(out) == 0:
            expected = theirs.__dict__[f"{name}_hvp"](*copy.deepcopy(args), *copy.deepcopy(tangents))
            got = ours.__dict__[f"{name}_hvp"](*to_device(copy.deepcopy(args)), *to_device(tangents))
            assert_close(to_host(got), expected, f"{case}.{name}: Hessian-vector product")


def _map(value, f):
    """`f` applied to every array in `value` (lists, tuples and dicts too); scalars stay."""
    if isinstance(value, dict):
        return {k: _map(v, f) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, f) for v in value)
    return f(value) if hasattr(value, "shape") and not isinstance(value, np.generic) else value


@pytest.mark.parametrize("case", CASES)
def test_cupy_output_runs_on_the_standin(case, standin):
    ours = load(_generate(case, _modes(case), "cupy"))
    theirs = load(_generate(case, _modes(case), "numpy"))
    rng = np.random.default_rng(7)
    _compare(ours, theirs, case, golden_inputs(case)(rng), rng)


@pytest.mark.parametrize("case", [c for c in RULE_CASES if c.id not in XFAIL], ids=lambda c: c.id)
def test_every_rule_on_the_standin(case, standin):
    """Every row of the rule table, CuPy against NumPy: the helpers the goldens never call
    (`_split_like`, `_var_vjp`, ...) run here."""
    ours = load(generated_text(case.source, options=Options(mode="reverse,forward", backend="cupy")))
    theirs = load(generated_text(case.source, options=Options(mode="reverse,forward")))
    rng = case_rng(case)
    _compare(ours, theirs, case.id, {"f": case_args(case, rng)}, rng)


def test_standin_refuses_what_cupy_refuses(standin):
    """The stand-in is stricter than NumPy where CuPy is: else (b) would prove less."""
    cp = sys.modules["cupy"]
    with pytest.raises(TypeError):
        cp.cumsum([1, 2, 3])
    with pytest.raises(TypeError):
        cp.count_nonzero(np.ones(3), axis=0, keepdims=True)


# ------------------------------------------------------------------- the CLI


def test_check_regenerates_with_the_backend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text((GOLDEN / "indexing" / "model.py").read_text(encoding="utf-8"))
    runner = CliRunner()
    result = runner.invoke(main, ["diff", "model.py", "--backend", "cupy", "-o", "g.py"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "g.py").read_text(encoding="utf-8")
    assert "--backend cupy" in text.splitlines()[1] and "import cupy as cp" in text
    result = runner.invoke(main, ["check", "g.py"])
    assert (result.exit_code, result.output) == (0, ""), "check regenerates with --backend cupy"
    # A NumPy module under the CuPy header is stale: check does not fall back to NumPy.
    numpy_text = runner.invoke(main, ["diff", "model.py"]).stdout
    (tmp_path / "g.py").write_text(numpy_text.replace(numpy_text.splitlines()[1], text.splitlines()[1], 1))
    assert runner.invoke(main, ["check", "g.py"]).exit_code != 0


# ---------------------------------------------------------------- (c) a real GPU


def _cupy_with_a_device():
    try:
        import cupy
    except Exception:  # not installed, or installed without its CUDA libraries
        return None
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # no driver, no device
        return None


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES)
def test_cupy_on_a_gpu(case):
    cupy = _cupy_with_a_device()
    if cupy is None:
        pytest.skip("CuPy with a CUDA device is not available here")
    ours = load(_generate(case, _modes(case), "cupy"))
    theirs = load(_generate(case, _modes(case), "numpy"))
    rng = np.random.default_rng(7)
    _compare(ours, theirs, case, golden_inputs(case)(rng), rng, xp=cupy)


def test_cupyx_is_reserved_as_a_user_name(standin):
    """A user variable named ``cupyx`` would hide the module the scatter-add calls: it is renamed."""
    source = "import numpy as np\n\n\ndef f(x, idx):\n    cupyx = x[idx]\n    return np.sum(cupyx * cupyx)\n"
    text = generated_text(source, options=Options(mode="reverse", backend="cupy"))
    assert "cupyx.scatter_add(" in text and not re.search(r"^\s*cupyx = ", text, re.M)
    x, idx = np.arange(4.0), np.array([0, 2, 2])
    np.testing.assert_array_equal(load(text).f_grad(x, idx), [0.0, 0.0, 8.0, 0.0])  # idx names 2 twice
