"""Hostile and unusual inputs: layout, depth and size, tests with calls and conditionals.

Two kinds of rows:

- valid code in an unusual layout or shape (a statement split over lines, a one-line
  ``def``, a conditional expression inside an ``if`` test, ...) must differentiate
  correctly: checked against central differences in reverse and forward mode;
- deep or huge inputs must either work or be refused with a located error
  (``model.py:L:C: error: ...``, exit 4), never an internal error or a traceback. They run
  through the command line (click's CliRunner), as users meet them. The sizes here prove
  the point in seconds; `benchmarks/hostile_sizes.py` measures the big ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner

from dpgen.cli import main
from dpgen.header import Options

from support import check_jvp, check_vjp, generated_text, load, load_source

BOTH = Options(mode="reverse,forward")
HEADER = "import numpy as np\n\n\n"


@dataclass
class Case:
    id: str
    source: str  #: after HEADER; exact text (no dedent: layout is the point)
    args: Callable[[np.random.Generator], list[list]]  #: argument lists to check at
    entry: str = "f"


def vec(*values):
    return lambda rng: [[np.array(values, dtype=float)]]


def _pair(a, b):
    return lambda rng: [[np.array(a, dtype=float), np.array(b, dtype=float)]]


G = "def g(x):\n    return np.sum(x * x)\n\n\n"

CASES = [
    # A statement split over two lines: the source-line comment must stay one comment.
    Case(
        "call-split-over-lines",
        "def f(x, w):\n    y = np.maximum(x,\n        w)\n    return np.sum(y * y)\n",
        _pair([0.5, -1.0, 2.0], [0.1, 0.3, 1.0]),
    ),
    Case(
        "if-test-and-loop-header-split",
        "def f(x):\n    y = x\n    if (np.sum(x)\n            > 0):\n        y = y * 2.0\n    for i in range(\n            2):\n        y = y * x\n    return np.sum(y)\n",
        lambda rng: [[np.array([0.5, 1.0])], [np.array([-0.5, -1.0])]],
    ),
    Case(
        "carriage-return-inside-parentheses",
        "def f(x):\n    y = (x *\r 2.0)\n    return np.sum(y * x)\n",
        vec(0.3, -0.7),
    ),
    Case(
        "implicit-string-concatenation-over-lines",
        'def f(x, w):\n    return np.einsum("i,"\n                     "i->", x, w)\n',
        _pair([0.5, -1.0], [2.0, 0.25]),
    ),
    Case("multi-line-literal-constant", "K = (\n    2.0)\n\n\ndef f(x):\n    return np.sum(x ** K)\n", vec(0.5, -1.5)),
    # One-line suites.
    Case("one-line-def", "def f(x): return x * x\n", lambda rng: [[1.5], [-0.25]]),
    Case(
        "one-line-if-for-while",
        "def f(x):\n    if x[0] > 0: y = x * 2.0\n    else: y = x * 3.0\n    for i in range(2): y = y * x\n    while np.sum(y) > 100.0: y = y / 2.0\n    return np.sum(y)\n",
        lambda rng: [[np.array([0.5, 1.0])], [np.array([-0.5, 1.0])], [np.array([4.0, 5.0])]],
    ),
    # Methods on a call's result.
    Case(
        "T-ravel-on-a-call",
        "def f(a, b):\n    return np.sum(np.outer(a, b).T.ravel() * np.arange(6.0))\n",
        _pair([1.0, 2.0], [0.5, -1.0, 3.0]),
    ),
    Case(
        "T-sum-on-a-call",
        "def f(a, b):\n    return np.outer(a, b).T.sum(axis=0) @ a\n",
        _pair([1.0, 2.0], [0.5, -1.0, 3.0]),
    ),
    # A conditional expression in an if / while test: both sides of both.
    Case(
        "ifexp-in-if-test",
        "def f(x, c):\n    if (x[0] if c > 0 else x[1]) > 0:\n        y = x * 2.0\n    else:\n        y = x * x\n    return np.sum(y)\n",
        lambda rng: [
            [np.array([0.5, -1.0]), 1.0],
            [np.array([0.5, -1.0]), -1.0],
            [np.array([-0.5, 1.0]), 1.0],
            [np.array([-0.5, 1.0]), -1.0],
        ],
    ),
    Case(
        "ifexp-in-while-test",
        "def f(x):\n    y = x\n    while (y[0] if y[1] > 0 else -y[1]) < 10.0:\n        y = y * 2.0\n    return np.sum(y * y)\n",
        lambda rng: [[np.array([1.5, 0.5])], [np.array([1.5, -0.5])]],
    ),
    # A call to a module function in an if / while test.
    Case(
        "call-in-if-test",
        G + "def f(x):\n    if g(x) > 1.0:\n        y = x * 2.0\n    else:\n        y = x * x\n    return np.sum(y)\n",
        lambda rng: [[np.array([0.5, 1.0])], [np.array([0.5, 0.2])]],
    ),
    Case(
        "call-in-while-test",
        G
        + "def f(x):\n    y = x\n    while g(y) < 10.0 and (g(y) if y[0] > 0 else 1.0) > 0:\n        y = y * 2.0\n    return np.sum(y * y)\n",
        lambda rng: [[np.array([0.5, 1.0])], [np.array([-0.5, 0.2])]],
    ),
]


@pytest.fixture(scope="module")
def modules():
    cache = {}

    def get(case: Case):
        if case.id not in cache:
            source = HEADER + case.source
            cache[case.id] = (load_source(source), load(generated_text(source, options=BOTH)))
        return cache[case.id]

    return get


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_unusual_valid_code_reverse(case, modules):
    primal, generated = modules(case)
    rng = np.random.default_rng(9)
    for args in case.args(rng):
        check_vjp(getattr(primal, case.entry), getattr(generated, f"{case.entry}_vjp"), args, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_unusual_valid_code_forward(case, modules):
    primal, generated = modules(case)
    rng = np.random.default_rng(9)
    for args in case.args(rng):
        check_jvp(
            getattr(primal, case.entry),
            getattr(generated, f"{case.entry}_jvp"),
            getattr(generated, f"{case.entry}_vjp"),
            args,
            rng,
        )


def test_split_statement_comment_is_one_line():
    text = generated_text(HEADER + "def f(x, w):\n    y = np.maximum(x,\n        w)\n    return np.sum(y)\n")
    assert "# model.py:5: y = np.maximum(x, w)\n" in text


# ------------------------------------------------------------ depth and size (CLI)

LOCATED = re.compile(r"^model\.py:\d+:\d+: error: .+$")


def run_cli(source: str, tmp_path: Path, *options: str):
    (tmp_path / "model.py").write_text(source, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        return CliRunner().invoke(main, ["diff", "model.py", *options], prog_name="dpgen")


def chain(kind: str, n: int) -> str:
    """A one-function module whose return expression is `n` operations deep."""
    body = {
        "sum": "    return " + " + ".join(["x"] * n) + "\n",
        "negations": "    return np.sum(" + "- " * n + "x)\n",
        "transposes": "    return np.sum(x" + ".T" * n + ")\n",
        "nested-calls": "    return np.sum(" + "np.sin(" * n + "x" + ")" * n + ")\n",
        "nots": "    if " + "not " * n + "(x[0, 0] > 0):\n        return np.sum(x)\n    return -np.sum(x)\n",
        "ands": "    if " + " and ".join(["x[0, 0] > 0"] * n) + ":\n        return np.sum(x)\n    return -np.sum(x)\n",
        "one-megabyte-line": "    return " + " + ".join(["x * 1.5"] * n) + "\n",
    }[kind]
    return HEADER + "def f(x):\n" + body


# Depths users write (and the hostile campaign's 150 nested calls, 500 `.T`, 500 `not`s) work.
@pytest.mark.parametrize(
    "kind, n", [("sum", 300), ("negations", 300), ("transposes", 500), ("nots", 500), ("nested-calls", 150)]
)
def test_deep_expressions_within_the_limit_work(kind, n, tmp_path):
    result = run_cli(chain(kind, n), tmp_path, "--mode", "reverse,forward")
    assert result.exit_code == 0, result.output[-2000:]
    generated = load(result.output)
    primal = load_source(chain(kind, n))
    rng = np.random.default_rng(3)
    check_vjp(primal.f, generated.f_vjp, [np.array([[0.3, -0.2], [0.1, 0.4]])], rng)


# Deeper ones are refused at once, with a location, never an internal error or a traceback.
@pytest.mark.parametrize(
    "kind, n",
    [
        ("sum", 1_200),
        ("sum", 10_000),
        ("ands", 2_000),
        ("nots", 10_000),
        ("negations", 10_000),
        ("transposes", 10_000),
        ("one-megabyte-line", 100_000),
    ],
)
def test_too_deep_expressions_are_located_errors(kind, n, tmp_path):
    result = run_cli(chain(kind, n), tmp_path)
    assert result.exit_code == 4, result.output[-2000:]
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[1] == "1 error; nothing written", result.output[-2000:]
    assert LOCATED.match(lines[0]) and "nested too deeply" in lines[0], lines[0]


def test_long_elif_chain(tmp_path):
    branches = 120
    source = HEADER + "def f(x):\n    if x > 0.0:\n        y = x * x\n"
    source += "".join(f"    elif x > -{k}.0:\n        y = x * {k}.0\n" for k in range(1, branches))
    source += "    else:\n        y = -x\n    return y\n"
    result = run_cli(source, tmp_path)
    assert result.exit_code == 0, result.output[-2000:]
    generated, primal = load(result.output), load_source(source)
    rng = np.random.default_rng(4)
    for x in (0.5, -0.5, -60.5, -118.5, -500.0):  # the first, middle, last and else arms
        check_vjp(primal.f, generated.f_vjp, [x], rng)


def test_too_long_elif_chain_is_a_located_error(tmp_path):
    """A 1,000-branch elif would nest 1,000 calls in the generated code: refused, with its line."""
    source = HEADER + "def f(x):\n    if x > 0.0:\n        y = x\n"
    source += "".join(f"    elif x > -{k}.0:\n        y = x * {k}.0\n" for k in range(1, 1000))
    source += "    else:\n        y = -x\n    return y\n"
    result = run_cli(source, tmp_path)
    assert result.exit_code == 4, result.output[-2000:]
    first = result.output.splitlines()[0]
    assert LOCATED.match(first) and "statements nested too deeply (more than 500 levels" in first, first


def test_internal_error_message_survives_a_recursive_str(tmp_path, monkeypatch):
    """The handler formats one line even when str() of the exception itself recurses."""

    class Nasty(Exception):
        def __str__(self):
            raise RecursionError("maximum recursion depth exceeded")

    def explode(*args, **kwargs):
        raise Nasty()

    monkeypatch.setattr("dpgen.pipeline.generate", explode)
    result = run_cli(HEADER + "def f(x):\n    return x\n", tmp_path)
    assert result.exit_code == 70
    assert result.output.splitlines() == [
        "dpgen: internal error: Nasty: (no message) (please report this with the input file)"
    ]
