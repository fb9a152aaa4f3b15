"""Elementwise NumPy primitives: arithmetic (the operators lower to these), exp/log, trig.

Every binary rule passes its cotangent through `unbroadcast`, which sums over the axes
broadcasting added, so `b1_bar` has `b1`'s shape in `x @ W1 + b1`. Rules reuse the
output `ans` where it is cheaper than recomputing (``tanh``: ``1 - ans**2``). Every
Jacobian here is diagonal, so forward mode reads its JVPs off the same expressions.
"""

from dpgen.ir import Const
from dpgen.rules import Bound, alias, defelementwise

# ------------------------------------------------------------------ arithmetic
defelementwise("numpy.add(x1, x2)", x1="unbroadcast(g, x1)", x2="unbroadcast(g, x2)", infix="+")
defelementwise(
    "numpy.subtract(x1, x2)", x1="unbroadcast(g, x1)", x2="-unbroadcast(g, x2)", infix="-"
)  # negate after reducing
defelementwise("numpy.multiply(x1, x2)", x1="unbroadcast(g * x2, x1)", x2="unbroadcast(g * x1, x2)", infix="*")
defelementwise("numpy.divide(x1, x2)", x1="unbroadcast(g / x2, x1)", x2="unbroadcast(-g * ans / x2, x2)", infix="/")
defelementwise(
    "numpy.power(x1, x2)",
    x1="unbroadcast(g * x2 * x1 ** (x2 - 1), x1)",
    x2="unbroadcast(g * ans * np.log(x1), x2)",  # real only where x1 > 0, as the derivative
    infix="**",
)
# The remainder and the floor it subtracts are defined on real numbers only.
defelementwise(
    "numpy.remainder(x1, x2)",
    x1="unbroadcast(g, x1)",
    x2="unbroadcast(-g * np.floor_divide(x1, x2), x2)",
    infix="%",
    holomorphic=False,
)
defelementwise("numpy.negative(x)", x="-g", prefix="-")
defelementwise("numpy.positive(x)", x="g")
defelementwise("numpy.square(x)", x="g * 2 * x")
defelementwise("numpy.sqrt(x)", x="g / (2 * ans)")  # the output is at hand: no second sqrt
defelementwise("numpy.reciprocal(x)", x="-g * ans**2")
defelementwise("numpy.abs(x)", x="g * np.sign(x)", holomorphic=False)  # 0 at the kink, like autograd and JAX

alias("numpy.true_divide", "numpy.divide")
alias("numpy.absolute", "numpy.abs")
alias("numpy.mod", "numpy.remainder")
alias("numpy.pow", "numpy.power")

# ------------------------------------------------------------- exp and log
defelementwise("numpy.exp(x)", x="g * ans")
defelementwise("numpy.expm1(x)", x="g * (ans + 1)")
defelementwise("numpy.log(x)", x="g / x")
defelementwise("numpy.log1p(x)", x="g / (1 + x)")
defelementwise("numpy.log2(x)", x="g / (x * np.log(2))")
defelementwise("numpy.log10(x)", x="g / (x * np.log(10))")

# ------------------------------------------------------------------ trigonometry
defelementwise("numpy.sin(x)", x="g * np.cos(x)")
defelementwise("numpy.cos(x)", x="-g * np.sin(x)")
defelementwise("numpy.tan(x)", x="g * (1 + ans**2)")  # sec^2 = 1 + tan^2, from the output
defelementwise("numpy.arcsin(x)", x="g / np.sqrt(1 - x**2)")
defelementwise("numpy.arccos(x)", x="-g / np.sqrt(1 - x**2)")
defelementwise("numpy.arctan(x)", x="g / (1 + x**2)")
defelementwise(
    "numpy.arctan2(x1, x2)",
    x1="unbroadcast(g * x2 / (x1**2 + x2**2), x1)",
    x2="unbroadcast(-g * x1 / (x1**2 + x2**2), x2)",
    holomorphic=False,  # an angle of the real plane
)
defelementwise(
    "numpy.hypot(x1, x2)",
    x1="unbroadcast(g * x1 / ans, x1)",
    x2="unbroadcast(g * x2 / ans, x2)",
    holomorphic=False,  # a modulus
)
defelementwise("numpy.sinh(x)", x="g * np.cosh(x)")
defelementwise("numpy.cosh(x)", x="g * np.sinh(x)")
defelementwise("numpy.tanh(x)", x="g * (1 - ans**2)")  # from the output: no cosh, no overflow

# ---------------------------------------------------------------------- selection
# On an exact tie each side gets half the cotangent (the tangent is the mean of the two):
# central differences, autograd and JAX agree on that. `(x1 > x2) + 0.5 * (x1 == x2)` is
# the weight in one pass of comparisons, exact for infinities too (no `sign(x1 - x2)`).
defelementwise(
    "numpy.maximum(x1, x2)",
    x1="unbroadcast(g * ((x1 > x2) + 0.5 * (x1 == x2)), x1)",
    x2="unbroadcast(g * ((x1 < x2) + 0.5 * (x1 == x2)), x2)",
    holomorphic=False,  # complex numbers are not ordered
)
defelementwise(
    "numpy.minimum(x1, x2)",
    x1="unbroadcast(g * ((x1 < x2) + 0.5 * (x1 == x2)), x1)",
    x2="unbroadcast(g * ((x1 > x2) + 0.5 * (x1 == x2)), x2)",
    holomorphic=False,
)


def _clip_a(bound: Bound) -> str:
    """clip(a, lo, hi) is minimum(maximum(a, lo), hi): a bound `a` sits on shares half."""
    weights = []
    if bound["a_min"] != Const("None"):
        weights.append("((a > a_min) + 0.5 * (a == a_min))")
    if bound["a_max"] != Const("None"):
        weights.append("((a < a_max) + 0.5 * (a == a_max))")
    return f"unbroadcast(g * {' * '.join(weights)}, a)" if weights else "g"


defelementwise(
    "numpy.clip(a, a_min=None, a_max=None, out=None)",
    a=_clip_a,
    a_min="unbroadcast(g * ((a < a_min) + 0.5 * (a == a_min)), a_min)",
    a_max="unbroadcast(g * ((a > a_max) + 0.5 * (a == a_max)), a_max)",
    methods="clip",
    holomorphic=False,
)
defelementwise(
    "numpy.where(condition, x, y)",
    x="unbroadcast(np.where(condition, g, 0.0), x)",
    y="unbroadcast(np.where(condition, 0.0, g), y)",
    pointwise=False,  # of scalars, a 0-d array: not a scalar
)
