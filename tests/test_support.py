"""The test support package: test modules import shared code only from it, and its one
gradient checker fails on wrong derivatives (a checker that cannot fail proves nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from support import check_hvp, check_jvp, check_vjp

TESTS = Path(__file__).parent


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")) + sorted((TESTS / "support").glob("*.py")), ids=str)
def test_modules_import_shared_code_only_from_support(path):
    """No test module imports another (`from test_forward import ...`) or a helper beside it."""
    local = {p.stem for p in TESTS.glob("*.py")}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            assert (
                name.split(".")[0] not in local
            ), f"{path.name}:{node.lineno} imports {name}; move it to tests/support"


def _f(x, y):
    return np.sum(np.sin(x) * y)


def _vjp(x, y, wrong=False):
    def pullback(g):
        return (g * np.cos(x) * y * (1.001 if wrong else 1.0), g * np.sin(x))

    return _f(x, y), pullback


def _jvp(x, y, dx, dy, wrong=False):
    return _f(x, y), np.sum(np.cos(x) * y * dx * (1.001 if wrong else 1.0) + np.sin(x) * dy)


def _hvp(x, y, vx, vy, wrong=False):
    hx = -np.sin(x) * y * vx + np.cos(x) * vy
    return (hx * (1.001 if wrong else 1.0), np.cos(x) * vx)


ARGS = [np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])]


def test_checker_accepts_right_derivatives():
    rng = np.random.default_rng(0)
    check_vjp(_f, _vjp, ARGS, rng)
    check_jvp(_f, _jvp, _vjp, ARGS, rng)
    check_hvp(_hvp, _vjp, ARGS, rng)


def test_checker_rejects_a_derivative_off_by_a_tenth_of_a_percent():
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError):
        check_vjp(_f, lambda x, y: _vjp(x, y, wrong=True), ARGS, rng)
    with pytest.raises(AssertionError):
        check_jvp(_f, lambda x, y, dx, dy: _jvp(x, y, dx, dy, wrong=True), None, ARGS, rng)
    with pytest.raises(AssertionError):
        check_hvp(lambda x, y, vx, vy: _hvp(x, y, vx, vy, wrong=True), _vjp, ARGS, rng)


def test_checker_rejects_a_none_cotangent_where_one_is_required():
    def vjp(x, y):
        return _f(x, y), lambda g: (g * np.cos(x) * y, None)

    check_vjp(_f, vjp, ARGS, np.random.default_rng(0))  # None is skipped by default
    with pytest.raises(AssertionError, match="cotangent 1 is None"):
        check_vjp(_f, vjp, ARGS, np.random.default_rng(0), nondiff=())
