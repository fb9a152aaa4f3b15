"""The parts of complex numbers: real, imag, conj, angle and abs (the builtin too).

Conventions (DEVELOPERS.md, "Complex numbers"): the cotangent of a complex value ``z`` is
``dL/dx + i dL/dy``, so a real-valued function's gradient descends. For ``w = f(z)`` that is
not holomorphic, the chain rule reads ``z_bar = conj(w_bar) * df/dconj(z) +
w_bar * conj(df/dz)`` (Wirtinger derivatives); for a real-valued ``w`` (abs, angle, the parts)
it is ``2 w_bar df/dconj(z)``. Each rule below states that as its ``complex_vjp`` (over the
cotangent ``g``, which the pass does not conjugate), with ``complex_jvp`` the tangent
``df/dz t + df/dconj(z) conj(t)``. On real arguments the plain rules apply: ``real`` is the
identity there and ``imag`` is zero.
"""

from dpgen.rules import Bound, RuleError, alias, defelementwise, deflinear, defvjp, expr


def _radians(tree):
    """The rule `tree` for ``np.angle`` in radians; ``deg=True`` is refused with a located error."""

    def build(bound: Bound):
        if bound.constant("deg") is not False:
            raise RuleError("np.angle(deg=True) is not differentiated: write np.angle(z) * (180 / np.pi)")
        return tree

    return build


# Re z = (z + conj z) / 2, so z_bar = g (a real g, read as g + 0i); Im z has z_bar = i g.
# All three are real-linear: their tangent is themselves applied to the tangent.
deflinear(
    "numpy.real(val)",
    val="g",
    complex_vjp={"val": "g"},
    complex_jvp={"val": "np.real(t)"},
    attribute="real",
    view=True,
    holomorphic=False,
    out_dtype="real",
)
deflinear(
    "numpy.imag(val)",
    val="np.zeros_like(g)",
    complex_vjp={"val": "1j * g"},
    complex_jvp={"val": "np.imag(t)"},
    attribute="imag",
    view=True,
    holomorphic=False,
    out_dtype="real",
)
# conj is anti-holomorphic: z_bar = conj(w_bar).
deflinear(
    "numpy.conjugate(x)",
    x="g",
    complex_vjp={"x": "np.conj(g)"},
    complex_jvp={"x": "np.conj(t)"},
    methods=("conj", "conjugate"),
    pointwise=True,
    holomorphic=False,
)
alias("numpy.conj", "numpy.conjugate")
# arg z = atan2(y, x): its gradient is i z / |z|^2; on the real line the angle is 0 or pi, flat.
defvjp(
    "numpy.angle(z, deg=False)",
    z="np.zeros_like(g)",
    jvp={"z": "np.zeros_like(t)"},
    complex_vjp={"z": _radians(expr("1j * g * z / np.abs(z) ** 2", "g", "z"))},
    complex_jvp={"z": _radians(expr("np.imag(np.conj(z) * t) / np.abs(z) ** 2", "t", "z"))},
    pointwise=True,
    out_dtype="real",
)
# |z|: gradient z / |z| = sign(z) (NumPy's complex sign), 0 at 0 as for real numbers. The
# tangent Re(conj(z) t) / |z| avoids np.sign, which has no derivative rule: --mode hvp
# differentiates this tangent again, and sign(z) varies with z off the real line.
_ABS_JVP = "np.real(np.conj(x) * t) / np.where(x == 0, 1, ans)"
defelementwise(
    "numpy.abs(x)",
    x="np.sign(x)",
    complex_vjp={"x": "g * np.sign(x)"},
    complex_jvp={"x": _ABS_JVP},
    holomorphic=False,
    out_dtype="real",
)  # 0 at the kink, like autograd and JAX
alias("numpy.absolute", "numpy.abs")
defelementwise(
    "builtins.abs(x)",
    x="np.sign(x)",
    complex_vjp={"x": "g * np.sign(x)"},
    complex_jvp={"x": _ABS_JVP},
    holomorphic=False,
    out_dtype="real",
)
