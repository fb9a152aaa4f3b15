"""The complex guard: every rule of the table, run on complex input, is either refused or right.

Each row of `support/rule_cases.py` is run again with its differentiable arguments made complex
(drawn from the complex domain that stands in for the row's real one, `complex_domain`, and
annotated `x: complex` or `x: npt.NDArray[np.complex128]` in the source, so dpgen knows). The row
passes when EITHER dpgen refuses at generation time with a located error (`model.py:L:C: error:
...`), OR the generated derivatives match central differences taken along the real and along
the imaginary part of every element (reverse mode: `check_vjp`; forward mode: `check_jvp` with
the dot-product test in the real inner product; and where dpgen writes `f_derivative` for a
scalar f, `check_derivative` along both axes). A silent wrong value fails, an internal error
fails, and a run-time error of the generated code fails unless the source itself fails on
those complex values (np.floor(z), math.sin(z): the primitive has no complex domain at all).

Rows with several differentiable arguments run twice: all of them complex, and only the first
complex with the others real ("real stays real": the real ones must get real cotangents).

`NAMED` lists the rules the issue names: those must NOT be refused, they are differentiated.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from dpgen import rules
from dpgen.errors import DiagnosticSink, SourceErrors
from dpgen.frontend import lower as lowering
from dpgen.frontend.own_helpers import own_helpers
from dpgen.frontend.source import Source, parse
from dpgen.header import Options
from dpgen.ir import Eqn
from support import check_derivative, check_jvp, check_vjp, generated_text, is_complex, load, load_source
from support import rule_cases
from support.rule_cases import Case, cnonzero, cnormal, complex_domain, cpositive, cunit, cwell_conditioned, normal

REVERSE, FORWARD = Options(mode="reverse"), Options(mode="forward")
LOCATED = re.compile(r"^model\.py:\d+:\d+: error: .+")
ARRAY_ANNOTATION = "npt.NDArray[np.complex128]"


# ----------------------------------------------------------------------- the variants
@dataclass(frozen=True)
class ComplexCase:
    """A rule_cases row with the arguments `complex_params` made complex."""

    case: Case
    complex_params: tuple[str, ...]
    variant: str  #: "complex" (every differentiable argument) or "mixed" (the first only)

    @property
    def id(self) -> str:
        return f"{self.case.id}-{self.variant}"

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.id.encode()))

    def args(self, rng: np.random.Generator) -> list:
        return [complex_domain(gen)(rng) if name in self.complex_params else gen(rng) for name, gen in self.case.args]

    @property
    def source(self) -> str:
        """The row's source with `numpy.typing` imported and the complex parameters annotated."""
        source = self.case.source.replace("import numpy as np\n", "import numpy as np\nimport numpy.typing as npt\n", 1)
        scalar = {name: np.ndim(value) == 0 for (name, _), value in zip(self.case.args, self.args(self.rng()))}

        def annotate(match: re.Match) -> str:
            params = match.group(2)
            for name in self.complex_params:
                annotation = "complex" if scalar[name] else ARRAY_ANNOTATION
                params = re.sub(rf"\b{name}\b(?!\s*:)", f"{name}: {annotation}", params, count=1)
            return f"{match.group(1)}{params})"

        return re.sub(r"^(def f\()([^)]*)\)", annotate, source, count=1, flags=re.M)


def _complexifiable(case: Case) -> list[str]:
    """The differentiable parameters with a complex stand-in domain (an index array has none)."""
    return [name for name, gen in case.args if name not in case.nondiff and complex_domain(gen) is not None]


def _variants(cases) -> list[ComplexCase]:
    out = []
    for case in cases:
        names = _complexifiable(case)
        if names:
            out.append(ComplexCase(case, tuple(names), "complex"))
        if len(names) > 1:
            out.append(ComplexCase(case, tuple(names[:1]), "mixed"))
    return out


class _Drawn(ComplexCase):
    """A row that draws its complex values itself (EXTRA, NAMED): the parameters drawn complex
    are annotated complex, the others stay real."""

    def args(self, rng):
        return [gen(rng) for _, gen in self.case.args]


def _drawn(case: Case, variant: str) -> _Drawn:
    drawn = [gen(np.random.default_rng(0)) for _, gen in case.args]
    return _Drawn(case, tuple(name for (name, _), value in zip(case.args, drawn) if is_complex(value)), variant)


# Rules whose rule_cases rows cannot be made complex by a domain (a constant argument).
EXTRA = [
    # complex64 rounds to single precision: tiny values, so the rounding is below the step.
    rule_cases.case(
        "complex64-cast-of-complex",
        "np.real(np.complex64(z) * np.csingle(z)) + z",
        z=rule_cases.const(np.array([1e-7 + 2e-7j, -3e-7 + 1e-7j, 2e-7 - 2e-7j])),
    ),
]

GUARDED = rule_cases.CASES + rule_cases.NONDIFF_CASES
VARIANTS = _variants(GUARDED) + [_drawn(case, "complex") for case in EXTRA]


# -------------------------------------------------------------------------- checking
def _generate(source: str, options: Options):
    """The generated module, or None when dpgen refuses; a refusal must be located. Any other
    exception (an internal error) propagates and fails the test."""
    try:
        return load(generated_text(source, options=options))
    except SourceErrors as error:
        lines = str(error).splitlines()
        assert lines and all(LOCATED.match(line) for line in lines), f"a refusal without a location:\n{error}"
        return None


def _source_fails(primal, args) -> bool:
    """Whether the source itself raises on these complex values (no complex domain at all)."""
    try:
        primal(*[_copy(a) for a in args])
    except (TypeError, ValueError, np.linalg.LinAlgError):
        return True
    return False


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _guard(source: str, params: list[str], nondiff, args: list, rng, rtol: float, atol: float) -> str:
    """Check one complex source in both modes; returns what happened ("refused" or "checked")."""
    primal = load_source(source).f
    reverse = _generate(source, REVERSE)
    if reverse is not None:
        if _source_fails(primal, args):
            with pytest.raises(Exception):  # noqa: B017 - any error, as long as no value comes back
                reverse.f_vjp(*[_copy(a) for a in args])[1](1.0)
            return "source fails"
        positions = tuple(k for k, name in enumerate(params) if name in nondiff)
        check_vjp(primal, reverse.f_vjp, args, rng, nondiff=positions, rtol=rtol, atol=atol)
        # Where dpgen claims f holomorphic (it wrote f_derivative) and f is scalar, f'(z) must
        # match differences along both axes: a wrong claim of holomorphy fails one of them.
        if hasattr(reverse, "f_derivative") and np.ndim(primal(*[_copy(a) for a in args])) == 0:
            check_derivative(primal, reverse.f_derivative, *args, rtol=rtol, atol=atol)
    forward = _generate(source, FORWARD)
    if forward is not None and not _source_fails(primal, args):
        vjp = reverse.f_vjp if reverse is not None else None
        check_jvp(primal, forward.f_jvp, vjp, args, rng, rtol=rtol, atol=atol)
    return "refused" if reverse is None and forward is None else "checked"


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in VARIANTS])
def test_rule_on_complex_input_is_refused_or_right(variant: ComplexCase):
    rng = variant.rng()
    args = variant.args(rng)
    assert any(is_complex(a) for a in args), "the variant made nothing complex"
    params = [name for name, _ in variant.case.args]
    _guard(variant.source, params, variant.case.nondiff, args, rng, variant.case.rtol, variant.case.atol)


# A dict of complex parameters (`p["W"]`, dpgen.getkey): the cotangent is a dict of complex arrays.
DICT_SOURCE = rule_cases.DICT_SOURCE.replace("def f(p, x):", "def f(p: dict[str, np.complex128], x):")


def test_dict_of_complex_parameters_is_refused_or_right():
    rng = np.random.default_rng(7)
    p = {"W": cnormal(3, 2)(rng), "b": cnormal(2)(rng), "scale": cnormal()(rng), "unused": cnormal(4)(rng)}
    _guard(DICT_SOURCE, ["p", "x"], (), [p, rng.normal(size=(4, 3))], rng, 1e-5, 1e-6)


# ----------------------------------------------------------------------- coverage
def _ops(source: str) -> set[str]:
    """Every primitive a source lowers to, in every function (arms and loop bodies included)."""
    sink = DiagnosticSink("model.py")
    parsed = parse(Source("model.py", source))
    module = lowering.lower(parsed, sink, helpers=own_helpers(parsed))
    sink.raise_if_any()
    ops = set()
    for function in module.functions:
        for stmt in function.body:
            if isinstance(stmt, Eqn):
                ops.add(stmt.op)
            for inner in getattr(getattr(stmt, "test", None), "body", ()) or ():
                if isinstance(inner, Eqn):
                    ops.add(inner.op)
    return ops


def test_the_guard_runs_every_rule_of_the_table():
    """Every rule meets complex input in some variant (a new rule needs a rule_cases row)."""
    seen = _ops(DICT_SOURCE)
    for case in {variant.case for variant in VARIANTS}:
        seen |= _ops(case.source)
    missing = sorted(set(rules.TABLE) - seen)
    assert not missing, f"rules the complex guard never runs: {missing}"


# ------------------------------------------------------ rules that must be differentiated
def named(id: str, body: str, **args) -> Case:
    return rule_cases.case(id, body, **args)


# The rules the issue names, each on complex input (mixed with real input where that is the
# point). Each must generate in both modes (no refusal) and match finite differences.
NAMED = [
    # arithmetic and powers
    named("add", "z + w", z=cnormal(3), w=cnormal(2, 3)),
    named("subtract", "z - w", z=cnormal(3), w=normal(3)),
    named("multiply", "z * w", z=cnormal(2, 3), w=cnormal(3)),
    named("divide", "z / w", z=cnormal(3), w=cnonzero(3)),
    named("negative", "-z", z=cnormal(3)),
    named("power-int", "z ** 3", z=cnormal(3)),
    named("power-complex", "z ** w", z=cpositive(3), w=cnormal(3)),
    named("power-real-exponent", "z ** w", z=cpositive(3), w=normal(3)),
    named("exp", "np.exp(z)", z=cnormal(3)),
    named("log", "np.log(z)", z=cpositive(3)),
    named("sqrt", "np.sqrt(z)", z=cpositive(3)),
    named("sin", "np.sin(z)", z=cnormal(3)),
    named("cos", "np.cos(z)", z=cnormal(3)),
    named("tan", "np.tan(z)", z=cunit(3)),
    named("sinh", "np.sinh(z)", z=cnormal(3)),
    named("cosh", "np.cosh(z)", z=cnormal(3)),
    named("tanh", "np.tanh(z)", z=cunit(3)),
    named("reciprocal", "np.reciprocal(z)", z=cnonzero(3)),
    named("square", "np.square(z)", z=cnormal(3)),
    # the parts of a complex number
    named("real", "np.real(z) * np.sum(z)", z=cnormal(3)),
    named("imag", "np.imag(z) * np.sum(z)", z=cnormal(3)),
    named("conj", "np.conj(z) * z", z=cnormal(3)),
    named("conjugate", "np.conjugate(z) + z.conjugate() * 2.0", z=cnormal(3)),
    named("angle", "np.angle(z)", z=cnonzero(3)),
    named("abs", "np.abs(z)", z=cnonzero(3)),
    named("attributes", "z.real * z.imag + z.conj()", z=cnormal(3)),
    named("builtin-abs", "abs(z) * 2.0", z=cnonzero()),
    named("complex-builtin", "complex(a, b) * z", a=normal(), b=normal(), z=cnormal()),
    named("complex-from-parts", "a + 1j * b", a=normal(3), b=normal(3)),
    named("phase", "np.sum(np.real(np.exp(1j * theta) * z))", theta=normal(3), z=cnormal(3)),
    named("intensity", "np.sum(np.abs(z) ** 2)", z=cnormal(3)),
    named("real-gain-through-complex", "np.abs(a * 1j) ** 2", a=normal()),
    named(
        "filter",
        "np.mean(np.abs(g / (1 + 1j * w * tau) - d) ** 2)",
        g=normal(),
        tau=normal(),
        w=normal(4),
        d=cnormal(4),
    ),
    # reductions and products
    named("sum", "np.sum(z, axis=0)", z=cnormal(2, 3)),
    named("mean", "np.mean(z)", z=cnormal(2, 3)),
    named("prod", "np.prod(z, axis=1)", z=cnonzero(2, 3)),
    named("cumsum", "np.cumsum(z)", z=cnormal(4)),
    named("dot", "np.dot(z, w)", z=cnormal(2, 3), w=cnormal(3)),
    named("vdot", "np.vdot(z, w)", z=cnormal(3), w=cnormal(3)),
    named("vdot-real-part", "np.vdot(z, z).real", z=cnormal(3)),
    named("matmul", "z @ w", z=cnormal(2, 3), w=cnormal(3, 2)),
    named("matmul-mixed", "z @ w", z=cnormal(2, 3), w=normal(3, 2)),
    named("einsum", "np.einsum('ij,jk->ik', z, w)", z=cnormal(2, 3), w=cnormal(3, 2)),
    named("outer", "np.outer(z, w)", z=cnormal(3), w=cnormal(2)),
    named("inner", "np.inner(z, w)", z=cnormal(2, 3), w=cnormal(3)),
    named("trace", "np.trace(z)", z=cnormal(3, 3)),
    # linear algebra
    named("norm", "np.linalg.norm(z)", z=cnormal(4)),
    named("norm-axis", "np.linalg.norm(z, axis=0)", z=cnormal(3, 2)),
    named("inv", "np.linalg.inv(a)", a=cwell_conditioned(3, 3)),
    named("solve", "np.linalg.solve(a, b)", a=cwell_conditioned(3, 3), b=cnormal(3)),
    named("det", "np.linalg.det(a)", a=cwell_conditioned(3, 3)),
    # FFTs (linear: the adjoints are scaled inverse transforms)
    named("fft", "np.fft.fft(z)", z=cnormal(4)),
    named("fft-ortho", "np.fft.fft(z, norm='ortho')", z=cnormal(4)),
    named("ifft", "np.fft.ifft(z)", z=cnormal(4)),
    named("ifft-forward-norm", "np.fft.ifft(z, norm='forward')", z=cnormal(4)),
    named("rfft", "np.fft.rfft(x)", x=normal(6)),
    named("rfft-odd", "np.fft.rfft(x)", x=normal(5)),
    named("irfft", "np.fft.irfft(z)", z=cnormal(4)),
    named("irfft-n", "np.fft.irfft(z, n=5)", z=cnormal(3)),
    named("fft2", "np.fft.fft2(z)", z=cnormal(2, 3)),
    named("ifft2", "np.fft.ifft2(z)", z=cnormal(3, 2)),
    named("phase-retrieval", "np.sum((np.abs(np.fft.fft(np.exp(1j * theta))) - m) ** 2)", theta=normal(4), m=normal(4)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in NAMED])
def test_named_rule_is_differentiated_on_complex_input(case: Case):
    variant = _drawn(case, "named")
    source = variant.source
    for options in (REVERSE, FORWARD):
        try:
            generated_text(source, options=options)
        except SourceErrors as error:
            pytest.fail(f"{case.id} must be differentiated on complex input ({options.mode} mode), refused:\n{error}")
    rng = variant.rng()
    args = variant.args(rng)
    assert _guard(source, [n for n, _ in case.args], (), args, rng, case.rtol, case.atol) == "checked"
