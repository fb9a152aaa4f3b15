"""The rule table's test cases: one row per (rule, shape / axis / broadcast variant), with the
input domain the rule needs (``positive`` for log, ``apart`` -- no ties -- for max, ...).

`tests/test_rules.py` checks every row in reverse mode and `tests/test_forward.py` in forward
mode. Adding a rule: add its row here (test_rules fails until every rule has one).
"""

from __future__ import annotations

import re
import textwrap
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from dpgen.backends import NUMPY
from dpgen.backends import helper_sources

# --------------------------------------------------------------------- input domains
# Each returns a generator rng -> value. Shape () means a Python float, not a 0-d array,
# because that is what scalar code passes.

Gen = Callable[[np.random.Generator], object]


def _shaped(values: np.ndarray, shape: tuple) -> object:
    return float(values) if shape == () else values


def _domain(make):
    """Tag each generator `make(*args)` returns with (domain name, args), so `complex_domain`
    can find the complex domain that stands in for it (the real draws are unchanged)."""

    def tagged(*args, **kwargs):
        gen = make(*args, **kwargs)
        gen.domain = (make.__name__, args)
        return gen

    tagged.__name__, tagged.__doc__ = make.__name__, make.__doc__
    return tagged


@_domain
def normal(*shape: int) -> Gen:
    return lambda rng: _shaped(rng.normal(size=shape), shape)


@_domain
def uniform(lo: float, hi: float, *shape: int) -> Gen:
    return lambda rng: _shaped(rng.uniform(lo, hi, size=shape), shape)


def positive(*shape: int) -> Gen:
    """For log, sqrt, x ** y: in [0.5, 2]."""
    return uniform(0.5, 2.0, *shape)


def unit(*shape: int) -> Gen:
    """For arcsin/arccos (and tan, away from its poles): in (-0.8, 0.8)."""
    return uniform(-0.8, 0.8, *shape)


@_domain
def nonzero(*shape: int) -> Gen:
    """For division and prod: magnitudes in [0.5, 1.5], random signs."""
    return lambda rng: _shaped(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape), shape)


@_domain
def apart(*shape: int) -> Gen:
    """For max/min/sort: distinct values at least 0.3 apart, so no ties under a 1e-6 nudge."""

    def draw(rng):
        n = int(np.prod(shape))
        values = rng.permutation(n) * 0.5 + rng.uniform(0.0, 0.2, size=n) - n / 4
        return _shaped(values.reshape(shape), shape)

    return draw


@_domain
def clustered(*shape: int, centers=(-1.5, -0.3, 0.2, 1.4)) -> Gen:
    """For clip and relu: within 0.05 of a few centers, so at least 0.1 from 0, +-0.5 and +-[0.6, 1]."""
    return lambda rng: _shaped(rng.choice(centers, size=shape) + rng.uniform(-0.05, 0.05, size=shape), shape)


@_domain
def well_conditioned(*shape: int) -> Gen:
    """Square matrices (batched over leading axes) near 2 I: invertible, det far from 0."""
    return lambda rng: rng.normal(size=shape) * 0.3 + 2 * np.eye(shape[-1])


def const(value) -> Gen:
    """A fixed value, e.g. an integer index array."""
    return lambda rng: value


# Complex domains (shape () means a Python complex): real and imaginary parts drawn
# independently, kept away from branch cuts and poles by the same margins as the real ones.
def _cshaped(values: np.ndarray, shape: tuple) -> object:
    return complex(values) if shape == () else values


def cnormal(*shape: int) -> Gen:
    """Standard normal real and imaginary parts."""
    return lambda rng: _cshaped(rng.normal(size=shape) + 1j * rng.normal(size=shape), shape)


def cnonzero(*shape: int) -> Gen:
    """For division, prod, abs and angle: magnitudes in [0.5, 1.5], any phase."""
    return lambda rng: _cshaped(rng.uniform(0.5, 1.5, size=shape) * np.exp(2j * np.pi * rng.uniform(size=shape)), shape)


def cpositive(*shape: int) -> Gen:
    """For log, sqrt, z ** w (principal branches, cut along the negative real axis): real part
    in [0.5, 2], imaginary part in [-1, 1]."""
    return lambda rng: _cshaped(rng.uniform(0.5, 2.0, size=shape) + 1j * rng.uniform(-1.0, 1.0, size=shape), shape)


def cunit(*shape: int) -> Gen:
    """For arcsin/arccos/arctan and tan (cuts and poles at |Re| >= 1 or on the imaginary axis
    beyond +-i): magnitude below 0.6."""
    return lambda rng: _cshaped(rng.uniform(0.0, 0.6, size=shape) * np.exp(2j * np.pi * rng.uniform(size=shape)), shape)


def cwell_conditioned(*shape: int) -> Gen:
    """Complex square matrices (batched over leading axes) near 2 I."""
    return lambda rng: (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * 0.3 + 2 * np.eye(shape[-1])


def complex_domain(gen: Gen):
    """The complex domain standing in for a real one (None for a constant: an index stays as it
    is): tests/test_complex_rules.py makes a case's differentiable arguments complex with it."""
    domain, args = getattr(gen, "domain", (None, ()))
    if domain in ("normal", "apart", "clustered"):
        return cnormal(*args)
    if domain == "uniform":
        lo, hi, *shape = args
        if lo > 0:  # a positive domain (log, sqrt): the right half-plane, away from the cut
            return lambda rng: _cshaped(
                rng.uniform(lo, hi, size=shape) + 1j * rng.uniform(-lo, lo, size=shape), tuple(shape)
            )
        return cunit(*shape) if max(-lo, hi) <= 1 else cnormal(*shape)
    return {"nonzero": cnonzero, "well_conditioned": cwell_conditioned}.get(domain, lambda *_: None)(*args)


# ---------------------------------------------------------------------------- cases
HEADER = "import math\nimport numpy as np\n\n\n"


@dataclass(frozen=True)
class Case:
    id: str
    body: str  #: an expression, a function body, or a whole ``def f(...)``
    args: tuple[tuple[str, Gen], ...]  #: parameter name -> input generator, in order
    nondiff: tuple[str, ...] = ()  #: parameters whose cotangent must be None
    rtol: float = 1e-5
    atol: float = 1e-6

    @property
    def source(self) -> str:
        body = textwrap.dedent(self.body).strip()
        if body.startswith("def "):
            return HEADER + body + "\n"
        if "return" not in body:
            body = f"return {body}"
        params = ", ".join(name for name, _ in self.args)
        return HEADER + f"def f({params}):\n" + textwrap.indent(body, "    ") + "\n"


def case(id: str, body: str, *, nondiff=(), rtol=1e-5, atol=1e-6, **args: Gen) -> Case:
    return Case(id, body, tuple(args.items()), tuple(nondiff), rtol, atol)


def _shape_id(shape: tuple) -> str:
    return "float" if shape == () else "x".join(map(str, shape))


# -------------------------------------------------------- binary elementwise rules
# Every binary rule runs over every broadcast pattern below (() is a Python float).
BROADCAST = [
    ((2, 3), (2, 3)),
    ((3, 1), (1, 4)),
    ((), (3,)),
    ((3,), ()),
    ((5,), (2, 5)),
    ((2, 5), (5,)),
    ((2, 1, 3), (4, 1)),
]

BINARY = [
    # id                expression                x domain   y domain
    ("op-add", "x + y", normal, normal),
    ("op-sub", "x - y", normal, normal),
    ("op-mul", "x * y", normal, normal),
    ("op-div", "x / y", normal, nonzero),
    ("op-pow", "x ** y", positive, normal),
    ("op-mod", "x % y", normal, positive),
    ("add", "np.add(x, y)", normal, normal),
    ("subtract", "np.subtract(x, y)", normal, normal),
    ("multiply", "np.multiply(x, y)", normal, normal),
    ("divide", "np.divide(x, y)", normal, nonzero),
    ("true_divide", "np.true_divide(x, y)", normal, nonzero),
    ("power", "np.power(x, y)", positive, normal),
    ("pow", "np.pow(x, y)", positive, normal),
    ("remainder", "np.remainder(x, y)", normal, positive),
    ("mod", "np.mod(x, y)", normal, positive),
    ("arctan2", "np.arctan2(x, y)", normal, normal),
    ("hypot", "np.hypot(x, y)", normal, normal),
    ("maximum", "np.maximum(x, y)", normal, normal),
    ("minimum", "np.minimum(x, y)", normal, normal),
]

BINARY_CASES = [
    case(f"{id}-{_shape_id(sx)}-{_shape_id(sy)}", expr, x=dx(*sx), y=dy(*sy))
    for id, expr, dx, dy in BINARY
    for sx, sy in BROADCAST
]

# Binary rules with one constant operand, and where / clip (several operands).
ARITHMETIC_EXTRA = [
    case("neg", "-x", x=normal(2, 3)),
    case("neg-float", "-x", x=normal()),
    case("neg-expr", "-(x * y)", x=normal(3), y=normal(2, 3)),
    case("negative", "np.negative(x)", x=normal(4)),
    case("positive", "np.positive(x)", x=normal(4)),
    case("pow-const-2", "x ** 2", x=normal(2, 3)),
    case("pow-const-3-negative-base", "x ** 3", x=uniform(-2.0, -0.5, 4)),
    case("pow-const-half", "x ** 0.5", x=positive(4)),
    case("pow-const-base", "2.0 ** x", x=normal(4)),
    case("pow-negative-exponent", "x ** -1.5", x=positive(3)),
    case("div-const-numerator", "1.0 / x", x=nonzero(4)),
    case("mod-const", "x % 0.7", x=normal(5)),
    case("rsub-const", "1.0 - x", x=normal(3)),
    case("maximum-same-operand", "np.maximum(x, x)", x=normal(3)),
    case("minimum-same-operand", "np.minimum(x, x)", x=normal(3)),
    case("relu-maximum", "np.maximum(x, 0.0)", x=clustered(2, 4)),
    case("minimum-const-first", "np.minimum(0.5, x)", x=clustered(5)),
    case("rebinding", "y = np.sin(x)\ny = y * y\nx = x + y\nreturn x", x=normal(3)),
    case("same-operand", "x * x + x / (x * x + 1.0)", x=normal(3)),
    case("augmented", "y = 2.0 * x\ny += x * 2.0\ny *= x\ny -= 1.0\ny /= 3.0\ny **= 2\nreturn y", x=normal(4)),
    case("where", "np.where(x > 0, x, y)", x=normal(3, 4), y=normal(3, 4)),
    case("where-broadcast", "np.where(c > 0, x, y)", nondiff=("c",), c=normal(3, 1), x=normal(1, 4), y=normal()),
    case("where-const-branch", "np.where(x > 0, x * 2.0, 0.0)", x=normal(5)),
    case("where-const-first", "np.where(x > 0, 1.0, y)", nondiff=("x",), x=normal(2, 3), y=normal(3)),
    case("clip", "np.clip(x, -0.5, 0.5)", x=clustered(3, 4)),
    case("clip-min-only", "np.clip(x, 0, None)", x=clustered(3, 4)),
    case("clip-max-only", "np.clip(x, None, 0.5)", x=clustered(6)),
    case("clip-keywords", "np.clip(x, a_min=-1.0, a_max=1.0)", x=clustered(6)),
    case(
        "clip-array-bounds", "np.clip(x, lo, hi)", x=clustered(2, 4), lo=uniform(-1.0, -0.6, 2, 1), hi=uniform(0.6, 1.0)
    ),
    case(
        "clip-constant-value",
        "np.clip(2.0, lo, hi) - np.clip(-2.0, lo, hi)",
        lo=uniform(-1.0, -0.6, 3),
        hi=uniform(0.6, 1.0),
    ),
    case(
        "clip-bounds-broadcast",
        "np.clip(x, lo, hi)",
        x=clustered(4),
        lo=uniform(-1.0, -0.6, 3, 1),
        hi=uniform(0.6, 1.0, 4),
    ),
]

# --------------------------------------------------------- unary elementwise rules
UNARY_SHAPES = [(2, 3), (4,), ()]

UNARY = [
    # id          expression           domain
    ("sin", "np.sin(x)", normal),
    ("cos", "np.cos(x)", normal),
    ("tan", "np.tan(x)", unit),
    ("arcsin", "np.arcsin(x)", unit),
    ("arccos", "np.arccos(x)", unit),
    ("arctan", "np.arctan(x)", normal),
    ("sinh", "np.sinh(x)", normal),
    ("cosh", "np.cosh(x)", normal),
    ("tanh", "np.tanh(x)", normal),
    ("exp", "np.exp(x)", normal),
    ("expm1", "np.expm1(x)", normal),
    ("exp2", "np.exp2(x)", normal),
    ("log", "np.log(x)", positive),
    ("log1p", "np.log1p(x)", positive),
    ("log2", "np.log2(x)", positive),
    ("log10", "np.log10(x)", positive),
    ("sqrt", "np.sqrt(x)", positive),
    ("square", "np.square(x)", normal),
    ("abs", "np.abs(x)", nonzero),
    ("absolute", "np.absolute(x)", nonzero),
    ("reciprocal", "np.reciprocal(x)", nonzero),
]

UNARY_CASES = [case(f"{id}-{_shape_id(s)}", expr, x=domain(*s)) for id, expr, domain in UNARY for s in UNARY_SHAPES]
UNARY_CASES += [
    case("abs-at-zero", "np.abs(x)", x=const(np.array([0.0, 1.5, -2.0]))),
    # The parts of a complex number, on real arguments (tests/test_complex.py has complex ones).
    case("real-part", "np.real(x) * x", x=normal(3)),
    case("real-attribute", "x.real + x.imag", x=normal(2, 3)),
    case("imag-part", "np.imag(x) + x", x=normal(3)),
    case("conj", "np.conj(x) * x.conj() + np.conjugate(x) + x.conjugate()", x=normal(3)),
    case("angle", "np.angle(x) + x", x=nonzero(3)),
    case("builtin-abs", "abs(x) * x", x=nonzero()),
    # Making complex numbers from real ones: the real parts of the products keep x and y real.
    case(
        "complex-builtin",
        "np.sum(np.real(complex(x, y) * complex(x, -y) * w))",
        x=normal(),
        y=normal(),
        w=normal(2),
    ),
    case("complex128-cast", "np.real(np.complex128(x) * np.cdouble(x)) + x", x=normal(3)),
    # complex64 rounds to float32: near zero that rounding is far below the difference step.
    case(
        "complex64-cast",
        "np.real(np.complex64(x) * np.csingle(x)) + x",
        x=const(np.array([1e-7, -3e-7, 2e-7])),
    ),
    case("sin-times-y", "np.sum(np.sin(x) * y)", x=normal(3, 4), y=normal(4)),
    case("composite", "np.log(np.cosh(x)) + np.sqrt(np.exp(x))", x=normal(2, 3)),
]

# ----------------------------------------------------------------------- reductions
# Each reduction runs over each axis / keepdims variant on a (2, 3, 4) input.
AXES = ["", "axis=0", "axis=-1", "axis=(0, 2)", "keepdims=True", "axis=1, keepdims=True", "axis=(0, -1), keepdims=True"]

REDUCTIONS = [
    # id       function    domain
    ("sum", "np.sum", normal),
    ("mean", "np.mean", normal),
    ("prod", "np.prod", nonzero),
    ("max", "np.max", apart),
    ("min", "np.min", apart),
    ("var", "np.var", normal),
    ("std", "np.std", normal),
]


def _call(fn: str, kwargs: str) -> str:
    return f"{fn}(x, {kwargs})" if kwargs else f"{fn}(x)"


def _axes_id(kwargs: str) -> str:
    return re.sub(r"[^\w-]+", "", kwargs.replace("=", "-").replace(", ", "_")) or "all"


REDUCTION_CASES = [
    case(f"{id}-{_axes_id(kw)}", _call(fn, kw), x=domain(2, 3, 4)) for id, fn, domain in REDUCTIONS for kw in AXES
]
REDUCTION_CASES += [
    case(f"{id}-ddof1-{_axes_id(kw)}", _call(fn, kw), x=normal(2, 3, 4))
    for id, fn in (("var", "np.var"), ("std", "np.std"))
    for kw in ("ddof=1", "axis=1, ddof=1", "axis=(0, 2), ddof=2, keepdims=True")
]
REDUCTION_CASES += [
    case("sum-positional-axis", "np.sum(x, 1)", x=normal(3, 4)),
    case("sum-1d", "np.sum(x)", x=normal(5)),
    case("mean-1d-axis0", "np.mean(x, axis=0)", x=normal(5)),
    case("max-1d", "np.max(x)", x=apart(5)),
    case("amax", "np.amax(x, axis=0)", x=apart(3, 4)),
    case("amin", "np.amin(x, axis=1)", x=apart(3, 4)),
    case("max-then-index", "np.max(x, axis=0) * y", x=apart(3, 4), y=normal(4)),
    case("std-of-expression", "np.std(x * y, axis=0)", x=normal(3, 4), y=normal(3, 1)),
    # Stable logsumexp: the gradient through `m` cancels exactly; the result is softmax.
    case(
        "logsumexp",
        """
        m = np.max(x, axis=1, keepdims=True)
        return m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
        """,
        x=apart(3, 4),
    ),
]

# ------------------------------------------------------------------ method forms
METHOD_CASES = [
    case("method-sum-axis0", "x.sum(axis=0)", x=normal(3, 4)),
    case("method-sum-positional", "x.sum(1)", x=normal(3, 4)),
    case("method-mean", "x.mean()", x=normal(3, 4)),
    case("method-prod", "x.prod(axis=1)", x=nonzero(3, 4)),
    case("method-max", "x.max()", x=apart(3, 4)),
    case("method-min-axis", "x.min(axis=-1, keepdims=True)", x=apart(3, 4)),
    case("method-var", "x.var(axis=0, ddof=1)", x=normal(3, 4)),
    case("method-std", "x.std()", x=normal(3, 4)),
    case("method-T", "x.T", x=normal(3, 4)),
    case("method-T-3d", "x.T", x=normal(2, 3, 4)),
    case("method-reshape-varargs", "x.reshape(3, 4)", x=normal(2, 6)),
    case("method-reshape-tuple", "x.reshape((4, 3))", x=normal(2, 6)),
    case("method-reshape-order-F", "x.reshape(3, 4, order='F')", x=normal(2, 6)),
    case("method-reshape-minus1", "x.reshape(-1)", x=normal(2, 6)),
    case("method-ravel", "x.ravel()", x=normal(2, 3)),
    case("method-flatten", "x.flatten()", x=normal(2, 3)),
    case("method-squeeze", "x.squeeze()", x=normal(3, 1, 4)),
    case("method-swapaxes", "x.swapaxes(0, 2)", x=normal(2, 3, 4)),
    case("method-transpose", "x.transpose()", x=normal(2, 3, 4)),
    case("method-transpose-varargs", "x.transpose(1, 0, 2)", x=normal(2, 3, 4)),
    case("method-transpose-tuple", "x.transpose((2, 0, 1))", x=normal(2, 3, 4)),
    case("method-clip", "x.clip(-0.5, 0.5)", x=clustered(3, 4)),
    case("method-copy", "x.copy() * 2.0", x=normal(3)),
    case("method-dot", "x.dot(y)", x=normal(2, 3), y=normal(3, 4)),
    case("method-chain", "(x.T @ x).sum(axis=0)", x=normal(3, 2)),
]

# --------------------------------------------------------- products and linear algebra
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 2, 3), (3, 4)),
    ((3, 4), (2, 4, 5)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((1, 2, 3), (4, 3, 2)),
]

LINALG_CASES = [
    case(f"op-matmul-{_shape_id(sx)}-{_shape_id(sy)}", "x @ y", x=normal(*sx), y=normal(*sy))
    for sx, sy in MATMUL_SHAPES
]
LINALG_CASES += [
    case("matmul-fn-2d", "np.matmul(x, y)", x=normal(2, 3), y=normal(3, 4)),
    case("matmul-fn-batched", "np.matmul(x, y)", x=normal(2, 2, 3), y=normal(2, 3, 4)),
    case("matmul-same-operand", "x @ x", x=normal(3, 3)),
    case("matmul-augmented", "y = 2.0 * x\ny @= x\nreturn y", x=normal(3, 3)),
    case("dot-1d-1d", "np.dot(x, y)", x=normal(3), y=normal(3)),
    case("dot-2d-1d", "np.dot(x, y)", x=normal(2, 3), y=normal(3)),
    case("dot-1d-2d", "np.dot(x, y)", x=normal(3), y=normal(3, 4)),
    case("dot-2d-2d", "np.dot(x, y)", x=normal(2, 3), y=normal(3, 4)),
    case("dot-float-array", "np.dot(s, y)", s=normal(), y=normal(2, 3)),
    case("dot-array-float", "np.dot(x, s)", x=normal(3), s=normal()),
    case("dot-3d-1d", "np.dot(x, y)", x=normal(2, 3, 4), y=normal(4)),
    case("dot-3d-2d", "np.dot(x, y)", x=normal(2, 3, 4), y=normal(4, 2)),
    # N-D dot is not matmul: it sums a's last axis with b's second-to-last, no batching.
    case("dot-2d-3d", "np.dot(x, y)", x=normal(2, 3), y=normal(4, 3, 5)),
    case("dot-3d-3d", "np.dot(x, y)", x=normal(2, 3, 4), y=normal(2, 4, 3)),
    case("dot-1d-3d", "np.dot(x, y)", x=normal(3), y=normal(2, 3, 4)),
    case("outer-1d", "np.outer(x, y)", x=normal(3), y=normal(4)),
    case("outer-2d-flattens", "np.outer(x, y)", x=normal(2, 2), y=normal(3)),
    case("inner-1d", "np.inner(x, y)", x=normal(3), y=normal(3)),
    case("inner-2d", "np.inner(x, y)", x=normal(2, 3), y=normal(4, 3)),
    case("inner-2d-1d", "np.inner(x, y)", x=normal(2, 3), y=normal(3)),
    case("inner-3d-2d", "np.inner(x, y)", x=normal(2, 3, 4), y=normal(5, 4)),
    case("inner-float-array", "np.inner(s, y)", s=normal(), y=normal(2, 3)),
    case("einsum-matmul", "np.einsum('ij,jk->ik', x, y)", x=normal(2, 3), y=normal(3, 4)),
    case("einsum-rowsum", "np.einsum('ij->i', x)", x=normal(2, 3)),
    case("einsum-transpose", "np.einsum('ij->ji', x)", x=normal(2, 3)),
    case("einsum-vdot", "np.einsum('i,i->', x, y)", x=normal(4), y=normal(4)),
    case("einsum-outer", "np.einsum('i,j->ij', x, y)", x=normal(3), y=normal(4)),
    case("einsum-frobenius", "np.einsum('ij,ij->', x, y)", x=normal(2, 3), y=normal(2, 3)),
    case("einsum-batched", "np.einsum('bij,bjk->bik', x, y)", x=normal(2, 2, 3), y=normal(2, 3, 4)),
    case("einsum-index-only-in-one", "np.einsum('ij,j->j', x, y)", x=normal(3, 4), y=normal(4)),
    case("einsum-three-operands", "np.einsum('ij,jk,kl->il', x, y, z)", x=normal(2, 3), y=normal(3, 4), z=normal(4, 2)),
    case("einsum-permuted", "np.einsum('ijk,jl->lki', x, y)", x=normal(2, 3, 4), y=normal(3, 2)),
    case("einsum-spaces", "np.einsum('ij, jk -> ik', x, y)", x=normal(2, 3), y=normal(3, 2)),
    case("einsum-same-operand", "np.einsum('ij,ij->i', x, x)", x=normal(2, 3)),
    case("tensordot-default-axes2", "np.tensordot(x, y)", x=normal(2, 3, 4), y=normal(3, 4, 5)),
    case("tensordot-axes1", "np.tensordot(x, y, axes=1)", x=normal(2, 3), y=normal(3, 4)),
    case("tensordot-axes2", "np.tensordot(x, y, axes=2)", x=normal(2, 3, 4), y=normal(3, 4, 2)),
    case("tensordot-axes0", "np.tensordot(x, y, 0)", x=normal(2), y=normal(3)),
    case("tensordot-lists", "np.tensordot(x, y, axes=([1], [0]))", x=normal(2, 3), y=normal(3, 4)),
    case("tensordot-ints", "np.tensordot(x, y, axes=(0, 1))", x=normal(3, 2), y=normal(4, 3)),
    case("tensordot-reordered", "np.tensordot(x, y, axes=([0, 2], [2, 0]))", x=normal(3, 2, 4), y=normal(4, 5, 3)),
    case("tensordot-negative", "np.tensordot(x, y, axes=([-1], [-2]))", x=normal(2, 3), y=normal(4, 3, 2)),
    case("trace", "np.trace(x)", x=normal(3, 3)),
    case("trace-offset", "np.trace(x, 1)", x=normal(3, 4)),
    case("trace-negative-offset", "np.trace(x, offset=-1)", x=normal(4, 3)),
    case("trace-explicit-axes", "np.trace(x, 0, 0, 1)", x=normal(3, 3)),
    case("trace-3d", "np.trace(x)", x=normal(3, 3, 2)),
    case("trace-3d-offset", "np.trace(x, offset=1)", x=normal(3, 4, 2)),
    # The last two axes: a batch of matrices, as det's forward rule writes it (--mode hvp).
    case("trace-last-axes", "np.trace(x, axis1=-2, axis2=-1)", x=normal(2, 3, 3)),
    case("trace-last-axes-offset", "np.trace(x, 1, -2, -1)", x=normal(2, 3, 4)),
    case("norm-vector", "np.linalg.norm(x)", x=normal(4)),
    case("norm-matrix-frobenius", "np.linalg.norm(x)", x=normal(2, 3)),
    case("norm-fro", "np.linalg.norm(x, 'fro')", x=normal(2, 3)),
    case("norm-ord2-vector", "np.linalg.norm(x, 2)", x=normal(4)),
    case("norm-axis0", "np.linalg.norm(x, axis=0)", x=normal(3, 4)),
    case("norm-axis-1", "np.linalg.norm(x, axis=-1)", x=normal(3, 4)),
    case("norm-axis-keepdims", "np.linalg.norm(x, axis=1, keepdims=True)", x=normal(3, 4)),
    case("norm-keepdims", "np.linalg.norm(x, keepdims=True)", x=normal(3, 4)),
    case("norm-axis-pair", "np.linalg.norm(x, axis=(1, 2))", x=normal(2, 3, 4)),
    case("norm-ord2-axis", "np.linalg.norm(x, ord=2, axis=0)", x=normal(3, 4)),
    case("inv", "np.linalg.inv(x)", x=well_conditioned(3, 3)),
    case("inv-batched", "np.linalg.inv(x)", x=well_conditioned(2, 3, 3)),
    case("solve-vector", "np.linalg.solve(a, b)", a=well_conditioned(3, 3), b=normal(3)),
    case("solve-matrix", "np.linalg.solve(a, b)", a=well_conditioned(3, 3), b=normal(3, 2)),
    case("solve-batched", "np.linalg.solve(a, b)", a=well_conditioned(2, 3, 3), b=normal(2, 3, 2)),
    case("det", "np.linalg.det(x)", x=well_conditioned(3, 3)),
    case("det-batched", "np.linalg.det(x)", x=well_conditioned(2, 3, 3)),
    case("det-2x2", "np.linalg.det(x) * y", x=well_conditioned(2, 2), y=normal()),
]

# ------------------------------------------------------ FFTs, vdot, running sums
# On real input (tests/test_fft_rules.py checks every FFT adjoint on complex values). A
# transform's complex output reaches a real result through a complex weight and np.real,
# np.imag or np.abs, so both parts of the output are checked; n= longer and shorter than
# the input, odd and even, every norm, and other axes.
W = "(0.3 - 0.7j)"
FFT_CASES = [
    case("fft", f"np.real(np.fft.fft(x) * {W})", x=normal(5)),
    case("fft-float-weight", "np.imag(np.fft.fft(x)) + np.real(np.fft.fft(x)) * 2.0", x=normal(4)),
    case("fft-n-longer", f"np.real(np.fft.fft(x, 8) * {W})", x=normal(5)),
    case("fft-n-shorter-ortho", f"np.real(np.fft.fft(x, n=3, norm='ortho') * {W})", x=normal(2, 5)),
    case("fft-axis0-forward", f"np.real(np.fft.fft(x, axis=0, norm='forward') * {W})", x=normal(4, 3)),
    case("fft-backward-norm", "np.abs(np.fft.fft(x, norm='backward')) ** 2", x=normal(6)),
    case("ifft", f"np.real(np.fft.ifft(x) * {W})", x=normal(5)),
    case("ifft-n-axis0", f"np.imag(np.fft.ifft(x, 6, 0, 'ortho'))", x=normal(4, 2)),
    case("ifft-n-shorter-forward", f"np.real(np.fft.ifft(x, n=3, norm='forward') * {W})", x=normal(6)),
    case("rfft", f"np.real(np.fft.rfft(x) * {W})", x=normal(6)),
    case("rfft-odd", "np.abs(np.fft.rfft(x)) ** 2", x=normal(7)),
    case("rfft-n-longer-ortho", f"np.real(np.fft.rfft(x, n=9, norm='ortho') * {W})", x=normal(6)),
    case("rfft-n-shorter-axis0", f"np.real(np.fft.rfft(x, 4, axis=0, norm='forward') * {W})", x=normal(7, 2)),
    case("irfft", "np.fft.irfft(x)", x=normal(5)),
    case("irfft-complex-spectrum", f"np.fft.irfft(x * {W} + y)", x=normal(4), y=normal(4)),
    case("irfft-n-odd", "np.fft.irfft(x, 7)", x=normal(4)),
    case("irfft-n-shorter-ortho", "np.fft.irfft(x, n=4, norm='ortho')", x=normal(6)),
    case("irfft-n-longer-axis0-forward", "np.fft.irfft(x, 12, axis=0, norm='forward')", x=normal(4, 3)),
    case("fft2", f"np.real(np.fft.fft2(x) * {W})", x=normal(3, 4)),
    case("fft2-s-axes-ortho", "np.imag(np.fft.fft2(x, s=(2, 5), axes=(0, 2), norm='ortho'))", x=normal(3, 2, 4)),
    case("ifft2", f"np.real(np.fft.ifft2(x, norm='forward') * {W})", x=normal(2, 3, 4)),
    case("ifft2-s", f"np.real(np.fft.ifft2(x, (4, 2)) * {W})", x=normal(3, 3)),
    case("fft-roundtrip", "np.real(np.fft.ifft(np.fft.fft(x) * y))", x=normal(5), y=normal(5)),
    case("vdot", "np.vdot(x, y)", x=normal(2, 3), y=normal(6)),
    case("vdot-same-operand", "np.vdot(x, x)", x=normal(4)),
    case("cumsum", "np.cumsum(x)", x=normal(2, 3)),
    case("cumsum-axis", "np.cumsum(x, axis=1)", x=normal(2, 3, 2)),
    case("cumsum-negative-axis", "np.cumsum(x, -1) * y", x=normal(3, 4), y=normal(4)),
    case("method-cumsum", "x.cumsum(0)", x=normal(4, 2)),
    case("flip", "np.flip(x)", x=normal(2, 3)),
    case("flip-axis", "np.flip(x, 1) * y", x=normal(2, 3), y=normal(3)),
]

# ---------------------------------------------------------------- shape and layout
SHAPE_CASES = [
    case("reshape", "np.reshape(x, (3, 4))", x=normal(2, 6)),
    case("reshape-minus1", "np.reshape(x, (-1, 2))", x=normal(2, 3, 2)),
    case("reshape-keyword", "np.reshape(x, shape=(6,))", x=normal(2, 3)),
    case("reshape-of-float-expr", "np.reshape(x * 2.0, (2, 2))", x=normal(4)),
    case("reshape-order-F", "np.reshape(x, (3, 4), order='F')", x=normal(2, 6)),
    case("ravel", "np.ravel(x)", x=normal(2, 3, 2)),
    case("ravel-order-F", "np.ravel(x, 'F')", x=normal(2, 3)),
    case("ndarray-flatten", "np.ndarray.flatten(x)", x=normal(2, 3)),
    case("transpose", "np.transpose(x)", x=normal(2, 3, 4)),
    case("transpose-axes", "np.transpose(x, (1, 2, 0))", x=normal(2, 3, 4)),
    case("transpose-axes-keyword", "np.transpose(x, axes=(2, 0, 1))", x=normal(2, 3, 4)),
    case("transpose-negative-axes", "np.transpose(x, (-1, 0, 1))", x=normal(2, 3, 4)),
    case("swapaxes", "np.swapaxes(x, 0, 1)", x=normal(2, 3)),
    case("swapaxes-negative", "np.swapaxes(x, -1, 0)", x=normal(2, 3, 4)),
    case("moveaxis", "np.moveaxis(x, 0, -1)", x=normal(2, 3, 4)),
    case("moveaxis-tuple", "np.moveaxis(x, (0, 1), (2, 0))", x=normal(2, 3, 4)),
    case("expand_dims", "np.expand_dims(x, 0)", x=normal(3)),
    case("expand_dims-tuple", "np.expand_dims(x, (0, 2))", x=normal(3, 2)),
    case("expand_dims-negative", "np.expand_dims(x, axis=-1)", x=normal(3)),
    case("squeeze", "np.squeeze(x)", x=normal(1, 3, 1)),
    case("squeeze-axis", "np.squeeze(x, axis=2)", x=normal(1, 3, 1)),
    case("squeeze-axes", "np.squeeze(x, axis=(0, 2))", x=normal(1, 3, 1)),
    case("concatenate", "np.concatenate([x, y])", x=normal(2, 3), y=normal(1, 3)),
    case("concatenate-axis1", "np.concatenate([x, y], axis=1)", x=normal(2, 3), y=normal(2, 1)),
    case("concatenate-axis-1", "np.concatenate((x, y, z), axis=-1)", x=normal(2, 1), y=normal(2, 3), z=normal(2, 2)),
    case("concatenate-axis-None", "np.concatenate([x, y], axis=None)", x=normal(2, 3), y=normal(4)),
    case("concatenate-same-twice", "np.concatenate([x, x * 2.0, x])", x=normal(3)),
    case("stack", "np.stack([x, y])", x=normal(3), y=normal(3)),
    case("stack-axis1", "np.stack([x, y, z], axis=1)", x=normal(2, 3), y=normal(2, 3), z=normal(2, 3)),
    case("stack-axis-1", "np.stack((x, y), axis=-1)", x=normal(2, 3), y=normal(2, 3)),
    case("stack-same-twice", "np.stack([x, x, y])", x=normal(4), y=normal(4)),
    case("broadcast_to", "np.broadcast_to(x, (2, 3))", x=normal(3)),
    case("broadcast_to-column", "np.broadcast_to(x, (2, 3, 4))", x=normal(3, 1)),
    case("broadcast_to-float", "np.broadcast_to(x, (2, 2))", x=normal()),
    case("copy", "np.copy(x) + x", x=normal(2, 3)),
    case("copy-alone", "np.copy(x)", x=normal(3)),
]

# ---------------------------------------------------------------------- indexing
IDX = np.array([0, 2, 2, 1, 0])  # repeated entries: the scatter must add, not assign

INDEX_CASES = [
    case("slice", "x[1:3]", x=normal(5)),
    case("slice-open", "x[2:] * x[:2].sum()", x=normal(4)),
    case("slice-2d", "x[1:, :2]", x=normal(3, 4)),
    case("slice-step", "x[::2]", x=normal(5)),
    case("slice-negative-step", "x[::-1]", x=normal(5)),
    case("slice-negative-step-bounds", "x[4:0:-2]", x=normal(6)),
    case("integer", "x[1]", x=normal(3, 4)),
    case("integer-pair", "x[-1, 2]", x=normal(3, 4)),
    case("integer-negative", "x[-2]", x=normal(4)),
    case("newaxis", "x[:, None, 1:]", x=normal(2, 3)),
    case("np-newaxis", "x[np.newaxis] * y[:, np.newaxis]", x=normal(3), y=normal(2)),
    case("ellipsis", "x[..., 0]", x=normal(2, 3, 2)),
    case("ellipsis-first", "x[0, ...]", x=normal(2, 3)),
    case("fancy-repeated", "x[idx]", nondiff=("idx",), x=normal(3), idx=const(IDX)),
    case("fancy-repeated-2d", "x[idx, 1:]", nondiff=("idx",), x=normal(3, 4), idx=const(IDX)),
    case("fancy-columns", "x[:, idx]", nondiff=("idx",), x=normal(2, 3), idx=const(IDX)),
    case(
        "fancy-pair", "x[idx, jdx]", nondiff=("idx", "jdx"), x=normal(3, 3), idx=const(IDX), jdx=const(IDX[::-1].copy())
    ),
    case("fancy-constant-list", "x[[0, 0, 2]]", x=normal(3)),
    case(
        "fancy-plus-slice-read", "x[idx] + x[1:]", nondiff=("idx",), x=normal(6), idx=const(np.array([5, 1, 1, 0, 3]))
    ),
    case("bool-mask", "x[x > 0]", x=nonzero(7)),
    case("bool-mask-2d", "np.sum(x[x > 0.2] ** 2)", x=nonzero(3, 4)),
    case(
        "bool-mask-parameter", "x[m] * 2.0", nondiff=("m",), x=normal(4), m=const(np.array([True, False, True, True]))
    ),
    case("bool-mask-other", "x[y > 0]", nondiff=("y",), x=normal(6), y=nonzero(6)),
    case("int-parameter-slice", "def f(x, n: int):\n    return x[n:]", nondiff=("n",), x=normal(5), n=const(2)),
    case("diff", "x[1:] - x[:-1]", x=normal(5)),
    case("two-scalar-reads", "x[0] * x[1] + x[0]", x=normal(3)),
    case("read-after-use", "y = np.sin(x)\nreturn y * x[0]", x=normal(3)),
    case("index-of-expression", "(x * 2.0)[1:, 0]", x=normal(3, 2)),
]

# ------------------------------------------------------------- Python scalars (math)
SCALAR_CASES = [
    case("math.sin", "math.sin(x)", x=normal()),
    case("math.cos", "math.cos(x)", x=normal()),
    case("math.tan", "math.tan(x)", x=unit()),
    case("math.asin", "math.asin(x)", x=unit()),
    case("math.acos", "math.acos(x)", x=unit()),
    case("math.atan", "math.atan(x)", x=normal()),
    case("math.atan2", "math.atan2(y, x)", y=normal(), x=normal()),
    case("math.sinh", "math.sinh(x)", x=normal()),
    case("math.cosh", "math.cosh(x)", x=normal()),
    case("math.tanh", "math.tanh(x)", x=normal()),
    case("math.exp", "math.exp(x)", x=normal()),
    case("math.expm1", "math.expm1(x)", x=normal()),
    case("math.log", "math.log(x)", x=positive()),
    case("math.log-base-e", "math.log(x, math.e)", x=positive()),
    case("math.log-const-base", "math.log(x, 2.0)", x=positive()),
    case("math.log-variable-base", "math.log(x, b)", x=positive(), b=uniform(1.5, 3.0)),
    case("math.log1p", "math.log1p(x)", x=positive()),
    case("math.log2", "math.log2(x)", x=positive()),
    case("math.log10", "math.log10(x)", x=positive()),
    case("math.sqrt", "math.sqrt(x)", x=positive()),
    case("math.pow", "math.pow(x, y)", x=positive(), y=normal()),
    case("math.pow-const", "math.pow(x, 3.0)", x=normal()),
    case("math.fabs", "math.fabs(x)", x=nonzero()),
    case("math.copysign", "math.copysign(x, y)", nondiff=("y",), x=nonzero(), y=nonzero()),
    case("math.hypot", "math.hypot(x, y)", x=normal(), y=normal()),
    case("math.chain", "math.exp(math.sin(x) * y) + math.sqrt(x * x + 1.0)", x=normal(), y=normal()),
    case("math.pi-constant", "math.sin(math.pi * x) + np.pi * x", x=normal()),
    case("builtin-abs-float", "abs(x)", x=nonzero()),
    case("builtin-abs-array", "abs(x)", x=nonzero(2, 3)),
    case("max-two", "max(x, y)", x=apart(), y=normal()),
    case("max-const", "max(x, 0.1)", x=clustered()),
    case("min-two", "min(x, y)", x=normal(), y=normal()),
    case("min-const-first", "min(0.2, x)", x=clustered()),
    case("float-of-float", "float(x) * 3.0", x=normal()),
    case("float-of-sum", "float(np.sum(x ** 2))", x=normal(3)),
    case("pow-builtin", "pow(x, y)", x=positive(), y=normal()),
    case("pow-builtin-int-exponent", "pow(x, 3)", x=normal()),
    case("pow-builtin-const-base", "pow(2.0, y)", y=normal()),
]

# Lists and indexed writes (the rules the control-flow lowering emits).
CONTAINER_CASES = [
    case("list-sum", "sum([x, 2.0 * x, y])", x=normal(3), y=normal(3)),
    case("list-sum-start", "sum([x, x * x], y)", x=normal(3), y=normal(3)),
    case(
        "list-append-sum",
        """
        items = []
        for i in range(3):
            items.append(x * i + y)
        return sum(items) * np.stack(items)
        """,
        x=normal(2),
        y=normal(2),
    ),
    case("np-array-of-list", "np.array([x, y * 2.0]) ** 2", x=normal(3), y=normal(3)),
    case("np-array-of-nested-list", "np.array([[x, y * 2.0], [1.0, x * y]]) ** 2", x=normal(), y=normal()),
    case("np-asarray-of-list", "np.asarray([x, y * 2.0]) ** 2", x=normal(3), y=normal(3)),
    case("np-asarray-of-array", "np.asarray(x * 2.0, dtype=float) * y", x=normal(3), y=normal(3)),
    case(
        "np-array-of-built-list",
        """
        rows = [np.sin(x * k) for k in range(3)]
        return np.array(rows) * y
        """,
        x=normal(2),
        y=normal(2),
    ),
    case(
        "list-indexed-at-run-time",
        """
        i = int(np.sum(x * 0.0)) + 1
        return [x, y][i] * 2.0 + [x, y][0]
        """,
        x=normal(3),
        y=normal(3),
    ),
    case(
        "setitem-slice",
        """
        z = x * 1.0
        z[1:3] = v
        return z * x
        """,
        x=normal(4),
        v=normal(2),
    ),
    case(
        "setitem-broadcast-scalar",
        """
        z = x * 1.0
        z[z < 0] = v
        return z ** 2
        """,
        x=nonzero(5),
        v=normal(),
    ),
]


# ------------------------------------------------------------- dpgen's own helpers
# In a generated module read back (second derivatives), the helpers it carries are
# primitives. A case's source is such a module: dpgen's header, f, and the helpers.
@dataclass(frozen=True)
class HelperCase(Case):
    @property
    def source(self) -> str:
        header = (
            "# Code generated by dpgen from model.py. DO NOT EDIT.\n"
            f"# dpgen 0; rules 0; options: --mode forward --backend numpy; source sha256: {'0' * 64}\n"
        )
        helpers = "\n\n".join(text for text, _ in helper_sources(NUMPY, "model.py").values())
        return header + Case.source.fget(self) + "\n\n" + helpers + "\n"


def helper_case(id: str, body: str, *, nondiff=(), **args: Gen) -> HelperCase:
    return HelperCase(id, body, tuple(args.items()), tuple(nondiff))


HELPER_CASES = [
    helper_case("helper-broadcast_like", "_broadcast_like(x, y)", nondiff=("y",), x=normal(3), y=normal(2, 3)),
    helper_case("helper-unbroadcast", "_unbroadcast(x, y)", nondiff=("y",), x=normal(2, 3), y=normal(3)),
    helper_case("helper-complex_copy", "_complex_copy(x) * 2.0", x=normal(3)),
    helper_case("helper-default_tangent", "_default_tangent(x, y)", nondiff=("y",), x=normal(3), y=normal(3)),
    helper_case("helper-real_if_real", "_real_if_real(x, y) * x", nondiff=("y",), x=normal(3), y=normal(3)),
    helper_case("helper-unreduce", "_unreduce(x, y, 1, False)", nondiff=("y",), x=normal(2), y=normal(2, 3)),
    helper_case(
        "helper-unreduce-keepdims", "_unreduce(x, y, None, True)", nondiff=("y",), x=normal(1, 1), y=normal(2, 3)
    ),
    helper_case(
        "helper-extremum_jvp",
        "_extremum_jvp(x, np.max(y, axis=1), y, 1, False)",
        nondiff=("y",),
        x=normal(2, 3),
        y=apart(2, 3),
    ),
    helper_case(
        "helper-extremum_vjp",
        "_extremum_vjp(x, np.max(y, axis=1), y, 1, False)",
        nondiff=("y",),
        x=normal(2),
        y=apart(2, 3),
    ),
    helper_case("helper-var_jvp", "_var_jvp(x, y, 1, 1, False)", x=normal(2, 3), y=normal(2, 3)),
    helper_case(
        "helper-norm_jvp", "_norm_jvp(x, n, y, None, 0, True)", x=normal(2, 3), n=positive(1, 3), y=normal(2, 3)
    ),
    # The helpers of reverse-mode pullbacks: each is linear in the cotangent it carries.
    helper_case("helper-keepdims", "_keepdims(x, y, 1, False)", nondiff=("y",), x=normal(2), y=normal(2, 3)),
    helper_case("helper-keepdims-full", "_keepdims(x, y, None, False)", nondiff=("y",), x=normal(), y=normal(2, 3)),
    helper_case("helper-var_vjp", "_var_vjp(x, y, 1, 1, False)", x=normal(2), y=normal(2, 3)),
    helper_case("helper-var_vjp-full", "_var_vjp(x, y, None, 0, False)", x=normal(), y=normal(2, 3)),
    helper_case(
        "helper-matmul_vjp_lhs",
        "_matmul_vjp_lhs(x, a, y)",
        nondiff=("a",),
        x=normal(2, 4),
        a=normal(2, 3),
        y=normal(3, 4),
    ),
    helper_case(
        "helper-matmul_vjp_lhs-vector",
        "_matmul_vjp_lhs(x, a, y)",
        nondiff=("a",),
        x=normal(2),
        a=normal(2, 3),
        y=normal(3),
    ),
    helper_case(
        "helper-matmul_vjp_lhs-batched",
        "_matmul_vjp_lhs(x, a, y)",
        nondiff=("a",),
        x=normal(5, 2, 4),
        a=normal(2, 3),
        y=normal(5, 3, 4),
    ),
    helper_case(
        "helper-matmul_vjp_rhs",
        "_matmul_vjp_rhs(x, y, b)",
        nondiff=("b",),
        x=normal(2, 4),
        y=normal(2, 3),
        b=normal(3, 4),
    ),
    helper_case(
        "helper-matmul_vjp_rhs-vector",
        "_matmul_vjp_rhs(x, y, b)",
        nondiff=("b",),
        x=normal(4),
        y=normal(3),
        b=normal(3, 4),
    ),
    helper_case(
        "helper-dot_vjp_lhs",
        "_dot_vjp_lhs(x, a, y)",
        nondiff=("a",),
        x=normal(2, 4, 5),
        a=normal(2, 3),
        y=normal(4, 3, 5),
    ),
    helper_case(
        "helper-dot_vjp_rhs", "_dot_vjp_rhs(x, y, b)", nondiff=("b",), x=normal(2, 4), y=normal(2, 3), b=normal(3, 4)
    ),
    helper_case(
        "helper-inner_vjp_lhs",
        "_inner_vjp_lhs(x, a, y)",
        nondiff=("a",),
        x=normal(2, 4),
        a=normal(2, 3),
        y=normal(4, 3),
    ),
    helper_case(
        "helper-inner_vjp_rhs",
        "_inner_vjp_rhs(x, y, b)",
        nondiff=("b",),
        x=normal(2, 4),
        y=normal(2, 3),
        b=normal(4, 3),
    ),
    helper_case(
        "helper-tensordot_vjp_lhs",
        "_tensordot_vjp_lhs(x, a, y, 2)",
        nondiff=("a",),
        x=normal(2, 5),
        a=normal(2, 3, 4),
        y=normal(3, 4, 5),
    ),
    helper_case(
        "helper-tensordot_vjp_rhs",
        "_tensordot_vjp_rhs(x, y, b, ([1], [0]))",
        nondiff=("b",),
        x=normal(2, 4, 5),
        y=normal(2, 3),
        b=normal(3, 4, 5),
    ),
    helper_case("helper-trace_vjp", "_trace_vjp(x, a, 1)", nondiff=("a",), x=normal(), a=normal(3, 4)),
    helper_case("helper-trace_vjp-batched", "_trace_vjp(x, a, 0)", nondiff=("a",), x=normal(2), a=normal(3, 3, 2)),
    helper_case("helper-trace_last_vjp", "_trace_last_vjp(x, a, 1)", nondiff=("a",), x=normal(2), a=normal(2, 3, 4)),
    helper_case("helper-norm_vjp", "_norm_vjp(x, n, y, None, 1, False)", x=normal(2), n=positive(2), y=normal(2, 3)),
    helper_case(
        "helper-solve_vjp_a", "_solve_vjp_a(x, a, y)", x=normal(3, 2), a=well_conditioned(3, 3), y=normal(3, 2)
    ),
    # The FFT rules' helpers: resizing is linear; irfft's adjoint is irfft's transpose.
    helper_case("helper-resize-crop", "_resize(x, y, 0)", nondiff=("y",), x=normal(5, 2), y=normal(3, 2)),
    helper_case("helper-resize-pad", "_resize(x, y, (0, -1))", nondiff=("y",), x=normal(2, 5), y=normal(4, 3)),
    helper_case(
        "helper-irfft_vjp",
        "np.real(_irfft_vjp(x, y, -1, 'ortho') * (0.3 - 0.7j))",
        nondiff=("y",),
        x=normal(2, 6),
        y=normal(2, 5),
    ),
    helper_case("helper-vdot_vjp", "_vdot_vjp(x, a, y)", nondiff=("a",), x=normal(), a=normal(2, 3), y=normal(6)),
    helper_case(
        "helper-solve_vjp_a-vector", "_solve_vjp_a(x, a, y)", x=normal(3), a=well_conditioned(3, 3), y=normal(3)
    ),
]

CASES = (
    BINARY_CASES
    + ARITHMETIC_EXTRA
    + UNARY_CASES
    + REDUCTION_CASES
    + METHOD_CASES
    + LINALG_CASES
    + FFT_CASES
    + SHAPE_CASES
    + INDEX_CASES
    + SCALAR_CASES
    + CONTAINER_CASES
    + HELPER_CASES
)

# Dicts of parameters (`p["W"]`): the cotangent is a dict with the same keys, checked
# entry by entry (see test_dict_rule_matches_finite_differences).
DICT_SOURCE = HEADER + """def f(p, x):
    return np.sum(np.tanh(x @ p["W"] + p["b"]) ** 2) * p["scale"]
"""

# Known bugs outside the rule table (lower.py, reverse.py, ...): case id -> reason.
XFAIL: dict[str, str] = {}


def case_params(cases):
    return [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=XFAIL[c.id])] if c.id in XFAIL else [])
        for c in cases
    ]


def case_rng(case: Case) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case.id.encode()))


def case_args(case: Case, rng: np.random.Generator) -> list:
    return [gen(rng) for _, gen in case.args]


# ------------------------------------------------------------- non-differentiable rules
# Each mixes a non-differentiable primitive into a differentiable expression: finite
# differences see a locally constant factor, so the primitive must contribute nothing.
NONDIFF_CASES = [
    case("shape", "x * np.shape(x)[0]", x=normal(3)),
    case("shape-attribute", "x * x.shape[1]", x=normal(2, 3)),
    case("ndim", "x * np.ndim(x) + x.ndim", x=normal(2, 3)),
    case("size", "x / np.size(x) + x * np.size(x, 0) + x.size", x=normal(2, 3)),
    case("len", "x * len(x)", x=normal(3)),
    case("int", "x * int(np.sum(x * 0.0) + 2.5)", x=normal(3)),
    case("bool", "x * bool(np.max(x) > -10.0)", x=normal(3)),
    case("range", "x[range(0, 4, 2)]", x=normal(4)),
    case("zeros", "x + np.zeros(np.shape(x))", x=normal(2, 3)),
    case("ones", "x * np.ones(3, dtype=float)", x=normal(3)),
    case("empty", "x * np.size(np.empty((2, 3)))", x=normal(3)),
    case("full", "x * np.full(np.shape(x), 2.0)", x=normal(3)),
    case("zeros_like", "x + np.zeros_like(x)", x=normal(3)),
    case("ones_like", "x * np.ones_like(x)", x=normal(3)),
    case("empty_like", "x * np.size(np.empty_like(x))", x=normal(3)),
    case("full_like", "x * np.full_like(x, 3.0)", x=normal(3)),
    case("arange", "x * np.arange(4) + x * np.arange(1, 5, dtype=float)", x=normal(4)),
    case("linspace", "x * np.linspace(0.0, 1.0, 4)", x=normal(4)),
    case("eye", "x * np.eye(3, 4, k=1)", x=normal(3, 4)),
    case("identity", "x @ np.identity(3)", x=normal(2, 3)),
    case("sign", "x * np.sign(x)", x=nonzero(4)),
    case("floor", "x * np.floor(x)", x=normal(4)),
    case("ceil", "x * np.ceil(x)", x=normal(4)),
    case("trunc", "x * np.trunc(x)", x=normal(4)),
    case("rint", "x * np.rint(x)", x=normal(4)),
    case("round", "x * np.round(x, 1)", x=normal(4)),
    case("floor_divide", "x * np.floor_divide(x, 0.7)", x=normal(4)),
    case("op-floordiv", "x * (x // 0.7)", x=normal(4)),
    case("math.floor", "x * math.floor(x)", x=normal()),
    case("math.ceil", "x * math.ceil(x)", x=normal()),
    case("builtins.round", "x * round(x, 1)", x=normal()),
    case("argmax", "x[np.argmax(x)]", x=apart(5)),
    case("argmin", "x * np.argmin(x, axis=0)", x=apart(3, 4)),
    case("argsort", "x[np.argsort(x)]", x=apart(5)),
    case("equal", "x * np.equal(x, x)", x=normal(3)),
    case("not_equal", "x * np.not_equal(x, 0.0)", x=normal(3)),
    case("less", "np.where(np.less(x, 0.0), x, 2.0 * x)", x=nonzero(4)),
    case("less_equal", "x * np.less_equal(x, 0.0)", x=nonzero(4)),
    case("greater", "x * np.greater(x, 0.0)", x=nonzero(4)),
    case("greater_equal", "x * np.greater_equal(x, 0.0)", x=nonzero(4)),
    case("comparison-operators", "x * (x < 0) + x * (x <= 0) + x * (x > 0) + x * (x >= 0)", x=nonzero(4)),
    case("equality-operators", "x * (x == x) + x * (x != 0)", x=nonzero(4)),
    case("logical_and", "x * np.logical_and(x > -1.0, x < 1.0)", x=clustered(4)),
    case("logical_or", "x * np.logical_or(x > 1.0, x < -1.0)", x=clustered(4)),
    case("logical_not", "x * np.logical_not(x > 0)", x=nonzero(4)),
    case("isnan", "np.where(np.isnan(x), 0.0, x)", x=normal(3)),
    case("isfinite", "np.where(np.isfinite(x), x, 0.0)", x=normal(3)),
    case("isinf", "x * np.isinf(x)", x=normal(3)),
    case("is-none", "x * float(x is not None) + x * float(x is None)", x=normal(3)),
    helper_case("helper-zeros_like", "x + _zeros_like(x)", x=normal(3)),
    helper_case("helper-complex_zeros_like", "x + _complex_zeros_like(x)", x=normal(3)),
    helper_case("helper-zero_tangent", "x * 2.0 + _zero_tangent(x)", x=normal(3)),
    helper_case("helper-tensordot_axes", "x * len(_tensordot_axes(x, x, 1)[0])", x=normal(3)),
    case(
        "test-logic",
        """
        if np.sum(x) > 0 and not np.max(x) > 10.0 or np.min(x) > 5.0:
            return x * 2.0
        return x * 3.0
        """,
        x=normal(3),
    ),
    case(
        "test-conditional-expression",
        """
        if (np.sum(x) if np.max(x) > 0 else -np.sum(x)) > 0.5:
            return x * 2.0
        return x * 3.0
        """,
        x=normal(3),
    ),
]

# Outputs that depend on a parameter *only* through non-differentiable primitives: the
# parameter's cotangent must be None (not a zero array), and no adjoint is computed.
PURE_NONDIFF_CASES = [
    case("pure-floor", "np.floor(x)", nondiff=("x",), x=normal(3)),
    case("pure-sign", "np.sign(x)", nondiff=("x",), x=normal(3)),
    case("pure-round", "np.round(x)", nondiff=("x",), x=normal(3)),
    case("pure-floordiv", "x // 0.5", nondiff=("x",), x=normal(3)),
    case("pure-comparison", "x > 0", nondiff=("x",), x=normal(3)),
    case("pure-argmax", "np.argmax(x)", nondiff=("x",), x=apart(4)),
    case("pure-shape", "np.shape(x)", nondiff=("x",), x=normal(2, 3)),
    case("pure-len", "len(x)", nondiff=("x",), x=normal(3)),
    case("pure-zeros_like", "np.zeros_like(x)", nondiff=("x",), x=normal(3)),
    case("pure-ones-of-shape", "np.ones(np.shape(x))", nondiff=("x",), x=normal(2, 2)),
    case("pure-floor-of-sum", "np.floor(np.sum(x) * 10.0)", nondiff=("x",), x=normal(3)),
    case("pure-math.floor", "math.floor(x)", nondiff=("x",), x=normal()),
    case("pure-logical", "np.logical_not(np.isfinite(x))", nondiff=("x",), x=normal(3)),
    case("mask-parameter", "x * (y > 0)", nondiff=("y",), x=normal(3), y=nonzero(3)),
    case("argmax-parameter", "x[np.argmax(y)]", nondiff=("y",), x=normal(4), y=apart(4)),
    case("sign-parameter", "x * np.sign(y) + np.floor(y)", nondiff=("y",), x=normal(3), y=normal(3)),
    case("shape-parameter", "np.sum(x) * np.size(y)", nondiff=("y",), x=normal(3), y=normal(2, 2)),
]
