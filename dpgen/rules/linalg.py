"""Products and linear algebra: matmul, dot, outer, inner, tensordot, einsum, linalg.*.

The product rules call backend helpers (`matmul_vjp_lhs`, ...) because the right
transpose depends on the operands' ranks, which are only known at run time.
``einsum`` with constant subscripts is differentiated when the code is generated:
each operand's cotangent is another einsum, so the output reads like the source.
"""

from dpgen.ir import Apply, Hole, Lit
from dpgen.rules import Bound, PerElement, RuleError, deflinear, defmultilinear, defvjp, expr

_TRACE = expr("trace_vjp(g, a, offset)", "g", "a", "offset")
_TRACE_LAST = expr("trace_last_vjp(g, a, offset)", "g", "a", "offset")


def _einsum_operand_vjp(bound: Bound, k: int):
    """The cotangent of operand `k` of an einsum with explicit output subscripts."""
    subscripts = bound.constant("subscripts")
    if not isinstance(subscripts, str) or "->" not in subscripts:
        raise RuleError("np.einsum() needs constant explicit subscripts such as 'ij,jk->ik'")
    spec = subscripts.replace(" ", "")
    lhs, out = spec.split("->")
    inputs = lhs.split(",")
    if "." in spec:
        raise RuleError("np.einsum() with '...' is not supported (write the axes out)")
    for term in inputs:
        if len(set(term)) != len(term):
            raise RuleError(
                f"np.einsum() with a repeated index in '{term}' is not supported (use np.trace or np.diagonal)"
            )
    operands = len(bound["operands"])
    if operands != len(inputs):
        raise RuleError(f"np.einsum() subscripts name {len(inputs)} operands, the call passes {operands}")
    others = [j for j in range(len(inputs)) if j != k]
    terms = [out] + [inputs[j] for j in others]
    args = [Hole("g")] + [Hole(f"operands_{j}") for j in others]
    if set(inputs[k]) - set("".join(terms)):
        # An index summed away only in operand k: broadcast back over it with ones.
        terms.append(inputs[k])
        args.append(Apply("numpy.ones_like", (Hole(f"operands_{k}"),)))
    return Apply("numpy.einsum", (Lit(",".join(terms) + "->" + inputs[k]), *args))


def _trace_vjp(bound: Bound):
    axes = (bound.constant("axis1"), bound.constant("axis2"))
    if axes == (-2, -1):  # a batch of matrices, as det's forward rule writes it
        return _TRACE_LAST
    if axes != (0, 1):
        raise RuleError("np.trace() is differentiated for axis1=0, axis2=1 or axis1=-2, axis2=-1 only")
    return _TRACE


defmultilinear("numpy.matmul(x1, x2)", x1="matmul_vjp_lhs(g, x1, x2)", x2="matmul_vjp_rhs(g, x1, x2)", infix="@")
defmultilinear("numpy.dot(a, b)", a="dot_vjp_lhs(g, a, b)", b="dot_vjp_rhs(g, a, b)", methods="dot")
defmultilinear(
    "numpy.outer(a, b)", a="np.reshape(g @ np.ravel(b), np.shape(a))", b="np.reshape(np.ravel(a) @ g, np.shape(b))"
)
defmultilinear("numpy.inner(a, b)", a="inner_vjp_lhs(g, a, b)", b="inner_vjp_rhs(g, a, b)")
defmultilinear(
    "numpy.tensordot(a, b, axes=2)", a="tensordot_vjp_lhs(g, a, b, axes)", b="tensordot_vjp_rhs(g, a, b, axes)"
)
defmultilinear("numpy.einsum(subscripts, *operands)", operands=PerElement(_einsum_operand_vjp))
deflinear("numpy.trace(a, offset=0, axis1=0, axis2=1)", a=_trace_vjp)

# vdot(a, b) = sum(conj(a) * b), flattened: conjugate-linear in a, so not holomorphic. With
# w_bar = g, a_bar = conj(g) * b and b_bar = g * a (DEVELOPERS.md, "Complex numbers"); the
# helper conjugates g, so the rule for a real `a` beside a complex `b` is right too. The
# tangent conj(da) b + conj(a) db is vdot itself, for real and complex values alike.
defmultilinear(
    "numpy.vdot(a, b)",
    a="vdot_vjp(g, a, b)",
    b="np.reshape(g * a, np.shape(b))",
    complex_vjp={"a": "vdot_vjp(g, a, b)", "b": "np.reshape(g * a, np.shape(b))"},
    complex_jvp={"a": "np.vdot(t, b)", "b": "np.vdot(a, t)"},
    holomorphic=False,
)

# The 2-norm |x| = sqrt(sum(conj(x) x)) is real-valued: x_bar = g x / |x| for real and
# complex x alike (2 g d|x|/d conj(x)), and the tangent is Re(sum(conj(x) dx)) / |x|.
defvjp(
    "numpy.linalg.norm(x, ord=None, axis=None, keepdims=False)",
    x="norm_vjp(g, ans, x, ord, axis, keepdims)",
    jvp={"x": "norm_jvp(t, ans, x, ord, axis, keepdims)"},
    complex_vjp={"x": "norm_vjp(g, ans, x, ord, axis, keepdims)"},
    complex_jvp={"x": "np.real(norm_jvp(t, ans, np.conj(x), ord, axis, keepdims))"},
    reduces="axis",
    out_dtype="real",
)
# inv, solve and det are holomorphic: the reverse pass conjugates the primal values their
# cotangents read (ans, a), which turns each transpose into a conjugate transpose.
defvjp("numpy.linalg.inv(a)", a="-ans.mT @ g @ ans.mT", jvp={"a": "-ans @ t @ ans"}, holomorphic=True)
# x = solve(a, b): dx = solve(a, db - da x).
defvjp(
    "numpy.linalg.solve(a, b)",
    a="solve_vjp_a(g, a, ans)",
    b="np.linalg.solve(a.mT, g)",
    jvp={"a": "-np.linalg.solve(a, t @ ans)", "b": "np.linalg.solve(a, t)"},
    holomorphic=True,
)
# d det(A) = det(A) * trace(inv(A) dA); its transpose is det(A) * inv(A)^T, batched over leading axes.
defvjp(
    "numpy.linalg.det(a)",
    a="np.expand_dims(g * ans, (-2, -1)) * np.linalg.inv(a).mT",
    jvp={"a": "ans * np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)"},
    holomorphic=True,
)
