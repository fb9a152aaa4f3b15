"""The committed examples: their generated files are current, and they run."""

import importlib
import sys
from pathlib import Path

from click.testing import CliRunner

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
