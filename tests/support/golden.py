"""The golden cases (tests/golden/<case>/): their names, which pin an HVP module, and their inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "model.py").exists())
#: The cases whose committed `model_hvp.py` pins the HVP module's text.
HVP_CASES = ["checkpoint", "mlp", "newton", "rnn"]


def golden_inputs(case: str):
    """The case's `inputs.py` `cases(rng)`: function name -> seeded arguments."""
    spec = importlib.util.spec_from_file_location(f"golden_{case}_inputs", GOLDEN / case / "inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases
