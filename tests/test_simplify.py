"""IR-level tests of `dpgen.passes.simplify`: each simplification does what it says on the reverse
pass's own IR, keeps the residuals current, is idempotent, and never changes a derivative."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.backends import NUMPY
from dpgen.errors import DiagnosticSink
from dpgen.frontend.lower import lower
from dpgen.frontend.source import Source, parse
from dpgen.ir import Comment, Eqn, Hole, SetAdjoint, VjpLoop
from dpgen.ir.walk import outs
from dpgen.analysis.residuals import residuals
from dpgen.passes.reverse import reverse
from dpgen.passes.simplify import simplify
from dpgen.render.module import render
from support import check_vjp, load, load_source
from support import flow_cases as flow


def _reversed(source: str):
    """(lowered module, the reverse pass's IR before simplification)."""
    sink = DiagnosticSink("model.py")
    lowered = lower(parse(Source("model.py", textwrap.dedent(source))), sink)
    vjp = reverse(lowered, sink)
    sink.raise_if_any()
    return lowered, vjp


def _function(module, name: str):
    return next(fn for fn in module.functions if fn.source.name == name)


def test_copy_propagation_removes_identity_adjoints():
    """``y = np.copy(x)`` reverses to ``x_bar = y_bar``; simplify renames it away."""
    _, before = _reversed("""
        import numpy as np

        def f(x):
            y = np.copy(x)
            return np.sum(np.sin(y))
        """)
    after = simplify(before)

    def copies(fn):
        return [s for s in fn.backward if isinstance(s, SetAdjoint) and s.value.expr == Hole("g")]

    assert copies(_function(before, "f")), "the example must have an identity adjoint to remove"
    assert not copies(_function(after, "f"))
    # The parameter's cotangent is still named, and it is what the pullback computes last.
    assert _function(after, "f").cotangents[0] is not None


def test_dead_forward_code_is_dropped_and_live_code_kept():
    _, before = _reversed("""
        import numpy as np

        def f(x):
            unused = np.cos(x) * 3.0
            return np.sum(np.sin(x))
        """)
    names = lambda fn: {o for s in fn.forward for o in outs(s)}  # noqa: E731
    assert "unused" in names(_function(before, "f"))
    after = _function(simplify(before), "f")
    assert "unused" not in names(after)
    assert any(isinstance(s, Eqn) and s.op == "numpy.sin" for s in after.forward)


def test_loop_carried_values_keep_their_source_names():
    """``h = np.tanh(h)`` in a loop carries `h`, not a renamed `h_2`, after simplification."""
    _, before = _reversed("""
        import numpy as np

        def f(h, W, n: int):
            for i in range(n):
                h = np.tanh(h @ W)
            return np.sum(h)
        """)
    after = _function(simplify(before), "f")
    (loop,) = [s for s in after.forward if isinstance(s, VjpLoop)]
    assert loop.loop.carried == ("h",)


def test_no_comment_labels_nothing():
    _, before = _reversed("""
        import numpy as np

        def f(x, k: int):
            n = k * 2
            m = n + 1
            return np.sum(x) * m
        """)
    for fn in simplify(before).functions:
        stmts = fn.backward
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, Comment):
                assert i + 1 < len(stmts) and not isinstance(stmts[i + 1], Comment), stmt


def test_residuals_are_recomputed_after_simplification():
    """Simplify drops and renames statements; the residuals it records match its own output."""
    _, before = _reversed("""
        import numpy as np

        def f(x, W):
            y = np.copy(x)
            dead = np.exp(W)
            h = np.tanh(y @ W)
            return np.sum(h * h)
        """)
    for fn in simplify(before).functions:
        assert (fn.residuals, fn.shape_residuals) == residuals(fn)
    assert "dead" not in _function(simplify(before), "f").residuals


CASES = flow.CASES[::6]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_simplify_is_idempotent_and_keeps_every_derivative(case):
    """On a sample of the control-flow cases: simplifying twice changes nothing, and the
    unsimplified and simplified modules compute the same (finite-difference-checked) cotangents."""
    source = flow.HEADER + textwrap.dedent(case.source)
    lowered, before = _reversed(source)
    after = simplify(before)
    assert simplify(after) == after
    plain = load(render(lowered, before, None, NUMPY, "# unsimplified"))
    simple = load(render(lowered, after, None, NUMPY, "# simplified"))
    primal = load_source(source)
    rng = np.random.default_rng(5)
    for args in case.args(rng):
        check_vjp(getattr(primal, case.entry), getattr(simple, f"{case.entry}_vjp"), args, rng)
        check_vjp(getattr(primal, case.entry), getattr(plain, f"{case.entry}_vjp"), args, rng)
