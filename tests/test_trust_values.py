"""Silent wrong values outside control flow (issue 9): each case once gave a number that was
not the derivative. Every case runs through the real pipeline in reverse, forward and HVP
mode and is compared with central differences; what dpgen cannot do right must be a
located error instead.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.errors import SourceErrors
from dpgen.header import Options
from support import check_vjp, generated_text, load, load_source
from test_forward import assert_close, check_jvp, difference, random_tangent, shifted

ALL = Options(mode="reverse,forward,hvp")


def check_all_modes(source: str, args: list, entry: str = "f", hvp: bool = True) -> None:
    """vjp and jvp against central differences (and each other), f_hvp against differences
    of the gradient."""
    source = textwrap.dedent(source)
    primal = getattr(load_source(source), entry)
    generated = load(generated_text(source, options=ALL if hvp else Options(mode="reverse,forward")))
    rng = np.random.default_rng(9)
    vjp = getattr(generated, f"{entry}_vjp")
    check_vjp(primal, vjp, args, rng)
    check_jvp(primal, getattr(generated, f"{entry}_jvp"), vjp, args, rng)
    if not hvp:
        return
    v = [random_tangent(a, rng) for a in args]
    hv = getattr(generated, f"{entry}_hvp")(*args, *v)
    hv = hv if isinstance(hv, tuple) else (hv,)
    eps = 1e-5
    plus = vjp(*[shifted(a, t, eps) for a, t in zip(args, v)])[1](1.0)
    minus = vjp(*[shifted(a, t, -eps) for a, t in zip(args, v)])[1](1.0)
    for k, got in enumerate(hv):
        if got is not None:
            assert_close(got, difference(plus[k], minus[k], eps), 1e-4, 1e-5, f"H v, parameter {k}")


def refused(source: str, *fragments: str, options: Options = Options()) -> str:
    with pytest.raises(SourceErrors) as info:
        generated_text(textwrap.dedent(source), options=options)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------- np.array of nested lists

NESTED = [
    pytest.param(
        """
        import numpy as np

        def f(a, b):
            M = np.array([[a, b], [b * a, 1.0]])
            return np.sum(M @ np.array([a, 2.0]))
        """,
        [0.7, -1.3],
        id="issue-example",
    ),
    pytest.param(
        """
        import numpy as np

        def f(a, x):
            T = np.array([[[a, 1.0], [a * a, 2.0]], [[3.0, a], [np.sin(a), a]]])
            R = np.array([x, 2.0 * x, x * x])
            return np.sum(T ** 2) + np.sum(np.sin(R))
        """,
        [0.4, np.array([0.3, -0.8, 1.1])],
        id="depth-3-and-rows-of-arrays",
    ),
    pytest.param(
        """
        import numpy as np

        def f(x, y, c):
            M = np.array([[x, y], [y * c, x]])
            return np.sum(M * M) + c * np.sum(np.array(((c, 1.0), (2.0, c))))
        """,
        [np.array([0.3, -0.8]), np.array([1.5, 0.2]), 0.9],
        id="arrays-mixed-with-scalars-and-tuples",
    ),
    pytest.param(
        """
        import numpy as np

        def f(a, x):
            rows = []
            for i in range(3):
                rows.append([a * i, x[i]])
            M = np.array(rows)
            return np.sum(M ** 2)
        """,
        [0.6, np.array([0.3, -0.8, 1.1])],
        id="list-built-in-a-loop",
    ),
    pytest.param(
        """
        import numpy as np

        def f(a, b):
            xs = [[a, b], [b, 2.0]]
            s = 0.0
            for row in xs:
                s = s + row[0] * row[1]
            return s + np.sum(np.stack([[a, b], [a * b, 1.0]]) ** 2)
        """,
        [0.7, -1.3],
        id="nested-list-walked-by-a-loop-and-stacked",
    ),
]


@pytest.mark.parametrize("source, args", NESTED)
def test_nested_lists_differentiate_in_every_mode(source, args):
    check_all_modes(source, args)


# ------------------------------------------- arithmetic on lists is list arithmetic

def test_numpy_calls_on_lists_keep_numpy_semantics():
    # np.multiply([a, b], 2) was written `[a, b] * 2`: the list repeated, in both modes.
    check_all_modes(
        """
        import numpy as np

        def f(a, b):
            return np.sum(np.multiply([a, b], 2)) + np.sum(np.multiply([a, b], 2.5) * np.array([1.0, 3.0])) + np.sum(np.negative((a, b)))
        """,
        [0.7, -1.3],
    )


@pytest.mark.parametrize(
    "body",
    [
        "return np.sum(np.array([a, b] * 2))",
        "return np.sum(np.array([a] + [b]))",
        "return np.sum(np.array((a, b) + (1.0,)))",
        "xs = [a, b]\n    ys = xs * 2\n    return np.sum(np.array(ys))",
        "xs = []\n    for i in range(2):\n        xs.append(a * i)\n    return np.sum(np.array(xs + [b]))",
        "xs = [a]\n    xs += [b]\n    return np.sum(np.array(xs))",
    ],
)
def test_arithmetic_on_a_list_is_refused(body):
    source = f"import numpy as np\n\ndef f(a, b):\n    {body}\n"
    refused(source, "model.py:", "on a list or tuple")


# --------------------------------------------------------------------- exact ties
# At an exact tie of two values, central differences give the mean of the two one-sided
# derivatives: each side gets half the cotangent, the tangent is the mean of the tangents.
TIES = [
    pytest.param("np.sum(np.maximum(x, y) ** 2)", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, -0.5])], id="maximum"),
    pytest.param("np.sum(np.minimum(x, y) ** 2)", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, -0.5])], id="minimum"),
    pytest.param("np.sum(np.maximum(x, 1.0) * y)", [np.array([1.0, 2.0]), np.array([0.5, -0.7])], id="maximum-constant"),
    pytest.param("max(x[0], y[0]) * min(x[1], y[2])", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, 2.0])], id="builtins"),
    pytest.param("np.sum(np.clip(x, y, 1.0) ** 2)", [np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.0, -1.0])], id="clip-both-bounds"),
    pytest.param("np.sum(np.clip(x, -1.0, y) ** 2)", [np.array([0.0, 0.5, -1.0]), np.array([0.0, 1.0, 2.0])], id="clip-upper"),
    pytest.param("np.max(x) * np.min(y) + np.sum(np.amax(x * y, axis=0))", [np.array([1.0, 2.0, 2.0]), np.array([1.0, 3.0, 1.0])], id="reductions-pairs"),
    pytest.param("x.max() * y.min()", [np.array([1.0, 2.0, 2.0]), np.array([1.0, 3.0, 1.0])], id="methods"),
]


@pytest.mark.parametrize("expr, args", TIES)
def test_exact_ties_match_central_differences(expr, args):
    check_all_modes(f"import numpy as np\n\ndef f(x, y):\n    return {expr}\n", args, hvp=False)
