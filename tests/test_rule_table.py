"""The rule table is complete and its facts agree with each other and with their readers.

Everything dpgen knows about a primitive is a field of its rule (`dpgen.rules.Rule`):
lowering, the printer, scalar inference and the view analysis read those fields instead of
keeping lists of their own. These tests fail when a table that is derived from the rules
names a primitive without a rule, when two facts contradict each other, or when a helper
that generated code calls has no rule to read it back with.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import libcst as cst
import numpy as np
import pytest

import dpgen
from dpgen import rules
from dpgen.backends import NUMPY, helper_sources
from dpgen.errors import SourceErrors
from dpgen.frontend import lower
from dpgen.header import Options
from dpgen.ir import Apply, Seq
from dpgen.render import expressions
from dpgen.rules.helpers import HELPER_PREFIX
from support import differentiate, generated_text, load

ROOT = Path(dpgen.__file__).parent
REPO = ROOT.parent
TABLE = rules.TABLE


def _rule(name: str) -> rules.Rule:
    rule = rules.lookup(name)
    assert rule is not None, f"{name} has no rule"
    return rule


# ------------------------------------------------------------------ completeness
def _emitted_literals() -> set[str]:
    """Primitives the lowering emits by name: ``self.emit(scope, "dpgen.getitem", ...)``, in any
    module of the lowering package (and the `frontend/lower.py` that re-exports it)."""
    files = [ROOT / "frontend" / "lower.py", *sorted((ROOT / "frontend" / "lowering").glob("*.py"))]
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
                op = node.args[1] if len(node.args) > 1 else None
                if isinstance(op, ast.Constant) and isinstance(op.value, str):
                    found.add(op.value)
    return found


def test_every_primitive_lowering_can_emit_has_a_rule():
    emitted = _emitted_literals()
    assert {"dpgen.getitem", "dpgen.assign", "dpgen.not"} <= emitted, "the scan of the lowering found too little"
    emitted |= set(lower.BINARY_OPS.values()) | set(lower.COMPARISONS.values()) | {lower.NEGATIVE}
    emitted |= set(lower.METHODS.values()) | set(lower.ATTRIBUTES.values()) | lower.VIEWS | lower.OPERATORS
    for op in sorted(emitted):
        _rule(op)


def test_every_operator_python_spells_lowers_to_a_rule():
    """The syntax tables name every operator once; each spelling belongs to one rule."""
    assert set(lower.BINARY_OPS) == set(lower._BINARY_SYNTAX.values())
    assert set(lower.COMPARISONS) == set(lower._COMPARISON_SYNTAX.values())
    assert set(lower.AUGMENTED_OPS.values()) <= set(lower.BINARY_OPS)
    assert set(lower._AUGMENTED_SYNTAX) == {
        getattr(cst, f"{op.__name__}Assign") for op in lower._BINARY_SYNTAX.values()
    }, "every binary operator has its augmented assignment"


def test_lowering_and_printing_agree_on_every_spelling():
    """`a + b` lowers to the rule whose infix is "+", and that rule prints as `+` again."""
    for spelling, node in lower._BINARY_SYNTAX.items():
        assert expressions.INFIX[lower.BINARY_OPS[node]] is expressions._BINARY_SYNTAX[spelling]
    for spelling, node in lower._COMPARISON_SYNTAX.items():
        assert expressions.COMPARE[lower.COMPARISONS[node]] is expressions._COMPARISON_SYNTAX[spelling]
    assert expressions.PREFIX[lower.NEGATIVE] is ast.USub
    spelled = {r.infix for r in TABLE.values() if r.infix} | {r.prefix for r in TABLE.values() if r.prefix}
    known = set(expressions._BINARY_SYNTAX) | set(expressions._COMPARISON_SYNTAX) | set(expressions._BOOLEAN_SYNTAX)
    assert spelled <= known | set(expressions._PREFIX_SYNTAX), "a spelling the printer cannot write"


def test_infix_and_prefix_spellings_are_unique():
    for fact in ("infix", "prefix"):
        spellings = [getattr(r, fact) for r in TABLE.values() if getattr(r, fact) is not None]
        assert len(spellings) == len(set(spellings)), f"two rules share a {fact} spelling: {sorted(spellings)}"


def test_method_and_attribute_spellings_are_unique():
    methods = [m for r in TABLE.values() for m in r.methods]
    assert len(methods) == len(set(methods))
    attributes = [r.attribute for r in TABLE.values() if r.attribute]
    assert len(attributes) == len(set(attributes))
    assert set(lower.VARARG_METHODS) <= set(lower.METHODS)


def test_every_alias_points_to_a_rule():
    for name, target in rules.ALIASES.items():
        assert target in TABLE, f"alias {name} -> {target}, which has no rule"
        assert name not in TABLE, f"{name} is both an alias and a rule"


def test_reserved_names_never_name_a_fact_or_a_parameter():
    for rule in TABLE.values():
        assert not set(rule.params) & set(rules.FACTS), rule.name
        assert rule.kind in rules.KINDS, rule.name


# ------------------------------------------------------------------ consistency
def test_operator_arity_matches_the_signature():
    for rule in TABLE.values():
        if rule.infix is not None:
            assert len(rule.params) == 2 and rule.varargs is None, rule.name
        if rule.prefix is not None:
            assert len(rule.params) == 1 and rule.varargs is None, rule.name


def test_elementwise_rules_are_not_views():
    for rule in TABLE.values():
        if rule.kind == "elementwise" or rule.pointwise:
            assert not rule.view, f"{rule.name} is elementwise and a view"


def test_view_rules_are_linear():
    """Writing through a view is only sound to differentiate when the view is a linear map."""
    for rule in TABLE.values():
        if rule.view:
            assert rule.kind == "linear", f"{rule.name} is a view of kind {rule.kind}"


def test_reductions_name_an_axis_parameter_and_are_not_pointwise():
    for rule in TABLE.values():
        if rule.reduces is not None:
            assert rule.reduces in rule.params + rule.kwonly, rule.name
            assert rule.defaults.get(rule.reduces) == "None", f"{rule.name}: a full reduction by default"
            assert not rule.pointwise and not rule.view and not rule.scalar_result, rule.name


def test_scalar_results_are_not_also_other_shape_facts():
    for rule in TABLE.values():
        if rule.scalar_result:
            assert rule.reduces is None and not rule.view, rule.name


def test_python_math_returns_python_numbers():
    for name, rule in TABLE.items():
        if name.startswith("math."):
            assert rule.scalar_result, name


def test_methods_name_their_array_first():
    for rule in TABLE.values():
        if rule.methods or rule.attribute:
            assert rule.params and rule.varargs is None, rule.name


def test_kind_matches_the_declared_derivatives():
    for rule in TABLE.values():
        if rule.kind == "nondifferentiable":
            assert not rule.vjp and not rule.jvp and not rule.differentiable, rule.name
            assert not rule.holomorphic, f"{rule.name}: no derivative, so no complex derivative either"
        else:
            assert rule.vjp and rule.differentiable, rule.name
            assert bool(rule.jvp) == (rule.kind == "explicit"), rule.name
            assert rule.jvp_kind == rule.kind


# Cotangent text that compares, takes signs or moduli: a derivative of a function that is
# not complex-differentiable.
_NOT_HOLOMORPHIC_TEXT = re.compile(r"[<>]|==|!=|\bsign\(|\bcopysign\(|\bfloor|\babs\(")
#: Non-holomorphic primitives whose rule text shows nothing of it.
NOT_HOLOMORPHIC = {
    "numpy.abs",
    "numpy.remainder",
    "numpy.arctan2",
    "numpy.hypot",
    "numpy.maximum",
    "numpy.minimum",
    "numpy.clip",
    "numpy.max",
    "numpy.min",
    "numpy.var",
    "numpy.std",
    "numpy.linalg.norm",
    "math.fabs",
    "math.atan2",
    "math.hypot",
    "builtins.abs",
    "builtins.max",
    "builtins.min",
    "builtins.float",
}
HOLOMORPHIC = {"numpy.add", "numpy.multiply", "numpy.exp", "numpy.sin", "numpy.matmul", "numpy.sum", "numpy.prod"}


def test_holomorphic_flags():
    for name in NOT_HOLOMORPHIC:
        assert not _rule(name).holomorphic, name
    for name in HOLOMORPHIC:
        assert _rule(name).holomorphic, name
    for rule in TABLE.values():
        texts = [t for t in list(rule.vjp.values()) + list(rule.jvp.values()) if isinstance(t, str)]
        if any(_NOT_HOLOMORPHIC_TEXT.search(t) for t in texts):
            assert not rule.holomorphic, f"{rule.name} compares or takes signs, yet is marked holomorphic"


# What NumPy returns for a complex argument (or, for "complex", a real one): the `out_dtype`
# facts the dtype analysis reads must agree, or a complex value could pass for a real one.
_Z = np.array([[1.0 + 2.0j, -0.5 + 0.25j], [0.75 - 1.0j, 2.0 + 0.5j]])
_X = np.array([[1.0, -2.0], [0.5, 3.0]])
OUT_DTYPE_SAMPLES = {
    "numpy.abs": lambda: np.abs(_Z),
    "numpy.angle": lambda: np.angle(_Z),
    "numpy.real": lambda: np.real(_Z),
    "numpy.imag": lambda: np.imag(_Z),
    "numpy.linalg.norm": lambda: np.linalg.norm(_Z),
    "numpy.var": lambda: np.var(_Z),
    "numpy.std": lambda: np.std(_Z, axis=0),
    "numpy.equal": lambda: np.equal(_Z, _Z),
    "numpy.isnan": lambda: np.isnan(_Z),
    "numpy.argmax": lambda: np.argmax(_Z),
    "numpy.shape": lambda: np.shape(_Z),
    "numpy.fft.fft": lambda: np.fft.fft(_X),
    "numpy.fft.ifft": lambda: np.fft.ifft(_X),
    "numpy.fft.rfft": lambda: np.fft.rfft(_X),
    "numpy.fft.fft2": lambda: np.fft.fft2(_X),
    "numpy.fft.ifft2": lambda: np.fft.ifft2(_X),
    "numpy.fft.irfft": lambda: np.fft.irfft(_Z),
    "numpy.sin": lambda: np.sin(_Z),
    "numpy.vdot": lambda: np.vdot(_Z, _X),
    "numpy.cumsum": lambda: np.cumsum(_Z),
}


def test_out_dtype_facts_agree_with_numpy():
    for name, sample in OUT_DTYPE_SAMPLES.items():
        value = np.asarray(sample())
        expected = "complex" if name.startswith("numpy.fft.") and name != "numpy.fft.irfft" else None
        if expected is None:
            expected = "promote" if np.iscomplexobj(value) else "real"
        assert (
            _rule(name).out_dtype == expected
        ), f"{name}: out_dtype {_rule(name).out_dtype}, NumPy gives {value.dtype}"
    for name, rule in TABLE.items():
        if name.startswith("math."):
            assert rule.out_dtype == "real" and not rule.holomorphic, f"{name}: math returns floats, refuses complex"


def test_pointwise_rules_keep_scalars_scalars_and_others_do_not():
    """Evaluated on floats, a pointwise NumPy primitive gives a scalar (not an array, not 0-d)."""
    s = 0.625
    samples = {
        "numpy.add": lambda: np.add(s, s),
        "numpy.sin": lambda: np.sin(s),
        "numpy.clip": lambda: np.clip(s, 0.0, 1.0),
        "numpy.sign": lambda: np.sign(s),
        "numpy.less": lambda: np.less(s, 1.0),
        "numpy.ravel": lambda: np.ravel(s),
        "numpy.transpose": lambda: np.transpose(s),
        "numpy.copy": lambda: np.copy(s),
        "numpy.where": lambda: np.where(True, s, s),
        "numpy.argsort": lambda: np.argsort(s),
        "numpy.reshape": lambda: np.reshape(s, (1,)),
    }
    for name, sample in samples.items():
        value = sample()
        is_scalar = np.ndim(value) == 0 and not isinstance(value, np.ndarray)
        assert _rule(name).pointwise == is_scalar, f"{name}: pointwise={_rule(name).pointwise}, gives {value!r}"


def test_scalar_analysis_reads_the_facts():
    """No private list of primitives is left in the scalar analysis."""
    text = (ROOT / "analysis" / "scalars.py").read_text()
    assert not re.search(r'"numpy\.\w+"', text), "scalars.py names a NumPy primitive"


# ------------------------------------------------------------------ helpers
# A generated module read back (`dpgen diff model_jvp.py`, `--mode hvp`) calls dpgen's helpers:
# each must be a primitive with its own rule, or lowering must refuse it with a located error.
HELPERS = helper_sources(NUMPY, "model.py")  # the source the test modules' headers name
#: Helpers without a rule, which lowering refuses as values: a statement it drops where it
#: stands alone, a helper returning a list of arrays (no array cotangent to give it), and the
#: checkpointing schedule and its default size (run-time control of reverse-mode pullbacks,
#: whose output is refused when read back anyway; no value to differentiate).
WITHOUT_RULES = {
    "_check_real": "a statement",
    "_split_like": "a list of arrays",
    "_revolve": "a generator of schedule actions",
    "_snapshots_auto": "a snapshot count for the schedule",
    "_revolve_sweep": "a generator of pullbacks",
    "_RevolveTape": "a checkpointed loop's tape",
    "_OnlineTape": "a checkpointed loop's tape",
    "_LoopTargets": "a tape's record of loop variables",
}
#: Helpers no generated function calls directly: only other helpers call them.
INTERNAL_HELPERS = {"_keepdims", "_tensordot_axes", "_revolve_sweep", "_LoopTargets"}


def _template_names(rule: rules.Rule, template: object) -> set[str]:
    """The helpers a rule's tree calls, by their bare names (``unbroadcast``); a builder
    function's trees are made at application, so they are not scanned here."""
    names: set[str] = set()
    stack = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, Apply):
            if node.op.startswith(HELPER_PREFIX):
                names.add(node.op[len(HELPER_PREFIX) :].removeprefix("_"))
            stack += [*node.args, *(value for _, value in node.kwargs)]
        elif isinstance(node, (Seq, tuple)):
            stack += list(node.items if isinstance(node, Seq) else node)
    return names


def _helpers_forward_output_calls() -> set[str]:
    """Helpers a JVP can contain: those the forward rules' text names, and those the forward
    renderer writes itself."""
    names = set()
    for rule in TABLE.values():
        if rule.kind == "explicit":
            for template in rule.jvp.values():
                names |= _template_names(rule, template)
        elif rule.kind == "elementwise":  # local derivatives: forward mode multiplies them by the tangent
            for template in rule.vjp.values():
                names |= _template_names(rule, template) - {"unbroadcast"}
    called = {f"_{n}" for n in names if f"_{n}" in HELPERS}
    for module in (
        "render/forward.py",
        "passes/forward.py",
        "render/expressions.py",
        "render/reverse.py",
        "render/module.py",
    ):
        called |= set(re.findall(r'use_helper\("(_\w+)"\)', (ROOT / module).read_text()))
    return called


def test_every_helper_has_its_own_rule():
    with_rules = {name[len(HELPER_PREFIX) :] for name in TABLE if name.startswith(HELPER_PREFIX)}
    assert with_rules <= set(HELPERS), f"rules for helpers the backend lacks: {with_rules - set(HELPERS)}"
    assert not with_rules & set(WITHOUT_RULES)
    missing = set(HELPERS) - with_rules - set(WITHOUT_RULES)
    assert not missing, f"dpgen's helpers without a rule: {sorted(missing)}"


@pytest.mark.parametrize(
    "call",
    [
        "_split_like(x, [x, x], 0)",
        '_check_real("f", x=x)',
        "_revolve(3, 2)",
        "_snapshots_auto(3)",
        "_RevolveTape(3, None)",
        "_OnlineTape(None)",
    ],
)
def test_a_helper_without_a_rule_is_refused_where_it_is_called(call):
    header = (
        "# Code generated by dpgen from model.py. DO NOT EDIT.\n"
        f"# dpgen 0; rules 0; options: --mode forward --backend numpy; source sha256: {'0' * 64}\n"
    )
    helpers = "\n\n".join(text for text, _ in HELPERS.values())
    source = header + f"import numpy as np\n\n\ndef f(x):\n    y = {call}\n    return x\n\n\n" + helpers + "\n"
    with pytest.raises(
        SourceErrors, match=rf"model_jvp.py:7:9: error: a call of dpgen's helper '{call[:call.index('(')]}'"
    ):
        generated_text(source, name="model_jvp.py")


def test_internal_helpers_are_only_called_by_helpers():
    callers = {name for name, (_, called) in HELPERS.items() if called & INTERNAL_HELPERS}
    assert callers, "no helper calls the internal ones"
    for rule in TABLE.values():
        for template in list(rule.vjp.values()) + list(rule.jvp.values()):
            assert not {f"_{n}" for n in _template_names(rule, template)} & INTERNAL_HELPERS, rule.name


def test_every_helper_forward_output_may_call_has_its_own_rule():
    called = _helpers_forward_output_calls()
    assert {"_zero_tangent", "_broadcast_like", "_unreduce", "_extremum_jvp"} <= called, "the scan found too little"
    # The tapes of checkpointed loops (render/reverse.py) are in reverse-mode output only, which
    # dpgen refuses to read back; test_a_helper_without_a_rule_is_refused_where_it_is_called
    # checks that a call to one is refused.
    tapes = {"_RevolveTape", "_OnlineTape"}
    assert tapes <= called and tapes <= set(WITHOUT_RULES)
    missing = sorted(h for h in called - {"_check_real"} - tapes if f"{HELPER_PREFIX}{h}" not in TABLE)
    assert not missing, f"helpers forward output may call, without a rule: {missing}"


FORWARD_MODELS = sorted(REPO.glob("examples/*/model.py")) + sorted(REPO.glob("benchmarks/workloads/*/model.py"))


@pytest.mark.parametrize("path", FORWARD_MODELS, ids=[p.parent.name for p in FORWARD_MODELS])
def test_helpers_called_by_real_forward_output_have_rules(path):
    text = generated_text(path.read_text(), name=path.name, options=Options(mode="forward"))
    tree = ast.parse(text)
    calls = set()
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name not in HELPERS:
            calls |= {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for helper in (calls & set(HELPERS)) - {"_check_real"}:
        assert f"{HELPER_PREFIX}{helper}" in TABLE, f"{path}: forward output calls {helper}, which has no rule"


# ------------------------------------------------------------------ readers of the facts
def test_an_operator_primitive_called_on_a_list_display_gets_an_array():
    """`np.less([a, b], 1.0)` is printed as an operator: on the list itself `<` compares lists."""
    source = textwrap.dedent("""
        import numpy as np

        def f(x: float):
            m = np.less([x, 2 * x], 1.0)
            return np.sum(np.where(m, x, 0.0))
        """)
    primal, generated = differentiate(source)
    for x in (0.3, 0.7, 1.2):
        out, pullback = generated.f_vjp(x)
        assert out == primal.f(x)
        np.testing.assert_allclose(pullback(1.0)[0], float(np.sum(np.less([x, 2 * x], 1.0))))


def test_views_come_from_the_rules():
    assert lower.VIEWS == {name for name, rule in TABLE.items() if rule.view}
    assert {"numpy.reshape", "numpy.ravel", "numpy.transpose", "dpgen.getitem", "numpy.asarray"} <= lower.VIEWS
    assert not {"numpy.copy", "numpy.add"} & lower.VIEWS


def test_a_write_through_a_method_view_is_refused_and_a_copy_is_not():
    """`v = y.reshape(...)` is a view through the method spelling too: writing into it would
    write into y, which dpgen refuses with a located error; `y.copy()` is no view."""
    source = """
    import numpy as np

    def f(x):
        y = x * 1.0
        v = y.{method}
        v[0, 0] = 5.0
        return np.sum(v * x.reshape(2, 3))
    """
    with pytest.raises(
        SourceErrors, match=r"model.py:7:5: error: writing into 'v' while it may be the same array as 'y'"
    ):
        generated_text(textwrap.dedent(source.format(method="reshape(2, 3)")))
    primal, generated = differentiate(source.format(method="reshape(2, 3).copy()"))
    x = np.arange(6.0) / 7
    out, pullback = generated.f_vjp(x)
    np.testing.assert_allclose(out, primal.f(x.copy()))
    expected = 2 * x
    expected[0] = 5.0
    np.testing.assert_allclose(pullback(1.0)[0], expected)


def test_full_reductions_read_the_axis_parameter_by_binding():
    """`np.linalg.norm(x, None, 0)` reduces axis 0 (positional), so it is not a scalar."""
    source = textwrap.dedent("""
        import numpy as np

        def f(x, s: float):
            n = np.linalg.norm(x, None, 0)
            return np.sum(n * s)
        """)
    generated = load(generated_text(source))
    x = np.arange(1.0, 7.0).reshape(2, 3)
    grads = generated.f_grad(x, 0.5)
    assert np.shape(grads[1]) == ()
    np.testing.assert_allclose(grads[1], np.sum(np.linalg.norm(x, axis=0)))


def test_shape_only_parameters_are_parameters_and_never_differentiated():
    """`shape_only` names parameters the residual analysis keeps no array for: each must be a
    parameter of the rule, and none may have a cotangent (a value read for its value)."""
    declared = [rule for rule in TABLE.values() if rule.shape_only]
    assert {"numpy.zeros_like", "builtins.len", "dpgen.helpers._unbroadcast"} <= {r.name for r in declared}
    for rule in declared:
        assert set(rule.shape_only) <= set(rule.params), rule.name
        assert not set(rule.shape_only) & set(rule.vjp), rule.name


def test_the_ir_operator_spellings_agree_with_the_rules():
    """`ir.expr.OPERATOR_SYMBOLS` (what listings print and where list displays become arrays)
    says what the rules' `infix`/`prefix` facts say, for exactly the arithmetic and comparisons."""
    from dpgen.ir.expr import OPERATOR_SYMBOLS

    stated = {r.name: r.infix for r in TABLE.values() if r.infix and r.name.startswith("numpy.")}
    stated.update({r.name: r.prefix for r in TABLE.values() if r.prefix and r.name.startswith("numpy.")})
    assert {op: symbol for op, (symbol, _) in OPERATOR_SYMBOLS.items()} == stated
