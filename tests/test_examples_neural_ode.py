"""The neural-ODE example (examples/neural_ode): an MLP vector field integrated by an adaptive
Dormand-Prince solver (a `while` loop with accept/reject) and by fixed-step RK4 (a `for` loop),
both loops checkpointed. Its generated file is current, its gradients match central differences,
the checkpointed gradients equal the ones without checkpointing (the online tape rerunning steps
with less memory), Hessian-vector products go through the tapes, and training reduces the loss."""

import importlib
import re
import sys
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import check_hvp, check_vjp, generated_text, load

from dpgen.cli import main
from dpgen.header import Options

NEURAL_ODE = Path(__file__).parent.parent / "examples" / "neural_ode"
#: Solver tolerances of the checks: tight, so that shifting an input by central differences' step
#: changes no accept/reject decision (the loss is smooth there).
RTOL, ATOL = 1e-8, 1e-10


@pytest.fixture
def example(monkeypatch):
    """The example's model, model_grad and train modules, imported afresh from its folder."""
    monkeypatch.syspath_prepend(str(NEURAL_ODE))
    for name in ("model", "model_grad", "train"):
        sys.modules.pop(name, None)
    return types.SimpleNamespace(**{name: importlib.import_module(name) for name in ("model", "model_grad", "train")})


def _point(rng, hidden=5, observations=6):
    """A random network with unit-scale weights (a vector field far from constant), and data."""
    p = {
        "W1": rng.normal(size=(hidden, 2)),
        "b1": rng.normal(size=hidden),
        "W2": rng.normal(size=(2, hidden)),
        "b2": rng.normal(size=2),
    }
    return np.array([1.0, -0.5]), np.linspace(0.0, 0.5, observations), rng.normal(size=(observations, 2)), p


def test_generated_file_is_current():
    result = CliRunner().invoke(main, ["check", str(NEURAL_ODE / "model.py"), str(NEURAL_ODE / "model_grad.py")])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_gradients_match_central_differences(example):
    """Every cotangent (initial state, observation times, data, each weight) of the RK45 loss and
    of the RK4 loss, the solver settings fixed."""
    rng = np.random.default_rng(3)
    args = list(_point(rng))
    model, grad = example.model, example.model_grad

    def loss(*a):
        return model.loss(*a, RTOL, ATOL)

    def loss_vjp(*a):
        value, pullback = grad.loss_vjp(*a, RTOL, ATOL)
        return value, lambda g: pullback(g)[:4]

    check_vjp(loss, loss_vjp, args, rng)

    def rk4_loss(*a):
        return model.rk4_loss(*a, 3)

    def rk4_loss_vjp(*a):
        value, pullback = grad.rk4_loss_vjp(*a, 3)
        return value, lambda g: pullback(g)[:4]

    check_vjp(rk4_loss, rk4_loss_vjp, args, rng)


@pytest.fixture(scope="module")
def unchecked():
    """The example's gradient module generated from model.py with its pragmas removed."""
    text, pragmas = re.subn(r"  # dpgen: checkpoint$", "", (NEURAL_ODE / "model.py").read_text(), flags=re.M)
    assert pragmas == 2  # the while loop and the for loop
    return load(generated_text(text))


@pytest.mark.parametrize("rtol", [1e-3, 1e-6])
def test_checkpointed_gradients_equal_the_unchecked_ones(example, unchecked, rtol):
    """The while loop's online tape and the for loop's Revolve tape recompute the steps the plain
    tape stores: the same operations, so the same gradient up to rounding."""
    y0, ts, data, p = _point(np.random.default_rng(4), hidden=8, observations=12)
    got = example.model_grad.loss_grad(y0, ts, data, p, rtol, rtol * 1e-2)
    want = unchecked.loss_grad(y0, ts, data, p, rtol, rtol * 1e-2)
    for g, w in zip(got[:4], want[:4]):
        for key in w if isinstance(w, dict) else [None]:
            np.testing.assert_allclose(g[key] if key else g, w[key] if key else w, rtol=1e-12, atol=1e-12)
    got = example.model_grad.rk4_loss_grad(y0, ts, data, p, 4)
    want = unchecked.rk4_loss_grad(y0, ts, data, p, 4)
    for key in p:
        np.testing.assert_allclose(got[3][key], want[3][key], rtol=1e-12, atol=1e-12)


def test_training_reduces_the_loss(example, capsys):
    """A few Adam steps of train.py (no checks, no plot): the loss on all observations falls."""
    final = example.train.main(steps=20, plot_to=None, checks=False)
    first = float(capsys.readouterr().out.splitlines()[0].split()[-1])
    assert final < 0.8 * first


def test_the_solver_loops_are_taped_with_checkpoints(example, unchecked):
    """The committed gradient keeps an online tape for the while loop and a Revolve tape for the
    for loop. The online tape reruns steps (more body calls than steps) and holds far less: the
    peak memory of the gradient falls by more than half against the plain tape."""
    source = (NEURAL_ODE / "model_grad.py").read_text()
    assert "loop_tape = _OnlineTape(None)" in source
    assert "loop_tape = _RevolveTape(" in source
    y0, ts, data, p = _point(np.random.default_rng(5), hidden=16, observations=30)
    calls, peaks = {}, {}
    for name, module in {"checkpointed": example.model_grad, "plain": unchecked}.items():
        (name_of_body,) = [n for n in vars(module) if re.fullmatch(r"_solve_line\d+_while_vjp", n)]
        body = getattr(module, name_of_body)
        count = [0]

        def counted(*args, body=body, count=count):
            count[0] += 1
            return body(*args)

        setattr(module, name_of_body, counted)
        try:
            tracemalloc.start()
            module.loss_grad(y0, ts, data, p, 1e-6, 1e-8)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            setattr(module, name_of_body, body)
        calls[name] = count[0]
    steps = calls["plain"]
    assert steps >= 29  # at least one step per observation interval
    assert steps < calls["checkpointed"] <= 4 * steps
    assert peaks["checkpointed"] < 0.5 * peaks["plain"], peaks


def test_hessian_vector_products_through_the_checkpointed_solver(example):
    """`--mode hvp` on the example (its f_jvp_vjp loops are checkpointed too): H v against
    central differences of the gradient, and symmetry."""
    text = generated_text((NEURAL_ODE / "model.py").read_text(), options=Options(mode="hvp"))
    assert "loop_tape = _OnlineTape(None)" in text and "loop_tape = _RevolveTape(" in text
    hessian = load(text)
    rng = np.random.default_rng(6)
    y0, ts, data, p = _point(rng)

    def hvp(y0, ts, data, p, v_y0, v_ts, v_data, v_p):
        return hessian.loss_hvp(y0, ts, data, p, RTOL, ATOL, v_y0, v_ts, v_data, v_p, None, None)[:4]

    def vjp(*args):
        value, pullback = example.model_grad.loss_vjp(*args, RTOL, ATOL)
        return value, lambda g: pullback(g)[:4]

    check_hvp(hvp, vjp, [y0, ts, data, p], rng)
