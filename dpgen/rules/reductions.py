"""Reductions: sum, mean, prod, max/min, var/std, with ``axis`` and ``keepdims``; and cumsum.

`unreduce` broadcasts a reduction's cotangent back over the reduced axes. ``out=`` is
kept in the signatures only so positional arguments bind as NumPy binds them.
"""

from dpgen.ir import Const
from dpgen.rules import Bound, alias, deflinear, defvjp, expr

_CUMSUM_FLAT = expr("np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(a))", "g", "a")
_CUMSUM_AXIS = expr("np.flip(np.cumsum(np.flip(g, axis), axis), axis)", "g", "axis")


def _cumsum_vjp(bound: Bound):
    """The transpose of a running sum is the running sum from the other end."""
    return _CUMSUM_FLAT if bound["axis"] == Const("None") else _CUMSUM_AXIS


deflinear(
    "numpy.sum(a, axis=None, dtype=None, out=None, keepdims=False)",
    a="unreduce(g, a, axis, keepdims)",
    reduces="axis",
    methods="sum",
)
deflinear(
    "numpy.mean(a, axis=None, dtype=None, out=None, keepdims=False)",
    a="unreduce(g, a, axis, keepdims) * (np.size(ans) / np.size(a))",
    reduces="axis",
    methods="mean",
)
# g * prod / a: exact except where `a` has zeros, as in autograd.
defvjp(
    "numpy.prod(a, axis=None, dtype=None, out=None, keepdims=False)",
    a="unreduce(g * ans, a, axis, keepdims) / a",
    jvp={"a": "np.sum(t * unreduce(ans, a, axis, keepdims) / a, axis=axis, keepdims=keepdims)"},
    reduces="axis",
    methods="prod",
    holomorphic=True,
)
deflinear("numpy.cumsum(a, axis=None, dtype=None, out=None)", a=_cumsum_vjp, methods="cumsum")
# Ties share the cotangent equally, so the rule stays symmetric.
for _extremum in ("numpy.max", "numpy.min"):
    defvjp(
        f"{_extremum}(a, axis=None, out=None, keepdims=False)",
        a="extremum_vjp(g, ans, a, axis, keepdims)",
        jvp={"a": "extremum_jvp(t, ans, a, axis, keepdims)"},
        reduces="axis",
        methods=_extremum.rpartition(".")[2],
    )
# The variance of complex values is real, mean(|a - mean(a)|^2): its gradient
# 2 g (a - mean(a)) / (n - ddof) is the real formula, and its tangent the real part of the
# real one with a conjugated.
defvjp(
    "numpy.var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)",
    a="var_vjp(g, a, axis, ddof, keepdims)",
    jvp={"a": "var_jvp(t, a, axis, ddof, keepdims)"},
    complex_vjp={"a": "var_vjp(g, a, axis, ddof, keepdims)"},
    complex_jvp={"a": "np.real(var_jvp(t, np.conj(a), axis, ddof, keepdims))"},
    reduces="axis",
    methods="var",
    out_dtype="real",
)
# d std = d var / (2 std): reuse the variance rule with the output at hand.
defvjp(
    "numpy.std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)",
    a="var_vjp(g / (2 * ans), a, axis, ddof, keepdims)",
    jvp={"a": "var_jvp(t, a, axis, ddof, keepdims) / (2 * ans)"},
    complex_vjp={"a": "var_vjp(g / (2 * ans), a, axis, ddof, keepdims)"},
    complex_jvp={"a": "np.real(var_jvp(t, np.conj(a), axis, ddof, keepdims)) / (2 * ans)"},
    reduces="axis",
    methods="std",
    out_dtype="real",
)

alias("numpy.amax", "numpy.max")
alias("numpy.amin", "numpy.min")
