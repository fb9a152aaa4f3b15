"""Control flow, containers and mutation, checked against central finite differences.

One table row per construct: an id, a source module whose entry point is ``f`` (helpers
may sit beside it), and a builder that turns a seeded generator into one or more argument
lists. Rows whose branches depend on the data give an argument list per side and a
``sides`` probe (a plain Python function of the arguments naming the side taken), and the
test asserts every side was exercised, so a case can never silently test one arm only.

The checker here generalises ``support.check_vjp`` to what these constructs need: dict
arguments (the cotangent must be a dict with the same keys), tuple returns (the pullback
takes a tuple of cotangents) and named non-differentiable parameters (their cotangent must
be None, every other one must not be).
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from dpgen.errors import SourceErrors

from dpgen.header import Options
from support import differentiate, generated_text, load, load_source

HEADER = "import numpy as np\n\n\n"

# Known dpgen bugs (see the cases marked with them; strict, so a fix makes them fail loudly).


@dataclass
class Case:
    id: str
    source: str
    args: Callable[[np.random.Generator], list[list]]  #: rng -> argument lists (one per scenario)
    nondiff: tuple[int, ...] = ()  #: parameters whose cotangent must be None
    sides: Callable[..., object] | None = None  #: args -> which side a scenario takes
    n_sides: int = 2
    rtol: float = 1e-5
    atol: float = 1e-6
    marks: tuple = ()
    entry: str = "f"


# ----------------------------------------------------------------------------- checker


def _leaf_paths(value, path=()):
    """Paths to the differentiable leaves of an argument: dict keys and list positions."""
    if isinstance(value, dict):
        for key in value:
            yield from _leaf_paths(value[key], path + (key,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaf_paths(item, path + (i,))
    else:
        yield path


def _get(value, path):
    for step in path:
        value = value[step]
    return value


def _set(value, path, new):
    """A deep copy of `value` with the leaf at `path` replaced (a tuple leaf holder is rebuilt)."""
    value = copy.deepcopy(value)
    if not path:
        return new
    holder = _get(value, path[:-1])
    if isinstance(holder, tuple):
        items = list(holder)
        items[path[-1]] = new
        return _set(value, path[:-1], tuple(items))
    holder[path[-1]] = new
    return value


def _assert_same(a, b, what):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), what
        for key in a:
            _assert_same(a[key], b[key], what)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), what
        for x, y in zip(a, b):
            _assert_same(x, y, what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def _random_like(value, rng):
    if isinstance(value, tuple):
        return tuple(_random_like(v, rng) for v in value)
    return rng.normal(size=np.shape(value)) if np.ndim(value) else float(rng.normal())


def _pairing(cotangent, out) -> float:
    """<cotangent, out>, through tuples."""
    if isinstance(out, tuple):
        return sum(_pairing(c, o) for c, o in zip(cotangent, out))
    return float(np.sum(np.asarray(cotangent) * np.asarray(out)))


def _finite_difference(primal, args, i, path, cotangent, eps=1e-6):
    """d<cotangent, primal(args)>/d args[i][path], element by element (central, float64)."""
    leaf = _get(args[i], path)
    x = np.asarray(leaf, dtype=float)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        for sign in (+1, -1):
            shifted = x.copy()
            shifted[idx] += sign * eps
            trial = copy.deepcopy(list(args))
            trial[i] = _set(trial[i], path, shifted if np.ndim(leaf) else float(shifted))
            grad[idx] += sign * _pairing(cotangent, primal(*trial))
    return grad / (2 * eps)


def check(primal, vjp, args, rng, nondiff=(), rtol=1e-5, atol=1e-6):
    """Check every cotangent of `vjp` against central differences of `primal`.

    Also: the vjp leaves its arguments untouched, its primal output matches the source's,
    and exactly the parameters in `nondiff` get None."""
    before = copy.deepcopy(list(args))
    out, pullback = vjp(*args)
    _assert_same(before, list(args), "the generated vjp mutated an argument")
    expected_out = primal(*copy.deepcopy(list(args)))
    if isinstance(expected_out, tuple):
        assert isinstance(out, tuple) and len(out) == len(expected_out)
        for got, want in zip(out, expected_out):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    cotangent = _random_like(out, rng)
    cotangents = pullback(cotangent)
    assert isinstance(cotangents, tuple) and len(cotangents) == len(args)
    for i, (arg, got) in enumerate(zip(args, cotangents)):
        if i in nondiff:
            assert got is None, f"cotangent {i} should be None (not differentiable), got {got!r}"
            continue
        assert got is not None, f"cotangent {i} is None"
        if isinstance(arg, dict):
            assert isinstance(got, dict), f"cotangent {i}: a dict argument needs a dict cotangent, got {type(got)}"
            assert set(got) == set(arg), f"cotangent {i}: keys {sorted(got)} != {sorted(arg)}"
        for path in _leaf_paths(arg):
            # A list argument's cotangent may come back stacked into one array.
            leaf_got = _get(got, path) if isinstance(got, dict) else np.asarray(got)[path] if path else got
            expected = _finite_difference(primal, args, i, path, cotangent)
            where = f"cotangent of argument {i}{''.join(f'[{p!r}]' for p in path)}"
            assert np.shape(leaf_got) == np.shape(
                _get(arg, path)
            ), f"{where}: shape {np.shape(leaf_got)} != {np.shape(_get(arg, path))}"
            np.testing.assert_allclose(leaf_got, expected, rtol=rtol, atol=atol, err_msg=where)


# ------------------------------------------------------------------------------- cases

N = lambda rng, *shape: rng.normal(size=shape)  # noqa: E731
U = lambda rng, lo, hi, *shape: rng.uniform(lo, hi, size=shape)  # noqa: E731

CASES = [
    # ---------------------------------------------------------------- branches
    Case(
        "if-else",
        """
        def f(x, y):
            if np.sum(x) > 0:
                z = x * y
            else:
                z = np.sin(x) - y
            return np.sum(z * z)
        """,
        lambda rng: [[U(rng, 0.1, 1, 4), N(rng, 4)], [U(rng, -1, -0.1, 4), N(rng, 4)]],
        sides=lambda x, y: np.sum(x) > 0,
    ),
    Case(
        "if-without-else",
        """
        def f(x, a):
            y = x * a
            if np.max(y) > 1.0:
                y = y / np.max(y)
            return np.sum(np.exp(y))
        """,
        lambda rng: [[U(rng, 0.5, 2, 5), 2.0], [U(rng, 0.1, 0.4, 5), 1.5]],
        sides=lambda x, a: np.max(x * a) > 1.0,
    ),
    Case(
        "if-elif-else",
        """
        def f(x, w):
            s = np.sum(x)
            if s > 1.0:
                y = x * w
            elif s > -1.0:
                y = np.tanh(x) + w
            else:
                y = x**2 * w
            return np.sum(y**2)
        """,
        lambda rng: [
            [np.full(3, 1.0) + N(rng, 3) * 0.1, N(rng, 3)],
            [N(rng, 3) * 0.1, N(rng, 3)],
            [np.full(3, -1.0) + N(rng, 3) * 0.1, N(rng, 3)],
        ],
        sides=lambda x, w: 0 if np.sum(x) > 1 else 1 if np.sum(x) > -1 else 2,
        n_sides=3,
    ),
    Case(
        "nested-if",
        """
        def f(x, y):
            if x > 0:
                if y > 0:
                    z = x * y
                else:
                    z = x - y * y
            else:
                z = np.exp(x) * y
            return z
        """,
        lambda rng: [[0.7, 1.3], [0.7, -0.4], [-0.5, 0.9]],
        sides=lambda x, y: (x > 0, y > 0 if x > 0 else None),
        n_sides=3,
    ),
    Case(
        "conditional-expression",
        """
        def f(a, b, c):
            return np.sum(a * c if c > 0 else np.cos(b) * c)
        """,
        lambda rng: [[N(rng, 3), N(rng, 3), 1.5], [N(rng, 3), N(rng, 3), -0.5]],
        sides=lambda a, b, c: c > 0,
    ),
    Case(
        "conditional-expression-nested",
        """
        def f(x):
            t = np.sum(x)
            y = x * 2.0 if t > 1.0 else (x * x if t > -1.0 else -x)
            return np.sum(y * x)
        """,
        lambda rng: [[np.full(2, 1.0) + N(rng, 2) * 0.1], [N(rng, 2) * 0.1], [np.full(2, -1.0) + N(rng, 2) * 0.1]],
        sides=lambda x: 0 if np.sum(x) > 1 else 1 if np.sum(x) > -1 else 2,
        n_sides=3,
    ),
    Case(
        "and-or-not-tests",
        """
        def f(x, y):
            if x > 0 and y > 0:
                z = x * y
            elif x > 0 or not y < -1.0:
                z = x + y * y
            else:
                z = x * x * y
            return z
        """,
        lambda rng: [[0.5, 0.7], [0.5, -0.7], [-0.5, -0.7], [-0.5, -1.5]],
        sides=lambda x, y: 0 if (x > 0 and y > 0) else 1 if (x > 0 or not y < -1.0) else 2,
        n_sides=3,
    ),
    Case(
        "while-and-test",
        """
        def f(x, lim):
            y = x
            k = 0
            while np.sum(y * y) < lim and k < 20:
                y = y * 1.5 + 0.1
                k = k + 1
            return np.sum(y)
        """,
        lambda rng: [[U(rng, 0.1, 0.2, 3), 4.0], [U(rng, 0.1, 0.2, 3), 1e9]],
        nondiff=(1,),  # `lim` only meets the output through a comparison
        sides=lambda x, lim: lim > 1e6,  # stopped by the data / by the counter
    ),
    Case(
        "while-or-not-test",
        """
        def f(x):
            y = x
            k = 0
            while not np.sum(y) > 3.0 or k < 2:
                y = y + 0.5 * np.cos(y)
                k = k + 1
            return np.sum(y * y)
        """,
        lambda rng: [[U(rng, -0.5, 0.5, 3)], [U(rng, 1.5, 2.0, 3)]],
        sides=lambda x: np.sum(x) > 3.0,  # stopped by the counter / by the data
    ),
    Case(
        "conditional-expression-in-loop",
        """
        def f(x, w):
            s = 0.0
            for i in range(x.shape[0]):
                s = s + (x[i] * w if x[i] > 0 else np.sin(x[i]) * w * w)
            return s
        """,
        lambda rng: [[np.array([0.4, -0.9, 1.3, -0.2]), 0.8]],
        sides=lambda x, w: bool(np.any(x > 0)) and bool(np.any(x <= 0)),
        n_sides=1,
    ),
    Case(
        "early-return",
        """
        def f(x, t):
            if t > 0:
                return x * 2.0 * t
            y = x + t
            return y * y
        """,
        lambda rng: [[1.3, 0.7], [1.3, -0.4]],
        sides=lambda x, t: t > 0,
    ),
    Case(
        "several-returns",
        """
        def f(x):
            s = np.sum(x)
            if s > 2.0:
                return np.sum(x**2)
            if s > 0.0:
                return np.sum(np.sin(x)) * s
            if s < -2.0:
                return s * s * s
            return np.prod(x)
        """,
        lambda rng: [
            [np.full(3, 1.0) + N(rng, 3) * 0.1],
            [np.full(3, 0.3) + N(rng, 3) * 0.1],
            [np.full(3, -1.0) + N(rng, 3) * 0.1],
            [np.full(3, -0.3) + N(rng, 3) * 0.1],
        ],
        sides=lambda x: 0 if np.sum(x) > 2 else 1 if np.sum(x) > 0 else 2 if np.sum(x) < -2 else 3,
        n_sides=4,
    ),
    Case(
        "branch-calls-helper",
        """
        def g(x, w):
            return np.tanh(x @ w)

        def f(x, w):
            if np.sum(x) > 0:
                h = g(x, w)
            else:
                h = g(-x, w * 2.0)
            return np.sum(h * h)
        """,
        lambda rng: [[U(rng, 0, 1, 2, 3), N(rng, 3, 3)], [U(rng, -1, 0, 2, 3), N(rng, 3, 3)]],
        sides=lambda x, w: np.sum(x) > 0,
    ),
    # ------------------------------------------------------------------- loops
    Case(
        "for-range-accumulate",
        """
        def f(x):
            s = 0.0
            for i in range(x.shape[0]):
                s = s + x[i] * x[i] * (i + 1)
            return s
        """,
        lambda rng: [[N(rng, 5)]],
    ),
    Case(
        "for-range-start-stop-step-from-data",
        """
        def f(x, w):
            n = x.shape[0]
            s = 0.0
            for i in range(1, n - 1, 2):
                s = s + x[i] * w[i - 1] + x[i + 1] ** 2
            for j in range(n - 1, -1, -3):
                s = s * 0.5 + np.sin(x[j])
            return s
        """,
        lambda rng: [[N(rng, 7), N(rng, 7)], [N(rng, 4), N(rng, 4)]],
    ),
    Case(
        "for-range-step-from-data",
        """
        def f(A, v):
            flat = np.ravel(A)
            m = A.shape[1]
            s = 0.0
            for i in range(0, flat.shape[0], m):
                s = s + np.sum(flat[i : i + m] * v)
            for k in range(m - 1, flat.shape[0], m + 1):
                s = s * np.cos(flat[k])
            return s
        """,
        lambda rng: [[N(rng, 3, 4), N(rng, 4)], [N(rng, 2, 2), N(rng, 2)]],
    ),
    Case(
        "for-augmented-accumulator",
        """
        def f(x, y):
            s = np.zeros(3)
            t = 1.0
            for i in range(4):
                s += x * y[i]
                t *= 1.0 + 0.1 * y[i]
                s -= 0.5 * x * t
            return np.sum(s * s)
        """,
        lambda rng: [[N(rng, 3), N(rng, 4)]],
    ),
    Case(
        "for-over-1d-array",
        """
        def f(x, a):
            acc = a
            for v in x:
                acc = acc * np.cos(v) + v
            return acc
        """,
        lambda rng: [[N(rng, 6), 0.3]],
    ),
    Case(
        "for-over-2d-rows",
        """
        def f(X, w):
            total = 0.0
            for row in X:
                total = total + np.sum(np.tanh(row * w))
            return total
        """,
        lambda rng: [[N(rng, 4, 3), N(rng, 3)]],
    ),
    Case(
        "rnn-loop-carried",
        """
        def f(xs, h, W, U, b):
            for x in xs:
                h = np.tanh(W @ h + U @ x + b)
            return np.sum(h**2)
        """,
        lambda rng: [[N(rng, 5, 2), N(rng, 3), N(rng, 3, 3) * 0.5, N(rng, 3, 2), N(rng, 3)]],
    ),
    Case(
        "for-over-list-display",
        """
        def f(a, b, c):
            total = 0.0
            for v in [a, b * 2.0, a * c]:
                total = total + np.sum(np.sin(v))
            return total
        """,
        lambda rng: [[N(rng, 3), N(rng, 3), N(rng, 3)]],
    ),
    Case(
        "zip-over-list-displays",
        """
        def f(a, b):
            total = 0.0
            for v, w in zip([a, b], [b, a * 2.0]):
                total = total + np.sum(v * w)
            return total
        """,
        lambda rng: [[N(rng, 3), N(rng, 3)]],
    ),
    Case(
        "for-over-appended-list",
        """
        def f(a, b, c):
            vs = []
            for k in range(3):
                vs.append(a * k + b * c)
            total = 0.0
            for v in vs:
                total = total + np.sum(np.sin(v))
            return total
        """,
        lambda rng: [[N(rng, 3), N(rng, 3), N(rng, 3)]],
    ),
    Case(
        "for-over-list-argument",
        """
        def f(xs, w):
            total = 0.0
            for x in xs:
                total = total + np.sum(np.cos(x * w))
            return total
        """,
        lambda rng: [[[N(rng, 2), N(rng, 2), N(rng, 2)], N(rng, 2)]],
    ),
    Case(
        "for-zip",
        """
        def f(xs, ys):
            acc = 0.0
            for x, y in zip(xs, ys):
                acc = acc + np.sum(x * np.cos(y))
            return acc
        """,
        lambda rng: [[N(rng, 3, 2), N(rng, 3, 2)]],
    ),
    Case(
        "for-enumerate",
        """
        def f(xs, w):
            acc = 0.0
            for i, x in enumerate(xs):
                acc = acc + np.sum(x * w) * (i + 1) + acc * 0.1 * i
            return acc
        """,
        lambda rng: [[N(rng, 4, 2), N(rng, 2)]],
    ),
    Case(
        "for-reversed",
        """
        def f(xs, h):
            for x in reversed(xs):
                h = np.sin(h * x) + x
            return np.sum(h)
        """,
        lambda rng: [[N(rng, 4, 3), N(rng, 3)]],
    ),
    Case(
        "for-zip-three",
        """
        def f(a, b, c):
            s = 0.0
            for u, v, w in zip(a, b, c):
                s = s + u * v - np.sin(w) * s
            return s
        """,
        lambda rng: [[N(rng, 4), N(rng, 4), N(rng, 4)]],
    ),
    Case(
        "for-enumerate-rows-fill",
        """
        def f(X, v):
            out = np.zeros(X.shape[0])
            for i, row in enumerate(X):
                out[i] = np.sum(row * v) ** 2
            return np.sum(np.sqrt(out + 1.0))
        """,
        lambda rng: [[N(rng, 3, 4), N(rng, 4)]],
    ),
    Case(
        "for-reversed-range",
        """
        def f(x):
            s = 0.0
            for i in reversed(range(x.shape[0])):
                s = s * 0.7 + x[i]
            return s * s
        """,
        lambda rng: [[N(rng, 5)]],
    ),
    Case(
        "for-over-list-argument-by-index",
        """
        def f(xs, w):
            s = 0.0
            for i in range(len(xs)):
                s = s + np.sum(xs[i] * w) * xs[len(xs) - 1 - i][0]
            return s
        """,
        lambda rng: [[[N(rng, 2), N(rng, 2), N(rng, 2)], N(rng, 2)]],
    ),
    Case(
        "for-over-expression",
        """
        def f(X):
            s = 0.0
            for r in np.tanh(X[1:]):
                s = s + np.sum(r**2)
            return s
        """,
        lambda rng: [[N(rng, 4, 2)]],
    ),
    Case(
        "zero-trip-for",
        """
        def f(x, w):
            s = x * 1.0
            for i in range(x.shape[0] - 4):
                s = s * w
            return np.sum(s * w)
        """,
        lambda rng: [[N(rng, 3), N(rng, 3)]],
    ),
    Case(
        "nested-loops",
        """
        def f(A, v):
            s = 0.0
            for i in range(A.shape[0]):
                r = 0.0
                for j in range(A.shape[1]):
                    r = r + A[i, j] * v[j]
                s = s + np.tanh(r) * (i + 1)
            return s
        """,
        lambda rng: [[N(rng, 3, 4), N(rng, 4)]],
    ),
    Case(
        "swap",
        """
        def f(a, b):
            for i in range(6):
                a, b = b, a + b * 0.5
            return a * b
        """,
        lambda rng: [[0.3, 0.7], [N(rng, 2), N(rng, 2)]],
    ),
    Case(
        "loop-calls-helper",
        """
        def cell(h, x, W):
            return np.tanh(W @ h + x)

        def f(xs, h, W):
            for x in xs:
                h = cell(h, x, W)
            return np.sum(h)
        """,
        lambda rng: [[N(rng, 4, 3), N(rng, 3), N(rng, 3, 3) * 0.5]],
    ),
    Case(
        "branch-inside-loop",
        """
        def f(x, w):
            s = 0.0
            for i in range(x.shape[0]):
                if x[i] > 0:
                    s = s + x[i] * w
                else:
                    s = s - x[i] * x[i]
            return s
        """,
        lambda rng: [[np.array([0.5, -0.3, 1.2, -0.8]), 0.7]],
        sides=lambda x, w: bool(np.any(x > 0)) and bool(np.any(x <= 0)),
        n_sides=1,
    ),
    # -------------------------------------------------------- while, break, continue
    Case(
        "while-newton-sqrt",
        """
        def f(a):
            x = a
            while np.abs(x * x - a) > 1e-12:
                x = 0.5 * (x + a / x)
            return x
        """,
        lambda rng: [[2.5], [0.3], [40.0]],
    ),
    Case(
        "while-newton-sqrt-array",
        """
        def f(a):
            x = a + 1.0
            k = 0
            while np.max(np.abs(x * x - a)) > 1e-12:
                x = 0.5 * (x + a / x)
                k += 1
            return np.sum(x * np.arange(a.shape[0]))
        """,
        lambda rng: [[U(rng, 0.5, 9.0, 4)]],
    ),
    Case(
        "while-fixed-point",
        """
        def f(c, y0):
            y = y0
            delta = 1.0
            while delta > 1e-14:
                y_new = np.cos(c * y)
                delta = np.abs(y_new - y)
                y = y_new
            return y
        """,
        lambda rng: [[0.8, 0.5], [0.4, 0.1]],
        rtol=1e-4,
    ),
    Case(
        "while-trip-count-from-data",
        """
        def f(x, s):
            y = s
            while y < 10.0:
                y = y * 1.5 + np.sum(x * x)
            return y
        """,
        lambda rng: [[N(rng, 2) * 0.3, 0.5], [N(rng, 2) * 0.3, 5.0]],
    ),
    Case(
        "break",
        """
        def f(x):
            s = 0.0
            for i in range(x.shape[0]):
                s = s + x[i] * x[i]
                if s > 2.0:
                    break
            return s
        """,
        lambda rng: [[np.array([0.9, 0.8, 1.1, 0.5, 0.3, 0.2])], [np.array([0.1, 0.2, 0.3])]],
        sides=lambda x: np.sum(x * x) > 2.0,
    ),
    Case(
        "break-out-of-inner-loop",
        """
        def f(A):
            total = 0.0
            for i in range(A.shape[0]):
                r = 0.0
                for j in range(A.shape[1]):
                    if A[i, j] < 0:
                        break
                    r = r + A[i, j] ** 2
                total = total + np.sin(r) * (i + 1)
            return total
        """,
        lambda rng: [[np.array([[0.5, 0.2, -0.1, 0.9], [0.3, -0.4, 0.2, 0.1], [0.7, 0.6, 0.5, 0.4]])]],
    ),
    Case(
        "break-outer-with-flag",
        """
        def f(A, limit):
            total = 0.0
            for i in range(A.shape[0]):
                for j in range(A.shape[1]):
                    total = total + A[i, j] * A[i, j]
                    if total > limit:
                        break
                if total > limit:
                    break
                total = total * 0.9
            return total * limit
        """,
        lambda rng: [[U(rng, 0.5, 1, 3, 3), 2.0], [U(rng, 0.1, 0.3, 3, 3), 50.0]],
        sides=lambda A, limit: limit < 10,
    ),
    Case(
        # `(a,) = g(x)` unpacks a one-tuple; it once bound the whole tuple (found by --mode hvp).
        "one-tuple-unpack-of-call",
        """
        def g(x):
            return (np.sin(x) * 2.0,)


        def f(x):
            (y,) = g(x)
            return np.sum(y * y)
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "while-break",
        """
        def f(x):
            y = x
            k = 0
            while True:
                y = np.sin(y) + 0.5 * y
                k = k + 1
                if k >= 5:
                    break
            return np.sum(y)
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "while-true-break-on-data",
        """
        def f(x):
            y = x
            while True:
                y = y * 1.3
                if np.sum(y * y) > 5.0:
                    break
            return np.sum(y)
        """,
        lambda rng: [[np.array([0.3, 0.4])], [np.array([1.5, -1.0])]],
    ),
    Case(
        "while-tuple-swap-agm",
        """
        def f(a, b):
            x = a
            y = b
            while np.abs(x - y) > 1e-13:
                x, y = 0.5 * (x + y), np.sqrt(x * y)
            return x
        """,
        lambda rng: [[1.5, 0.7], [4.0, 0.2]],
    ),
    Case(
        "while-calls-helper",
        """
        def step(x, a):
            return 0.5 * (x + a / x)

        def f(a):
            x = a
            while np.abs(x * x - a) > 1e-12:
                x = step(x, a)
            return x
        """,
        lambda rng: [[3.0], [0.2]],
    ),
    Case(
        "zero-trip-while",
        """
        def f(x):
            y = x
            while np.sum(y) > 100.0:
                y = y * 0.5
            return np.sum(y * y)
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "for-inside-while",
        """
        def f(x):
            k = 0
            while k < 3:
                for i in range(x.shape[0]):
                    x = x + 0.1 * np.sin(x[i])
                k += 1
            return np.sum(x)
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "break-in-elif",
        """
        def f(x):
            s = 0.0
            for v in x:
                if v > 1.0:
                    s = s + 2.0 * v
                elif v < -0.5:
                    break
                else:
                    s = s + v * v
            return s
        """,
        lambda rng: [[np.array([0.3, 1.4, 0.2, -0.8, 0.5])]],
    ),
    Case(
        "continue",
        """
        def f(x, w):
            s = 0.0
            for i in range(x.shape[0]):
                if x[i] < 0:
                    continue
                s = s + w * x[i] ** 2
            return s
        """,
        lambda rng: [[np.array([0.5, -0.3, 1.2, -0.8, 0.1]), 0.7]],
    ),
    Case(
        "continue-in-nested-loop",
        """
        def f(A, w):
            s = 0.0
            for i in range(A.shape[0]):
                for j in range(A.shape[1]):
                    if A[i, j] * w < 0:
                        continue
                    s = s + np.exp(A[i, j] * w)
                s = s * 0.5
            return s
        """,
        lambda rng: [[np.array([[0.5, -0.2, 0.1], [-0.4, 0.3, -0.6]]), 0.9]],
    ),
    Case(
        "if-inside-while",
        """
        def f(x, a):
            k = 0
            while k < 6:
                if np.sum(x) > 0:
                    x = x * a - 0.3
                else:
                    x = np.tanh(x) + 0.2
                k += 1
            return np.sum(x**2)
        """,
        lambda rng: [[U(rng, 0.2, 0.5, 3), 0.9]],
    ),
    Case(
        "continue-in-while",
        """
        def f(x):
            i = 0
            s = 0.0
            while i < x.shape[0]:
                i = i + 1
                if x[i - 1] > 0.5:
                    continue
                s = s + np.exp(x[i - 1])
            return s
        """,
        lambda rng: [[np.array([0.1, 0.9, -0.2, 0.7, 0.3])]],
    ),
    # ------------------------------------- break, continue and return deep inside ifs
    # Each jump ends its path, and the code after the `if`s around it runs only where it
    # did not jump (issue 9: a `break` two `if`s deep was ignored). `test_jump_cases_run_
    # every_line` checks the scenarios run every line of these sources between them.
    *[
        Case(
            "break-two-ifs-deep",
            """
            def f(x):
                y = x
                for i in range(4):
                    if y[1] > 0.0:
                        if y[0] > 1.0:
                            break
                    y = y * 2.0 + np.sin(y)
                return np.sum(y)
            """,
            lambda rng: [[np.array([0.3, 0.2, 0.1])], [np.array([0.3, -0.5, 0.1])], [np.array([1.5, 0.2, -0.1])]],
        ),
        Case(
            "break-two-ifs-deep-while",
            """
            def f(x):
                y = x
                k = 0
                while k < 4:
                    k = k + 1
                    if y[1] > 0.0:
                        if y[0] > 1.0:
                            break
                    y = y * 2.0 + np.sin(y)
                return np.sum(y)
            """,
            lambda rng: [[np.array([0.3, 0.2, 0.1])], [np.array([0.3, -0.5, 0.1])], [np.array([1.5, 0.2, -0.1])]],
        ),
        Case(
            "continue-two-ifs-deep-while",
            """
            def f(x):
                y = x
                k = 0
                while k < 4:
                    k = k + 1
                    if y[0] > 0.0:
                        if y[1] > 0.5:
                            y = y * 0.5
                            continue
                        y = y + 0.1
                    y = np.sin(y) * 1.5
                return np.sum(y)
            """,
            lambda rng: [[np.array([0.4, 0.9, 0.2])], [np.array([0.4, 0.2, 0.2])], [np.array([-0.4, 0.9, 0.2])]],
        ),
        Case(
            "break-and-continue-in-elif-else-arms",
            """
            def f(x, w):
                s = 0.0
                for v in x:
                    if v > 0.0:
                        if v > 1.0:
                            break
                        elif v > 0.5:
                            s = s + w * v
                            continue
                        else:
                            s = s * 0.5
                    else:
                        if v < -1.0:
                            continue
                    s = s + np.sin(v * w)
                return s
            """,
            lambda rng: [
                [np.array([0.2, 0.7, -0.3, -1.5, 0.4, 1.4, 0.3]), 0.8],
                [np.array([0.6, -1.2, 0.1, -0.2]), 1.3],
            ],
        ),
        Case(
            "break-three-ifs-deep-in-inner-loop",
            """
            def f(A):
                total = 0.0
                for i in range(A.shape[0]):
                    r = 0.0
                    for j in range(A.shape[1]):
                        if A[i, j] < 0.8:
                            if A[i, j] < 0.0:
                                if j > 0:
                                    break
                        r = r + A[i, j] ** 2
                    total = total + np.sin(r) * (i + 1)
                return total
            """,
            lambda rng: [[np.array([[0.5, 0.9, -0.1, 0.9], [-0.3, 0.4, -0.2, 0.1], [0.7, 0.6, 0.5, 0.4]])]],
        ),
        Case(
            "jumps-in-two-ifs-in-a-row",
            """
            def f(x):
                y = x
                s = 0.0
                for i in range(4):
                    if y[0] > 0.0:
                        if s > 1.0:
                            continue
                        y = y * 0.9
                    else:
                        if y[1] < -0.5:
                            break
                    if y[2] > 0.0:
                        if s > 2.0:
                            break
                    s = s + np.sum(y * y)
                    y = np.sin(y) + 0.5
                return s + np.sum(y)
            """,
            lambda rng: [
                [np.array([0.9, 0.4, 0.8])],
                [np.array([-0.9, -0.8, 0.3])],
                [np.array([-0.2, 0.3, -0.9])],
                [np.array([0.3, 0.1, -0.7])],
                [np.array([-0.9, 1.0, 2.0])],
            ],
        ),
        Case(
            "return-two-ifs-deep",
            """
            def f(x):
                if x[0] > 0.0:
                    if x[1] > 0.0:
                        return np.sum(x * 3.0)
                    x = x * 0.5
                y = x * 2.0
                return np.sum(y * y)
            """,
            lambda rng: [[np.array([0.5, 0.2, 0.1])], [np.array([0.5, -0.2, 0.1])], [np.array([-0.5, 0.2, 0.1])]],
        ),
        Case(
            "return-in-elif-deep-then-loop",
            """
            def f(x, w):
                if w > 0.0:
                    if x[0] > 1.0:
                        return w * np.sum(x)
                    elif x[1] > 1.0:
                        if x[2] > 0.0:
                            return np.sum(np.sin(x))
                s = 0.0
                for v in x:
                    s = s + v * w
                return s
            """,
            lambda rng: [
                [np.array([1.5, 0.2, 0.1]), 0.7],
                [np.array([0.5, 1.2, 0.1]), 0.7],
                [np.array([0.5, 1.2, -0.1]), 0.7],
                [np.array([0.5, 0.2, 0.1]), 0.7],
                [np.array([0.5, 0.2, 0.1]), -0.7],
            ],
        ),
    ],
    Case(
        # Writing the walked array after the loop, or inside a loop that walks a copy, is fine.
        "write-walked-array-after-loop-or-walk-a-copy",
        """
        def f(x):
            v = np.reshape(x, (3, 2)) * 1.0
            s = 0.0
            for row in v.copy():
                s = s + np.sum(row * row)
                v[-1, 0] = s
            for row in v:
                s = s + np.sum(np.sin(row))
            v[0, 1] = s * 2.0
            return np.sum(v * v)
        """,
        lambda rng: [[N(rng, 6)]],
    ),
    # A parameter with an integer default is taken as not differentiable, unless a caller
    # passes it a value carrying a derivative (issue 9: that derivative was dropped).
    Case(
        "integer-default-parameter-fed-a-derivative",
        """
        def g(x, n=2):
            return x * n

        def f(x, y):
            return np.sum(g(x, y)) + np.sum(g(y)) + np.sum(g(x, 3) * y)
        """,
        lambda rng: [[N(rng, 3), N(rng, 3)]],
    ),
    Case(
        "integer-defaults-used-in-loops-and-arms",
        """
        def step(h, w, k=1, scale=2):
            for i in range(k):
                h = np.tanh(h * w) * scale
            return h

        def f(x, w):
            h = x
            for i in range(3):
                if np.sum(h) > 0:
                    h = step(h, w)
                else:
                    h = step(h, w, 2) * 0.5
                h = step(h, w, scale=np.sum(w) * 0.3)
            return np.sum(h)
        """,
        lambda rng: [[U(rng, 0.1, 0.5, 3), U(rng, 0.2, 0.6, 3)], [U(rng, -0.5, -0.1, 3), U(rng, 0.2, 0.6, 3)]],
        sides=lambda x, w: np.sum(x) > 0,
    ),
    # ------------------------------------------------------------------ recursion
    Case(
        "recursion-power",
        """
        def f(x, n: int):
            if n == 0:
                return 1.0
            return x * f(x, n - 1)
        """,
        lambda rng: [[1.3, 4], [N(rng, 3), 3]],
        nondiff=(1,),
    ),
    Case(
        "recursion-depth-from-data",
        """
        def f(x):
            if np.sum(x * x) < 0.01:
                return x
            return f(x * 0.5) + np.sin(x)
        """,
        lambda rng: [[N(rng, 3)], [N(rng, 3) * 0.01]],
        sides=lambda x: np.sum(x * x) < 0.01,
    ),
    Case(
        "recursion-on-slices",
        """
        def f(x, n: int):
            if n == 0:
                return np.sum(x)
            return f(x[1:] * 2.0, n - 1) + x[0]
        """,
        lambda rng: [[N(rng, 4), 3]],
        nondiff=(1,),
    ),
    Case(
        "mutual-recursion",
        """
        def even_part(x, n: int):
            if n == 0:
                return x
            return np.sin(odd_part(x, n - 1)) + x

        def odd_part(x, n: int):
            if n == 0:
                return x * 2.0
            return np.cos(even_part(x, n - 1)) * x

        def f(x, n: int):
            return np.sum(even_part(x, n))
        """,
        lambda rng: [[N(rng, 3), 5], [N(rng, 3), 4]],
        nondiff=(1,),
    ),
    Case(
        "mutual-recursion-with-tuples",
        """
        def ev(x, y, n: int):
            if n == 0:
                return x, y
            a, b = od(x, y, n - 1)
            return a * b, a

        def od(x, y, n: int):
            if n == 0:
                return y, x
            a, b = ev(x, y, n - 1)
            return np.sin(a), b + a

        def f(x, y):
            a, b = ev(x, y, 5)
            return np.sum(a + b)
        """,
        lambda rng: [[N(rng, 2), N(rng, 2)]],
    ),
    Case(
        "recursion-called-in-loop",
        """
        def p(x, n: int):
            if n == 0:
                return x
            return np.sin(p(x, n - 1))

        def f(x):
            s = 0.0
            for k in range(3):
                s = s + np.sum(p(x, k))
            return s
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "recursive-horner",
        """
        def horner(c, x, i: int):
            if i == c.shape[0] - 1:
                return c[i]
            return c[i] + x * horner(c, x, i + 1)

        def f(c, x):
            return horner(c, x, 0)
        """,
        lambda rng: [[N(rng, 5), 0.7]],
    ),
    Case(
        "recursion-with-tuples",
        """
        def pair(x, n: int):
            if n == 0:
                return x, x * 0.5
            a, b = pair(x, n - 1)
            return b, a + np.sin(b) * x

        def f(x, n: int):
            a, b = pair(x, n)
            return np.sum(a * b)
        """,
        lambda rng: [[N(rng, 3), 4]],
        nondiff=(1,),
    ),
    # ---------------------------------------------------------------------- lists
    Case(
        "list-append-stack",
        """
        def f(xs, h, W):
            hs = []
            for x in xs:
                h = np.tanh(x + W @ h)
                hs.append(h)
            return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1]) + np.sum(hs[0] * hs[1])
        """,
        lambda rng: [[N(rng, 4, 3), N(rng, 3), N(rng, 3, 3) * 0.5]],
    ),
    Case(
        "list-comprehension-of-arrays",
        """
        def f(x, ws):
            ys = [np.sin(x * w) for w in ws]
            return np.sum(np.array(ys) ** 2) + np.sum(sum(ys))
        """,
        lambda rng: [[N(rng, 3), N(rng, 4)]],
    ),
    Case(
        "list-comprehension-filter-nested",
        """
        def f(x, y):
            zs = [a * b for a in x for b in y if a > 0]
            return np.sum(np.stack(zs) ** 2)
        """,
        lambda rng: [[np.array([0.5, -0.3, 1.2]), N(rng, 3)]],
    ),
    Case(
        "list-comprehension-of-rows",
        """
        def f(X, w):
            rows = [np.tanh(r @ w) for r in X]
            return np.sum(np.stack(rows) * np.stack(rows))
        """,
        lambda rng: [[N(rng, 4, 3), N(rng, 3, 2)]],
    ),
    Case(
        "list-display-index-in-if-arm",
        """
        def f(x):
            items = [x, x * 2.0]
            if np.sum(x) > 0:
                s = np.sum(items[1])
            else:
                s = np.sum(items[0] ** 2)
            return s
        """,
        lambda rng: [[U(rng, 0.1, 1, 3)], [U(rng, -1, -0.1, 3)]],
        sides=lambda x: np.sum(x) > 0,
    ),
    Case(
        "list-display-passed-to-helper",
        """
        def g(xs):
            return np.sum(xs[0] * xs[1])

        def f(x):
            return g([x, x * 2.0])
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "appended-list-index-in-loop",
        """
        def f(x):
            items = []
            for k in range(4):
                items.append(np.sin(x * (k + 1)))
            s = 0.0
            for i in range(len(items)):
                s = s + np.sum(items[i] * items[len(items) - 1 - i])
            return s + np.sum(items[2])
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "list-display-index-in-loop",
        """
        def f(x):
            items = [x, x * 2.0, np.sin(x)]
            items.append(x * x)
            s = 0.0
            for i in range(len(items)):
                s = s + np.sum(items[i] * items[len(items) - 1 - i])
            return s + np.sum(items[2])
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "list-append-in-while",
        """
        def f(x):
            hs = []
            h = x
            k = 0
            while np.sum(h * h) > 0.01 and k < 50:
                h = h * 0.5 + 0.01 * np.sin(h)
                hs.append(h)
                k = k + 1
            return np.sum(np.stack(hs))
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "list-of-lists",
        """
        def f(x):
            rows = []
            for i in range(2):
                row = []
                for j in range(3):
                    row.append(x[i, j] * (i + j))
                rows.append(np.stack(row))
            return np.sum(np.stack(rows) ** 2)
        """,
        lambda rng: [[N(rng, 2, 3)]],
    ),
    Case(
        "list-comprehension-range-filter-on-data",
        """
        def f(x):
            ys = [x[i] * x[j] for i in range(x.shape[0]) for j in range(i) if x[i] > x[j]]
            return np.sum(np.array(ys)) + sum([x * k for k in range(3)])[1]
        """,
        lambda rng: [[np.array([0.3, -0.2, 0.9, 0.1])]],
    ),
    Case(
        "list-sum-builtin",
        """
        def f(a, b):
            parts = []
            for i in range(3):
                parts.append(a * (i + 1) + b)
            return np.sum(sum(parts) ** 2)
        """,
        lambda rng: [[N(rng, 2), N(rng, 2)]],
    ),
    # ---------------------------------------------------------------------- dicts
    Case(
        "dict-params",
        """
        def f(p, x, y):
            h = np.tanh(x @ p["W1"] + p["b1"])
            pred = h @ p["W2"]
            return np.mean((pred - y) ** 2) + 0.1 * p["scale"] ** 2
        """,
        lambda rng: [
            [
                {"W1": N(rng, 3, 4), "b1": N(rng, 4), "W2": N(rng, 4, 1), "unused": N(rng, 2), "scale": 0.3},
                N(rng, 5, 3),
                N(rng, 5, 1),
            ]
        ],
    ),
    Case(
        "dict-params-in-loop-and-branch",
        """
        def layer(p, h):
            return np.tanh(h @ p["W"] + p["b"])

        def f(p, x):
            for i in range(3):
                x = layer(p, x)
            if np.sum(x) > 0:
                x = x * p["b"]
            else:
                x = x - p["c"]
            return np.sum(x**2)
        """,
        lambda rng: [
            [
                {"W": N(rng, 3, 3) * 0.5, "b": np.full(3, 1.0), "c": N(rng, 3), "unused": N(rng, 2, 2)},
                np.full((2, 3), 1.0),
            ],
            [
                {"W": N(rng, 3, 3) * 0.5, "b": np.full(3, -1.0), "c": N(rng, 3), "unused": N(rng, 2, 2)},
                np.full((2, 3), -1.0),
            ],
        ],
        sides=lambda p, x: np.sum(_dict_forward(p, x)) > 0,
    ),
    Case(
        "dict-params-directly-in-loop",
        """
        def f(p, x):
            for i in range(3):
                x = np.tanh(x @ p["W"] + p["b"] * i)
            return np.sum(x)
        """,
        lambda rng: [[{"W": N(rng, 3, 3) * 0.5, "b": N(rng, 3), "zz": 1.0}, N(rng, 2, 3)]],
    ),
    Case(
        # Read after the loop first (reversed: first), so the entry holds another adjoint
        # when the loop adds into the dict in place: it must be copied, not updated.
        "dict-entry-read-after-loop",
        """
        def f(p, x):
            for i in range(2):
                x = np.tanh(x * p["W"])
            y = p["W"] + x
            return np.sum(y * y) + np.sum(x * 3.0)
        """,
        lambda rng: [[{"W": N(rng, 3), "b": N(rng, 3)}, N(rng, 3)]],
    ),
    Case(
        "dict-params-in-comprehension",
        """
        def f(p, xs):
            ys = [np.tanh(x @ p["W"]) for x in xs]
            return np.sum(np.stack(ys))
        """,
        lambda rng: [[{"W": N(rng, 3, 2), "unused": 0.0}, N(rng, 4, 3)]],
    ),
    Case(
        "dict-params-in-conditional-expression",
        """
        def f(p, x):
            w = p["a"] if np.sum(x) > 0 else p["b"]
            return np.sum(w * x)
        """,
        lambda rng: [
            [{"a": N(rng, 3), "b": N(rng, 3)}, U(rng, 0.1, 1, 3)],
            [{"a": N(rng, 3), "b": N(rng, 3)}, U(rng, -1, -0.1, 3)],
        ],
        sides=lambda p, x: np.sum(x) > 0,
    ),
    # ------------------------------------------------------------------- mutation
    Case(
        "diag-update-under-if-in-loop",
        """
        def f(x, S):
            S = S.copy()
            for i in range(x.shape[0]):
                if x[i] > 0:
                    S[i, i] += x[i]
                else:
                    S[i, i] -= 2.0 * x[i] * x[i]
            return np.sum(S * S)
        """,
        lambda rng: [[np.array([0.5, -0.7, 1.1, -0.2]), N(rng, 4, 4)]],
        sides=lambda x, S: bool(np.any(x > 0)) and bool(np.any(x <= 0)),
        n_sides=1,
    ),
    Case(
        "diag-update-of-argument-under-if-in-loop",
        """
        def f(x, S):
            for i in range(x.shape[0]):
                if x[i] > 0:
                    S[i, i] += x[i]
                else:
                    S[i, i] -= x[i] * S[i, i]
            return np.sum(S * S)
        """,
        lambda rng: [[np.array([0.5, -0.7, 1.1]), N(rng, 3, 3)]],
        sides=lambda x, S: bool(np.any(x > 0)) and bool(np.any(x <= 0)),
        n_sides=1,
    ),
    Case(
        "row-updates-under-if-in-loop",
        """
        def f(A, v):
            B = A.copy()
            for i in range(B.shape[0]):
                if np.sum(B[i]) > 0:
                    B[i, :] = B[i, :] * v
                else:
                    B[i, 1:] -= v[1:] ** 2
            return np.sum(B**2)
        """,
        lambda rng: [[np.array([[0.5, 0.3, 0.1], [-0.5, 0.1, -0.2]]), N(rng, 3)]],
        sides=lambda A, v: bool(np.any(A.sum(1) > 0)) and bool(np.any(A.sum(1) <= 0)),
        n_sides=1,
    ),
    Case(
        "augmented-array-in-loop",
        """
        def f(x):
            y = x * 1.0
            for i in range(3):
                y *= np.cos(y)
                y += 0.1
            return np.sum(y)
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "conditional-expression-int-exponent",
        """
        def f(x):
            k = 2 if np.sum(x) > 0 else 3
            return np.sum(x**k)
        """,
        lambda rng: [[np.array([0.3, 0.4])], [np.array([-0.3, 0.1])]],
        sides=lambda x: np.sum(x) > 0,
    ),
    Case(
        "setitem-in-loop",
        """
        def f(x):
            n = x.shape[0]
            y = np.zeros(n)
            for i in range(n):
                y[i] = np.sin(x[i]) * x[n - 1 - i]
            return np.sum(y * y)
        """,
        lambda rng: [[N(rng, 5)]],
    ),
    Case(
        "zeros-2d-filled-by-rows",
        """
        def f(x, W):
            n = x.shape[0]
            Y = np.zeros((n, 2))
            for i in range(n):
                Y[i] = np.tanh(x[i] * W[i % 2])
            Y[:, 1] += x
            return np.sum(Y**2)
        """,
        lambda rng: [[N(rng, 4), N(rng, 2, 2)]],
    ),
    Case(
        "zeros-like-recurrence",
        """
        def f(x):
            y = np.zeros_like(x)
            for i in range(1, x.shape[0]):
                y[i] = y[i - 1] * 0.5 + x[i] ** 2
            return np.sum(y)
        """,
        lambda rng: [[N(rng, 5)]],
    ),
    Case(
        "slice-blocks-filled-in-loop",
        """
        def f(x):
            y = np.zeros(6)
            for i in range(3):
                y[2 * i : 2 * i + 2] = x * (i + 1)
            return np.sum(np.sin(y))
        """,
        lambda rng: [[N(rng, 2)]],
    ),
    Case(
        "continue-then-augmented-setitem",
        """
        def f(x):
            y = x * 1.0
            for i in range(x.shape[0]):
                if x[i] < 0:
                    continue
                y[i] *= x[i]
                y[i] += 1.0
            return np.sum(y * y)
        """,
        lambda rng: [[np.array([0.5, -0.3, 0.8])]],
    ),
    Case(
        "masked-assignment-in-branch",
        """
        def f(x, a):
            y = x * a
            if np.sum(y) > 0:
                y[y < 0.2] = 0.2
            else:
                y[y > -0.2] *= 3.0
            return np.sum(y**2)
        """,
        lambda rng: [[np.array([0.5, -0.3, 0.8, 0.1]), 1.1], [np.array([-0.5, 0.3, -0.8, -0.1]), 1.1]],
        sides=lambda x, a: np.sum(x * a) > 0,
    ),
    Case(
        "setitem-2d-augmented",
        """
        def f(A, v):
            B = A * 1.0
            for i in range(B.shape[0]):
                for j in range(B.shape[1]):
                    B[i, j] -= v[j] * B[i, j] ** 2
                B[i] += v
            return np.sum(np.tanh(B))
        """,
        lambda rng: [[N(rng, 3, 2) * 0.5, N(rng, 2)]],
    ),
    Case(
        "slice-assignment",
        """
        def f(x, w):
            y = x * 1.0
            y[1:3] = w * y[0]
            y[::2] += np.sin(y[1::2])
            y[-1:] = y[-1:] * w[0]
            return np.sum(y * y)
        """,
        lambda rng: [[N(rng, 6), N(rng, 2)]],
    ),
    Case(
        "slice-assignment-from-seed",
        """
        def f(x, w):
            y = x * 1.0
            y[1:3] = w * y[0]
            return y
        """,
        lambda rng: [[N(rng, 6), N(rng, 2)]],
    ),
    Case(
        "slice-assignment-in-loop-and-branch",
        """
        def f(x, w):
            y = x * 1.0
            for i in range(3):
                if np.sum(y) > 0:
                    y[1:] = y[1:] * w + y[:-1]
                else:
                    y[:-1] = np.tanh(y[:-1]) - w
            return np.sum(np.sin(y))
        """,
        lambda rng: [[U(rng, 0.1, 0.5, 4), 0.3], [U(rng, -0.5, -0.1, 4), 0.3]],
        sides=lambda x, w: np.sum(x) > 0,
    ),
    Case(
        "masked-assignment",
        """
        def f(x, a):
            y = x * a
            y[y < 0] = 0
            y[y > 1.0] = y[y > 1.0] * 0.5
            y *= 2
            return np.sum(y * x)
        """,
        lambda rng: [[np.array([0.3, -0.5, 1.4, -1.2, 0.8, 2.2]), 1.1]],
    ),
    Case(
        "masked-assignment-in-loop",
        """
        def f(x, a):
            y = x * 1.0
            for i in range(3):
                y = y * a + 0.1
                y[y > 1.0] = 1.0
                y[y < -1.0] *= 0.5
            return np.sum(y * y)
        """,
        lambda rng: [[np.array([0.3, -0.5, 1.4, -1.7, 0.8, 2.2]), 1.3]],
    ),
    Case(
        "augmented-array-in-branch",
        """
        def f(x, t):
            y = x * 1.0
            if t > 0:
                y *= t
                y += x
            else:
                y -= t * x
                y /= 2.0
            return np.sum(y**2)
        """,
        lambda rng: [[N(rng, 3), 0.7], [N(rng, 3), -0.6]],
        sides=lambda x, t: t > 0,
    ),
    Case(
        "mutate-argument",
        """
        def f(x, w):
            x[0] = 3.0 * x[1] * w
            x[2] += w * x[0]
            x *= w
            return np.sum(x * x)
        """,
        lambda rng: [[N(rng, 4), 0.7]],
    ),
    Case(
        "mutate-argument-slice",
        """
        def f(x, w):
            x[0] = 3.0 * x[1] * w
            x[1:] += w
            return np.sum(x * x)
        """,
        lambda rng: [[N(rng, 4), 0.7]],
    ),
    Case(
        "alias-write-straight-line",
        """
        def f(x, z):
            t = x
            t[0] = 0.5 * z[1]
            x[1] += t[2] * z[0]
            return x * z + t
        """,
        lambda rng: [[N(rng, 4), N(rng, 4)]],
    ),
    Case(
        "mutate-argument-in-loop",
        """
        def f(x):
            for i in range(1, x.shape[0]):
                x[i] = x[i] + np.sin(x[i - 1])
            return np.sum(x**2)
        """,
        lambda rng: [[N(rng, 5)]],
    ),
    Case(
        "mutate-argument-and-return-it",
        """
        def f(x):
            x[0] = 2.0 * x[1]
            return x
        """,
        lambda rng: [[N(rng, 3)]],
    ),
    Case(
        "heat-equation-200-steps",
        """
        def f(u, k):
            for step in range(200):
                u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
            return np.sum(u**2)
        """,
        lambda rng: [[np.sin(np.linspace(0, np.pi, 50)) + 0.1 * N(rng, 50), 0.2]],
    ),
    # ----------------------------------------------------------- tuple returns
    Case(
        "tuple-return",
        """
        def f(x, y):
            s = 0.0
            for i in range(3):
                s = s + np.sum(x * y) * i
            if s > 0:
                return s, x * y
            return s * s, np.sin(x)
        """,
        lambda rng: [[U(rng, 0.1, 1, 3), U(rng, 0.1, 1, 3)], [U(rng, 0.1, 1, 3), U(rng, -1, -0.1, 3)]],
        sides=lambda x, y: np.sum(x * y) > 0,
    ),
    Case(
        "tuple-from-helper-in-branch",
        """
        def g(x):
            return np.sin(x), np.cos(x)

        def f(x, y):
            if np.sum(y) > 0:
                a, b = g(x)
            else:
                b, a = g(x * y)
            return np.sum(a * b + y)
        """,
        lambda rng: [[N(rng, 3), U(rng, 0.1, 1, 3)], [N(rng, 3), U(rng, -1, -0.1, 3)]],
        sides=lambda x, y: np.sum(y) > 0,
    ),
    Case(
        "tuple-return-from-helper-in-loop",
        """
        def step(a, b, w):
            return np.tanh(a * w + b), a

        def f(a, b, w):
            for i in range(4):
                a, b = step(a, b, w)
            return a, b
        """,
        lambda rng: [[N(rng, 3), N(rng, 3), N(rng, 3)]],
    ),
]


def _dict_forward(p, x):
    """The value `dict-params-in-loop-and-branch` branches on (to check both sides are taken)."""
    for _ in range(3):
        x = np.tanh(x @ p["W"] + p["b"])
    return x


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
        check(
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
    check(primal.f, generated.f_vjp, [x, w, 4], rng, nondiff=(2,))
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
    check(primal.f, generated.f_vjp, [first, rng.uniform(0.1, 1.0, size=4)], rng)
