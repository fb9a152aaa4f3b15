"""Residuals in the reverse-mode IR: what each backward half reads from its forward half.

IR-level tests: the residuals of small functions, loop bodies and branch arms are exactly the
expected names; one `VjpLoop` node owns both halves of a loop; a pass reads all of it without
rendering. And one oracle over every golden case and example: the names the rendered NumPy
pullback closure captures (its code object's free variables) are exactly the residuals the IR
states, so the IR can never drift from what the closures really keep.
"""

from __future__ import annotations

import dataclasses
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import program_grammar as grammar

from support import check_vjp, differentiate
from dpgen.analysis.residuals import attach, forward_names, residuals
from dpgen.errors import DiagnosticSink, SourceErrors
from dpgen.frontend.fence import fence
from dpgen.frontend.lower import lower
from dpgen.frontend.own_helpers import own_helpers
from dpgen.frontend.source import Source, parse
from dpgen.header import Options
from dpgen.ir import VjpBranch, VjpCall, VjpFunction, VjpLoop, VjpModule
from dpgen.passes.reverse import reverse
from dpgen.passes.simplify import simplify
from dpgen.pipeline import generate

ROOT = Path(__file__).parent.parent
MODELS = sorted(
    [*(ROOT / "tests" / "golden").glob("*/model.py"), *(ROOT / "examples").glob("*/model.py")]
    + [*(ROOT / "benchmarks" / "workloads").glob("*/model.py")]
)


def vjp_ir(source: str, simplified: bool = True) -> VjpModule:
    """The reverse-mode IR of `source`, built by the passes alone: nothing is rendered."""
    src = Source("model.py", textwrap.dedent(source))
    sink = DiagnosticSink(src.path)
    parsed = parse(src)
    helpers = own_helpers(parsed)
    lowered = lower(parsed, sink, skip=fence(parsed, sink, helpers), helpers=helpers)
    sink.raise_if_any()
    module = reverse(lowered, sink)
    sink.raise_if_any()
    return simplify(module) if simplified else module


def function(module: VjpModule, name: str) -> VjpFunction:
    return next(fn for fn in module.functions if fn.source.name == name)


def only(stmts, kind):
    (found,) = [s for s in stmts if isinstance(s, kind)]
    return found


# ------------------------------------------------------------------ straight-line functions

CALL_WITH_UNUSED_OUTPUT = """
import numpy as np
def g(x):
    return np.sin(x), np.cos(x)
def f(x):
    a, b = g(x)
    return np.sum(a)
"""


def test_sin_then_square_keeps_its_input_and_the_sine():
    fn = function(vjp_ir("import numpy as np\ndef f(x):\n    y = np.sin(x)\n    return y * y\n"), "f")
    # y for the product's rule, x for sin's (np.cos(x)); the product itself is not read.
    assert fn.residuals == ("x", "y")
    assert fn.shape_residuals == ()


def test_tanh_keeps_its_output_only():
    fn = function(vjp_ir("import numpy as np\ndef f(x):\n    y = np.tanh(x)\n    return y\n"), "f")
    assert fn.residuals == ("y",)  # `1 - ans**2`: no x, no cosh
    assert fn.shape_residuals == ()


def test_a_sum_keeps_no_array():
    fn = function(vjp_ir("import numpy as np\ndef f(x):\n    return np.sum(x)\n"), "f")
    assert fn.residuals == ()
    assert fn.shape_residuals == ("x",)  # unreduce reads x's shape only


def test_a_linear_function_keeps_nothing_it_does_not_read():
    fn = function(vjp_ir("import numpy as np\ndef f(x, W):\n    return np.sum(x @ W + 2.0 * x)\n"), "f")
    # matmul's rule reads both operands; the scaling reads neither.
    assert set(fn.residuals) == {"x", "W"}
    assert set(fn.residuals) <= set(forward_names(fn))


def test_a_value_read_for_shape_and_value_is_a_residual_once():
    fn = function(vjp_ir("import numpy as np\ndef f(x):\n    y = np.tanh(x)\n    return np.sum(y)\n"), "f")
    assert fn.residuals == ("y",)  # read by tanh's rule (value) and by unreduce (shape): kept
    assert fn.shape_residuals == ()


def test_a_call_keeps_the_callee_pullback_and_records_its_residuals():
    module = vjp_ir("""
        import numpy as np
        def g(x):
            return np.exp(x)
        def f(x):
            return np.sum(g(x))
        """)
    f, g = function(module, "f"), function(module, "g")
    call = only(f.forward, VjpCall)
    assert g.residuals == (g.forward[-1].outs[0],)  # exp keeps its output
    assert call.residuals == g.residuals
    assert call.pullback in f.residuals  # the callee's residuals, held by its pullback


def test_an_unused_output_of_a_call_is_kept_for_its_shape():
    """The callee's pullback gets zeros for an output without a cotangent: only its shape is read."""
    f = function(vjp_ir(CALL_WITH_UNUSED_OUTPUT), "f")
    call = only(f.forward, VjpCall)
    assert f.residuals == (call.pullback,)
    assert f.shape_residuals == ("a", "b")  # unreduce reads a's shape, the zeros b's


# ------------------------------------------------------------------ branch arms

BRANCH = """
import numpy as np
def f(x, y):
    if np.sum(x) > 0:
        z = x * y
    else:
        z = np.cos(x) + y
    return np.sum(z)
"""


def test_each_arm_keeps_what_its_backward_half_reads():
    module = vjp_ir(BRANCH)
    f = function(module, "f")
    branch = only(f.forward, VjpBranch)
    then, orelse = function(module, branch.branch.then), function(module, branch.branch.orelse)
    assert then.residuals == ("x", "y")  # the product reads both factors
    assert orelse.residuals == ("x",)  # cos's rule reads x; adding y keeps nothing
    # unbroadcast reads the shapes of both terms of the sum
    assert set(orelse.shape_residuals) == {"y", next(s.outs[0] for s in orelse.forward if s.op == "numpy.cos")}
    assert (branch.then_residuals, branch.orelse_residuals) == (then.residuals, orelse.residuals)
    assert branch.pullback in f.residuals


# ------------------------------------------------------------------ loops

LOOP = """
import numpy as np
def f(x, W, n: int):
    h = x
    for i in range(n):
        h = np.tanh(h @ W)
    return np.sum(h)
"""


def test_the_loop_node_owns_both_halves():
    f = function(vjp_ir(LOOP), "f")
    loop = only(f.forward, VjpLoop)
    # The very same node is where the replay runs in the pullback: no link by name to follow.
    assert [s for s in f.backward if isinstance(s, VjpLoop)] == [loop]
    assert any(s is loop for s in f.backward)
    assert loop.replay is not None
    assert loop.pullbacks in f.residuals  # the tape is the forward half's residual
    # The replay threads the carried adjoint and hands W's part back every iteration.
    assert len(loop.replay.targets) == len(loop.loop.targets) + len(loop.loop.carried) + len(loop.loop.invariants)
    assert len(loop.replay.seed.items) == len(loop.loop.carried)


def test_per_iteration_residuals_are_the_body_residuals():
    module = vjp_ir(LOOP)
    f = function(module, "f")
    loop = only(f.forward, VjpLoop)
    body = function(module, loop.loop.body)
    assert loop.residuals == body.residuals
    tanh_out = next(s.outs[0] for s in body.forward if getattr(s, "op", "") == "numpy.tanh")
    # matmul reads h and W, tanh's rule its output; W is the same in every iteration.
    assert set(body.residuals) == {"h", "W", tanh_out}
    assert loop.invariant_residuals == ("W",)
    stacked = [n for n in loop.residuals if n not in loop.invariant_residuals]
    assert set(stacked) == {"h", tanh_out}  # what lax.scan would stack


def test_a_loop_with_break_and_iterated_rows():
    module = vjp_ir("""
        import numpy as np
        def f(xs, w):
            s = 0.0
            for x in xs:
                if np.sum(x) > 5.0:
                    break
                s = s + np.sin(x * w)
            return np.sum(s)
        """)
    f = function(module, "f")
    loop = only(f.forward, VjpLoop)
    assert loop.loop.breaks and loop.flag
    body = function(module, loop.loop.body)
    assert loop.residuals == body.residuals
    # The body is `if ...: break` around the rest: its one residual is the arm's pullback,
    # and the arm that goes on keeps the row x (a loop target: per iteration) and w.
    inner = only(body.forward, VjpBranch)
    assert body.residuals == (inner.pullback,) and loop.invariant_residuals == ()
    assert {"x", "w"} <= set(inner.then_residuals) | set(inner.orelse_residuals)
    assert loop.replay is not None and any(s is loop for s in f.backward)


def test_an_inactive_loop_has_no_replay_and_no_residuals():
    f = function(
        vjp_ir("""
            import numpy as np
            def f(x, n: int):
                k = 0
                for i in range(n):
                    k = k + i
                return np.sum(x) * k
            """),
        "f",
    )
    loop = only(f.forward, VjpLoop)
    assert loop.pullbacks == "_" and loop.replay is None and loop.residuals == ()
    assert not any(isinstance(s, VjpLoop) for s in f.backward)
    assert "k" in f.residuals


# ------------------------------------------------------------------ reading them as a pass would


def test_a_pass_reads_residuals_without_rendering(monkeypatch):
    """A toy checkpoint planner: which loops store arrays per iteration, from the IR alone."""
    import dpgen.render.module as renderer

    monkeypatch.setattr(renderer, "render", lambda *a, **k: pytest.fail("rendered"))
    module = vjp_ir(LOOP)

    def per_iteration_storage(fn: VjpFunction) -> dict[str, tuple[str, ...]]:
        return {
            s.loop.body: tuple(n for n in s.residuals if n not in s.invariant_residuals)
            for s in fn.forward
            if isinstance(s, VjpLoop)
        }

    plan = per_iteration_storage(function(module, "f"))
    assert len(plan) == 1 and "h" in next(iter(plan.values()))
    # A pass that drops a loop's replay and recomputes residuals sees the tape go away.
    f = function(module, "f")
    loop = only(f.forward, VjpLoop)
    bare = dataclasses.replace(f, backward=tuple(s for s in f.backward if s is not loop))
    recomputed = function(attach(dataclasses.replace(module, functions=(bare,) + module.functions[1:])), "f")
    assert loop.pullbacks not in recomputed.residuals


def test_the_reverse_pass_alone_states_residuals():
    """Before `simplify` too: each pass leaves the residuals consistent with its pullback."""
    raw, simplified = vjp_ir(LOOP, simplified=False), vjp_ir(LOOP)
    for fn in raw.functions:
        assert fn.residuals or fn.shape_residuals
        loops = [s for s in fn.forward if isinstance(s, VjpLoop) and s.replay is not None]
        assert all(any(b is s for b in fn.backward) for s in loops)
    assert function(raw, "f").residuals == function(simplified, "f").residuals


# ------------------------------------------------------------------ the closures agree


def _code(parent: types.CodeType, name: str) -> types.CodeType:
    return next(c for c in parent.co_consts if isinstance(c, types.CodeType) and c.co_name == name)


def _check_against_closures(module: VjpModule, text: str) -> int:
    code = compile(text, "<generated>", "exec")
    checked = 0
    for fn in module.functions:
        pullback = _code(_code(code, fn.name), fn.pullback_name)
        captured = set(pullback.co_freevars)
        assert set(fn.residuals) | set(fn.shape_residuals) == captured, fn.name
        if fn.checkpoint is not None:  # f_vjp keeps its inputs; the recorded vjp keeps the residuals
            assert fn.residuals == tuple(p.name for p in fn.source.params) and not fn.shape_residuals
            recorded = set(_code(_code(code, fn.recorded), fn.pullback_name).co_freevars)
            assert set(sum(residuals(fn), ())) == recorded, fn.recorded
            checked += 1
            continue
        assert not set(fn.residuals) & set(fn.shape_residuals)
        assert set(fn.residuals) <= set(forward_names(fn))
        for stmt in fn.forward:
            if isinstance(stmt, VjpLoop) and stmt.replay is not None:
                assert sum(s is stmt for s in fn.backward) == 1, fn.name
        checked += 1
    return checked


@pytest.mark.parametrize("path", MODELS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_residuals_are_what_the_numpy_closures_capture(path):
    stages = generate(Source("model.py", path.read_text(encoding="utf-8")), Options(mode="reverse"))
    assert _check_against_closures(stages.reversed, stages.text) > 0


@pytest.mark.parametrize("source", [LOOP, BRANCH, CALL_WITH_UNUSED_OUTPUT])
def test_residuals_of_the_small_cases_are_what_the_closures_capture(source):
    stages = generate(Source("model.py", source), Options(mode="reverse"))
    assert _check_against_closures(stages.reversed, stages.text) > 0


@settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_residuals_of_random_programs_are_what_the_closures_capture(data):
    """Every construct of the fuzzing grammar (loops, while, break, rows, lists, dicts, tuples)."""
    source = grammar.draw_program(grammar.HypothesisDrawer(data.draw), grammar.ALL_FEATURES, small=True)
    try:
        stages = generate(Source("model.py", grammar.render(source, instrumented=False)), Options(mode="reverse"))
    except SourceErrors:
        return  # refused with a located error: nothing to compare
    _check_against_closures(stages.reversed, stages.text)


@pytest.mark.parametrize("case", ["mlp", "rnn", "newton", "checkpoint"])
def test_residuals_of_the_hvp_inner_module(case):
    """Reverse over forward: the JVP functions' pullbacks state their residuals too."""
    source = (ROOT / "tests" / "golden" / case / "model.py").read_text(encoding="utf-8")
    stages = generate(Source("model.py", source), Options(mode="hvp"))
    assert _check_against_closures(stages.hessian.inner, stages.text) > 0


def test_gradients_unchanged_where_residuals_are_stated():
    """The NumPy contract is untouched: f_vjp -> (out, f_pullback), numerically right."""
    primal, generated = differentiate(LOOP)
    rng = np.random.default_rng(0)
    x, W = rng.normal(size=(2, 3)), 0.5 * rng.normal(size=(3, 3))

    def vjp(x, W):
        out, pullback = generated.f_vjp(x, W, 3)
        return out, lambda g: pullback(g)[:2]

    check_vjp(lambda x, W: primal.f(x, W, 3), vjp, [x, W], rng)
