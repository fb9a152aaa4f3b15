"""The committed examples: their generated files are current, and they run."""

import importlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import check_vjp

from dpgen.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_mlp_generated_file_is_current():
    result = CliRunner().invoke(
        main, ["check", str(EXAMPLES / "mlp" / "model.py"), str(EXAMPLES / "mlp" / "model_grad.py")]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_mlp_training_reduces_the_loss(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES / "mlp"))
    for name in ("model", "model_grad", "train"):
        sys.modules.pop(name, None)
    train = importlib.import_module("train")
    final = train.main(steps=200)
    first = float(capsys.readouterr().out.splitlines()[0].split()[-1])
    assert final < 0.1 * first


# The filter-fit example: complex intermediates between real parameters and a real loss, complex
# parameters (a pole and its residue), and the complex derivative of a holomorphic function.

FILTER_FIT = EXAMPLES / "filter_fit"


@pytest.fixture
def filter_fit(monkeypatch):
    """The example's model, model_grad and train modules, imported afresh from its folder."""
    monkeypatch.syspath_prepend(str(FILTER_FIT))
    for name in ("model", "model_grad", "train"):
        sys.modules.pop(name, None)
    return types.SimpleNamespace(**{name: importlib.import_module(name) for name in ("model", "model_grad", "train")})


def test_filter_fit_generated_file_is_current():
    result = CliRunner().invoke(main, ["check", str(FILTER_FIT / "model.py"), str(FILTER_FIT / "model_grad.py")])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def _over_parts(function, complex_positions):
    """`function` over real arguments: each complex parameter (scalar or array) passed as its real
    and imaginary parts. Applied to a vjp, its pullback splits each complex cotangent the same way:
    by dpgen's convention a complex cotangent is dL/dx + i dL/dy, so its parts are the cotangents
    of the parts, and central differences of `function` check them one real number at a time."""

    def joined(args):
        args, out = list(args), []
        while args:
            out.append(args.pop(0) + 1j * args.pop(0) if len(out) in complex_positions else args.pop(0))
        return out

    def split(cotangents):
        out = []
        for i, c in enumerate(cotangents):
            out += [np.real(c), np.imag(c)] if i in complex_positions else [c]
        return tuple(out)

    def over_parts(*args):
        result = function(*joined(args))
        if isinstance(result, tuple):  # a vjp: (value, pullback)
            value, pullback = result
            return value, lambda g: split(pullback(g))
        return result

    return over_parts


def test_filter_fit_gradients_match_central_differences(filter_fit):
    """loss (real parameters) and pole_loss (complex r and p), every cotangent against central
    differences along real and imaginary parts separately; real parameters get real cotangents."""
    rng = np.random.default_rng(11)
    w = np.logspace(-1, 1, 7)
    h = rng.normal(size=7) + 1j * rng.normal(size=7)
    model, grad = filter_fit.model, filter_fit.model_grad

    args = [w, h.real, h.imag, 1.5, 0.8, 3.0]  # loss(w, h_measured, k, w0, q), h_measured as parts
    check_vjp(_over_parts(model.loss, {1}), _over_parts(grad.loss_vjp, {1}), args, rng)
    w_bar, _, k_bar, w0_bar, q_bar = grad.loss_grad(w, h, 1.5, 0.8, 3.0)
    for name, bar in {"w": w_bar, "k": k_bar, "w0": w0_bar, "q": q_bar}.items():
        assert np.isrealobj(bar), f"the real parameter {name} got a complex cotangent {bar!r}"

    args = [w, h.real, h.imag, 0.3, -1.1, -0.4, 1.2]  # pole_loss(w, h_measured, r, p), all complex as parts
    check_vjp(_over_parts(model.pole_loss, {1, 2, 3}), _over_parts(grad.pole_loss_vjp, {1, 2, 3}), args, rng)


def test_filter_fit_transfer_derivative_is_the_complex_derivative(filter_fit):
    """transfer_derivative(s) against central differences along the real and the imaginary axis
    (both equal H'(s): transfer is holomorphic in s), and pole_pair has none (np.conj)."""
    model, grad = filter_fit.model, filter_fit.model_grad
    eps = 1e-6

    def H(s):
        return model.transfer(s, 4.0, 2.0, 5.0)

    for s in (0.3 + 0.7j, -0.2 + 2.1j, 1.5j):
        derivative = grad.transfer_derivative(s, 4.0, 2.0, 5.0)
        np.testing.assert_allclose(derivative, (H(s + eps) - H(s - eps)) / (2 * eps), rtol=1e-6)
        np.testing.assert_allclose(derivative, (H(s + 1j * eps) - H(s - 1j * eps)) / (2j * eps), rtol=1e-6)
    assert not hasattr(grad, "pole_pair_derivative")
    source = (FILTER_FIT / "model_grad.py").read_text()
    assert "# pole_pair_derivative is not written: pole_pair is not holomorphic" in source


def test_filter_fit_training_recovers_the_parameters(filter_fit, capsys):
    """300 Adam steps from a flat guess (about a second): k and q within 2 %, w0 within 0.2 %, the
    pole within 0.01 and the residue within 0.02 of the truth; the group delay is 2 q / w0."""
    train = filter_fit.train
    result = train.main(steps=300, plot=None)
    for name, tolerance in {"k": 0.02, "w0": 0.002, "q": 0.02}.items():
        assert abs(result[name] / train.TRUTH[name] - 1) < tolerance, (name, result[name])
        assert isinstance(result[name], float), f"{name} turned {type(result[name])}"
    r_true, p_true = train.true_pole()
    assert abs(result["p"] - p_true) < 0.01, result["p"]
    assert abs(result["r"] - r_true) < 0.02, result["r"]
    np.testing.assert_allclose(result["group_delay"], 2 * result["q"] / result["w0"], rtol=1e-6)
    first = capsys.readouterr().out.splitlines()[0].split()
    assert float(first[2]) > 100 * 2 * train.NOISE**2  # the flat guess is far from the data
