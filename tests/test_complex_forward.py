"""Forward mode (`f_jvp`) and HVP mode (`f_hvp`) on complex values.

A complex tangent is ``dz = dx + i dy``: every case is checked along a purely real direction,
a purely imaginary one and a mixed one, against central differences of the source in float64
(real and imaginary parts of ``dout`` alike). A real parameter takes a real tangent. Refusals
are located errors; a complex tangent for a real parameter is a run-time TypeError.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.errors import SourceErrors
from dpgen.header import Options
from support import (
    ALONG_ATOL,
    ALONG_RTOL,
    EPS,
    EPS_HVP,
    check_hvp,
    check_jvp,
    generated_text,
    load,
    load_source,
)

#: One central difference along a direction compares like `check_jvp`'s tolerances.
RTOL, ATOL = ALONG_RTOL * 10, ALONG_ATOL * 10


def _generate(source: str, mode: str):
    source = textwrap.dedent(source)
    return load_source(source), load(generated_text(source, options=Options(mode=mode)))


def _complex(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape) if shape != () else complex(rng.normal(), rng.normal())


def _real(rng, shape):
    return rng.normal(size=shape) if shape != () else float(rng.normal())


def _directions(args, kinds, rng):
    """Per argument list of tangents: real parts only, imaginary parts only, then both
    (complex arguments); a real argument's tangent is real in each (zero in the second)."""
    real_only = [
        _real(rng, np.shape(a)) * (1 + 0j) if k == "c" else _real(rng, np.shape(a)) for a, k in zip(args, kinds)
    ]
    imag_only = [
        _real(rng, np.shape(a)) * 1j if k == "c" else 0.0 * _real(rng, np.shape(a)) for a, k in zip(args, kinds)
    ]
    mixed = [_complex(rng, np.shape(a)) if k == "c" else _real(rng, np.shape(a)) for a, k in zip(args, kinds)]
    return [real_only, imag_only, mixed]


def _central(f, args, tangents, eps=EPS):
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def _check_forward(source: str, shapes: list, kinds: str, seed: int = 0):
    """f_jvp against central differences along real, imaginary and mixed directions."""
    primal, gen = _generate(source, "forward")
    rng = np.random.default_rng(seed)
    args = [_complex(rng, s) if k == "c" else _real(rng, s) for s, k in zip(shapes, kinds)]
    for tangents in _directions(args, kinds, rng):
        out, dout = gen.f_jvp(*args, *tangents)
        np.testing.assert_allclose(out, primal.f(*args), rtol=1e-12, atol=1e-12)
        expected = _central(primal.f, args, tangents)
        assert np.shape(dout) == np.shape(expected)
        np.testing.assert_allclose(np.real(dout), np.real(expected), rtol=RTOL, atol=ATOL, err_msg="Re dout")
        np.testing.assert_allclose(np.imag(dout), np.imag(expected), rtol=RTOL, atol=ATOL, err_msg="Im dout")
        if not np.iscomplexobj(primal.f(*args)):
            assert not np.iscomplexobj(dout), "a real output has a real tangent"
    # And support's checker: a random direction, and the dot product against the pullback.
    reverse = load(generated_text(textwrap.dedent(source)))
    check_jvp(primal.f, gen.f_jvp, reverse.f_vjp, args, rng)
    return gen


# ------------------------------------------------------------------ holomorphic chains

HOLOMORPHIC = [
    "np.exp(z)",
    "np.log(z)",
    "np.sqrt(z)",
    "np.sin(z)",
    "np.cos(z)",
    "np.tan(z)",
    "np.sinh(z)",
    "np.cosh(z)",
    "np.tanh(z)",
    "np.reciprocal(z)",
    "np.square(z)",
    "z ** 3",
    "z ** w",
    "z / w",
    "1 / z - z * w",
    "np.exp(np.sin(z) * w) / (1 + z ** 2)",
    "np.log(np.cosh(z)) + np.sqrt(w) * np.tan(z)",
]


@pytest.mark.parametrize("expression", HOLOMORPHIC)
def test_holomorphic_chains(expression):
    _check_forward(
        f"""
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128], w: NDArray[np.complex128]):
            return {expression}
        """,
        [(4,), (4,)],
        "cc",
    )


def test_complex_scalars():
    """`z: complex` declares a complex scalar: Python complex numbers in and out."""
    _check_forward(
        """
        import numpy as np


        def f(z: complex, w: complex, x: float):
            return np.exp(z * w) / (1 + z**2) + np.abs(z) * x + np.conj(w) * z.imag
        """,
        [(), (), ()],
        "ccr",
    )


# ----------------------------------------------------------------- parts of complex numbers

PARTS = [
    "np.abs(z)",
    "abs(z)",
    "np.real(z)",
    "np.imag(z)",
    "np.conj(z)",
    "np.conjugate(z)",
    "np.angle(z)",
    "z.real",
    "z.imag",
    "z.conj()",
    "z.conjugate()",
    "np.abs(z) ** 2",
    "z * np.conj(z)",
    "np.real(z * np.conj(w)) + np.imag(z) * np.angle(w)",
    "np.abs(np.exp(z) * w) * z",
    "(z.real - 2 * z.imag) * np.conj(z)",
]


@pytest.mark.parametrize("expression", PARTS)
def test_parts(expression):
    _check_forward(
        f"""
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128], w: NDArray[np.complex128]):
            return {expression}
        """,
        [(5,), (5,)],
        "cc",
    )


def test_phases_and_intensities_of_real_parameters():
    """exp(1j * theta) of a real theta, |.|^2 intensities, and a + 1j * b: real parameters,
    complex intermediates, real outputs."""
    _check_forward(
        """
        import numpy as np
        from numpy.typing import NDArray


        def f(theta, a, b):
            field = a * np.exp(1j * theta) + (a + 1j * b) / (1 + 1j * b * theta)
            return np.abs(field) ** 2 + np.angle(field) * b
        """,
        [(4,), (4,), (4,)],
        "rrr",
    )


def test_complex_of_two_real_parts():
    """complex(a, b) of real scalars: a complex value, its tangent da + i db."""
    _check_forward(
        """
        import numpy as np


        def f(a: float, b: float):
            z = complex(a, b)
            return np.abs(z**2 + 1j * a) + np.exp(z).imag
        """,
        [(), ()],
        "rr",
    )


def test_real_gain_through_a_complex_filter():
    """The issue's low-pass filter: real parameters, a complex transfer function, a real loss."""
    _check_forward(
        """
        import numpy as np
        from numpy.typing import NDArray


        def f(gain, tau, w):
            h = gain / (1 + 1j * w * tau)
            return np.sum(np.abs(h - 0.5) ** 2)
        """,
        [(), (), (6,)],
        "rrr",
    )


# ---------------------------------------------------------------- arrays and reductions

ARRAYS = [
    ("np.sum(z * w)", [(3, 4), (3, 4)]),
    ("np.mean(z, axis=0) * np.sum(w)", [(3, 4), (3, 4)]),
    ("z @ w", [(3, 4), (4, 2)]),
    ("np.matmul(np.conj(z), w)", [(3, 4), (4, 2)]),
    ("np.einsum('ij,jk->ik', z, w)", [(3, 4), (4, 2)]),
    ("np.einsum('ij,ij->i', np.conj(z), z).real * np.sum(w)", [(3, 4), (4, 2)]),
    ("np.dot(z, w) + np.sum(np.abs(z) ** 2)", [(3, 4), (4, 2)]),
    ("z * w", [(3, 1), (1, 4)]),  # broadcasting
    ("np.abs(z) * w + np.conj(z)", [(3, 1), (4,)]),
    ("np.sum(np.exp(1j * np.angle(z)) * w, axis=1)", [(3, 4), (4,)]),
]


@pytest.mark.parametrize("expression,shapes", ARRAYS)
def test_complex_arrays(expression, shapes):
    _check_forward(
        f"""
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128], w: NDArray[np.complex128]):
            return {expression}
        """,
        shapes,
        "cc",
    )


def test_mixed_real_and_complex_parameters():
    """A real parameter's tangent is real; it meets complex values on the way."""
    _check_forward(
        """
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128], x, scale: float):
            y = np.exp(z * x) * scale + x ** 2
            return np.sum(np.abs(y) + np.real(y * np.conj(z)) * x)
        """,
        [(4,), (4,), ()],
        "crr",
    )


def test_calls_branches_and_loops_with_complex_values():
    _check_forward(
        """
        import numpy as np
        from numpy.typing import NDArray


        def rotate(u: NDArray[np.complex128], phase):
            return u * np.exp(1j * phase)


        def f(z: NDArray[np.complex128], phase):
            acc = z
            for k in range(3):
                acc = rotate(acc, phase) + z ** 2 / (k + 2)
            if np.sum(np.abs(acc)) > 0:
                out = np.abs(acc) ** 2 + rotate(phase, phase).real
            else:
                out = np.real(acc)
            return out
        """,
        [(3,), (3,)],
        "cr",
    )


def test_abs_at_zero_has_a_zero_tangent():
    """|z| at 0, as for real numbers: 0, not nan."""
    _, gen = _generate(
        """
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128]):
            return np.abs(z) + abs(z)
        """,
        "forward",
    )
    _, dout = gen.f_jvp(np.array([0j, 1 + 1j]), np.array([1 + 2j, 1 + 0j]))
    np.testing.assert_allclose(dout, [0.0, 2 / np.sqrt(2)])


# ---------------------------------------------------------------------- real stays real


def test_a_complex_value_written_into_a_real_buffer_keeps_its_real_part():
    """NumPy casts `y[0] = z[0]` to y's real dtype; the tangent drops the imaginary part too."""
    source = """
    import numpy as np
    from numpy.typing import NDArray


    def f(z: NDArray[np.complex128], x):
        y = x * 2.0
        y[0] = z[0] * 3.0
        return y * x
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        gen = _check_forward(source, [(3,), (3,)], "cr")
        assert "np.real(" in generated_text(textwrap.dedent(source), options=Options(mode="forward"))
        _, dout = gen.f_jvp(np.ones(3) + 1j, np.ones(3), 1j * np.ones(3), np.zeros(3))
        assert dout.dtype == np.float64 and np.all(dout == 0)


def test_a_complex_tangent_for_a_real_parameter_is_refused_at_run_time():
    _, gen = _generate(
        """
        import numpy as np
        from numpy.typing import NDArray


        def f(z: NDArray[np.complex128], x):
            return np.abs(z * x)
        """,
        "forward",
    )
    with pytest.raises(TypeError, match="'dx'"):
        gen.f_jvp(np.ones(2) + 1j, np.ones(2), np.ones(2), np.ones(2) * 1j)


def test_code_without_complex_values_is_unchanged():
    """No `np.real` and no tangent check in a module without complex values (goldens pin the rest)."""
    text = generated_text(
        textwrap.dedent("""
            import numpy as np
            from numpy.typing import NDArray


            def f(x, y):
                y[0] = x[1]
                return np.abs(x) * np.maximum(x, y)
            """),
        options=Options(mode="forward"),
    )
    assert "np.real" not in text and "dx=dx" not in text


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "body,message",
    [
        ("return np.maximum(z, x)", "np.maximum has no derivative for complex values ('z' may be complex here)"),
        ("return np.clip(z, 0, 1) * x", "np.clip has no derivative for complex values ('z' may be complex here)"),
        ("return np.sign(z) * x", "np.sign has no derivative for complex values ('z' may be complex here)"),
        ("return math.sin(z)", "math.sin does not take complex numbers; use np.sin ('z' may be complex here)"),
        ("return np.floor(z) * x", "np.floor does not take complex numbers ('z' may be complex here)"),
        ("return math.exp(x + 1j)", "math.exp does not take complex numbers; use np.exp"),
    ],
)
def test_refusals_are_located(body, message):
    source = f"import math\nimport numpy as np\n\n\ndef f(z: complex, x):\n    {body}\n"
    with pytest.raises(SourceErrors) as raised:
        generated_text(source, options=Options(mode="forward"))
    assert f"model.py:6:5: error: {message}" in str(raised.value)


# -------------------------------------------------- the reverse pass: dot products and HVPs


def _re_inner(a, b) -> float:
    """The real inner product Re<a, b> = sum(real(conj(a) * b)): C^n as R^2n."""
    return float(np.sum(np.real(np.conj(np.asarray(a)) * np.asarray(b))))


DOT_PRODUCT = [
    ("np.exp(z) * x + np.sin(z) / w", [(4,), (4,), (4,)], "crc"),
    ("np.abs(z) ** 2 * x + np.angle(w) + np.real(z * w)", [(4,), (4,), (4,)], "crc"),
    ("(z @ w) * np.sum(x)", [(2, 3), (3,), (3, 2)], "crc"),
    ("np.conj(z) * x + z.imag * w.real", [(3,), (3,), (3,)], "crc"),
]


@pytest.mark.parametrize("expression,shapes,kinds", DOT_PRODUCT)
def test_dot_product_with_the_real_inner_product(expression, shapes, kinds):
    """Re<jvp(v), u> == Re<v, vjp(u)>: the pullback is the adjoint of the JVP over R."""
    source = f"""
    import numpy as np
    from numpy.typing import NDArray


    def f(z: NDArray[np.complex128], x, w: NDArray[np.complex128]):
        return {expression}
    """
    _, forward = _generate(source, "forward")
    _, reverse = _generate(source, "reverse")
    rng = np.random.default_rng(1)
    args = [_complex(rng, s) if k == "c" else _real(rng, s) for s, k in zip(shapes, kinds)]
    v = [_complex(rng, s) if k == "c" else _real(rng, s) for s, k in zip(shapes, kinds)]
    out, dout = forward.f_jvp(*args, *v)
    u = _complex(rng, np.shape(out)) if np.iscomplexobj(out) else _real(rng, np.shape(out))
    _, pullback = reverse.f_vjp(*args)
    cotangents = pullback(u)
    lhs = _re_inner(dout, u)
    rhs = sum(_re_inner(t, c) for t, c in zip(v, cotangents))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), (lhs, rhs)


HVP = [
    ("np.sum(np.abs(z) ** 2)", [(3,)], "c"),
    ("np.sum(np.abs(np.exp(z) - 1j * x) ** 2)", [(3,), (3,)], "cr"),
    ("np.sum(np.real(z ** 3) * x + np.imag(np.conj(z) * z ** 2))", [(3,), (3,)], "cr"),
    ("np.sum(np.angle(z) * x ** 2 + np.abs(np.sin(z)))", [(3,), (3,)], "cr"),
    ("np.abs(np.sum(x * np.exp(1j * z.real)))", [(3,), (3,)], "cr"),
    ("np.sum(rotate(z, x) * np.conj(z)).real + np.sum(np.abs(rotate(x, x)))", [(3,), (3,)], "cr"),
    ("np.sum(powers(z, x).imag * x)", [(3,), (3,)], "cr"),
    ("np.sum(written(z, x) ** 2)", [(3,), (3,)], "cr"),
]

#: Calls, a loop, a branch and a complex value written into a real buffer, for the HVP cases.
HELPERS = """
def rotate(u: NDArray[np.complex128], phase):
    return u * np.exp(1j * phase)


def powers(z: NDArray[np.complex128], x):
    acc = z
    for k in range(3):
        if np.sum(np.abs(acc)) > 1:
            acc = acc * z / (k + 1) + x
        else:
            acc = acc + np.conj(z) * x
    return acc


def written(z: NDArray[np.complex128], x):
    y = x * 2.0
    y[0] = z[0] * z[1]
    return y * x
"""


@pytest.mark.parametrize("expression,shapes,kinds", HVP)
def test_hvp_against_differences_of_the_gradient(expression, shapes, kinds):
    """f_hvp(z, v) = d/dt grad f(z + t v) at 0 (grad = df/dx + i df/dy), along real,
    imaginary and mixed directions."""
    params = ", ".join(["z: NDArray[np.complex128]", "x"][: len(shapes)])
    source = (
        "import numpy as np\nfrom numpy.typing import NDArray\n\n"
        + HELPERS
        + f"\n\ndef f({params}):\n    return {expression}\n"
    )
    _, gen = _generate(source, "hvp")
    _, grads = _generate(source, "reverse")
    rng = np.random.default_rng(2)
    args = [_complex(rng, s) if k == "c" else _real(rng, s) for s, k in zip(shapes, kinds)]

    def gradient(*point):
        g = grads.f_grad(*point)
        return list(g) if isinstance(g, tuple) else [g]

    check_hvp(gen.f_hvp, grads.f_vjp, args, rng)  # support's checker: a random v, and symmetry
    for v in _directions(args, kinds, rng):
        hv = gen.f_hvp(*args, *v)
        hv = list(hv) if isinstance(hv, tuple) else [hv]
        plus = gradient(*[a + EPS_HVP * t for a, t in zip(args, v)])
        minus = gradient(*[a - EPS_HVP * t for a, t in zip(args, v)])
        for got, p, m in zip(hv, plus, minus):
            expected = (np.asarray(p) - np.asarray(m)) / (2 * EPS_HVP)
            np.testing.assert_allclose(np.real(got), np.real(expected), rtol=2e-5, atol=2e-6)
            np.testing.assert_allclose(np.imag(got), np.imag(expected), rtol=2e-5, atol=2e-6)


def test_hvp_of_a_complex_output_is_refused_at_run_time():
    source = """
    import numpy as np
    from numpy.typing import NDArray


    def f(z: NDArray[np.complex128], x):
        return np.sum(z * x)
    """
    _, gen = _generate(source, "hvp")
    with pytest.raises(ValueError, match="needs a real scalar output"):
        gen.f_hvp(np.ones(2) + 1j, np.ones(2), np.ones(2) + 0j, np.ones(2))


def test_hvp_tangent_parameters_carry_the_complex_flag():
    """unjvp's `dz` is complex like `z` (the reverse pass types it from the flag), `dx` is real."""
    text = generated_text(
        textwrap.dedent("""
            import numpy as np
            from numpy.typing import NDArray


            def f(z: NDArray[np.complex128], x):
                return np.sum(np.abs(z * x) ** 2)
            """),
        options=Options(mode="hvp"),
    )
    assert "dx=dx" in text and "dz=dz" not in text
