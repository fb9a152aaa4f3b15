"""dpgen's own helpers as primitives, for generated modules given back as input.

`dpgen diff` accepts its own output (second derivatives: a reverse-mode gradient of a
JVP, a JVP of a JVP). The helpers that output calls are primitives here, keyed
``dpgen.helpers.<name>`` (see `dpgen.frontend.own_helpers`). Most are linear in the tangent or
cotangent they carry; masks and shapes they read carry no derivative.
"""

from dpgen.rules import deflinear, defmultilinear, defvjp, nondiff

#: The prefix of a helper primitive's qualified name in the rule table.
HELPER_PREFIX = "dpgen.helpers."

nondiff(
    "dpgen.helpers._zeros_like(x)",
    "dpgen.helpers._zero_tangent(x)",
)
# Linear in the tangent or cotangent; the array read for its shape or mask is constant.
# Parameters are renamed where the helper's own names (g, ans, t) are a rule's reserved
# names; generated code calls helpers positionally, so only the order matters.
deflinear("dpgen.helpers._broadcast_like(tangent, like)", tangent="unbroadcast(g, tangent)")
# --mode hvp: a public f_jvp's None tangent (no direction) is zeros; the identity on a given one.
deflinear("dpgen.helpers._default_tangent(tangent, like)", tangent="g")
deflinear("dpgen.helpers._unbroadcast(cotangent, x)", cotangent="np.broadcast_to(g, np.shape(cotangent))")
deflinear("dpgen.helpers._unreduce(cotangent, x, axis, keepdims)", cotangent="np.sum(g, axis=axis, keepdims=keepdims)")
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
)
