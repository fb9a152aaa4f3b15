"""Control flow, containers and mutation, checked against central finite differences.

One table row per construct: an id, a source module whose entry point is ``f`` (helpers
may sit beside it), and a builder that turns a seeded generator into one or more argument
lists. Rows whose branches depend on the data give an argument list per side and a
``sides`` probe (a plain Python function of the arguments naming the side taken), and the
test asserts every side was exercised, so a case can never silently test one arm only.

The table is `support/flow_cases.py`. The checker is `support.check_vjp`, with what these
constructs need: dict arguments (the cotangent must be a dict with the same keys), tuple
returns (the pullback takes a tuple of cotangents) and named non-differentiable parameters
(their cotangent must be None, every other one must not be).
"""

from __future__ import annotations

import copy
import textwrap

import numpy as np
import pytest

from dpgen.errors import SourceErrors

from dpgen.header import Options
from support import check_vjp, differentiate, generated_text, load, load_source
from support.flow_cases import CASES, HEADER, Case


@pytest.fixture(scope="module")
def modules():
    cache = {}

    def get(case: Case):
        if case.id not in cache:
            cache[case.id] = differentiate(HEADER + textwrap.dedent(case.source))
        return cache[case.id]

    return get


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_against_finite_differences(case: Case, modules):
    primal, generated = modules(case)
    rng = np.random.default_rng(20240601)
    scenarios = case.args(rng)
    for args in scenarios:
        check_vjp(
            getattr(primal, case.entry),
            getattr(generated, f"{case.entry}_vjp"),
            args,
            rng,
            case.nondiff,
            case.rtol,
            case.atol,
        )
    if case.sides is not None:
        seen = {case.sides(*copy.deepcopy(args)) for args in scenarios}
        if case.n_sides == 1:  # one scenario walks every arm: `sides` says whether it does
            assert seen == {True}, "the scenario does not take every arm"
        else:
            assert len(seen) == case.n_sides, f"the scenarios take sides {seen}; every side must be exercised"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------- extra structure checks


def test_mutated_argument_is_unchanged_and_cotangent_is_at_entry():
    """The source mutates `x`; the vjp must not, and x_bar is w.r.t. x's value on entry."""
    primal, generated = differentiate(HEADER + textwrap.dedent("""
            def f(x):
                x[0] = 3.0 * x[1]
                x *= x
                return np.sum(x)
            """))
    x = np.array([1.0, 2.0, 3.0])
    keep = x.copy()
    out, pullback = generated.f_vjp(x)
    np.testing.assert_array_equal(x, keep)
    (x_bar,) = pullback(1.0)
    np.testing.assert_array_equal(x, keep)
    # f = (3 x1)^2 + x1^2 + x2^2 on the entry values: d/dx = (0, 18 x1 + 2 x1, 2 x2)
    assert out == pytest.approx(36.0 + 4.0 + 9.0)
    np.testing.assert_allclose(x_bar, [0.0, 20.0 * 2.0, 6.0])
    # and the source function itself does mutate (the test would be vacuous otherwise)
    primal.f(x)
    assert not np.array_equal(x, keep)


def test_dict_cotangent_has_every_key_with_zeros_for_unused():
    case = _case("dict-params")
    _, generated = differentiate(HEADER + textwrap.dedent(case.source))
    (args,) = case.args(np.random.default_rng(3))
    _, pullback = generated.f_vjp(*args)
    p_bar, x_bar, y_bar = pullback(1.0)
    assert isinstance(p_bar, dict) and set(p_bar) == {"W1", "b1", "W2", "unused", "scale"}
    for key, value in args[0].items():
        assert np.shape(p_bar[key]) == np.shape(value), key
    np.testing.assert_array_equal(p_bar["unused"], np.zeros(2))
    assert np.shape(x_bar) == (5, 3) and np.shape(y_bar) == (5, 1)


def test_grad_structure_and_nondifferentiable_int():
    primal, generated = differentiate(HEADER + textwrap.dedent("""
            def f(x, w, n: int):
                s = 0.0
                for i in range(n):
                    s = s + np.sum(np.sin(x * w) * i)
                return s

            def g(x, n: int):
                y = x
                for i in range(n):
                    y = np.cos(y)
                return np.sum(y)
            """))
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=3)
    grad = generated.f_grad(x, w, 4)
    assert isinstance(grad, tuple) and len(grad) == 3
    assert grad[2] is None
    assert np.shape(grad[0]) == (2, 3) and np.shape(grad[1]) == (3,)
    _, pullback = generated.f_vjp(x, w, 4)
    for got, want in zip(grad, pullback(1.0)):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want)
    check_vjp(primal.f, generated.f_vjp, [x, w, 4], rng, nondiff=(2,))
    # one differentiable parameter: a bare gradient
    g_grad = generated.g_grad(x, 3)
    assert isinstance(g_grad, np.ndarray) and g_grad.shape == (2, 3)
    # an array-valued function has a _grad that refuses to run
    _, array_gen = differentiate(
        HEADER + "def h(x, n: int):\n    for i in range(n):\n        x = x * 2.0\n    return x\n"
    )
    with pytest.raises(ValueError):
        array_gen.h_grad(x, 2)
    assert array_gen.h_vjp(x, 2)[1](np.ones((2, 3)))[1] is None


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "def k(x):\n    y = x\n    for i in range(2):\n        y = np.sin(y)\n    return y, 2.0 * x\n",
            id="single-return",
        ),
        pytest.param(
            "def k(x):\n    if np.sum(x) > 0:\n        return x, 2.0 * x\n    return x * x, x\n",
            id="returns-in-branches",
        ),
    ],
)
def test_tuple_returning_function_has_no_grad(source):
    _, generated = differentiate(HEADER + source)
    assert hasattr(generated, "k_vjp")
    assert not hasattr(generated, "k_grad")


JUMP_CASES = [
    "break-two-ifs-deep",
    "break-two-ifs-deep-while",
    "continue-two-ifs-deep-while",
    "break-and-continue-in-elif-else-arms",
    "break-three-ifs-deep-in-inner-loop",
    "jumps-in-two-ifs-in-a-row",
    "return-two-ifs-deep",
    "return-in-elif-deep-then-loop",
]


def _lines_run(function, args) -> list[int]:
    """The lines of `function` Python runs for `args`, in order (its own frame only)."""
    import sys

    lines: list[int] = []

    def tracer(frame, event, arg):
        if frame.f_code is not function.__code__:
            return None
        if event == "line":
            lines.append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        function(*copy.deepcopy(args))
    finally:
        sys.settrace(None)
    return lines


@pytest.mark.parametrize("case_id", JUMP_CASES)
def test_jump_cases_run_every_line(case_id):
    """Between them, the scenarios of a jump case run every line of `f` (each break,
    continue and return, and each arm), and no two take the same path."""
    case = _case(case_id)
    text = HEADER + textwrap.dedent(case.source)
    primal = load_source(text)
    source_lines = text.splitlines()
    start = next(i for i, line in enumerate(source_lines) if line.startswith("def f("))
    body = [
        i + 1
        for i in range(start + 1, len(source_lines))
        if source_lines[i].strip() and source_lines[i].strip() != "else:"
    ]
    paths = [tuple(_lines_run(primal.f, args)) for args in case.args(np.random.default_rng(0))]
    assert set(body) <= {
        n for path in paths for n in path
    }, f"lines never run: {sorted(set(body) - {n for p in paths for n in p})}"
    assert len(set(paths)) == len(paths), "two scenarios take the same path"


def test_return_deep_in_ifs_or_falling_off_the_end():
    """A function that may fall off its end returns None there, as Python does, and the
    value where it returns from inside two `if`s (once it was None on every path)."""
    source = HEADER + textwrap.dedent("""
        def f(x):
            if x[0] > 0.0:
                if x[1] > 0.0:
                    return np.sum(x * 3.0)
        """)
    primal = load_source(source)
    generated = load(generated_text(source, options=Options(mode="reverse,forward")))
    x = np.array([0.5, 0.2, 0.1])
    out, pullback = generated.f_vjp(x)
    assert out == primal.f(x) and np.allclose(pullback(1.0)[0], 3.0)
    assert generated.f_jvp(x, np.ones(3)) == (primal.f(x), 9.0)
    assert generated.f_vjp(-x)[0] is None and generated.f_vjp(x * [1, -1, 1])[0] is None
    assert generated.f_jvp(-x, np.ones(3))[0] is None


def test_many_ifs_that_may_jump_in_a_row_are_refused_not_copied_without_bound():
    """Each `if` whose both arms can fall through doubles the code after it; past a bound
    dpgen says so (once) instead of writing an enormous module."""
    ifs = "".join(
        f"        if y[0] > {k}.0:\n            if y[1] > 0.0:\n                break\n        y = y * 1.1\n"
        for k in range(12)
    )
    source = HEADER + "def f(x):\n    y = x\n    for i in range(3):\n" + ifs + "    return np.sum(y)\n"
    with pytest.raises(SourceErrors) as raised:
        generated_text(source)
    messages = [d.message for d in raised.value.diagnostics]
    assert len(messages) == 1 and "may break, continue or return from inside another 'if'" in messages[0]


def _case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


# Writes that Python would make visible through another name across a function boundary
# (an arm, a loop body, a module call) are reported, never differentiated with wrong values.
@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param(
            """
        def f(x, z):
            t = x
            if np.sum(z) > 0:
                t[0] = 0.5 * z[1]
            return x * z
        """,
            "writing into 't' here while 'x' refers to the same array",
            id="alias-write-in-branch",
        ),
        pytest.param(
            """
        def f(x, z):
            t = x
            for i in range(2):
                t[i] = 0.5 * z[i]
            return x * z
        """,
            "writing into 't' here while 'x' refers to the same array",
            id="alias-write-in-loop",
        ),
        pytest.param(
            """
        def f(x, z):
            if np.sum(z) > 0:
                x = z
            x[0] = 0.5
            return z * 1.0
        """,
            "writing into 'x' while it may be the same array as 'z'",
            id="alias-made-in-branch",
        ),
        pytest.param(
            """
        def h(a):
            a[0] = 0.5
            return a * 1.0

        def f(x):
            return h(x) + x
        """,
            "'h' writes into its argument 'a'",
            id="callee-writes-into-argument",
        ),
        pytest.param(
            """
        def h(a):
            return a

        def f(x):
            t = h(x)
            t[0] = 0.5
            return x * 1.0
        """,
            "writing into 't' while it may be the same array as 'x'",
            id="callee-returns-argument",
        ),
        # Python's `for row in v` walks `v` itself: the rows not visited yet see writes into it.
        pytest.param(
            """
        def f(x):
            v = np.reshape(x, (3, 2)) * 1.0
            s = 0.0
            for row in v:
                s = s + np.sum(row * row)
                v[-1, 0] = 5.0
            return s
        """,
            "writing into 'v' inside the loop that walks it",
            id="write-into-iterated-array",
        ),
        pytest.param(
            """
        def f(x, z):
            v = np.reshape(x, (3, 2)) * 1.0
            s = 0.0
            for row, w in zip(v, z):
                s = s + np.sum(row * w)
                if s > 0.0:
                    v[2] = v[2] * 2.0
            return s
        """,
            "writing into 'v' inside the loop that walks it",
            id="write-into-zipped-array-in-arm",
        ),
        pytest.param(
            """
        def f(x, z):
            v = np.reshape(x, (3, 2)) * 1.0
            s = 0.0
            for row, w in zip(v, z):
                s = s + np.sum(row * w)
                v += 1.0
            return s
        """,
            "writing into 'v' inside the loop that walks it",
            id="augment-iterated-array",
        ),
        pytest.param(
            """
        def f(x):
            v = np.reshape(x, (3, 2)) * 1.0
            u = v.T
            w = u[:, 1:]
            s = 0.0
            for row in w:
                s = s + np.sum(row * row)
                v[2, 1] = 5.0
            return s
        """,
            "writing into 'v' inside the loop that walks it",
            id="write-into-array-a-view-of-a-view-walks",
        ),
        pytest.param(
            """
        def f(x):
            xs = [x, x * 2.0]
            s = 0.0
            for k, t in enumerate(xs):
                s = s + np.sum(t)
                if k < 2:
                    xs.append(t * 3.0)
            return s
        """,
            "writing into 'xs' inside the loop that walks it",
            id="append-to-iterated-list",
        ),
        # An alias made inside an arm or loop body: the write reaches the outer name in Python.
        pytest.param(
            """
        def f(x):
            v = x * 1.0
            for i in range(2):
                w = v
                w[i] = 5.0 * w[2]
            return np.sum(v * v)
        """,
            "writing into 'w' here also changes 'v'",
            id="alias-made-and-written-in-loop-body",
        ),
        pytest.param(
            """
        def f(x):
            v = x * 1.0
            if x[0] > 0:
                w = v
                w[0] = 5.0 * w[2]
            return np.sum(v * v)
        """,
            "writing into 'w' here also changes 'v'",
            id="alias-made-and-written-in-arm",
        ),
        pytest.param(
            """
        def f(x):
            t = x * 1.0
            u = t
            for i in range(2):
                t += 1.0
            return np.sum(t * u)
        """,
            "augmented assignment to 't' while 'u' refers to the same value",
            id="augmented-in-loop-with-alias-outside",
        ),
    ],
)
def test_writes_through_shared_arrays_are_reported(body, message):
    with pytest.raises(SourceErrors) as raised:
        differentiate(HEADER + textwrap.dedent(body))
    assert any(message in d.message for d in raised.value.diagnostics), raised.value


# --------------------------------------------------- more writes through shared arrays
#
# Each source writes through one name into an array another name (or the caller) still
# sees: through an alias made in a conditional expression or a loop body, an alias from a
# call whose result is its argument (via a local, an if arm or a tuple), a callee writing
# its argument inside a loop, an item of a run-time list or dict, or a NumPy view (a row,
# a basic slice, .reshape, .T, a row from iterating a 2-D array), or an alias made before an
# if arm or loop that may rebind one of the names but did not run. The property: dpgen
# either reports the write as a SourceErrors or differentiates the program correctly.


SHARED_WRITES = [
    (
        "alias-from-conditional-expression",
        """
        def f(x, z):
            t = x if np.sum(z) > 0 else z
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "alias-made-in-for-body",
        """
        def f(x, z):
            for i in range(1):
                x = z
            x[0] = 0.5
            return z * 1.0
        """,
    ),
    (
        "alias-made-in-while-body",
        """
        def f(x, z):
            k = 0
            while k < 1:
                x = z
                k = k + 1
            x[0] = 0.5
            return z * 1.0
        """,
    ),
    (
        "alias-to-outside-made-in-loop-body",
        """
        def f(x, z):
            t = z * 1.0
            for i in range(2):
                t = x
            t[0] = 0.5
            return x * 1.0
        """,
    ),
    (
        "alias-made-in-arm-written-in-later-loop",
        """
        def f(x, z):
            if np.sum(z) > 0:
                x = z
            for i in range(2):
                x[i] = 0.5
            return z * 1.0
        """,
    ),
    (
        "alias-kept-by-untaken-arm",
        """
        def f(x, z):
            t = x
            if np.sum(z) < 0:
                t = t * 2.0
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "alias-kept-by-zero-trip-loop",
        """
        def f(x, z):
            t = x
            for i in range(z.shape[0] - 4):
                t = t * 2.0
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "other-name-written-after-untaken-arm",
        """
        def f(x, z):
            t = x
            if np.sum(z) < 0:
                t = t * 2.0
            x[0] = 0.5
            return t * z
        """,
    ),
    (
        "call-result-alias-written-in-arm",
        """
        def h(a):
            return a

        def f(x, z):
            t = h(x)
            if np.sum(z) > 0:
                t[0] = 0.5
            return x * z
        """,
    ),
    (
        "callee-returns-argument-through-local",
        """
        def h(a):
            b = a
            return b

        def f(x, z):
            t = h(x)
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "callee-returns-argument-from-arm",
        """
        def h(a, z):
            if np.sum(z) > 0:
                return a
            return a * 2.0

        def f(x, z):
            t = h(x, z)
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "callee-returns-argument-in-tuple",
        """
        def h(a):
            return a, a * 2.0

        def f(x, z):
            t, u = h(x)
            t[0] = 0.5
            return x * u * z
        """,
    ),
    (
        "callee-writes-argument-in-loop",
        """
        def h(a):
            for i in range(2):
                a[i] = 0.5
            return a * 1.0

        def f(x, z):
            return h(x) + x * z
        """,
    ),
    (
        "item-of-run-time-list",
        """
        def f(x, z):
            xs = []
            for i in range(2):
                xs.append(x)
            t = xs[0]
            t[0] = 0.5
            return x * z
        """,
    ),
    (
        "dict-entry",
        """
        def f(p, z):
            t = p["a"]
            t[0] = 0.5
            return p["a"] * z
        """,
    ),
    (
        "view-row",
        """
        def f(x, z):
            X = np.reshape(x, (2, 2)) * 1.0
            r = X[0]
            r[0] = 0.5
            return np.ravel(X) * z
        """,
    ),
    (
        "view-basic-slice",
        """
        def f(x, z):
            v = x[1:]
            v[0] = 0.5
            return x * z
        """,
    ),
    (
        "view-rows-while-iterating",
        """
        def f(x, z):
            X = np.reshape(x, (2, 2)) * 1.0
            for r in X:
                r[0] = 0.5
            return np.ravel(X) * z
        """,
    ),
    (
        "view-reshape",
        """
        def f(x, z):
            v = x.reshape(2, 2)
            v[0, 0] = 0.5
            return x * z
        """,
    ),
    (
        "view-transpose",
        """
        def f(x, z):
            X = np.reshape(x, (2, 2)) * 1.0
            v = X.T
            v[0, 1] = 0.5
            return np.ravel(X) * z
        """,
    ),
]


@pytest.mark.parametrize("body", [pytest.param(body, id=case_id) for case_id, body in SHARED_WRITES])
def test_writes_through_shared_arrays_are_reported_or_right(body):
    try:
        primal, generated = differentiate(HEADER + textwrap.dedent(body))
    except SourceErrors:
        return  # reported: fine
    rng = np.random.default_rng(11)
    first = {"a": rng.normal(size=4)} if "p[" in body else rng.normal(size=4)
    check_vjp(primal.f, generated.f_vjp, [first, rng.uniform(0.1, 1.0, size=4)], rng, nondiff=())
