"""The Lotka–Volterra example: its generated file is current, its checkpointed gradient equals the
un-checkpointed one and central differences, and the fit recovers the four parameters."""

import importlib
import math
import sys
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import check_vjp, generated_text, load

from dpgen.cli import main

FOLDER = Path(__file__).parent.parent / "examples" / "lotka_volterra"
PRAGMA = "  # dpgen: checkpoint"


@pytest.fixture
def lotka_volterra(monkeypatch):
    """The example's model, model_grad and train modules, imported afresh from its folder."""
    monkeypatch.syspath_prepend(str(FOLDER))
    for name in ("model", "model_grad", "train"):
        sys.modules.pop(name, None)
    return types.SimpleNamespace(**{name: importlib.import_module(name) for name in ("model", "model_grad", "train")})


@pytest.fixture(scope="module")
def plain():
    """The gradient module dpgen writes for model.py without its checkpoint pragma."""
    source = (FOLDER / "model.py").read_text()
    assert source.count(PRAGMA) == 1
    return load(generated_text(source.replace(PRAGMA, "")))


def _point(rng, observations=4, trajectories=2):
    """loss's arguments near the example's regime: parameters and populations of order one."""
    log_params = np.log([1.5, 1.0, 1.0, 3.0]) + 0.1 * rng.normal(size=4)
    x0 = rng.uniform(2.0, 4.0, size=trajectories)
    y0 = rng.uniform(0.8, 2.0, size=trajectories)
    observed = rng.uniform(0.5, 4.0, size=(observations, 2, trajectories))
    return [log_params, x0, y0, observed, 0.05, 3]


def test_generated_file_is_current():
    result = CliRunner().invoke(main, ["check", str(FOLDER / "model.py"), str(FOLDER / "model_grad.py")])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_gradient_matches_central_differences(lotka_volterra):
    """Every cotangent of loss_vjp (log-parameters, initial states, data, dt) against central
    differences, over 12 RK4 steps with an observation every 3."""
    rng = np.random.default_rng(5)
    check_vjp(lotka_volterra.model.loss, lotka_volterra.model_grad.loss_vjp, _point(rng), rng)


def _example_point(rng):
    """The example's own size: 48 observations of 3 trajectories, 5 RK4 steps apart (240 steps)."""
    args = _point(rng, observations=48, trajectories=3)
    args[-1] = 5
    return args


def test_checkpointed_gradient_equals_the_plain_one(lotka_volterra, plain):
    """The committed (checkpointed) gradient and the one dpgen writes without the pragma agree to
    1e-12, over the example's own 240 steps."""
    args = _example_point(np.random.default_rng(6))
    checkpointed = lotka_volterra.model_grad.loss_grad(*args)
    for got, want in zip(checkpointed, plain.loss_grad(*args)):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_the_time_loop_is_checkpointed(lotka_volterra, plain, monkeypatch):
    """The committed gradient runs the loop body n + R(n, s) times, R the Revolve optimum for
    n = 240 steps and s = ceil(log2 n) = 8 snapshots (the plain one: n times), and its peak memory
    is a small fraction of the plain gradient's (which keeps every step's RK4 stages)."""
    grad = lotka_volterra.model_grad
    assert "_RevolveTape(" in (FOLDER / "model_grad.py").read_text()
    args = _example_point(np.random.default_rng(7))
    n, s = 240, 8
    t = next(t for t in range(n) if math.comb(s + t, s) >= n)  # the repetition number
    optimum = t * n - math.comb(s + t, t - 1)  # plain step runs of an optimal schedule
    calls = []
    body = grad._loss_line51_for_vjp
    monkeypatch.setattr(grad, "_loss_line51_for_vjp", lambda *a: calls.append(1) or body(*a))
    grad.loss_grad(*args)
    assert len(calls) == n + optimum
    monkeypatch.setattr(grad, "_loss_line51_for_vjp", body)

    def peak(loss_grad):
        loss_grad(*args)  # warm up (first-call allocations are not the gradient's)
        tracemalloc.start()
        try:
            loss_grad(*args)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(grad.loss_grad) < peak(plain.loss_grad) / 10  # 42 kB against 3.3 MB with NumPy 2.4


def test_fit_recovers_the_parameters(lotka_volterra, capsys):
    """The example as it runs (gradient check, L-BFGS from a start 33-50 % off): all four
    parameters within the stated 2 % of the truth, converged in fewer than 40 iterations (22;
    about 3 s on an idle machine: speed is not a unit test's business, see benchmarks/)."""
    train = lotka_volterra.train
    result = train.main(plot_path=None)
    assert len(result["history"]) - 1 < 40
    assert result["gradient_error"] < 1e-6
    for name, truth in zip(train.NAMES, train.TRUTH):
        assert abs(result["params"][name] / truth - 1) < train.ACCURACY, (name, result["params"][name])
    assert result["history"][0] > 100 * result["history"][-1]  # the start is far from the data
    output = capsys.readouterr().out
    assert "all four within 2 % of the truth" in output
