"""Second derivatives: `--mode hvp`, and dpgen differentiating its own forward-mode output.

Hessians with closed forms (a quadratic, a logistic loss, a scalar function) are checked
exactly; programs with control flow are checked against central differences of the
generated gradient, and for symmetry ``<u, H v> == <v, H u>``.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dpgen.header import Options
from support import check_hvp, generated_text, inner, load
from support import flow_cases as flow

BOTH = Options(mode="reverse,hvp")


def _hessian(hvp, x, *rest):
    """The full Hessian of a function of a vector `x`, one H·e_i column at a time."""
    columns = [hvp(x, *rest, e, *([None] * len(rest))) for e in np.eye(len(x))]
    return np.stack([c[0] if isinstance(c, tuple) else c for c in columns], axis=1)


def test_hessian_of_a_quadratic_is_exact():
    source = """
    import numpy as np

    def f(x, A, b):
        return 0.5 * x @ A @ x + b @ x
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    rng = np.random.default_rng(0)
    A, b, x = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(_hessian(generated.f_hvp, x, A, b), (A + A.T) / 2, rtol=1e-12, atol=1e-12)


def test_hessian_of_a_logistic_loss_matches_the_closed_form():
    source = """
    import numpy as np

    def loss(w, X, y):
        z = y * (X @ w)
        return np.mean(np.log1p(np.exp(-z)))
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(20, 3)), rng.normal(size=3)
    y = np.where(rng.normal(size=20) > 0, 1.0, -1.0)
    s = 1 / (1 + np.exp(-y * (X @ w)))
    expected = X.T @ (X * (s * (1 - s))[:, None]) / len(y)
    got = np.stack([generated.loss_hvp(w, X, y, e, None, None)[0] for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_second_derivative_of_a_scalar_function():
    source = """
    import math

    def f(x: float):
        return math.sin(x) * x**3
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    for x in (-1.3, 0.4, 2.0):
        expected = -math.sin(x) * x**3 + 6 * x**2 * math.cos(x) + 6 * x * math.sin(x)
        assert generated.f_hvp(x, 1.0) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- control flow

# Every fourth construct (with scalar outputs): loops, branches, while, mutation, dicts.
SCALAR_CASES = [c for c in flow.CASES[::4]]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in SCALAR_CASES])
def test_hvp_matches_gradient_differences_and_is_symmetric(case):
    # Every construct forward and reverse mode take, HVP takes too (calls returning tuples
    # included): the passes compose in the IR, so no construct is lost in a round trip.
    source = flow.HEADER + textwrap.dedent(case.source)
    generated = load(generated_text(source, options=BOTH))
    rng = np.random.default_rng(11)
    for args in case.args(rng):
        vjp = getattr(generated, f"{case.entry}_vjp")
        out, _ = vjp(*args)
        if np.ndim(out) != 0 or isinstance(out, tuple):
            continue
        check_hvp(getattr(generated, f"{case.entry}_hvp"), vjp, args, rng)


def _check_entry(generated, entry: str, args: list, rng, **tolerances) -> None:
    """`entry_hvp` with the one checker (support.check_hvp), for a real-scalar entry."""
    check_hvp(getattr(generated, f"{entry}_hvp"), getattr(generated, f"{entry}_vjp"), args, rng, **tolerances)


# ------------------------------------------------- through tuples, det; citations and size

ROOT = Path(__file__).resolve().parent.parent


def test_hvp_through_calls_returning_tuples_the_ode_benchmark():
    """The `ode` workload: RK4 steps call `field` and `rk4_step`, which return pairs of floats."""
    source = (ROOT / "benchmarks" / "workloads" / "ode" / "model.py").read_text()
    generated = load(generated_text(source, options=BOTH))
    rng = np.random.default_rng(3)
    for steps in (1, 7):
        params = [float(p) for p in np.array([1.1, 0.4, 0.4, 0.1]) * (1 + 0.1 * rng.normal(size=4))]
        _check_entry(generated, "loss", [*params, steps], rng, rtol=1e-5, atol=1e-8)


def test_hvp_with_a_dict_of_parameters_passed_to_two_calls():
    """The tangent dict of `p` is passed to both calls of `layer` only through `_default_tangent`
    (never read with a key in `f_jvp`): its adjoint is still a dict, accumulated key by key (it
    was `dp_bar + dp_bar_part`, a TypeError at run time)."""
    source = """
    import numpy as np

    def layer(y, p):
        return np.tanh(p["W"] @ y + p["b"])

    def f(y, p):
        return np.sum(layer(layer(y, p), p) ** 2)
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    rng = np.random.default_rng(8)
    _check_entry(generated, "f", [rng.normal(size=3), {"W": rng.normal(size=(3, 3)), "b": rng.normal(size=3)}], rng)


def test_hvp_through_det():
    """det's forward rule writes ``np.trace(..., axis1=-2, axis2=-1)``, which reverse mode now takes."""
    source = """
    import numpy as np

    def f(A, B):
        return np.linalg.det(A @ B) + np.sum(np.linalg.det(np.stack([A, B])) ** 2)
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    rng = np.random.default_rng(4)
    for _ in range(3):
        A, B = (np.eye(3) + 0.3 * rng.normal(size=(3, 3)) for _ in range(2))
        _check_entry(generated, "f", [A, B], rng)


def test_hvp_through_module_functions_called_in_tests():
    """A call in an ``if``/``while`` test is evaluated through the callee's jvp, value only."""
    source = """
    import numpy as np

    def g(x):
        return np.sum(x**2)

    def f(x):
        y = x
        k = 0
        while g(y) > 0.5 and k < 10:
            y = y * 0.9 + np.sin(y) * 0.01
            k = k + 1
        if g(x) > 1.0:
            y = y * 2.0
        return np.sum(y**3)
    """
    generated = load(generated_text(textwrap.dedent(source), options=BOTH))
    rng = np.random.default_rng(6)
    for scale in (0.2, 1.0):
        _check_entry(generated, "f", [scale * rng.normal(size=4)], rng)


def test_hvp_cites_the_users_lines_and_stays_small():
    """Comments cite model.py (never a model_jvp.py that does not exist), and an HVP module is
    at most 3x the gradient module (it was 4-6x when the forward output was read back as text)."""
    folders = [ROOT / "examples" / "mlp"] + sorted(
        p for p in (ROOT / "benchmarks" / "workloads").iterdir() if (p / "model.py").exists()
    )
    for folder in folders:
        source = (folder / "model.py").read_text()
        hessian = generated_text(source, options=Options(mode="hvp"))
        gradient = generated_text(source)
        assert "model_jvp" not in hessian
        cited = {int(line) for line in re.findall(r"# model\.py:(\d+):", hessian)}
        lines = source.splitlines()
        assert cited and all(lines[n - 1].strip() for n in cited), folder.name
        ratio = len(hessian.splitlines()) / len(gradient.splitlines())
        assert ratio <= 3, f"{folder.name}: the HVP module is {ratio:.1f}x the gradient module"


# ------------------------------------------------------- dpgen on its own output

MODEL = """
import numpy as np


def f(x, W):
    h = x
    for _ in range(3):
        h = np.tanh(h @ W)
        if np.sum(h) > 0:
            h = h * 1.5
    return np.sum(h**2) + np.max(h) + np.var(h)
"""


def _dpgen(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "dpgen", *args], cwd=cwd, check=True, capture_output=True, text=True)


def test_generated_forward_mode_is_differentiated_again(tmp_path):
    """`dpgen diff` reads its own --mode forward output: reverse over forward and forward
    over forward agree with --mode hvp."""
    (tmp_path / "model.py").write_text(MODEL)
    _dpgen("diff", "model.py", "--mode", "forward", "-o", "model_jvp.py", cwd=tmp_path)
    _dpgen("diff", "model_jvp.py", "-o", "model_jvp_grad.py", cwd=tmp_path)
    _dpgen("diff", "model_jvp.py", "--mode", "forward", "-o", "model_jvp_jvp.py", cwd=tmp_path)
    _dpgen("check", "model_jvp_grad.py", "model_jvp_jvp.py", cwd=tmp_path)
    twice_reverse = load((tmp_path / "model_jvp_grad.py").read_text())
    twice_forward = load((tmp_path / "model_jvp_jvp.py").read_text())
    hessian = load(generated_text(MODEL, options=BOTH))
    rng = np.random.default_rng(5)
    x, W = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.6
    v = [rng.normal(size=(2, 3)), rng.normal(size=(3, 3))]
    u = [rng.normal(size=(2, 3)), rng.normal(size=(3, 3))]
    hv = hessian.f_hvp(x, W, *v)
    # Reverse over forward by hand: the gradient of the tangent output, seeded (0, 1).
    (_, _), pullback = twice_reverse.f_jvp_vjp(x, W, *v)
    by_hand = pullback((0.0, 1.0))[:2]
    for got, expected in zip(by_hand, hv):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # Forward over forward: the tangent of the tangent along u is <u, H v>.
    (_, _), (_, second) = twice_forward.f_jvp_jvp(x, W, *v, *u, None, None)
    assert second == pytest.approx(inner(u, list(hv)), rel=1e-10)


def test_reverse_mode_output_is_refused_with_a_pointer_to_forward_mode(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    _dpgen("diff", "model.py", "-o", "model_grad.py", cwd=tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dpgen", "diff", "model_grad.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 4
    # Located at the first closure, saying what is missing and what works instead.
    lines = (tmp_path / "model_grad.py").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.startswith("    def f_pullback("))
    assert f"model_grad.py:{line}:5: error: this is dpgen's reverse-mode output" in result.stderr
    assert "its pullback 'f_pullback' is a closure (a function defined inside 'f_vjp'" in result.stderr
    assert "reverse over reverse is not available yet" in result.stderr
    assert "--mode hvp on model.py" in result.stderr
    assert "--mode forward output" in result.stderr
