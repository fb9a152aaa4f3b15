"""The control-flow examples (RNN over a `for` loop, heat equation with slice mutation):
their generated files are current, and the scripts really reduce the loss."""

import importlib
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpgen.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def _import_fresh(monkeypatch, example, script):
    monkeypatch.syspath_prepend(str(EXAMPLES / example))
    for name in ("model", "model_grad", script):
        sys.modules.pop(name, None)
    return importlib.import_module(script)


@pytest.mark.parametrize("example", ["rnn", "heat"])
def test_generated_file_is_current(example):
    folder = EXAMPLES / example
    result = CliRunner().invoke(main, ["check", str(folder / "model.py"), str(folder / "model_grad.py")])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_rnn_training_reduces_the_loss(monkeypatch, capsys):
    train = _import_fresh(monkeypatch, "rnn", "train")
    final = train.main(steps=50)
    first = float(capsys.readouterr().out.splitlines()[0].split()[-1])
    assert final < 0.5 * first


def test_heat_inversion_reduces_the_misfit_and_the_error(monkeypatch, capsys):
    solve = _import_fresh(monkeypatch, "heat", "solve")
    misfit, error = solve.main(iterations=10)
    first = capsys.readouterr().out.splitlines()[0].split()  # iter 0 objective .. misfit .. error ..
    initial_misfit, initial_error = float(first[first.index("misfit") + 1]), float(first[first.index("error") + 1])
    assert initial_error == 1.0  # the flat zero guess
    assert misfit < 0.5 * initial_misfit
    assert error < 0.5 * initial_error
