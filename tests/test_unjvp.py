"""The forward-mode IR as core IR (`dpgen.passes.unjvp`), the step that lets --mode hvp compose
the forward and reverse passes in the IR: every tangent tree becomes equations of
primitives that have rules, and the result is plain core IR that cites the user's lines."""

from __future__ import annotations

import textwrap

import pytest

from dpgen import rules
from dpgen.errors import DiagnosticSink
from dpgen.frontend.lower import lower
from dpgen.frontend.source import Source, parse
from dpgen.ir import Apply, Branch, Call, Eqn, Function, Loop, Seq, Template, Var
from dpgen.ir.expr import holes
from dpgen.passes.forward import elementwise_tangent, forward, prune
from dpgen.passes.unjvp import _template_tree, unjvp


def _tangent_trees():
    """(rule, parameter, tree) of every tangent a forward rule states as a tree (builder
    functions make theirs at application and are covered end to end)."""
    for name, rule in sorted(rules.TABLE.items()):
        if rule.jvp_kind == "explicit":
            items = rule.jvp.items()
        elif rule.jvp_kind == "elementwise":
            items = ((p, elementwise_tangent(d)) for p, d in rule.vjp.items() if not callable(d))
        else:
            continue
        for param, tree in items:
            if not callable(tree):
                yield name, param, tree


def _ops(tree) -> list[str]:
    if isinstance(tree, Apply):
        return [tree.op] + [op for a in tree.args + tuple(v for _, v in tree.kwargs) for op in _ops(a)]
    if isinstance(tree, Seq):
        return [op for item in tree.items for op in _ops(item)]
    return []


@pytest.mark.parametrize("name, param, tree", list(_tangent_trees()))
def test_every_forward_rule_becomes_primitives_with_rules(name, param, tree):
    bindings = tuple((n, Var(n)) for n in sorted(holes(tree)))
    ops = _ops(_template_tree(Template(tree, bindings)))
    missing = [op for op in ops if rules.lookup(op) is None]
    assert not missing, f"{name} ({param}): the tangent {tree} calls {missing}, which have no rule"


SOURCE = """
import numpy as np


def pair(x):
    return np.sin(x), x * 2.0


def f(x, A):
    a, b = pair(x)
    s = 0.0
    for k in range(3):
        if np.sum(a) > 0:
            s = s + np.sum(a * b) * k
        else:
            s = s - np.linalg.det(A)
    return s
"""


def _core() -> tuple:
    sink = DiagnosticSink("model.py")
    lowered = lower(parse(Source("model.py", textwrap.dedent(SOURCE))), sink)
    module = unjvp(prune(forward(lowered, sink)), sink)
    sink.raise_if_any()
    return lowered, module


def test_the_result_is_core_ir_citing_the_source():
    lowered, module = _core()
    assert [f.name for f in module.functions] == [f"{f.name}_jvp" for f in lowered.functions]
    lines = len(textwrap.dedent(SOURCE).splitlines())
    for fn in module.functions:
        assert isinstance(fn, Function)
        for stmt in fn.body:
            assert isinstance(stmt, (Eqn, Call, Branch, Loop)), stmt
            assert 1 <= stmt.span.line <= lines
            if isinstance(stmt, Eqn):
                assert rules.lookup(stmt.op) is not None, stmt.op
    f = next(fn for fn in module.functions if fn.name == "f_jvp")
    assert [p.name for p in f.params] == ["x", "A", "dx", "dA"]
    (call,) = [s for s in f.body if isinstance(s, Call)]
    assert call.callee == "pair_jvp" and len(call.outs) == 4  # (a, b, da, db): flat, plain names


def test_rebinding_is_single_assignment():
    """Every name is bound once per function (the reverse pass relies on it)."""
    _, module = _core()
    for fn in module.functions:
        bound = [p.name for p in fn.params] + [o for s in fn.body for o in s.outs]
        assert len(bound) == len(set(bound)), fn.name
