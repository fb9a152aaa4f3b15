"""The IR walker (`dpgen.ir.walk`) on hand-made IR and on the IR of real modules.

The walker answers, for every node type, what a statement reads and writes; simplify's dead-code
and copy-propagation decisions and forward mode's pruning rest on those answers, so a node type
it does not know must be refused, not read as "reads nothing".
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from dpgen.errors import Span
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen import rules
from dpgen.ir import (
    Apply,
    Hole,
    AddInPlace,
    AdjointStmt,
    Branch,
    Call,
    Comment,
    Const,
    CopyAdjoint,
    DefaultTangent,
    Eqn,
    ForEach,
    ForRange,
    Function,
    Index,
    IndexAddAdjoint,
    JvpLoop,
    JvpStmt,
    KeyAddAdjoint,
    Loop,
    Param,
    ReverseLoop,
    Seq,
    SetAdjoint,
    SetTangent,
    SliceAtom,
    Stmt,
    Template,
    Test as InlineTest,
    UnpackAdjoints,
    Var,
    VjpBranch,
    VjpCall,
    VjpLoop,
    ZeroIndexAdjoint,
    ZerosAdjoint,
    ZeroTangent,
)
from dpgen.ir import walk
from dpgen.pipeline import generate

HERE = Path(__file__).resolve().parent
SPAN = Span(1, 1)
MODELS = sorted(
    [*HERE.parent.glob("examples/*/model.py"), *HERE.parent.glob("benchmarks/workloads/*/model.py")],
    key=str,
)


def tree(text: str):
    """A rule expression tree, parsed as rule registration parses it (every name a hole)."""
    return rules.expr(text, "g", "x", "pb")


def eqn(outs, op, *args, **kwargs) -> Eqn:
    return Eqn(tuple(outs), op, tuple(args), tuple(kwargs.items()), SPAN)


def params(*names: str) -> tuple[Param, ...]:
    return tuple(Param(n, None, True) for n in names)


def function(name: str, *names: str) -> Function:
    return Function(name, params(*names), (), Const("None"), SPAN, (), frozenset(), internal=True)


# ------------------------------------------------------------------------------------ atoms


def test_variables_in_nested_atoms_in_order_with_repeats():
    atom = Seq((Var("a"), Const("2.0"), Seq((Var("b"), Var("a")), is_list=True)))
    assert walk.variables(atom) == ["a", "b", "a"]
    index = Index((Var("i"), SliceAtom(Const("1"), Var("n"), None), Const("None")), is_tuple=True)
    assert walk.variables(index) == ["i", "n"]
    assert walk.variables((Var("x"), index, None)) == ["x", "i", "n"]
    assert walk.variables(Const("np.pi")) == [] and walk.variables(None) == []


def test_template_reads_only_the_names_its_tree_uses():
    template = Template(tree("g * np.cos(x)"), (("g", Var("h_bar")), ("x", Var("x")), ("y", Var("unused"))))
    assert walk.template_reads(template) == {"h_bar", "x"}


# ------------------------------------------------------------------------- core statements


def test_reads_and_writes_of_an_equation_and_a_call():
    e = eqn(["h"], "numpy.add", Var("x"), Const("1.0"), out=Var("buf"))
    assert walk.reads(e) == {"x", "buf"} and walk.writes(e) == {"h"}
    c = Call(("a", "b"), "g", (Var("x"),), (("scale", Var("s")),), SPAN)
    assert walk.reads(c) == {"x", "s"} and walk.writes(c) == {"a", "b"}
    assert walk.outs(c) == ("a", "b") and walk.callees(c) == ("g",)


def test_branch_reads_its_test_and_inputs():
    test = InlineTest((eqn(["t"], "numpy.greater", Var("x"), Var("limit")),), Var("t"))
    branch = Branch(test, "f_then", "f_else", (Var("x"), Var("w")), ("y",), SPAN)
    assert walk.reads(branch) == {"x", "limit", "t", "w"}
    assert walk.writes(branch) == {"y"}
    assert walk.callees(branch) == ("f_then", "f_else")


def loop(over, targets=("row",), carried=("h",), init=(Var("h0"),), invariants=(Var("W"),), breaks=False) -> Loop:
    return Loop(
        "body", over, tuple(targets), tuple(carried), tuple(carried), tuple(init), tuple(invariants), breaks, SPAN
    )


def test_loop_reads_what_it_iterates_its_initial_values_and_invariants():
    for_each = loop(ForEach((Var("xs"),), enumerate=False, reverse=False))
    assert walk.reads(for_each) == {"xs", "h0", "W"}
    assert walk.writes(for_each) == {"h"} and walk.outs(for_each) == ("h",)
    for_range = loop(ForRange((Const("0"), Var("n"))), targets=("i",))
    assert walk.reads(for_range) == {"n", "h0", "W"}
    # A while test reads the carried names (bound inside the loop, not before it).
    while_ = loop(InlineTest((eqn(["t"], "numpy.less", Var("h"), Var("tol")),), Var("t")), targets=())
    assert walk.reads(while_) == {"h", "tol", "t", "h0", "W"}


def test_body_layout_targets_then_carried_then_invariants():
    lp = loop(
        ForEach((Var("xs"), Var("ys")), enumerate=True, reverse=False),
        targets=("k", "x", "y"),
        carried=("h", "c"),
        init=(Var("h0"), Const("0.0")),
        invariants=(Var("W"),),
    )
    layout = walk.body_layout(lp)
    assert (layout.targets, layout.carried, layout.invariants) == (slice(0, 3), slice(3, 5), slice(5, 6))
    assert [layout.role(k) for k in range(6)] == ["target"] * 3 + ["carried"] * 2 + ["invariant"]
    # The position of enumerate is fed nothing; the rows come from the zipped sequences.
    assert walk.loop_arguments(lp) == [None, Var("xs"), Var("ys"), Var("h0"), Const("0.0"), Var("W")]
    body = function("body", "k", "x", "y", "h", "c", "W")
    assert [(p.name, a) for p, a in walk.arguments(lp, body)] == list(
        zip(["k", "x", "y", "h", "c", "W"], walk.loop_arguments(lp))
    )


def test_range_and_while_loops_feed_their_targets_nothing():
    for_range = loop(ForRange((Var("n"),)), targets=("i",))
    assert walk.loop_arguments(for_range) == [None, Var("h0"), Var("W")]
    while_ = loop(InlineTest((), Var("go")), targets=())
    assert walk.loop_arguments(while_) == [Var("h0"), Var("W")]
    assert walk.body_layout(while_).targets == slice(0, 0)


def test_arguments_of_a_call_bind_keywords_and_leave_defaults_none():
    callee = Function("g", params("x", "y", "z"), (), Const("None"), SPAN, (), frozenset())
    c = Call(("out",), "g", (Var("a"),), (("z", Var("c")),), SPAN)
    assert walk.bind_call(c, callee) == {"x": Var("a"), "z": Var("c")}
    assert [(p.name, a) for p, a in walk.arguments(c, callee)] == [("x", Var("a")), ("y", None), ("z", Var("c"))]


def test_wrappers_stand_for_their_core_statement():
    c = Call(("a",), "g", (Var("x"),), (), SPAN)
    wrapped = VjpCall(c, "g_pullback")
    assert walk.core(wrapped) is c and walk.outs(wrapped) == ("a",) and walk.callees(wrapped) == ("g",)
    assert walk.reads(wrapped) == {"x"}
    assert walk.writes(wrapped) == {"a", "g_pullback"}
    assert walk.writes(VjpCall(c, "_")) == {"a"}  # "_": no pullback kept
    lp = loop(ForRange((Var("n"),)), targets=("i",))
    assert walk.writes(VjpLoop(lp, "pullbacks", "step_pullback", "")) == {"h", "pullbacks", "step_pullback"}


# ------------------------------------------------------------------ adjoint and tangent ones


def test_adjoint_statements():
    g = Template(tree("g * x"), (("g", Var("y_bar")), ("x", Var("x"))))
    assert walk.reads(SetAdjoint("x_bar", g, accumulate=False)) == {"y_bar", "x"}
    assert walk.reads(SetAdjoint("x_bar", g, accumulate=True)) == {"y_bar", "x", "x_bar"}
    unpack = UnpackAdjoints(
        ("a_bar", None, "c_bar"),
        Template(Apply("dpgen.call", (Hole("pb"), Hole("g"))), (("pb", Var("pb")), ("g", Var("g")))),
    )
    assert walk.reads(unpack) == {"pb", "g"} and walk.writes(unpack) == {"a_bar", "c_bar"}
    assert walk.reads(ZerosAdjoint("x_bar", Var("x"))) == {"x"}
    assert walk.reads(CopyAdjoint("x_bar")) == {"x_bar"} == walk.writes(CopyAdjoint("x_bar"))
    index = Index((Var("i"),), False)
    assert walk.reads(IndexAddAdjoint("x_bar", index, "h_bar", True)) == {"x_bar", "h_bar", "i"}
    assert walk.reads(ZeroIndexAdjoint("t", "g", index)) == {"g", "i"}
    assert walk.writes(ZeroIndexAdjoint("t", "g", index)) == {"t"}
    assert walk.reads(KeyAddAdjoint("p_bar", Const("'W'"), "w_bar")) == {"p_bar", "w_bar"}
    assert walk.reads(AddInPlace("W_bar", "W_bar_part")) == {"W_bar", "W_bar_part"}
    assert walk.reads(Comment("model.py:3: h = x")) == set() == walk.writes(Comment("x"))


def test_reverse_loop_reads_and_writes_through_its_body():
    body = (AddInPlace("W_bar", "W_bar_part"),)
    replay = ReverseLoop("step", ("row_bar", "h_bar", "W_bar_part"), Seq((Var("h_bar"),)), body)
    assert walk.reads(replay) == {"h_bar", "W_bar", "W_bar_part"}
    assert walk.writes(replay) == {"step", "row_bar", "h_bar", "W_bar_part", "W_bar"}
    # In the pullback the loop node stands for its replay, which also reads the tape.
    node = VjpLoop(loop(ForEach((Var("xs"),), enumerate=False, reverse=False)), "pullbacks", "pb", "", replay)
    assert walk.backward_reads(node) == {"pullbacks", "h_bar", "W_bar", "W_bar_part"}
    assert walk.backward_writes(node) == walk.writes(replay)
    assert walk.reads(node) == walk.reads(node.loop)  # in the forward sweep: its forward half


def test_tangent_statements():
    # A caller's None means zero: the statement reads the tangent parameter it may replace.
    assert walk.reads(DefaultTangent("dx", Var("x"))) == {"dx", "x"}
    term = Template(tree("g * np.cos(x)"), (("g", Var("dx")), ("x", Var("x")), ("ans", Var("y"))))
    assert walk.reads(SetTangent("dy", (term,), like=Var("y"))) == {"dx", "x", "y"}
    assert walk.writes(SetTangent("dy", (term,))) == {"dy"}
    assert walk.reads(ZeroTangent("dz", Var("z"))) == {"z"}
    lp = loop(ForEach((Var("xs"),), enumerate=False, reverse=False))
    jvp = JvpLoop(lp, (("drow", Var("dxs")),), ("dh",), (Var("dh0"),), (Var("drow"), Var("dh"), Var("dW")), "")
    assert walk.reads(jvp) == {"xs", "h0", "W", "dxs", "dh0", "drow", "dh", "dW"}
    assert walk.writes(jvp) == {"h", "dh", "drow"}


def _members(union) -> set[type]:
    return set(typing.get_args(union))


def test_every_statement_type_is_known_to_reads_and_writes():
    statements = _members(Stmt) | _members(AdjointStmt) | _members(JvpStmt) | {VjpCall, VjpBranch, VjpLoop}
    assert len(statements) >= 20  # the unions were found
    for cls in statements:
        assert cls in walk._READS, f"walk.reads does not know {cls.__name__}"
        assert cls in walk._WRITES, f"walk.writes does not know {cls.__name__}"


def test_an_unknown_node_is_refused_not_read_as_nothing():
    @dataclasses.dataclass(frozen=True)
    class Mystery:
        target: str

    with pytest.raises(TypeError, match="Mystery"):
        walk.reads(Mystery("x"))
    with pytest.raises(TypeError, match="Mystery"):
        walk.writes(Mystery("x"))


def test_dispatch_follows_subclasses():
    class Special(Var):
        pass

    assert walk.dispatch(Special("v"), {Var: lambda node, k: (node.name, k)}, 3) == ("v", 3)


# -------------------------------------------------------------------------------- rewriting


def test_substitute_reaches_nested_ir_values():
    lp = loop(ForEach((Var("h"),), enumerate=False, reverse=False), init=(Seq((Var("h"), Const("h"))),))
    replaced = walk.substitute(VjpLoop(lp, "pbs", "pb", ""), "h", "h_2")
    assert replaced.loop.over.sequences == (Var("h_2"),)
    assert replaced.loop.init == (Seq((Var("h_2"), Const("h"))),)  # constants are text, not variables
    assert replaced.loop.carried == ("h",)  # names of bound values are not atoms


def test_rename_reaches_targets_reads_and_replayed_bodies():
    stmt = SetAdjoint("a_bar", Template(tree("g"), (("g", Seq((Var("a_bar"), Var("b_bar")))),)), accumulate=True)
    renamed = walk.rename(stmt, "a_bar", "c_bar")
    assert renamed.target == "c_bar" and dict(renamed.value.bindings)["g"] == Seq((Var("c_bar"), Var("b_bar")))
    replay = ReverseLoop("k", ("a_bar",), Seq((Var("a_bar"),)), (AddInPlace("W_bar", "a_bar"),))
    renamed = walk.rename(replay, "a_bar", "z")
    assert renamed.targets == ("z",) and renamed.seed == Seq((Var("z"),)) and renamed.body[0].value == "z"
    node = VjpLoop(loop(ForEach((Var("xs"),), enumerate=False, reverse=False)), "pbs", "pb", "", replay)
    assert walk.rename(node, "a_bar", "z").replay == renamed  # a loop node in the pullback: its replay
    assert walk.rename(Comment("a_bar"), "a_bar", "z") == Comment("a_bar")


def test_rename_all_swaps_without_merging():
    stmt = IndexAddAdjoint("a", Index((Var("i"),), False), "b", may_repeat=False)
    swapped = walk.rename_all(stmt, {"a": "b", "b": "a"})
    assert (swapped.target, swapped.value) == ("b", "a")
    assert walk.rename_all(stmt, {}) is stmt


# ---------------------------------------------------------------------- on real modules' IR


def _defined_before_read(names: set[str], body, where: str) -> None:
    """Each statement reads only names bound before it (or, for a loop, by the loop itself:
    a while test reads the carried names; or by the equations of its own inline test)."""
    defined = set(names)
    for stmt in body:
        core = walk.core(stmt)
        test = core.test if isinstance(core, Branch) else core.over if isinstance(core, Loop) else None
        inline = {n for e in test.body for n in e.outs} if isinstance(test, InlineTest) else set()
        missing = walk.reads(stmt) - defined - walk.writes(stmt) - inline
        assert not missing, f"{where}: {type(stmt).__name__} reads {sorted(missing)} before they are bound"
        defined |= walk.writes(stmt)


@pytest.mark.parametrize("model", MODELS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_reads_are_bound_before_in_every_generated_function(model):
    stages = generate(Source(str(model), model.read_text()), Options("reverse,forward"))
    for f in stages.lowered.functions:
        _defined_before_read({p.name for p in f.params}, f.body, f"{model}:{f.name}")
        assert set(walk.variables(f.result)) <= {p.name for p in f.params} | {n for s in f.body for n in walk.writes(s)}
    for fn in stages.reversed.functions:
        _defined_before_read({p.name for p in fn.source.params}, fn.forward, f"{model}:{fn.name}")
        pullback_params = (
            {fn.seed} | {n for s in fn.forward for n in walk.writes(s)} | {p.name for p in fn.source.params}
        )
        if fn.seed_unpack is not None:
            pullback_params |= set(walk.variables(_names_to_vars(fn.seed_unpack)))
        _defined_before_read(pullback_params, fn.backward, f"{model}:{fn.name} pullback")
    for fn in stages.forward.functions:
        _defined_before_read({p.name for p in fn.source.params} | set(fn.tangent_params), fn.body, f"{model}:{fn.name}")


def _names_to_vars(targets) -> tuple:
    return tuple(_names_to_vars(t) if isinstance(t, tuple) else Var(t) for t in targets if t is not None)
