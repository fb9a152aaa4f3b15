"""Elementwise NumPy primitives: arithmetic (the operators lower to these), exp/log, trig.

Each rule states the local derivative of each parameter; the passes multiply it by the
cotangent or tangent and, in reverse mode, pass the product through `unbroadcast`, which
sums over the axes broadcasting added, so `b1_bar` has `b1`'s shape in `x @ W1 + b1`.
Rules reuse the output `ans` where it is cheaper than recomputing (``tanh``: ``1 - ans**2``).
"""

from dpgen.ir import Apply, Const, Lit
from dpgen.rules import Bound, alias, defelementwise, expr

# ------------------------------------------------------------------ arithmetic
defelementwise("numpy.add(x1, x2)", x1="1", x2="1", infix="+")
defelementwise("numpy.subtract(x1, x2)", x1="1", x2="-1", infix="-")  # -unbroadcast(g, x2): negate after reducing
defelementwise("numpy.multiply(x1, x2)", x1="x2", x2="x1", infix="*")
defelementwise("numpy.divide(x1, x2)", x1="1 / x2", x2="-ans / x2", infix="/")
defelementwise(
    "numpy.power(x1, x2)",
    x1="x2 * x1 ** (x2 - 1)",
    x2="ans * np.log(x1)",  # real only where x1 > 0, as the derivative
    infix="**",
)
# The remainder and the floor it subtracts are defined on real numbers only.
defelementwise(
    "numpy.remainder(x1, x2)", x1="1", x2="-np.floor_divide(x1, x2)", infix="%", holomorphic=False, real_only=True
)
defelementwise("numpy.negative(x)", x="-1", prefix="-")
defelementwise("numpy.positive(x)", x="1")
defelementwise("numpy.square(x)", x="2 * x")
defelementwise("numpy.sqrt(x)", x="1 / (2 * ans)")  # the output is at hand: no second sqrt
defelementwise("numpy.reciprocal(x)", x="-ans**2")

alias("numpy.true_divide", "numpy.divide")
alias("numpy.mod", "numpy.remainder")
alias("numpy.pow", "numpy.power")

# ------------------------------------------------------------- exp and log
defelementwise("numpy.exp(x)", x="ans")
defelementwise("numpy.expm1(x)", x="ans + 1")
defelementwise("numpy.exp2(x)", x="ans * np.log(2)")  # from the output: no second exp2
defelementwise("numpy.log(x)", x="1 / x")
defelementwise("numpy.log1p(x)", x="1 / (1 + x)")
defelementwise("numpy.log2(x)", x="1 / (x * np.log(2))")
defelementwise("numpy.log10(x)", x="1 / (x * np.log(10))")

# ------------------------------------------------------------------ trigonometry
defelementwise("numpy.sin(x)", x="np.cos(x)")
defelementwise("numpy.cos(x)", x="-np.sin(x)")
defelementwise("numpy.tan(x)", x="1 + ans**2")  # sec^2 = 1 + tan^2, from the output
defelementwise("numpy.arcsin(x)", x="1 / np.sqrt(1 - x**2)")
defelementwise("numpy.arccos(x)", x="-1 / np.sqrt(1 - x**2)")
defelementwise("numpy.arctan(x)", x="1 / (1 + x**2)")
defelementwise(
    "numpy.arctan2(x1, x2)", x1="x2 / (x1**2 + x2**2)", x2="-x1 / (x1**2 + x2**2)", holomorphic=False
)  # an angle of the real plane
defelementwise("numpy.hypot(x1, x2)", x1="x1 / ans", x2="x2 / ans", holomorphic=False)  # a modulus
defelementwise("numpy.sinh(x)", x="np.cosh(x)")
defelementwise("numpy.cosh(x)", x="np.sinh(x)")
defelementwise("numpy.tanh(x)", x="1 - ans**2")  # from the output: no cosh, no overflow

# ---------------------------------------------------------------------- selection
# On an exact tie each side gets half the cotangent (the tangent is the mean of the two):
# central differences, autograd and JAX agree on that. `(x1 > x2) + 0.5 * (x1 == x2)` is
# the weight in one pass of comparisons, exact for infinities too (no `sign(x1 - x2)`).
defelementwise(
    "numpy.maximum(x1, x2)", x1="(x1 > x2) + 0.5 * (x1 == x2)", x2="(x1 < x2) + 0.5 * (x1 == x2)", holomorphic=False
)
defelementwise(
    "numpy.minimum(x1, x2)", x1="(x1 < x2) + 0.5 * (x1 == x2)", x2="(x1 > x2) + 0.5 * (x1 == x2)", holomorphic=False
)

_ABOVE_MIN = expr("(a > a_min) + 0.5 * (a == a_min)", "a", "a_min")
_BELOW_MAX = expr("(a < a_max) + 0.5 * (a == a_max)", "a", "a_max")


def _clip_a(bound: Bound):
    """clip(a, lo, hi) is minimum(maximum(a, lo), hi): a bound `a` sits on shares half."""
    weights = []
    if bound["a_min"] != Const("None"):
        weights.append(_ABOVE_MIN)
    if bound["a_max"] != Const("None"):
        weights.append(_BELOW_MAX)
    if not weights:
        return Lit(1)
    product = weights[0]
    for weight in weights[1:]:
        product = Apply("numpy.multiply", (product, weight))
    return product


defelementwise(
    "numpy.clip(a, a_min=None, a_max=None, out=None)",
    a=_clip_a,
    a_min="(a < a_min) + 0.5 * (a == a_min)",
    a_max="(a > a_max) + 0.5 * (a == a_max)",
    methods="clip",
    holomorphic=False,
)
# The derivative is a 0/1 mask; multiplying by it would turn an infinite cotangent in the
# other branch into nan, so these two state the cotangent itself, linear in `g`.
defelementwise(
    "numpy.where(condition, x, y)", x="np.where(condition, g, 0.0)", y="np.where(condition, 0.0, g)", pointwise=False
)
