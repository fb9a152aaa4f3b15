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
from support import check_hvp, check_jvp, check_vjp, generated_text, load, load_source

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
    check_hvp(getattr(generated, f"{entry}_hvp"), vjp, args, rng)


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
    pytest.param(
        """
        import numpy as np

        def f(a, b, x):
            s = np.einsum("i,i->", [a, b], x) + np.sum(np.concatenate([[a, b], [a * b]]) ** 2)
            return s + np.dot([[a, 1.0], [b, a]], x)[0] + np.sum(np.sin([[a, b]]))
        """,
        [0.7, -1.3, np.array([0.4, 1.1])],
        id="other-rules-taking-nested-lists",
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
    pytest.param(
        "np.sum(np.maximum(x, y) ** 2)", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, -0.5])], id="maximum"
    ),
    pytest.param(
        "np.sum(np.minimum(x, y) ** 2)", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, -0.5])], id="minimum"
    ),
    pytest.param(
        "np.sum(np.maximum(x, 1.0) * y)", [np.array([1.0, 2.0]), np.array([0.5, -0.7])], id="maximum-constant"
    ),
    pytest.param(
        "max(x[0], y[0]) * min(x[1], y[2])", [np.array([1.0, 2.0, -0.5]), np.array([1.0, 3.0, 2.0])], id="builtins"
    ),
    pytest.param(
        "np.sum(np.clip(x, y, 1.0) ** 2)",
        [np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.0, -1.0])],
        id="clip-both-bounds",
    ),
    pytest.param(
        "np.sum(np.clip(x, -1.0, y) ** 2)", [np.array([0.0, 0.5, -1.0]), np.array([0.0, 1.0, 2.0])], id="clip-upper"
    ),
    pytest.param(
        "np.max(x) * np.min(y) + np.sum(np.amax(x * y, axis=0))",
        [np.array([1.0, 2.0, 2.0]), np.array([1.0, 3.0, 1.0])],
        id="reductions-pairs",
    ),
    pytest.param("x.max() * y.min()", [np.array([1.0, 2.0, 2.0]), np.array([1.0, 3.0, 1.0])], id="methods"),
]


@pytest.mark.parametrize("expr, args", TIES)
def test_exact_ties_match_central_differences(expr, args):
    check_all_modes(f"import numpy as np\n\ndef f(x, y):\n    return {expr}\n", args, hvp=False)


# ------------------------------------------------- module constants bound more than once

REBOUND = [
    pytest.param("K = 2.0\nK += 1\n", "augmented assignment at line 5", id="augmented"),
    pytest.param("K = 2.0\nK = 3.0\n", "an assignment at line 5", id="assigned-twice"),
    pytest.param("K = 2.0\nif True:\n    K = 3.0\n", "an assignment at line 6", id="in-an-if"),
    pytest.param("K = 2.0\nfor K in range(3):\n    pass\n", "a loop target at line 5", id="for-target"),
    pytest.param("K = 2.0\nfor i in range(3):\n    K = K * 2\n", "an assignment at line 6", id="in-a-for"),
    pytest.param("K = 2.0\nfrom math import e as K\n", "an import at line 5", id="import-after"),
    pytest.param("from math import e as K\nK = 2.0\n", "an assignment at line 5", id="import-before"),
    pytest.param("K = 2.0\nimport K\n", "an import at line 5", id="import-module"),
    pytest.param("K = 2.0\nwith open('x') as K:\n    pass\n", "a 'with' target at line 5", id="with"),
    pytest.param("K = 2.0\ndel K\nK = 3.0\n", "line 6", id="del"),
    pytest.param("K = 2.0\nprint(K := 3.0)\n", "an assignment expression at line 5", id="walrus"),
    pytest.param("K = 2.0\ndef K():\n    return 1.0\n", "a def at line 5", id="def"),
    pytest.param("K = 2.0\nclass K:\n    pass\n", "a class at line 5", id="class"),
    pytest.param("K = 2.0\ndef g():\n    global K\n    K = 3.0\n", "a 'global' declaration at line 6", id="global"),
    pytest.param("K = 2.0\nfrom math import *\n", "a star import at line 5", id="star-import"),
    pytest.param("K = 2.0\nif __name__ == '__main__':\n    K = 5.0\n", "an assignment at line 6", id="main-block"),
    # Found in review: the literal copied would hold the items before the write.
    pytest.param("K = [2.0]\nK[0] = 5.0\n", "a write into it at line 5", id="item-write"),
    pytest.param("K = [2.0]\nK.append(3.0)\n", "'.append(...)' at line 5", id="append"),
]


@pytest.mark.parametrize("bindings, why", REBOUND)
def test_a_module_constant_bound_twice_is_refused(bindings, why):
    source = "import math\nimport numpy as np\n\n" + bindings + "\n\ndef f(x):\n    return x * K\n"
    for mode in ("reverse", "forward"):
        message = refused(source, "the module-level variable 'K' is not supported", why, options=Options(mode=mode))
        line = source.splitlines().index("    return x * K") + 1
        assert f"model.py:{line}:16: error" in message, message


def test_a_module_constant_bound_once_is_still_copied():
    source = """
    import numpy as np

    K = 2.0
    SHAPE = (2, 3)

    def f(x):
        y = [K * v for v in [1.0, 2.0]]
        return np.sum(x * K) + np.sum(np.zeros(SHAPE)) + y[0]
    """
    check_all_modes(source, [np.array([0.5, -1.0])])
    assert "K = 2.0" in generated_text(textwrap.dedent(source))


def test_a_function_alias_rebound_at_module_level_is_refused():
    """`h = g` then `h = g2` in an `if`: calling `h` must not silently call `g` (found in review)."""
    source = "import numpy as np\n\ndef g(x):\n    return x * 2.0\n\ndef g2(x):\n    return x * 3.0\n\nh = g\nif True:\n    h = g2\n\ndef f(x):\n    return h(x)\n"
    refused(
        source, "model.py:14:12: error: the module-level name 'h' is not supported: an assignment at line 11 rebinds it"
    )


def test_identifiers_that_normalize_to_keywords_stay_as_written():
    """`𝐢𝐟` is an identifier to Python (NFKC gives `if`, which is not): kept as written, it
    still differentiates; `𝐍𝐨𝐧𝐞`, which Python cannot compile, is a located syntax error."""
    source = "import numpy as np\n\ndef f(x, \U0001d422\U0001d41f):\n    return np.sum(x * \U0001d422\U0001d41f)\n"
    for mode in ("forward", "hvp"):
        load(generated_text(source, options=Options(mode=mode)))
    x_bar, k_bar = load(generated_text(source)).f_grad(np.array([0.5, -1.0]), 1.5)
    np.testing.assert_allclose(x_bar, [1.5, 1.5])
    assert k_bar == pytest.approx(-0.5)
    refused(
        "import numpy as np\n\ndef f(x):\n    \U0001d40d\U0001d428\U0001d427\U0001d41e = x\n    return x\n",
        "model.py:",
        "syntax error",
    )


def test_a_function_rebound_at_module_level_is_refused():
    refused(
        "import numpy as np\n\ndef f(x):\n    return x * 2.0\n\nf = 3.0\n",
        "model.py:3:5: error: function 'f' is rebound at module level",
    )


# ------------------------------------------------------------ identifiers, as Python reads them


def test_identifiers_equal_after_nfkc_are_one_variable():
    # 𝐱 (mathematical bold), ｘ (fullwidth) and x are one name to Python; so are the ohm sign
    # and omega, and the ligature ﬁ and fi. Each once made a separate variable: a missed path.
    source = """
    import numpy as np

    def ｈelper(y, ﬁ=1.0):
        return np.sum(y ** 2) * fi

    def f(𝐱, \u2126):
        x = x * 2.0 + \u03a9
        return np.sum(𝐱 * ｘ) + \u2126 * helper(x, ﬁ=\u03a9) + hｅlper(ｘ)
    """
    check_all_modes(source, [np.array([0.5, -1.0, 0.3]), 0.7])
    text = generated_text(textwrap.dedent(source))
    assert "def helper_vjp(y, fi=1.0)" in text and "def f_vjp(x, \u03a9)" in text
    assert "𝐱" not in text and "ｘ" not in text and "\u2126" not in text


# ------------------------------------------------------------------ complex numbers
# These spellings were refused until dpgen differentiated complex numbers; now each lowers and
# generates in every mode, and the generated code computes the source's value (their
# derivatives are checked in tests/test_complex*.py). A parameter the source declares real
# that is given a complex value is a clear run-time error, never a number.

COMPLEX = [
    pytest.param("return np.sum(x) * complex(1.0, 2.0)", "complex(1.0, 2.0)", id="complex-builtin"),
    pytest.param("return np.sum(x * np.complex128(2.0))", "np.complex128(2.0)", id="np-complex128"),
    pytest.param("return np.sum(np.array(x, dtype=complex))", "dtype=complex", id="dtype-complex"),
    pytest.param("return np.sum(x + np.zeros(3, dtype='complex128'))", 'dtype="complex128"', id="dtype-string"),
    pytest.param("return np.sum(x + np.zeros(3, dtype=np.complex64))", "dtype=np.complex64", id="dtype-np-complex64"),
    pytest.param("return np.sum(x * J)", "J = 2j", id="module-constant"),
]


@pytest.mark.parametrize("body, spelled", COMPLEX)
def test_complex_spellings_lower_and_generate_in_every_mode(body, spelled):
    source = f"import numpy as np\n\nJ = 2j\n\n\ndef f(x):\n    {body}\n"
    x = np.array([0.5, -1.0, 2.0])
    expected = load_source(source).f(x)
    assert np.iscomplexobj(expected)
    text = generated_text(source, options=ALL)
    assert spelled in text
    generated = load(text)
    np.testing.assert_allclose(generated.f_vjp(x)[0], expected)
    np.testing.assert_allclose(generated.f_jvp(x, np.ones(3))[0], expected)


def test_complex_arguments_are_a_run_time_error_in_every_entry():
    source = """
    import numpy as np

    def f(z, p, n: int, s: float):
        return np.sum(np.abs(z) ** 2) + p["a"] * n * s
    """
    generated = load(generated_text(textwrap.dedent(source), options=ALL))
    real = (np.array([1.0, -2.0]), {"a": 0.5}, 3, 2.0)
    np.testing.assert_allclose(generated.f_grad(*real)[0], 2 * real[0])
    calls = {
        "f_vjp": lambda z, p: generated.f_vjp(z, p, 3, 2.0),
        "f_grad": lambda z, p: generated.f_grad(z, p, 3, 2.0),
        "f_jvp": lambda z, p: generated.f_jvp(z, p, 3, 2.0, None, None, None, None),
        "f_hvp": lambda z, p: generated.f_hvp(z, p, 3, 2.0, None, None, None, None),
    }
    for entry, call in calls.items():
        with pytest.raises(
            TypeError,
            match=r"f_\w+: argument 'z' is complex, but model\.py declares it real; annotate it \(z: complex\) "
            r"to differentiate complex values",
        ):
            call(np.array([1.0 + 1.0j, 2.0]), {"a": 0.5})
        with pytest.raises(TypeError, match=r"argument 'p' is complex"):
            call(np.array([1.0, 2.0]), {"a": 0.5j})
    text = generated_text(textwrap.dedent(source))
    assert '_check_real("f_vjp", z=z, p=p)' in text  # once, at the public entry; n and s are declared int and float


def test_a_name_bound_in_a_module_level_block_is_a_module_variable():
    refused(
        "import numpy as np\n\nif True:\n    K = np.ones(2)\n\n\ndef f(x):\n    return x * K\n",
        "model.py:8:16: error: the module-level variable 'K' is not supported (it is not a literal constant",
    )


def test_a_list_of_constants_keeps_python_list_arithmetic():
    # `[0.0] * n` preallocates a list: no derivative flows through the repetition itself.
    check_all_modes(
        """
        import numpy as np

        def f(x, n: int = 3):
            xs = [0.0] * n
            xs[0] = x
            ys = [1.0, 2.0] + [3.0]
            return np.sum(np.array(xs) * np.array(ys)) + np.sum(np.hypot([x, 2.0], 1.5))
        """,
        [0.7, 3],
    )
