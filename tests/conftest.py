"""pytest configuration: the tests import `support` from this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/*/model_grad.py from the current generator (the run then fails on purpose).",
    )
