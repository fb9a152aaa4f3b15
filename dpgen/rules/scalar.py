"""Python scalars: the ``math`` module and the builtins ``abs``, ``min``, ``max``, ``float``, ``pow``.

Cotangents of ``math`` functions stay in ``math`` so scalar code stays cheap (no array
round trips); ``abs`` and the two-value ``min``/``max`` use comparisons that work for
floats and arrays alike.
"""

from dpgen.ir import Const, Global
from dpgen.rules import Bound, defelementwise, deflinear, expr

_LOG_NATURAL = expr("1 / x", "x")
_LOG_BASE = expr("1 / (x * math.log(base))", "x", "base")


def _log_vjp_x(bound: Bound):
    # The default is the text `math.e`; a written `math.e` is the named constant.
    natural = bound["base"] in (Const("math.e"), Global("math.e"))
    return _LOG_NATURAL if natural else _LOG_BASE


defelementwise("math.sin(x)", x="math.cos(x)")
defelementwise("math.cos(x)", x="-math.sin(x)")
defelementwise("math.tan(x)", x="1 + ans**2")
defelementwise("math.asin(x)", x="1 / math.sqrt(1 - x**2)")
defelementwise("math.acos(x)", x="-1 / math.sqrt(1 - x**2)")
defelementwise("math.atan(x)", x="1 / (1 + x**2)")
defelementwise("math.atan2(y, x)", y="x / (x**2 + y**2)", x="-y / (x**2 + y**2)", holomorphic=False)
defelementwise("math.hypot(x, y)", x="x / ans", y="y / ans", holomorphic=False)
defelementwise("math.sinh(x)", x="math.cosh(x)")
defelementwise("math.cosh(x)", x="math.sinh(x)")
defelementwise("math.tanh(x)", x="1 - ans**2")
defelementwise("math.exp(x)", x="ans")
defelementwise("math.expm1(x)", x="ans + 1")
defelementwise("math.log(x, base=math.e)", x=_log_vjp_x, base="-ans / (base * math.log(base))")
defelementwise("math.log1p(x)", x="1 / (1 + x)")
defelementwise("math.log2(x)", x="1 / (x * math.log(2))")
defelementwise("math.log10(x)", x="1 / (x * math.log(10))")
defelementwise("math.sqrt(x)", x="1 / (2 * ans)")
defelementwise("math.pow(x, y)", x="y * x ** (y - 1)", y="ans * math.log(x)")
defelementwise("math.fabs(x)", x="math.copysign(1.0, x) * (x != 0)", holomorphic=False)
# |x| with y's sign; y only picks the sign, so its derivative is zero wherever it exists.
# (fabs's rule calls it: a second derivative through fabs needs this rule.)
defelementwise("math.copysign(x, y)", x="math.copysign(1.0, x) * math.copysign(1.0, y)", holomorphic=False)

defelementwise("builtins.pow(base, exp)", base="exp * base ** (exp - 1)", exp="ans * np.log(base)")
defelementwise("builtins.float(x=0.0)", x="1", scalar_result=True, pointwise=False, holomorphic=False)
# Two-value min/max; an exact tie shares the cotangent, as in np.maximum.
defelementwise("builtins.max(a, b)", a="(a > b) + 0.5 * (a == b)", b="(a < b) + 0.5 * (a == b)", holomorphic=False)
defelementwise("builtins.min(a, b)", a="(a < b) + 0.5 * (a == b)", b="(a > b) + 0.5 * (a == b)", holomorphic=False)
# sum() of a list: every item gets the whole cotangent (one row per item).
deflinear("builtins.sum(iterable, start=0)", iterable="np.broadcast_to(g, (len(iterable),) + np.shape(g))", start="g")
