"""Primitives whose outputs carry no derivative: shapes, constructors, rounding, comparisons.

Their outputs are constants to the reverse pass, so code that only computes shapes or
masks costs nothing in the pullback.
"""

from dpgen.rules import nondiff

# ------------------------------------------------------------- shapes and sizes
nondiff(
    "numpy.shape(a)",
    "numpy.ndim(a)",
    "numpy.size(a, axis=None)",
    "builtins.len(obj)",
    "builtins.int(x=0)",
    "builtins.bool(x=False)",
    "builtins.range(*args)",
)

# --------------------------------------------------------------- constructors
nondiff(
    "numpy.zeros(shape, dtype=None, order='C')",
    "numpy.ones(shape, dtype=None, order='C')",
    "numpy.empty(shape, dtype=None, order='C')",
    "numpy.full(shape, fill_value, dtype=None, order='C')",
    "numpy.zeros_like(a, dtype=None, order='K', subok=True, shape=None)",
    "numpy.ones_like(a, dtype=None, order='K', subok=True, shape=None)",
    "numpy.empty_like(a, dtype=None, order='K', subok=True, shape=None)",
    "numpy.full_like(a, fill_value, dtype=None, order='K', subok=True, shape=None)",
    "numpy.arange(*args, dtype=None)",
    "numpy.linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)",
    "numpy.eye(N, M=None, k=0, dtype=float)",
    "numpy.identity(n, dtype=None)",
)

# ---------------------------------------------------------- rounding and signs
nondiff(
    "numpy.sign(x)",
    "numpy.floor(x)",
    "numpy.ceil(x)",
    "numpy.trunc(x)",
    "numpy.rint(x)",
    "numpy.round(a, decimals=0)",
    "numpy.floor_divide(x1, x2)",
    "math.floor(x)",
    "math.ceil(x)",
    "builtins.round(number, ndigits=None)",
)

# ------------------------------------------------------ indices and comparisons
nondiff(
    "numpy.argmax(a, axis=None, out=None, keepdims=False)",
    "numpy.argmin(a, axis=None, out=None, keepdims=False)",
    "numpy.argsort(a, axis=-1, kind=None, order=None)",
    "numpy.equal(x1, x2)",
    "numpy.not_equal(x1, x2)",
    "numpy.less(x1, x2)",
    "numpy.less_equal(x1, x2)",
    "numpy.greater(x1, x2)",
    "numpy.greater_equal(x1, x2)",
    "numpy.logical_and(x1, x2)",
    "numpy.logical_or(x1, x2)",
    "numpy.logical_not(x)",
    "numpy.isnan(x)",
    "numpy.isfinite(x)",
    "numpy.isinf(x)",
)

# ------------------------------------------------- logic in if/while tests
nondiff(
    "dpgen.and(x1, x2)",
    "dpgen.or(x1, x2)",
    "dpgen.not(x)",
    "dpgen.ifexp(c, x1, x2)",
    "dpgen.is(x1, x2)",
    "dpgen.is_not(x1, x2)",
)
