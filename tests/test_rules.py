"""Every derivative rule, checked against finite differences through the real pipeline.

Each case (the table is `support/rule_cases.py`) is a tiny source module (``def f(<args>): return <expression>``) that dpgen
differentiates in memory; `check_vjp` compares each cotangent of ``f_vjp``'s pullback with
central differences of the *source* function. Cases that return arrays get a random
output cotangent, so every entry of a rule's result is weighted differently.

The tables are the spec: one row per (rule, shape / axis / broadcast variant), with the
input domain the rule needs (``positive`` for log, ``apart`` -- no ties -- for max, ...).
`test_every_differentiable_rule_is_covered` fails when a rule of `dpgen.rules.TABLE` (or one
of its differentiable parameters) has no row, so a new rule needs a test before CI passes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from dpgen.frontend import lower as lowering
from dpgen import rules
from dpgen.errors import DiagnosticSink
from dpgen.ir import Eqn
from dpgen.frontend.own_helpers import own_helpers
from dpgen.ir.walk import variables as _vars_in
from dpgen.frontend.source import Source, parse
from support import central_difference, check_vjp, differentiate
from support.rule_cases import (
    CASES,
    DICT_SOURCE,
    HEADER,
    NONDIFF_CASES,
    PURE_NONDIFF_CASES,
    Case,
    case_args,
    case_params,
    case_rng,
)


def _seed(out, rng: np.random.Generator):
    return rng.normal(size=np.shape(out)) if np.ndim(out) else 1.0


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_matches_finite_differences(case: Case):
    _check(case)


def _check(case: Case) -> None:
    primal, generated = differentiate(case.source)
    rng = case_rng(case)
    args = case_args(case, rng)
    # check_vjp skips None cotangents, so first pin down which parameters get one.
    out, pullback = generated.f_vjp(*args)
    seed = _seed(out, rng)
    kept = np.copy(seed)
    cotangents = pullback(seed)
    np.testing.assert_array_equal(seed, kept, err_msg="the pullback wrote into its cotangent argument")
    assert len(cotangents) == len(args)
    for (name, _), cotangent in zip(case.args, cotangents):
        if name in case.nondiff:
            assert cotangent is None, f"{name} only feeds a non-differentiable input, its cotangent must be None"
        else:
            assert cotangent is not None, f"no cotangent for differentiable parameter {name}"
    # The pullback must not write into the inputs (index scatters use fresh buffers).
    for before, after in zip(case_args(case, case_rng(case)), args):
        np.testing.assert_array_equal(after, before)
    check_vjp(primal.f, generated.f_vjp, args, rng, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("case", case_params(NONDIFF_CASES))
def test_nondifferentiable_rule_contributes_nothing(case: Case):
    _check(case)


@pytest.mark.parametrize("case", case_params(PURE_NONDIFF_CASES))
def test_nondifferentiable_rule_yields_none(case: Case):
    primal, generated = differentiate(case.source)
    rng = case_rng(case)
    args = case_args(case, rng)
    out, pullback = generated.f_vjp(*args)
    np.testing.assert_array_equal(out, primal.f(*args))
    cotangents = pullback(_seed(out, rng))
    expected = tuple(None if name in case.nondiff else "array" for name, _ in case.args)
    assert tuple(None if c is None else "array" for c in cotangents) == expected
    if all(e is None for e in expected) and np.ndim(out) == 0 and np.issubdtype(np.asarray(out).dtype, np.floating):
        assert generated.f_grad(*args) == (None,) * len(args)
    if any(e is not None for e in expected):
        check_vjp(primal.f, generated.f_vjp, args, rng)


def test_dict_rule_matches_finite_differences():
    primal, generated = differentiate(DICT_SOURCE)
    rng = np.random.default_rng(7)
    p = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "scale": 0.7, "unused": rng.normal(size=4)}
    x = rng.normal(size=(4, 3))
    p_bar, x_bar = generated.f_vjp(p, x)[1](1.0)
    assert set(p_bar) == set(p)
    for key in p:

        def entry(value, key=key):
            return primal.f({**p, key: value}, x)

        np.testing.assert_allclose(
            p_bar[key], central_difference(entry, [p[key]], 0, 1.0), rtol=1e-5, atol=1e-6, err_msg=key
        )
    np.testing.assert_allclose(x_bar, central_difference(lambda v: primal.f(p, v), [x], 0, 1.0), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------ coverage
# Rules no source text can reach (none today); listed so the coverage test says so.
UNREACHABLE: dict[str, str] = {}


def _lowered_eqns(source: str) -> list[Eqn]:
    """Every equation of a module, including those inside if/while tests."""
    sink = DiagnosticSink("model.py")
    parsed = parse(Source("model.py", source))
    module = lowering.lower(parsed, sink, helpers=own_helpers(parsed))
    sink.raise_if_any()
    eqns = []
    for f in module.functions:
        for stmt in f.body:
            if isinstance(stmt, Eqn):
                eqns.append(stmt)
            test = getattr(stmt, "test", None) or getattr(getattr(stmt, "over", None), "body", None) and stmt.over
            if test is not None:
                eqns.extend(e for e in test.body if isinstance(e, Eqn))
    return eqns


def _exercised(cases, extra_sources=()) -> tuple[set[str], set[str]]:
    """(rules used, 'rule:param' pairs whose parameter is bound to a variable)."""
    ops, params = set(), set()
    for source in [c.source for c in cases] + list(extra_sources):
        for eqn in _lowered_eqns(source):
            ops.add(eqn.op)
            rule = rules.lookup(eqn.op)
            bound = rule.bind(eqn.args, eqn.kwargs)
            params.update(f"{eqn.op}:{p}" for p in rule.vjp if _vars_in(bound[p]))
    return ops, params


def test_every_differentiable_rule_is_covered():
    ops, params = _exercised(CASES, [DICT_SOURCE])
    differentiable = {name: rule for name, rule in rules.TABLE.items() if rule.differentiable}
    missing = sorted(set(differentiable) - ops - set(UNREACHABLE))
    assert not missing, f"differentiable rules without a test case: {missing}"
    expected = {f"{name}:{p}" for name, rule in differentiable.items() if name not in UNREACHABLE for p in rule.vjp}
    untested = sorted(expected - params)
    assert not untested, f"rule parameters never given a differentiable argument: {untested}"
    for name in UNREACHABLE:
        assert name in rules.TABLE and name not in ops, f"{name} is listed as unreachable: update UNREACHABLE"


def test_every_nondifferentiable_rule_is_covered():
    ops, _ = _exercised(NONDIFF_CASES)
    missing = sorted(name for name, rule in rules.TABLE.items() if not rule.differentiable and name not in ops)
    assert not missing, f"non-differentiable rules without a test case: {missing}"


def test_every_alias_and_method_is_spelled_in_a_case():
    sources = "\n".join(c.source for c in CASES + NONDIFF_CASES)
    for alias in rules.ALIASES:
        spelled = alias.replace("numpy.", "np.", 1) + "("
        assert spelled in sources, f"alias {alias} has no test case spelling {spelled}"
    for method in lowering.METHODS:
        assert f".{method}(" in sources, f"method .{method}() has no test case"
    for attribute in lowering.ATTRIBUTES:
        assert re.search(rf"\.{attribute}\b", sources), f"attribute .{attribute} has no test case"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES + NONDIFF_CASES + PURE_NONDIFF_CASES]
    assert len(ids) == len(set(ids))


# ------------------------------------------------- conventions at non-differentiable points
# Finite differences cannot pin these down (the function has a kink), so the expected
# gradients are written out: ties of max/min reductions share the cotangent equally, a tie
# of two-argument selections gives each side half (what central differences give), and
# |x| has slope 0 at 0.
A = np.array
TIES = [
    # id                expression                    arguments                       expected gradient
    ("max-tie-shared", "np.max(x)", [A([1.0, 3.0, 3.0, 0.0])], [A([0.0, 0.5, 0.5, 0.0])]),
    (
        "min-tie-axis",
        "np.sum(np.min(x, axis=1))",
        [A([[1.0, 1, 1], [2, 0, 5]])],
        [A([[1 / 3, 1 / 3, 1 / 3], [0, 1, 0]])],
    ),
    ("maximum-tie", "np.sum(np.maximum(x, y))", [A([1.0, 2.0]), A([1.0, 3.0])], [A([0.5, 0.0]), A([0.5, 1.0])]),
    ("minimum-tie", "np.sum(np.minimum(x, y))", [A([1.0, 2.0]), A([1.0, 3.0])], [A([0.5, 1.0]), A([0.5, 0.0])]),
    ("clip-at-bound", "np.sum(np.clip(x, y, 1.0))", [A([0.0, 0.5]), A([0.0, 0.0])], [A([0.5, 1.0]), A([0.5, 0.0])]),
    ("clip-at-upper", "np.sum(np.clip(x, -1.0, y))", [A([1.0, 0.5]), A([1.0, 2.0])], [A([0.5, 1.0]), A([0.5, 0.0])]),
    ("clip-no-lower", "np.sum(np.clip(x, None, y))", [A([1.0, 0.5]), A([1.0, 2.0])], [A([0.5, 1.0]), A([0.5, 0.0])]),
    ("builtin-max-tie", "max(x, y)", [2.0, 2.0], [0.5, 0.5]),
    ("builtin-min-tie", "min(x, y)", [2.0, 2.0], [0.5, 0.5]),
    ("abs-zero", "np.sum(np.abs(x))", [A([0.0, -2.0])], [A([0.0, -1.0])]),
    ("fabs-zero", "math.fabs(x)", [0.0], [0.0]),
]


@pytest.mark.parametrize("expr, args, expected", [pytest.param(e, a, x, id=i) for i, e, a, x in TIES])
def test_gradient_conventions_at_ties_and_kinks(expr, args, expected):
    params = ", ".join("xy"[: len(args)])
    _, generated = differentiate(HEADER + f"def f({params}):\n    return {expr}\n")
    grads = generated.f_grad(*args)
    grads = grads if len(args) > 1 else (grads,)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# --------------------------------------------------------- rules that must refuse
@pytest.mark.parametrize(
    "call", ["np.linalg.norm(x, 2)", "np.linalg.norm(x, ord=2, axis=(0, 1))", "np.linalg.norm(x, 1)"]
)
def test_unimplemented_norm_is_refused_not_wrong(call):
    """ord=2 over two axes is the largest singular value, not the Frobenius norm."""
    source = HEADER + f"def f(x):\n    return {call}\n"
    _, generated = differentiate(source)
    x = np.random.default_rng(0).normal(size=(3, 3))
    out, pullback = generated.f_vjp(x)
    with pytest.raises(NotImplementedError):
        pullback(1.0)
