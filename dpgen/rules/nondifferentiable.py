"""Primitives whose outputs carry no derivative: shapes, constructors, rounding, comparisons.

Their outputs are constants to the reverse pass, so code that only computes shapes or
masks costs nothing in the pullback.
"""

from dpgen.rules import nondiff

# ------------------------------------------------------------- shapes and sizes
nondiff("numpy.shape(a)", attribute="shape", shape_only="a", out_dtype="real")
nondiff("numpy.ndim(a)", attribute="ndim", scalar_result=True, shape_only="a", out_dtype="real")
nondiff("numpy.size(a, axis=None)", attribute="size", scalar_result=True, shape_only="a", out_dtype="real")
nondiff("builtins.len(obj)", scalar_result=True, shape_only="obj", out_dtype="real")
nondiff("builtins.int(x=0)", "builtins.bool(x=False)", scalar_result=True, out_dtype="real")
nondiff("builtins.range(*args)", out_dtype="real")

# --------------------------------------------------------------- constructors
nondiff(
    "numpy.zeros(shape, dtype=None, order='C')",
    "numpy.ones(shape, dtype=None, order='C')",
    "numpy.empty(shape, dtype=None, order='C')",
    "numpy.full(shape, fill_value, dtype=None, order='C')",
    "numpy.full_like(a, fill_value, dtype=None, order='K', subok=True, shape=None)",
    "numpy.arange(*args, dtype=None)",
    "numpy.linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)",
    "numpy.eye(N, M=None, k=0, dtype=float)",
    "numpy.identity(n, dtype=None)",
)

# Read only for the shape and dtype of `a`.
nondiff(
    "numpy.zeros_like(a, dtype=None, order='K', subok=True, shape=None)",
    "numpy.ones_like(a, dtype=None, order='K', subok=True, shape=None)",
    "numpy.empty_like(a, dtype=None, order='K', subok=True, shape=None)",
    shape_only="a",
)

# ---------------------------------------------------------- rounding and signs
# Complex input: NumPy's sign is z/|z| and rint/round round both parts; the rest refuse it
# at run time (real_only), so `promote` holds.
nondiff("numpy.sign(x)", "numpy.rint(x)", "numpy.round(a, decimals=0)", pointwise=True)
nondiff(
    "numpy.floor(x)",
    "numpy.ceil(x)",
    "numpy.trunc(x)",
    "math.floor(x)",
    "math.ceil(x)",
    "builtins.round(number, ndigits=None)",
    pointwise=True,
    real_only=True,
)
nondiff("numpy.floor_divide(x1, x2)", pointwise=True, infix="//", real_only=True)

# ------------------------------------------------------ indices and comparisons
nondiff(
    "numpy.argmax(a, axis=None, out=None, keepdims=False)",
    "numpy.argmin(a, axis=None, out=None, keepdims=False)",
    reduces="axis",
    out_dtype="real",
)
nondiff("numpy.argsort(a, axis=-1, kind=None, order=None)", out_dtype="real")  # of a scalar, a (1,) array
nondiff("numpy.equal(x1, x2)", pointwise=True, infix="==", out_dtype="real")
nondiff("numpy.not_equal(x1, x2)", pointwise=True, infix="!=", out_dtype="real")
nondiff("numpy.less(x1, x2)", pointwise=True, infix="<", out_dtype="real")
nondiff("numpy.less_equal(x1, x2)", pointwise=True, infix="<=", out_dtype="real")
nondiff("numpy.greater(x1, x2)", pointwise=True, infix=">", out_dtype="real")
nondiff("numpy.greater_equal(x1, x2)", pointwise=True, infix=">=", out_dtype="real")
nondiff(
    "numpy.logical_and(x1, x2)",
    "numpy.logical_or(x1, x2)",
    "numpy.logical_not(x)",
    "numpy.isnan(x)",
    "numpy.isfinite(x)",
    "numpy.isinf(x)",
    pointwise=True,
    out_dtype="real",
)

# ------------------------------------------------- logic in if/while tests
# Python's own operators: `and`/`or` return an operand, not an elementwise result.
nondiff("dpgen.and(x1, x2)", infix="and")
nondiff("dpgen.or(x1, x2)", infix="or")
nondiff("dpgen.not(x)", prefix="not", out_dtype="real")
nondiff("dpgen.ifexp(c, x1, x2)")
nondiff("dpgen.is(x1, x2)", infix="is", out_dtype="real")
nondiff("dpgen.is_not(x1, x2)", infix="is not", out_dtype="real")
