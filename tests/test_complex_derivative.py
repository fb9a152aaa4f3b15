"""`f_derivative`: the complex derivative f'(z) of functions dpgen proves holomorphic.

Values: f_derivative against central differences along the real axis, (f(z+h) - f(z-h)) / 2h,
AND along the imaginary axis, (f(z+ih) - f(z-ih)) / 2ih: for a holomorphic f both equal f'(z)
(the Cauchy-Riemann equations), so a derivative that were really a gradient (or its conjugate)
fails one of them. Text: where f is not holomorphic (np.abs, np.conj, .real, np.angle, a real
buffer on the path), no f_derivative is written and a comment names the statement.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from support import differentiate, generated_text, load
from support.gradcheck import ATOL, EPS, RTOL

from dpgen.header import Options

POINTS = [0.7 + 0.4j, -1.3 + 0.9j, 0.2 - 1.1j]


def _differences(primal, args: list, k: int) -> list:
    """f'(z) from central differences along 1 and along i, in the k-th argument (each element
    of an array argument in turn): both must agree with the derivative."""
    found = []
    for step in (EPS, 1j * EPS):
        z = np.asarray(args[k], dtype=complex)
        d = np.zeros(z.shape, dtype=complex)
        for index in np.ndindex(z.shape):
            bump = np.zeros(z.shape, dtype=complex)
            bump[index] = step
            plus = args[:k] + [z + bump if z.shape else complex(z + bump)] + args[k + 1 :]
            minus = args[:k] + [z - bump if z.shape else complex(z - bump)] + args[k + 1 :]
            d[index] = (primal(*plus) - primal(*minus)) / (2 * step)
        found.append(d if z.shape else complex(d))
    return found


def check_derivative(source: str, args: list, name: str = "f") -> None:
    """The generated `name`_derivative at `args` against both central differences, for each
    complex parameter (annotated `complex`); None for the real ones when there are several."""
    primal_module, generated = differentiate(source)
    primal = getattr(primal_module, name)
    complex_ = [k for k, p in enumerate(inspect.signature(primal).parameters.values()) if p.annotation == "complex"]
    result = getattr(generated, f"{name}_derivative")(*args)
    entries = [result] if len(complex_) == 1 else list(result)
    if len(complex_) > 1:
        assert len(entries) == len(args)
        assert all(entries[k] is None for k in range(len(args)) if k not in complex_)
        entries = [entries[k] for k in complex_]
    for k, value in zip(complex_, entries):
        for along, expected in zip(("1", "i"), _differences(primal, list(args), k)):
            np.testing.assert_allclose(
                value, expected, rtol=RTOL, atol=ATOL, err_msg=f"{name}'({k}) at {args}, differences along {along}"
            )


# ------------------------------------------------------------------------------- values

HOLOMORPHIC = {
    "polynomial": """
        def f(z: complex):
            return 3.0 * z**3 - 2.0 * z + 1.5
    """,
    "exp_log_sqrt": """
        import numpy as np

        def f(z: complex):
            return np.exp(np.sqrt(z)) * np.log(z) + np.exp(2.0 * z)
    """,
    "trig": """
        import numpy as np

        def f(z: complex):
            return np.sin(np.cos(z)) + np.tan(z) * np.sin(z)
    """,
    "hyperbolic": """
        import numpy as np

        def f(z: complex):
            return np.tanh(np.sinh(z)) / np.cosh(z)
    """,
    "division": """
        def f(z: complex):
            return (z + 1.0) / (z - 2.0) + 1.0 / (z * z)
    """,
    "reciprocal_square": """
        import numpy as np

        def f(z: complex):
            return np.reciprocal(np.square(z) + 3.0)
    """,
    "integer_power": """
        import numpy as np

        def f(z: complex):
            return np.power(z, 4) - z**-2
    """,
    "complex_literal": """
        import numpy as np

        def f(z: complex):
            return np.exp(1j * z) * (2 - 3j) + z**2 * 1j
    """,
    "helpers": """
        import numpy as np

        def square(u: complex):
            return u * u

        def g(u: complex, v: complex):
            return square(u) * np.exp(v)

        def f(z: complex):
            return g(z, np.sin(z)) + square(np.cos(z))
    """,
    "horner": """
        COEFFS = (2.0, -1.0, 0.5, 3.0)

        def f(z: complex):
            acc = 0.0
            for c in COEFFS:
                acc = acc * z + c
            return acc
    """,
    "newton_sqrt": """
        def f(z: complex):
            w = z
            for _ in range(6):
                w = w - (w * w - z) / (2.0 * w)
            return w
    """,
    "branch_on_modulus": """
        import numpy as np

        def f(z: complex):
            if np.abs(z) < 1.2:
                y = z * z
            else:
                y = np.exp(z) - z
            return y
    """,
    "real_constant_and_modulus_test": """
        import numpy as np

        def f(z: complex):
            r = np.abs(z)
            w = z
            while np.abs(w) < 4.0 * r:
                w = w * 1.5
            return w
    """,
    "sum_of_array": """
        import numpy as np

        def f(z: complex):
            return np.sum(z**2 * np.arange(3.0) + np.exp(z))
    """,
}


@pytest.mark.parametrize("case", sorted(HOLOMORPHIC))
def test_holomorphic_derivative(case):
    source = HOLOMORPHIC[case]
    points = [np.array([0.3 + 0.2j, -0.5 + 0.7j, 1.1 - 0.4j])] if case == "sum_of_array" else POINTS
    for z in points:
        check_derivative(source, [z])


def test_branch_on_modulus_both_arms():
    for z in (0.3 + 0.5j, 1.5 - 0.8j):  # inside and outside the circle
        check_derivative(HOLOMORPHIC["branch_on_modulus"], [z])


def test_power_of_two_complex_parameters():
    source = """
        def f(z: complex, w: complex):
            return z**w + z * w
    """
    for z, w in [(0.7 + 0.4j, 1.3 - 0.2j), (1.5 - 0.9j, -0.4 + 0.6j)]:
        check_derivative(source, [z, w])


def test_two_complex_parameters_and_a_real_one():
    source = """
        import numpy as np

        def f(z: complex, x, w: complex):
            return np.sin(z * w) + x * z**2
    """
    check_derivative(source, [0.7 + 0.4j, 1.3, -0.3 + 0.8j])
    _, generated = differentiate(source)
    assert generated.f_derivative(0.7 + 0.4j, 1.3, -0.3 + 0.8j)[1] is None


def test_complex_parameter_and_a_real_one():
    source = """
        import numpy as np

        def f(x, z: complex):
            return x * np.exp(x * z)
    """
    check_derivative(source, [1.3, 0.7 + 0.4j])
    text = generated_text(source)
    assert "def f_derivative(x, z):" in text


def test_a_real_value_for_a_complex_parameter_gets_the_complex_derivative():
    """f'(x) of a real x is complex still: f_derivative makes the value complex before the
    pullback, which returns real cotangents for real values."""
    source = """
        def f(z: complex):
            return 1j * z * z
    """
    _, generated = differentiate(source)
    np.testing.assert_allclose(generated.f_derivative(2.0), 4j, rtol=RTOL)
    check_derivative(source, [2.0])


def test_the_output_must_be_a_scalar():
    source = """
        def f(z: complex):
            return z * z
    """
    _, generated = differentiate(source)
    with pytest.raises(ValueError, match="f_derivative needs a scalar output"):
        generated.f_derivative(np.array([1.0 + 1j, 2.0]))


# --------------------------------------------------------------------------------- text

NOT_HOLOMORPHIC = {
    "abs": (
        """
        import numpy as np

        def f(z: complex):
            y = z * z
            return np.abs(y) ** 2
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:6: return np.abs(y) ** 2)",
    ),
    "conj": (
        """
        import numpy as np

        def f(z: complex):
            return z * np.conj(z)
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:5: return z * np.conj(z))",
    ),
    "real_attribute": (
        """
        def f(z: complex):
            w = z * 2.0
            return w.real + z
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:4: return w.real + z)",
    ),
    "angle": (
        """
        import numpy as np

        def f(z: complex):
            t = np.angle(z)
            return t * z
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:5: t = np.angle(z))",
    ),
    "inside_a_helper": (
        """
        import numpy as np

        def g(u):
            v = u + 1.0
            return np.abs(v)

        def f(z: complex):
            return z * g(z)
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:6: return np.abs(v))",
    ),
    "inside_a_loop": (
        """
        import numpy as np

        def f(z: complex):
            w = z
            for _ in range(3):
                w = w * np.conj(w)
            return w
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:7: w = w * np.conj(w))",
    ),
    "inside_an_arm": (
        """
        import numpy as np

        def f(z: complex):
            if np.abs(z) < 1.0:
                y = z * z
            else:
                y = np.imag(z) * z
            return y
        """,
        "# f_derivative is not written: f is not holomorphic in z (model.py:8: y = np.imag(z) * z)",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_HOLOMORPHIC))
def test_not_holomorphic_leaves_a_comment(case):
    source, comment = NOT_HOLOMORPHIC[case]
    text = generated_text(source)
    assert comment in text.splitlines()
    assert "def f_derivative" not in text
    assert "f_derivative(...)" not in text  # the module docstring lists only what is written
    assert "def f_grad" in text  # the gradient of a real output is written as before


def test_only_the_parameters_that_break_are_named():
    source = """
        import numpy as np

        def f(z: complex, w: complex):
            return z * w + np.abs(w)
    """
    text = generated_text(source)
    comment = "# f_derivative is not written: f is not holomorphic in w (model.py:5: return z * w + np.abs(w))"
    assert comment in text.splitlines()


def test_a_path_that_does_not_reach_the_output_breaks_nothing():
    source = """
        import numpy as np

        def f(z: complex):
            r = np.abs(z)
            s = r * 2.0
            return z * z
    """
    text = generated_text(source)
    assert "def f_derivative(z):" in text


def test_recursion_is_checked_inside():
    holomorphic = """
        def p(z, n):
            if n > 0:
                return z * p(z, n - 1)
            return z

        def f(z: complex):
            return p(z, 3)
    """
    assert "def f_derivative(z):" in generated_text(holomorphic)
    broken = holomorphic.replace("return z\n", "return z.real\n")
    text = generated_text(broken)
    assert "def f_derivative" not in text
    assert "f is not holomorphic in z (model.py:5: return z.real)" in text


def test_the_docstrings_and_the_entry():
    text = generated_text("""
        def f(z: complex, x, w: complex):
            return z * w * x
        """)
    assert "f_derivative(...) -> the complex derivative f'(z)" in text
    assert '"""The complex derivatives of a holomorphic f: df/dz, df/dw (None for the real parameters)."""' in text
    assert "return np.conj(cotangents[0]), None, np.conj(cotangents[2])" in text
    one = generated_text("""
        def f(z: complex):
            return z * z
        """)
    assert '"""The complex derivative f\'(z) of a holomorphic f."""' in one
    assert "return np.conj(f_pullback(1.0)[0])" in one


def test_real_modules_have_no_derivative():
    text = generated_text("""
        import numpy as np

        def f(x):
            return np.sum(np.sin(x))
        """)
    assert "f_derivative" not in text


def test_the_other_modes_work_beside_f_derivative():
    source = """
        import numpy as np

        def f(z: complex):
            return np.sin(z) * z

        def g(z: complex):
            return np.abs(z) ** 2
    """
    text = generated_text(source, options=Options("reverse,forward,hvp"))
    generated = load(text)
    assert "def f_derivative(z):" in text and "def f_jvp(z, dz):" in text and "def f_hvp(z, vz):" in text
    assert "# g_derivative is not written: g is not holomorphic in z (model.py:8: return np.abs(z) ** 2)" in text
    z = 0.7 + 0.4j
    np.testing.assert_allclose(generated.f_derivative(z), np.cos(z) * z + np.sin(z), rtol=RTOL)
    # forward mode along dz = 1 gives f'(z) too
    np.testing.assert_allclose(generated.f_jvp(z, 1.0 + 0j)[1], np.cos(z) * z + np.sin(z), rtol=RTOL)


def test_a_real_buffer_on_the_path_breaks_holomorphy():
    """``buf[0] = v`` casts v into buf's dtype: written into a real buffer, a complex value loses
    its imaginary part, so the derivative along i is lost although every primitive is holomorphic."""
    text = generated_text("""
        import numpy as np

        def f(z: complex):
            buf = np.zeros(3)
            buf[0] = z * 2.0
            return np.sum(buf) * z
        """)
    assert "def f_derivative" not in text
    assert "# f_derivative is not written: f is not holomorphic in z (model.py:6: buf[0] = z * 2.0)" in text
    written = generated_text("""
        import numpy as np

        def f(z: complex):
            buf = np.zeros(3) + 0j
            buf[0] = z * 2.0
            return np.sum(buf) * z
        """)
    assert "def f_derivative(z):" in written
