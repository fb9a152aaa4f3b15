"""Forward mode (`f_jvp`) on every rule case and every control-flow construct.

Two checks per case, on random tangents and cotangents:

- the dot-product (adjoint) test: ``<jvp(v), u> == <v, vjp(u)>`` to rounding. It compares
  two generated derivatives exactly, so a sign or a transpose wrong in either shows up
  where finite differences would blur it;
- the JVP against a central finite difference of the primal along ``v``.
"""

from __future__ import annotations

import copy
import inspect
import textwrap

import numpy as np
import pytest

from dpgen.header import Options

import test_control_flow as flow
import test_rules as rule_cases
from support import generated_text, load, load_source

BOTH = Options(mode="reverse,forward")


def random_tangent(value, rng):
    """A random tangent mirroring `value`'s structure; None for integers, bools and strings."""
    if isinstance(value, dict):
        return {k: random_tangent(v, rng) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(random_tangent(v, rng) for v in value)
    if isinstance(value, (bool, int, str, np.integer)) or (
        isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.floating)
    ):
        return None
    return rng.normal(size=np.shape(value)) if np.ndim(value) else float(rng.normal())


def inner(a, b) -> float:
    """The sum of elementwise products over matching structures (None counts as zero)."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, dict):
        return sum(inner(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        return sum(inner(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def shifted(value, tangent, eps):
    if tangent is None:
        return copy.deepcopy(value)
    if isinstance(value, dict):
        return {k: shifted(value[k], tangent[k], eps) for k in value}
    if isinstance(value, (list, tuple)):
        return type(value)(shifted(v, t, eps) for v, t in zip(value, tangent))
    return value + eps * tangent if np.ndim(value) else float(value + eps * tangent)


def difference(a, b, eps):
    if isinstance(a, dict):
        return {k: difference(a[k], b[k], eps) for k in a}
    if isinstance(a, (list, tuple)):
        return type(a)(difference(x, y, eps) for x, y in zip(a, b))
    return (np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) / (2 * eps)


def assert_close(got, expected, rtol, atol, what):
    if isinstance(expected, dict):
        assert set(got) == set(expected), what
        for k in expected:
            assert_close(got[k], expected[k], rtol, atol, f"{what}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), what
        for k, (x, y) in enumerate(zip(got, expected)):
            assert_close(x, y, rtol, atol, f"{what}[{k}]")
    else:
        assert np.shape(got) == np.shape(expected), f"{what}: shape {np.shape(got)} != {np.shape(expected)}"
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def check_jvp(primal, jvp, vjp, args, rng, rtol=1e-5, atol=1e-6, eps=1e-6):
    tangents = [random_tangent(a, rng) for a in args]
    if vjp is not None:
        # No tangent where the function is not differentiable (a tolerance read only by a
        # loop test): shifting it would only change the trip count.
        out, pullback = vjp(*copy.deepcopy(args))
        u = random_tangent(out, rng) if not isinstance(out, (bool, np.bool_)) else None
        cotangents = pullback(u) if u is not None else [None] * len(args)
        tangents = [None if c is None and u is not None else t for t, c in zip(tangents, cotangents)]
    before = copy.deepcopy(args)
    # By keyword: with fewer arguments than parameters (defaults), positional tangents would
    # land on the defaulted primals.
    names = list(inspect.signature(jvp).parameters)
    tangent_names = names[len(names) // 2 :][: len(tangents)]
    out, dout = jvp(*copy.deepcopy(args), **dict(zip(tangent_names, copy.deepcopy(tangents))))
    assert_close(out, primal(*copy.deepcopy(args)), 1e-12, 1e-12, "value")
    for arg, kept in zip(args, before):
        assert_close(arg, kept, 0, 0, "an argument was mutated")
    expected = difference(
        primal(*[shifted(a, t, eps) for a, t in zip(args, tangents)]),
        primal(*[shifted(a, t, -eps) for a, t in zip(args, tangents)]),
        eps,
    )
    assert_close(dout, expected, rtol, atol, "tangent vs central difference")
    # The adjoint test: one random cotangent, both derivatives, exact up to rounding.
    if vjp is None or u is None:
        return
    lhs = inner(dout, u)
    rhs = sum(inner(t, c) for t, c in zip(tangents, cotangents))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs), abs(rhs)), f"<jvp(v), u> = {lhs} but <v, vjp(u)> = {rhs}"


def _both(source: str):
    return load_source(source), load(generated_text(source, options=BOTH))


# ------------------------------------------------------------------------ rules


@pytest.mark.parametrize("case", rule_cases._params(rule_cases.CASES + rule_cases.NONDIFF_CASES))
def test_rule_jvp(case):
    primal, generated = _both(case.source)
    rng = rule_cases._rng(case)
    args = rule_cases._args(case, rng)
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
    eps = 1e-6
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
            dout, (primal.f(*a_plus, **k_plus) - primal.f(*a_minus, **k_minus)) / (2 * eps), rtol=1e-6
        )
    out, dout = generated.f_jvp(x, 2, 0.7, v, None, 1.0)  # the full positional form
    assert out == primal.f(x, 2, 0.7)
    np.testing.assert_allclose(
        dout, (primal.f(x + eps * v, 2, 0.7 + eps) - primal.f(x - eps * v, 2, 0.7 - eps)) / (2 * eps), rtol=1e-6
    )
    out, dout = generated.g_jvp(x, v)
    assert out == primal.g(x)
    np.testing.assert_allclose(dout, (primal.g(x + eps * v) - primal.g(x - eps * v)) / (2 * eps), rtol=1e-6)
