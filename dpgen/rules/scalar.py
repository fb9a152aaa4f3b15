"""Python scalars: the ``math`` module and the builtins ``abs``, ``min``, ``max``, ``float``, ``pow``.

Cotangents of ``math`` functions stay in ``math`` so scalar code stays cheap (no array
round trips); ``abs`` and the two-value ``min``/``max`` use comparisons that work for
floats and arrays alike.
"""

from dpgen.ir import Const
from dpgen.rules import Bound, defelementwise, deflinear


def _log_vjp_x(bound: Bound) -> str:
    # The base may be a variable (`math.log(x, b)`), which has no source text to compare.
    natural = isinstance(bound["base"], Const) and bound["base"].text == "math.e"
    return "g / x" if natural else "g / (x * math.log(base))"


defelementwise("math.sin(x)", x="g * math.cos(x)")
defelementwise("math.cos(x)", x="-g * math.sin(x)")
defelementwise("math.tan(x)", x="g * (1 + ans**2)")
defelementwise("math.asin(x)", x="g / math.sqrt(1 - x**2)")
defelementwise("math.acos(x)", x="-g / math.sqrt(1 - x**2)")
defelementwise("math.atan(x)", x="g / (1 + x**2)")
defelementwise("math.atan2(y, x)", y="g * x / (x**2 + y**2)", x="-g * y / (x**2 + y**2)")
defelementwise("math.hypot(x, y)", x="g * x / ans", y="g * y / ans")
defelementwise("math.sinh(x)", x="g * math.cosh(x)")
defelementwise("math.cosh(x)", x="g * math.sinh(x)")
defelementwise("math.tanh(x)", x="g * (1 - ans**2)")
defelementwise("math.exp(x)", x="g * ans")
defelementwise("math.expm1(x)", x="g * (ans + 1)")
defelementwise("math.log(x, base=math.e)", x=_log_vjp_x, base="-g * ans / (base * math.log(base))")
defelementwise("math.log1p(x)", x="g / (1 + x)")
defelementwise("math.log2(x)", x="g / (x * math.log(2))")
defelementwise("math.log10(x)", x="g / (x * math.log(10))")
defelementwise("math.sqrt(x)", x="g / (2 * ans)")
defelementwise("math.pow(x, y)", x="g * y * x ** (y - 1)", y="g * ans * math.log(x)")
defelementwise("math.fabs(x)", x="g * math.copysign(1.0, x) * (x != 0)")
# |x| with y's sign; y only picks the sign, so its derivative is zero wherever it exists.
# (fabs's rule calls it: a second derivative through fabs needs this rule.)
defelementwise("math.copysign(x, y)", x="g * math.copysign(1.0, x) * math.copysign(1.0, y)")

defelementwise("builtins.abs(x)", x="g * np.sign(x)")
defelementwise("builtins.pow(base, exp)", base="g * exp * base ** (exp - 1)", exp="g * ans * np.log(base)")
defelementwise("builtins.float(x=0.0)", x="g")
# Two-value min/max; an exact tie shares the cotangent, as in np.maximum.
defelementwise("builtins.max(a, b)", a="g * ((a > b) + 0.5 * (a == b))", b="g * ((a < b) + 0.5 * (a == b))")
defelementwise("builtins.min(a, b)", a="g * ((a < b) + 0.5 * (a == b))", b="g * ((a > b) + 0.5 * (a == b))")
# sum() of a list: every item gets the whole cotangent (one row per item).
deflinear("builtins.sum(iterable, start=0)", iterable="np.broadcast_to(g, (len(iterable),) + np.shape(g))", start="g")
