"""The benchmark workloads (benchmarks/workloads/): each committed model_grad.py is current, and
dpgen's gradient agrees with the hand-written one, at the workloads' small sizes. No timing."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dpgen.cli import main

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _harness():
    spec = importlib.util.spec_from_file_location("bench_harness", BENCHMARKS / "harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass needs to find its module
    spec.loader.exec_module(module)
    return module


harness = _harness()


def test_every_workload_folder_is_listed():
    folders = {p.name for p in (BENCHMARKS / "workloads").iterdir() if (p / "model.py").exists()}
    assert folders == set(harness.NAMES)


@pytest.mark.parametrize("name", harness.NAMES)
def test_generated_gradient_is_current(name):
    folder = BENCHMARKS / "workloads" / name
    result = CliRunner().invoke(main, ["check", str(folder / "model.py"), str(folder / "model_grad.py")])
    assert result.exit_code == 0, result.output
    assert result.output == ""


@pytest.mark.parametrize("name", harness.NAMES)
def test_generated_gradient_matches_hand_written(name):
    w = harness.load_workload(name)
    args = w.hand.inputs("small")
    value, _ = w.model_grad.loss_vjp(*args)
    np.testing.assert_allclose(value, w.model.loss(*args), rtol=1e-12)
    generated, hand = w.model_grad.loss_grad(*args), w.hand.grad(*args)
    if len(w.hand.WRT) > 1:  # a tuple with one entry per parameter, None where not differentiated
        assert [g is None for g in generated] == [h is None for h in hand]
        assert [i for i, g in enumerate(generated) if g is not None] == list(w.hand.WRT)
    assert harness.relative_error(harness.selected(generated, w.hand.WRT), harness.selected(hand, w.hand.WRT)) < 1e-8
