"""Reductions: sum, mean, prod, max/min, var/std, with ``axis`` and ``keepdims``.

`unreduce` broadcasts a reduction's cotangent back over the reduced axes. ``out=`` is
kept in the signatures only so positional arguments bind as NumPy binds them.
"""

from dpgen.rules import alias, deflinear, defvjp

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
# Ties share the cotangent equally, so the rule stays symmetric.
for _extremum in ("numpy.max", "numpy.min"):
    defvjp(
        f"{_extremum}(a, axis=None, out=None, keepdims=False)",
        a="extremum_vjp(g, ans, a, axis, keepdims)",
        jvp={"a": "extremum_jvp(t, ans, a, axis, keepdims)"},
        reduces="axis",
        methods=_extremum.rpartition(".")[2],
    )
defvjp(
    "numpy.var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)",
    a="var_vjp(g, a, axis, ddof, keepdims)",
    jvp={"a": "var_jvp(t, a, axis, ddof, keepdims)"},
    reduces="axis",
    methods="var",
)
# d std = d var / (2 std): reuse the variance rule with the output at hand.
defvjp(
    "numpy.std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)",
    a="var_vjp(g / (2 * ans), a, axis, ddof, keepdims)",
    jvp={"a": "var_jvp(t, a, axis, ddof, keepdims) / (2 * ans)"},
    reduces="axis",
    methods="std",
)

alias("numpy.amax", "numpy.max")
alias("numpy.amin", "numpy.min")
