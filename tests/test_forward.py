"""Forward mode (`f_jvp`) on every rule case and every control-flow construct.

Two checks per case, on random tangents and cotangents:

- the dot-product (adjoint) test: ``<jvp(v), u> == <v, vjp(u)>`` to rounding. It compares
  two generated derivatives exactly, so a sign or a transpose wrong in either shows up
  where finite differences would blur it;
- the JVP against a central finite difference of the primal along ``v``.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.header import Options

from support import ALONG_RTOL, EPS, check_jvp, generated_text, load, load_source
from support import flow_cases as flow
from support import rule_cases

BOTH = Options(mode="reverse,forward")


def _both(source: str):
    return load_source(source), load(generated_text(source, options=BOTH))


# ------------------------------------------------------------------------ rules


@pytest.mark.parametrize("case", rule_cases.case_params(rule_cases.CASES + rule_cases.NONDIFF_CASES))
def test_rule_jvp(case):
    primal, generated = _both(case.source)
    rng = rule_cases.case_rng(case)
    args = rule_cases.case_args(case, rng)
    check_jvp(primal.f, generated.f_jvp, generated.f_vjp, args, rng, rtol=case.rtol, atol=case.atol)


def test_dict_rule_jvp():
    primal, generated = _both(rule_cases.DICT_SOURCE)
    rng = np.random.default_rng(7)
    p = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "scale": 0.7, "unused": rng.normal(size=4)}
    check_jvp(primal.f, generated.f_jvp, generated.f_vjp, [p, rng.normal(size=(4, 3))], rng)


# --------------------------------------------------------------- control flow


@pytest.fixture(scope="module")
def modules():
    cache = {}

    def get(case):
        if case.id not in cache:
            cache[case.id] = _both(flow.HEADER + textwrap.dedent(case.source))
        return cache[case.id]

    return get


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in flow.CASES])
def test_construct_jvp(case, modules):
    primal, generated = modules(case)
    rng = np.random.default_rng(20240602)
    for args in case.args(rng):
        check_jvp(
            getattr(primal, case.entry),
            getattr(generated, f"{case.entry}_jvp"),
            getattr(generated, f"{case.entry}_vjp"),
            args,
            rng,
            case.rtol,
            case.atol,
        )


# ------------------------------------------------------------------ contract


def test_none_tangent_means_zero_and_structure_mirrors():
    source = """
    import numpy as np

    def f(p, x, n: int):
        h = x
        for _ in range(n):
            h = np.tanh(h @ p["W"] + p["b"])
        return np.sum(h**2), h
    """
    primal, generated = _both(textwrap.dedent(source))
    rng = np.random.default_rng(3)
    p = {"W": rng.normal(size=(3, 3)), "b": rng.normal(size=3)}
    x = rng.normal(size=(2, 3))
    dp = {"W": rng.normal(size=(3, 3)), "b": np.zeros(3)}
    (loss, h), (dloss, dh) = generated.f_jvp(p, x, 3, dp, None, None)
    (_, _), (dloss_2, dh_2) = generated.f_jvp(p, x, 3, dp, np.zeros_like(x), 7)
    assert np.shape(dh) == np.shape(h) and np.ndim(dloss) == 0
    np.testing.assert_allclose(dh, dh_2, rtol=0, atol=0)
    (_, _), (zero_loss, zero_h) = generated.f_jvp(p, x, 3, None, None, None)
    assert zero_loss == 0 and not np.any(zero_h)


def test_defaults_left_out_or_given_primal_and_tangent():
    """Integer and float defaults, used (left out of the call) or given, positionally or by
    keyword: the primal is the source's and the tangent its central difference."""
    source = """
    import numpy as np

    def f(x, n=3, c=0.5):
        y = x
        for i in range(n):
            y = np.sin(y) * c + n
        return np.sum(y) * n

    def g(x):
        return f(x) + f(x, 2) + f(x, c=np.sum(x))
    """
    primal, generated = _both(textwrap.dedent(source))
    rng = np.random.default_rng(5)
    x, v = rng.normal(size=3), rng.normal(size=3)
    eps = EPS
    for args, kwargs, tangent_kwargs, shift in [
        ((x,), {}, {"dx": v}, lambda e: ((x + e * v,), {})),
        ((x, 2), {}, {"dx": v}, lambda e: ((x + e * v, 2), {})),
        ((x,), {"c": 0.7}, {"dx": v, "dc": 1.0}, lambda e: ((x + e * v,), {"c": 0.7 + e})),
        ((x, 2, 0.7), {}, {"dx": v, "dn": None, "dc": 1.0}, lambda e: ((x + e * v, 2, 0.7 + e), {})),
    ]:
        out, dout = generated.f_jvp(*args, **kwargs, **tangent_kwargs)
        assert out == primal.f(*args, **kwargs)
        (a_plus, k_plus), (a_minus, k_minus) = shift(eps), shift(-eps)
        np.testing.assert_allclose(
            dout, (primal.f(*a_plus, **k_plus) - primal.f(*a_minus, **k_minus)) / (2 * eps), rtol=ALONG_RTOL
        )
    out, dout = generated.f_jvp(x, 2, 0.7, v, None, 1.0)  # the full positional form
    assert out == primal.f(x, 2, 0.7)
    np.testing.assert_allclose(
        dout, (primal.f(x + eps * v, 2, 0.7 + eps) - primal.f(x - eps * v, 2, 0.7 - eps)) / (2 * eps), rtol=ALONG_RTOL
    )
    out, dout = generated.g_jvp(x, v)
    assert out == primal.g(x)
    np.testing.assert_allclose(dout, (primal.g(x + eps * v) - primal.g(x - eps * v)) / (2 * eps), rtol=ALONG_RTOL)
