"""Scalar inference reads the rule table: only shape-elementwise primitives keep a scalar a scalar.

`np.ravel(s)` of a float is a ``(1,)`` array. When the analysis counted ravel as
elementwise, it took ``np.ravel(s) * t`` for a scalar and dropped the `unbroadcast` that
reduces the cotangents back, so `f_grad` returned ``(1,)`` arrays for float parameters.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.header import Options
from support import check_vjp, generated_text, load, load_source

RAVEL = """
import numpy as np

def f(s: float, t: float):
    y = np.ravel(s) * t
    return np.sum(y * s)
"""
# Primitives whose result is not a scalar for a scalar argument (or not of its shape).
NOT_ELEMENTWISE = [
    ("ravel", "np.ravel(s)"),
    ("flatten-method", "np.asarray(s).flatten()"),
    ("reshape", "np.reshape(s, (1, 1))"),
    ("expand-dims", "np.expand_dims(s, 0)"),
    ("broadcast-to", "np.broadcast_to(s, (2,))"),
    ("stack", "np.stack([s, s])"),
]
ARGS = [1.5, -0.7]


def _generated(source: str, mode: str = "reverse,forward,hvp"):
    return load(generated_text(textwrap.dedent(source), options=Options(mode=mode)))


def test_ravel_of_a_float_parameter_gets_a_float_cotangent():
    generated = _generated(RAVEL)
    s_bar, t_bar = generated.f_grad(*ARGS)
    for got in (s_bar, t_bar):
        assert np.shape(got) == (), f"cotangent of a float parameter has shape {np.shape(got)}"
        assert isinstance(got, float), f"cotangent of a float parameter is a {type(got).__name__}"
    # d/ds (s * t * s) = 2 s t, d/dt = s^2
    np.testing.assert_allclose([s_bar, t_bar], [2 * ARGS[0] * ARGS[1], ARGS[0] ** 2], rtol=1e-12)


@pytest.mark.parametrize("expr", [e for _, e in NOT_ELEMENTWISE], ids=[i for i, _ in NOT_ELEMENTWISE])
def test_reverse_mode_through_shape_changing_primitives_of_floats(expr):
    source = f"""
    import numpy as np

    def f(s: float, t: float):
        y = {expr} * t
        return np.sum(y * s)
    """
    primal, generated = load_source(source), _generated(source, "reverse")
    check_vjp(primal.f, generated.f_vjp, list(ARGS), np.random.default_rng(0))
    assert all(np.shape(g) == () for g in generated.f_grad(*ARGS))


def test_forward_mode_of_ravel_matches_finite_differences():
    primal, generated = load_source(RAVEL), _generated(RAVEL)
    eps = 1e-6
    for direction in ([1.0, 0.0], [0.0, 1.0], [0.3, -0.8]):
        out, tangent = generated.f_jvp(*ARGS, *direction)
        plus = primal.f(*(a + eps * d for a, d in zip(ARGS, direction)))
        minus = primal.f(*(a - eps * d for a, d in zip(ARGS, direction)))
        np.testing.assert_allclose(out, primal.f(*ARGS), rtol=1e-12)
        np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_hvp_of_ravel_matches_finite_differences_of_the_gradient():
    generated = _generated(RAVEL)
    eps = 1e-6
    for direction in ([1.0, 0.0], [0.0, 1.0], [0.3, -0.8]):
        hv = generated.f_hvp(*ARGS, *direction)
        plus = generated.f_grad(*(a + eps * d for a, d in zip(ARGS, direction)))
        minus = generated.f_grad(*(a - eps * d for a, d in zip(ARGS, direction)))
        expected = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
        assert all(np.shape(h) == () for h in hv), [np.shape(h) for h in hv]
        np.testing.assert_allclose(hv, expected, rtol=1e-6, atol=1e-8)
