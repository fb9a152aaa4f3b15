"""Rules are IR: rule text is parsed once, at registration, into expression trees.

IR-level tests of the parser (`dpgen.rules.syntax`), of binding holes, of the algebraic smart
constructors (`dpgen.ir.expr`) and of printing trees, plus end-to-end checks of what the
central application of elementwise derivatives changed.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pytest

import dpgen
from dpgen import rules
from dpgen.backends import NUMPY, Backend
from dpgen.ir import Apply, Const, Global, Hole, Index, Lit, Seq, SliceAtom, Template, Var
from dpgen.ir.expr import close, holes, mul, neg, strip_unbroadcast, substitute, unbroadcast
from dpgen.passes.forward import elementwise_tangent
from dpgen.passes.reverse import elementwise_cotangent
from dpgen.render.module import Renderer
from dpgen.rules.syntax import MalformedRule, parse

from dpgen.frontend.source import Source
from dpgen.pipeline import generate
from support import check_vjp, differentiate, generated_text, load, load_source

G, X, Y = Hole("g"), Hole("x"), Hole("y")


def render(tree, bindings=(), backend: Backend = NUMPY) -> str:
    return ast.unparse(Renderer(backend).template(Template(tree, tuple(bindings))))


# ------------------------------------------------------------------------- parsing


def test_operators_map_to_primitives():
    assert parse("g * np.cos(x)", {"g", "x"}) == Apply("numpy.multiply", (G, Apply("numpy.cos", (X,))))
    assert parse("x ** 2", {"x"}) == Apply("numpy.power", (X, Lit(2)))
    assert parse("-x", {"x"}) == Apply("numpy.negative", (X,))
    assert parse("-1", set()) == Lit(-1)
    assert parse("x < y", {"x", "y"}) == Apply("numpy.less", (X, Y))
    assert parse("x @ y", {"x", "y"}) == Apply("numpy.matmul", (X, Y))


def test_names_become_qualified():
    assert parse("np.pi", set()) == Global("numpy.pi")
    assert parse("math.log(x)", {"x"}) == Apply("math.log", (X,))
    assert parse("np.linalg.solve(x, g)", {"x", "g"}) == Apply("numpy.linalg.solve", (X, G))
    assert parse("unbroadcast(g, x)", {"g", "x"}) == Apply("dpgen.helpers._unbroadcast", (G, X))
    assert parse("len(x)", {"x"}) == Apply("builtins.len", (X,))
    assert parse("x.mT", {"x"}) == Apply("dpgen.getattr", (X, Lit("mT")))


def test_structure_and_keywords():
    assert parse("g[:-1]", {"g"}) == Apply("dpgen.getitem", (G, Index((SliceAtom(None, Lit(-1), None),), False)))
    assert parse("(len(x),) + np.shape(g)", {"x", "g"}) == Apply(
        "numpy.add", (Seq((Apply("builtins.len", (X,)),)), Apply("numpy.shape", (G,)))
    )
    assert parse("np.sum(g, axis=x)", {"g", "x"}) == Apply("numpy.sum", (G,), (("axis", X),))


@pytest.mark.parametrize(
    "text, message",
    [
        ("np.cos(", "rule expression"),
        ("g * z", "unknown name 'z'"),
        ("lambda: g", "unsupported syntax"),
        ("g if x else 0", "unsupported syntax"),
        ("0 < x < 1", "unsupported syntax"),
        ("np.cos(*x)", "* and **"),
        ("x.conj()", "cannot call"),
        ("b'x' * g", "unsupported literal"),
    ],
)
def test_malformed_expressions_are_refused(text, message):
    with pytest.raises(MalformedRule, match=message.replace("*", r"\*")):
        parse(text, {"g", "x"})


def test_malformed_rule_fails_at_registration():
    before = dict(rules.TABLE)
    with pytest.raises(MalformedRule, match="unknown name 'y'"):
        rules.defelementwise("test.bad(x)", x="np.cos(y)")
    with pytest.raises(MalformedRule):
        rules.defvjp("test.bad(x)", x="g *", jvp={"x": "t"})
    assert rules.TABLE == before  # nothing half-registered


def test_rules_are_stored_as_trees():
    """Every rule body is a tree or a builder function: no text survives registration."""
    for rule in rules.TABLE.values():
        for template in (*rule.vjp.values(), *rule.jvp.values()):
            assert not isinstance(template, str), rule.name
    assert rules.lookup("numpy.sin").vjp["x"] == Apply("numpy.cos", (X,))  # the local derivative


# ---------------------------------------------------------------- smart constructors


def test_mul_keeps_the_hand_written_shapes():
    a, b = Hole("a"), Hole("b")
    assert mul(G, Lit(1)) == G
    assert mul(G, Lit(-1)) == neg(G)
    assert mul(G, neg(a)) == Apply("numpy.multiply", (neg(G), a))
    assert mul(G, Apply("numpy.divide", (a, b))) == Apply("numpy.divide", (Apply("numpy.multiply", (G, a)), b))
    assert mul(G, Apply("numpy.divide", (Lit(1), b))) == Apply("numpy.divide", (G, b))
    assert mul(G, Apply("numpy.multiply", (a, b))) == Apply("numpy.multiply", (Apply("numpy.multiply", (G, a)), b))
    assert neg(neg(G)) == G
    assert neg(Lit(2)) == Lit(-2)


def test_unbroadcast_moves_negation_out_and_strips():
    assert unbroadcast(neg(G), X) == neg(Apply("dpgen.helpers._unbroadcast", (G, X)))
    tree = unbroadcast(mul(G, Y), X)
    assert strip_unbroadcast(tree, "x") == mul(G, Y)
    assert strip_unbroadcast(tree, "y") == tree  # only the named operand's


def test_close_binds_every_hole():
    """A closed template is a self-contained tree (what later passes can consume as IR)."""
    rows = Seq((Var("a"), Const("1.0")), True)
    tree = parse("np.broadcast_to(g, (len(x),) + np.shape(g)) * x", {"g", "x"})
    closed = close(Template(tree, (("g", Var("y_bar")), ("x", rows))))
    assert holes(closed) == frozenset()
    assert closed == Apply(
        "numpy.multiply",
        (
            Apply(
                "numpy.broadcast_to",
                (
                    Var("y_bar"),
                    Apply("numpy.add", (Seq((Apply("builtins.len", (rows,)),)), Apply("numpy.shape", (Var("y_bar"),)))),
                ),
            ),
            Apply("numpy.asarray", (rows,)),  # a bound list display as an operand: an array
        ),
    )


def test_holes_and_substitute():
    tree = parse("np.where(c, g, 0.0) + x[i, 1:]", {"c", "g", "x", "i"})
    assert holes(tree) == {"c", "g", "x", "i"}
    assert holes(substitute(tree, {"g": Hole("t")})) == {"c", "t", "x", "i"}


@pytest.mark.parametrize(
    "op, param, expected",
    [
        ("numpy.sin", "x", "_unbroadcast(g * np.cos(x), x)"),
        ("numpy.subtract", "x2", "-_unbroadcast(g, x2)"),
        ("numpy.divide", "x2", "_unbroadcast(-g * ans / x2, x2)"),
        ("numpy.sqrt", "x", "_unbroadcast(g / (2 * ans), x)"),
        ("numpy.arccos", "x", "_unbroadcast(-g / np.sqrt(1 - x ** 2), x)"),
        ("numpy.power", "x1", "_unbroadcast(g * x2 * x1 ** (x2 - 1), x1)"),
        ("numpy.where", "x", "_unbroadcast(np.where(condition, g, 0.0), x)"),
        ("math.cos", "x", "-g * math.sin(x)"),
    ],
)
def test_elementwise_cotangents_read_as_written(op, param, expected):
    rule = rules.lookup(op)
    tree = elementwise_cotangent(rule, param, rule.vjp[param])
    names = {h: Hole(h) for h in holes(tree)}
    text = render(substitute(tree, {}), [(h, Var(h)) for h in names])
    assert text == expected


def test_elementwise_tangents():
    assert elementwise_tangent(rules.lookup("numpy.cos").vjp["x"]) == mul(Hole("t"), neg(Apply("numpy.sin", (X,))))
    where = elementwise_tangent(rules.lookup("numpy.where").vjp["y"])
    assert where == Apply("numpy.where", (Hole("condition"), Lit(0.0), Hole("t")))


# ---------------------------------------------------------------------- printing


def test_printing_binds_holes_and_spells_the_backend():
    tree = parse("np.transpose(g, (1, 0)) * np.pi", {"g"})
    assert render(tree, [("g", Var("out_bar"))]) == "np.transpose(out_bar, (1, 0)) * np.pi"
    other = dataclasses.replace(NUMPY, name="x", alias="xp")
    assert render(tree, [("g", Var("out_bar"))], other) == "xp.transpose(out_bar, (1, 0)) * xp.pi"
    # A list bound to an operand becomes an array; a literal tuple stays a tuple.
    assert render(parse("g * x", {"g", "x"}), [("g", Var("g")), ("x", Seq((Var("a"), Const("1.0")), True))]) == (
        "g * np.asarray([a, 1.0])"
    )
    assert render(parse("x ** (2 - 1)", {"x"}), [("x", Var("x"))]) == "x"  # folded
    assert render(parse("2 ** -x", {"x"}), [("x", Var("x"))]) == "2 ** (-x)"
    assert render(Apply("numpy.subtract", (Lit(-1), Var("i")))) == "-1 - i"
    assert render(parse("-ans.mT @ g", {"ans", "g"}), [("ans", Var("y")), ("g", Var("y_bar"))]) == "-y.mT @ y_bar"


def test_generated_text_keeps_the_rules_spelling():
    text = generated_text("""
        import numpy as np

        def f(x, y):
            return np.sum(np.sin(x) * y - np.cos(y) / x)
        """)
    assert "np.cos(x)" in text and "-np.sin(y)" not in text


# ------------------------------------------------------------- behaviour changes


def test_builtin_pow_unbroadcasts_the_exponent():
    """``pow(x, y)`` broadcasts like ``x ** y``; the exponent's cotangent is reduced to its shape
    (it used to be left at the output's shape, now `unbroadcast` is applied centrally)."""
    primal, generated = differentiate("""
        import numpy as np

        def f(x, y):
            return np.sum(pow(x, y))
        """)
    rng = np.random.default_rng(0)
    check_vjp(primal.f, generated.f_vjp, [rng.uniform(0.5, 2.0, size=(3, 2)), rng.uniform(0.5, 2.0, size=(2,))], rng)


# ------------------------------------------------------------- named constants


def test_named_constants_are_qualified_names_in_the_ir():
    """``np.pi`` is ``Global("numpy.pi")`` in the IR whatever the user's alias; arithmetic on
    constants is a constant tree (no equation), printed with the backend's alias."""
    source = """
        import numpy as xp
        import math

        def f(x):
            return xp.sum(xp.sin(2 * xp.pi * x) / -math.e)
        """
    stages = generate(Source("model.py", textwrap.dedent(source)))
    args = [a for eqn in stages.lowered.functions[0].body for a in eqn.args]
    assert Apply("numpy.multiply", (Const("2"), Global("numpy.pi"))) in args
    assert Apply("numpy.negative", (Global("math.e"),)) in args
    assert not any(isinstance(a, Const) and "pi" in a.text for a in args)
    assert "= 2 * np.pi * x" in stages.text and "/ -math.e" in stages.text
    primal, generated = load_source(source), load(stages.text)
    rng = np.random.default_rng(1)
    check_vjp(primal.f, generated.f_vjp, [rng.normal(size=(3,))], rng)


def test_passes_and_ir_parse_no_text():
    """Passes map trees to trees: no `ast` parsing of rule or expression text in them. (The
    renderer may build `ast` nodes to print; rule text is parsed in `dpgen/rules/` only.)"""
    root = Path(dpgen.__file__).parent
    for folder in ("passes", "ir"):
        for path in (root / folder).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "ast.parse" not in text and "literal_eval" not in text and "import ast" not in text, path
    assert "ast.parse" not in (root / "render" / "forward.py").read_text(encoding="utf-8")


def test_written_math_e_is_the_natural_log():
    text = generated_text("""
        import math

        def f(x: float):
            return math.log(x, math.e)
        """)
    assert "math.log(math.e)" not in text and "out_bar / x" in text
