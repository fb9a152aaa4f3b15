"""dpgen's own helpers as primitives, for generated modules given back as input.

`dpgen diff` accepts its own output (second derivatives: a reverse-mode gradient of a
JVP, a JVP of a JVP). The helpers that output calls are primitives here, keyed
``dpgen.helpers.<name>`` (see `dpgen.frontend.own_helpers`). Most are linear in the tangent or
cotangent they carry; masks and shapes they read carry no derivative. Every helper of the
backend has a rule here except ``_check_real`` (a statement, dropped when read back),
``_split_like`` (it returns a list), and ``_revolve``, ``_snapshots_auto``, ``_revolve_sweep``,
``_LoopTargets`` and the tapes ``_RevolveTape`` and ``_OnlineTape`` (checkpointing: run-time control of
reverse-mode pullbacks, no value to differentiate); lowering refuses those as values, with a
location.
"""

from dpgen.rules import deflinear, defmultilinear, defvjp, nondiff
from dpgen.rules.syntax import HELPER_PREFIX  # noqa: F401 (the prefix's home is the parser; re-exported)

nondiff(
    "dpgen.helpers._zeros_like(x)",
    "dpgen.helpers._zero_tangent(x)",
    shape_only="x",
)
# Complex buffers for the cotangents of values that may be complex (`passes/reverse.py`).
nondiff("dpgen.helpers._complex_zeros_like(x)", shape_only="x", out_dtype="complex")
deflinear("dpgen.helpers._complex_copy(x)", x="g", out_dtype="complex")
# Linear in the tangent or cotangent; the array read for its shape or mask is constant.
# Parameters are renamed where the helper's own names (g, ans, t) are a rule's reserved
# names; generated code calls helpers positionally, so only the order matters.
deflinear("dpgen.helpers._broadcast_like(tangent, like)", tangent="unbroadcast(g, tangent)")
# --mode hvp: a public f_jvp's None tangent (no direction) is zeros; the identity on a given one.
deflinear("dpgen.helpers._default_tangent(tangent, like)", tangent="g")
# A public pullback's cotangent for a parameter declared complex: real when the value is. The
# projection onto the reals (or the identity, for a complex value) is self-adjoint for the
# real inner product Re<u, v>, so its adjoint is itself.
deflinear("dpgen.helpers._real_if_real(cotangent, x)", cotangent="real_if_real(g, x)", shape_only="x")
deflinear(
    "dpgen.helpers._unbroadcast(cotangent, x)", cotangent="np.broadcast_to(g, np.shape(cotangent))", shape_only="x"
)
deflinear(
    "dpgen.helpers._unreduce(cotangent, x, axis, keepdims)",
    cotangent="np.sum(g, axis=axis, keepdims=keepdims)",
    shape_only="x",
)
deflinear(
    "dpgen.helpers._extremum_jvp(dx, extremum, x, axis, keepdims)", dx="extremum_vjp(g, extremum, x, axis, keepdims)"
)
deflinear(
    "dpgen.helpers._extremum_vjp(cotangent, extremum, x, axis, keepdims)",
    cotangent="extremum_jvp(g, extremum, x, axis, keepdims)",
)
# var's tangent is symmetric in its two array arguments: sum((dx - mean dx)(x - mean x)).
defmultilinear(
    "dpgen.helpers._var_jvp(dx, x, axis, ddof, keepdims)",
    dx="var_vjp(g, x, axis, ddof, keepdims)",
    x="var_vjp(g, dx, axis, ddof, keepdims)",
)
defvjp(
    "dpgen.helpers._norm_jvp(dx, norm, x, ord, axis, keepdims)",
    dx="norm_vjp(g, norm, x, ord, axis, keepdims)",
    x="norm_vjp(g, norm, dx, ord, axis, keepdims)",
    norm="-g * ans / norm",
    jvp={
        "dx": "norm_jvp(t, norm, x, ord, axis, keepdims)",
        "x": "norm_jvp(dx, norm, t, ord, axis, keepdims)",
        "norm": "-t * ans / norm",
    },
    holomorphic=True,  # sum(x * dx) / norm: products and a quotient, so --mode hvp runs on complex x
)

# ------------------------------------------------ helpers of reverse-mode pullbacks
# Each product helper is the transpose of its product in one operand, so it is linear in the
# cotangent it carries and in the other operand; its own transposes are the product again
# and the other side's helper. The operand read for its shape only carries no derivative, and
# says so (`shape_only`): the complex reverse pass conjugates the other operand, not that one.
deflinear(
    "dpgen.helpers._keepdims(cotangent, x, axis, keepdims)",
    cotangent="np.reshape(g, np.shape(cotangent))",
    shape_only="x",
)
nondiff("dpgen.helpers._tensordot_axes(a, b, axes)")
# centered(x) * keepdims(c): bilinear; centering commutes with a factor constant along the axis.
defmultilinear(
    "dpgen.helpers._var_vjp(cotangent, x, axis, ddof, keepdims)",
    cotangent="var_jvp(g, x, axis, ddof, keepdims)",
    x="var_vjp(cotangent, g, axis, ddof, keepdims)",
)
defmultilinear(
    "dpgen.helpers._matmul_vjp_lhs(cotangent, a, b)",
    cotangent="g @ b",
    b="matmul_vjp_rhs(cotangent, g, b)",
    shape_only="a",
)
defmultilinear(
    "dpgen.helpers._matmul_vjp_rhs(cotangent, a, b)",
    cotangent="a @ g",
    a="matmul_vjp_lhs(cotangent, a, g)",
    shape_only="b",
)
defmultilinear(
    "dpgen.helpers._dot_vjp_lhs(cotangent, a, b)",
    cotangent="np.dot(g, b)",
    b="dot_vjp_rhs(cotangent, g, b)",
    shape_only="a",
)
defmultilinear(
    "dpgen.helpers._dot_vjp_rhs(cotangent, a, b)",
    cotangent="np.dot(a, g)",
    a="dot_vjp_lhs(cotangent, a, g)",
    shape_only="b",
)
defmultilinear(
    "dpgen.helpers._inner_vjp_lhs(cotangent, a, b)",
    cotangent="np.inner(g, b)",
    b="inner_vjp_rhs(cotangent, g, b)",
    shape_only="a",
)
defmultilinear(
    "dpgen.helpers._inner_vjp_rhs(cotangent, a, b)",
    cotangent="np.inner(a, g)",
    a="inner_vjp_lhs(cotangent, a, g)",
    shape_only="b",
)
defmultilinear(
    "dpgen.helpers._tensordot_vjp_lhs(cotangent, a, b, axes)",
    cotangent="np.tensordot(g, b, axes)",
    b="tensordot_vjp_rhs(cotangent, g, b, axes)",
    shape_only="a",
)
defmultilinear(
    "dpgen.helpers._tensordot_vjp_rhs(cotangent, a, b, axes)",
    cotangent="np.tensordot(a, g, axes)",
    a="tensordot_vjp_lhs(cotangent, a, g, axes)",
    shape_only="b",
)
# The identity on the diagonal, times the cotangent: its transpose is the trace.
deflinear("dpgen.helpers._trace_vjp(cotangent, a, offset)", cotangent="np.trace(g, offset)", shape_only="a")
deflinear(
    "dpgen.helpers._trace_last_vjp(cotangent, a, offset)",
    cotangent="np.trace(g, offset, axis1=-2, axis2=-1)",
    shape_only="a",
)
# keepdims(c / norm) * x: linear in c and in x; d/dnorm = -keepdims(c / norm**2) * x.
defvjp(
    "dpgen.helpers._norm_vjp(cotangent, norm, x, ord, axis, keepdims)",
    cotangent="norm_jvp(g, norm, x, ord, axis, keepdims)",
    x="norm_vjp(cotangent, norm, g, ord, axis, keepdims)",
    norm="-norm_jvp(g, norm, x, ord, axis, keepdims) * cotangent / norm",
    jvp={
        "cotangent": "norm_vjp(t, norm, x, ord, axis, keepdims)",
        "x": "norm_vjp(cotangent, norm, t, ord, axis, keepdims)",
        "norm": "-norm_vjp(cotangent * t / norm, norm, x, ord, axis, keepdims)",
    },
    holomorphic=True,  # keepdims(c / norm) * x: products and a quotient
)
# -solve(a.T, c) x^T, with B = solve(a.T, c): linear in c and in x; in a,
# d out = a^-T da^T B x^T, whose transpose is B (a^-1 h x)^T = -solve_vjp_a(c, a, a^-1 h x).
defvjp(
    "dpgen.helpers._solve_vjp_a(cotangent, a, solution)",
    cotangent="-np.linalg.solve(a, g @ solution)",
    solution="-np.swapaxes(g, -1, -2) @ np.linalg.solve(np.swapaxes(a, -1, -2), cotangent)",
    a="-solve_vjp_a(cotangent, a, np.linalg.solve(a, g @ solution))",
    jvp={
        "cotangent": "solve_vjp_a(t, a, solution)",
        "solution": "solve_vjp_a(cotangent, a, t)",
        "a": "-solve_vjp_a(np.swapaxes(t, -1, -2) @ np.linalg.solve(np.swapaxes(a, -1, -2), cotangent), a, solution)",
    },
)
# ------------------------------------------------------- helpers of the FFT and vdot rules
# Cutting or zero-padding is linear; its adjoint is the resize back to the input's lengths.
deflinear("dpgen.helpers._resize(x, like, axes)", x="resize(g, x, axes)", shape_only="like")
# The adjoint of irfft, as a map of the real cotangent: its own adjoint is irfft again. It is
# real-linear only (the DC and Nyquist bins come out real), so not holomorphic.
deflinear(
    "dpgen.helpers._irfft_vjp(cotangent, a, axis, norm)",
    cotangent="np.fft.irfft(g, np.shape(cotangent)[axis], axis, norm)",
    shape_only="a",
    holomorphic=False,
    out_dtype="complex",
)
# conj(c) * b in a's shape: on real values the product c * b, linear in c and in b.
defmultilinear(
    "dpgen.helpers._vdot_vjp(cotangent, a, b)",
    cotangent="np.vdot(b, g)",
    b="np.reshape(cotangent * g, np.shape(b))",
    shape_only="a",
    holomorphic=False,
)
