"""Activity analysis (`dpgen.analysis.activity`) on the IR of tiny modules.

Which variables get adjoints and which parameters get cotangents decides what the pullbacks
compute; these tests pin the analysis itself, below the generated code the other tests check.
"""

from __future__ import annotations

import textwrap

from dpgen.analysis import activity
from dpgen.errors import Span
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.ir import Branch, Call, Eqn, Function, Loop, Module, Param, Var
from dpgen.pipeline import generate


def lowered(source: str) -> Module:
    text = "import numpy as np\n\n\n" + textwrap.dedent(source)
    return generate(Source("model.py", text), Options("reverse")).lowered


def by_name(module: Module) -> dict[str, Function]:
    return {f.name: f for f in module.functions}


def first(function: Function, kind: type):
    return next(s for s in function.body if isinstance(s, kind))


MASKS_AND_SHAPES = """
def f(x, w):
    s = x.shape[0]
    mask = x > 0
    unused = np.cos(x)
    scaled = np.sin(x) * mask
    return scaled * s
"""


def test_varied_and_useful_skip_shapes_masks_and_dead_values():
    module = lowered(MASKS_AND_SHAPES)
    functions = by_name(module)
    active = activity.active_parameters(module)
    varied = activity.varied(functions["f"], active, functions)
    useful = activity.useful(functions["f"], active, functions)
    assert {"x", "unused", "scaled"} <= varied
    assert not {"s", "mask"} & varied  # an integer and a boolean: no derivative flows
    assert "unused" not in useful and {"scaled", "x"} <= useful
    assert "w" not in useful  # the output does not depend on it


def test_parameters_the_output_ignores_are_not_active():
    module = lowered(MASKS_AND_SHAPES)
    assert activity.active_parameters(module) == {"f": ("x",)}


def test_differentiable_inputs_of_an_equation_follow_its_rule():
    f = by_name(lowered(MASKS_AND_SHAPES))["f"]
    greater = next(s for s in f.body if isinstance(s, Eqn) and s.op == "numpy.greater")
    assert activity.differentiable_inputs(greater, {}, {}) == []  # not differentiable
    product = next(s for s in f.body if isinstance(s, Eqn) and s.outs == ("scaled",))
    assert activity.differentiable_inputs(product, {}, {}) == [product.args[0].name, "mask"]


CALLS = """
def g(a, b):
    return a * 2.0


def h(x, n=2):
    return x * n


def f(x, y, z):
    return g(x, y) + h(x, z)
"""


def test_activity_follows_calls_and_defaults_a_caller_feeds_a_derivative():
    module = lowered(CALLS)
    active = activity.active_parameters(module)
    assert active["g"] == ("a",)
    # `n=2` reads as an integer, but f passes it `z`, which carries a derivative.
    assert activity.fed_derivatives(module)["h"] == {"x", "n"}
    assert active["h"] == ("x", "n")
    assert active["f"] == ("x", "z")
    f = by_name(module)["f"]
    call_g = next(s for s in f.body if isinstance(s, Call) and s.callee == "g")
    assert activity.differentiable_inputs(call_g, active, by_name(module)) == ["x"]  # not y: g ignores b


def test_a_default_nobody_feeds_a_derivative_stays_inactive():
    module = lowered("""
        def h(x, n=2):
            return x * n


        def f(x):
            return h(x, 3)
        """)
    assert activity.fed_derivatives(module)["h"] == {"x"}
    assert activity.active_parameters(module)["h"] == ("x",)


BRANCH = """
def f(x, y):
    if np.sum(x) > 0:
        z = x * 2.0
    else:
        z = y * 3.0
    return z
"""


def test_both_arms_of_a_branch_return_cotangents_for_the_same_parameters():
    module = lowered(BRANCH)
    branch = first(by_name(module)["f"], Branch)
    active = activity.active_parameters(module)
    assert active[branch.then] == active[branch.orelse]
    assert {"x", "y"} <= set(active[branch.then])
    assert active["f"] == ("x", "y")


LOOP = """
def f(x, w):
    h = x
    for k in range(3):
        h = h * w
    return h
"""


def test_loop_carried_parameters_stay_active():
    module = lowered(LOOP)
    loop = first(by_name(module)["f"], Loop)
    body = by_name(module)[loop.body]
    active = activity.active_parameters(module)
    carried = [p.name for p in body.params[len(loop.targets) : len(loop.targets) + len(loop.carried)]]
    assert carried and set(carried) <= set(active[loop.body])
    assert active["f"] == ("x", "w")


def test_dict_parameters_are_found_through_keys_and_calls():
    module = lowered("""
        def layer(q, x):
            return np.tanh(q["W"] * x)


        def f(p, x):
            return layer(p, x)
        """)
    dicts = activity.dict_variables(module)
    assert dicts["layer"] == {"q"}
    assert dicts["f"] == {"p"}  # passed to a parameter read as a dict


def test_varied_on_hand_made_ir_reaches_through_an_equation_chain():
    span = Span(1, 1)
    body = (
        Eqn(("a",), "numpy.sin", (Var("x"),), (), span),
        Eqn(("n",), "numpy.shape", (Var("a"),), (), span),
        Eqn(("b",), "numpy.multiply", (Var("a"), Var("n")), (), span),
    )
    f = Function("f", (Param("x", None, True),), body, Var("b"), span, (), frozenset({"x", "a", "b", "n"}))
    module = Module("model.py", (), (f,))
    active = activity.active_parameters(module)
    assert active == {"f": ("x",)}
    assert activity.varied(f, active, {"f": f}) == {"x", "a", "b"}
    assert activity.useful(f, active, {"f": f}) == {"b", "a", "n", "x"}


def test_a_loop_feeds_its_carried_results_back_into_the_next_iteration():
    module = lowered("""
        def f(x):
            acc = 0
            for k in range(3):
                acc = acc + x
            return acc
        """)
    loop = first(by_name(module)["f"], Loop)
    body = by_name(module)[loop.body]
    start = len(loop.targets)
    (carried,) = body.params[start : start + len(loop.carried)]
    # `acc = 0` enters without a derivative; the first iteration gives it one.
    assert carried.name in activity.fed_derivatives(module)[loop.body]
    assert carried.name in activity.active_parameters(module)[loop.body]
