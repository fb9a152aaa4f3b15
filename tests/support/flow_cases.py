"""The control-flow, container and mutation cases: one row per construct.

A row is an id, a source module whose entry point is ``f`` (helpers may sit beside it), and
a builder that turns a seeded generator into one or more argument lists. Rows whose branches
depend on the data give an argument list per side and a ``sides`` probe (a plain Python
function of the arguments naming the side taken), and the tests assert every side was
exercised, so a case can never silently test one arm only.

`tests/test_control_flow.py` checks every row in reverse mode, `tests/test_forward.py` in
forward mode and `tests/test_hvp.py` (every fourth row) for Hessian-vector products.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

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
