"""Shape and layout primitives: reshape, transpose, joins, copies, and indexing reads.

These are linear (forward mode applies them to the tangents): each cotangent is the
inverse rearrangement of ``g``. Indexing
(``dpgen.getitem``) is structural: the reverse pass scatters into a zero buffer itself,
so the rule here only declares it.
"""

from dpgen.ir import Apply, Const, Hole, Lit, Seq
from dpgen.rules import Bound, RuleError, alias, deflinear, expr

_TRANSPOSE = expr("np.transpose(g)", "g")
_RESHAPE_C = expr("np.reshape(g, np.shape(a))", "g", "a")
_RESHAPE_F = expr("np.reshape(g, np.shape(a), order='F')", "g", "a")
_UNSTACK = expr("g", "g")
_UNSTACK_AXIS = expr("np.moveaxis(g, axis, 0)", "g", "axis")
_FLIP_ALL = expr("np.flip(g)", "g")
_FLIP_AXIS = expr("np.flip(g, axis)", "g", "axis")


def _transpose_vjp(bound: Bound):
    axes = bound.constant("axes")
    if axes is None:
        return _TRANSPOSE
    # The inverse permutation, computed now; axes may be negative (`(-1, 0, 1)`), so
    # normalize them first: argsort of the raw values would be a different permutation.
    ndim = len(axes)
    inverse = tuple(sorted(range(ndim), key=lambda i: axes[i] % ndim))
    return Apply("numpy.transpose", (Hole("g"), Seq(tuple(Lit(i) for i in inverse))))


def _reshape_vjp(bound: Bound):
    # Undo the reshape in the order it read `a`: with order='F', a C-order reshape back
    # would scramble the entries.
    order = bound.constant("order")
    if order == "C":
        return _RESHAPE_C
    if order == "F":
        return _RESHAPE_F
    raise RuleError(f"{bound.rule.short_name}(order={order!r}) is not supported (use 'C' or 'F')")


def _stack_vjp(bound: Bound):
    # Unpacking an array walks its first axis, so stacking along axis 0 needs no moveaxis.
    try:
        if bound.constant("axis") == 0:
            return _UNSTACK
    except RuleError:
        pass  # a variable axis: move it to the front at run time
    return _UNSTACK_AXIS


def _flip_vjp(bound: Bound):
    # A flip is its own transpose; the axis is spelled only where the call gave one.
    return _FLIP_ALL if bound["axis"] == Const("None") else _FLIP_AXIS


# Rearrangements return views where NumPy can: writing into the result writes into `a`.
deflinear("numpy.reshape(a, shape=None, order='C')", a=_reshape_vjp, view=True, methods="reshape", method_varargs=True)
# `x.flatten()` always copies; counting it a view only costs a copy in the pullback.
deflinear("numpy.ravel(a, order='C')", a=_reshape_vjp, view=True, methods=("ravel", "flatten"))
deflinear(
    "numpy.transpose(a, axes=None)",
    a=_transpose_vjp,
    view=True,
    methods="transpose",
    method_varargs=True,
    attribute="T",
)
deflinear("numpy.swapaxes(a, axis1, axis2)", a="np.swapaxes(g, axis1, axis2)", view=True, methods="swapaxes")
deflinear("numpy.moveaxis(a, source, destination)", a="np.moveaxis(g, destination, source)", view=True)
deflinear("numpy.expand_dims(a, axis)", a="np.reshape(g, np.shape(a))", view=True)
deflinear("numpy.squeeze(a, axis=None)", a="np.reshape(g, np.shape(a))", view=True, methods="squeeze")
deflinear("numpy.broadcast_to(array, shape)", array="unbroadcast(g, array)", view=True)
deflinear("numpy.copy(a)", a="g", methods="copy")
deflinear("numpy.flip(m, axis=None)", m=_flip_vjp, view=True)
# Joins: one cotangent per array of the list.
deflinear("numpy.concatenate(arrays, axis=0)", arrays="split_like(g, arrays, axis)")
deflinear("numpy.stack(arrays, axis=0)", arrays=_stack_vjp)
# Indexing reads; the reverse pass writes the scatter (see dpgen.passes.reverse).
deflinear("dpgen.getitem(a, index)", a="g", view=True)
# Indexed writes `x[index] = value`; the reverse pass writes this rule's pullback too. NumPy casts
# the value into the buffer's dtype: a complex value written into a real buffer loses its imaginary
# part (a real projection, so no f_derivative through it).
deflinear("dpgen.setitem(a, index, value)", a="g", value="unbroadcast(g[index], value)", out_dtype="first")
# Dicts of parameters read with constant keys, `p["W1"]`; the reverse pass writes the scatter.
deflinear("dpgen.getkey(d, key)", d="g", view=True)  # the dict's item itself
# Lists: `xs.append(v)` on a run-time list; `np.array(xs)` of a list of arrays.
deflinear("dpgen.append(lst, item)", lst="g[:-1]", item="g[-1]")
deflinear("numpy.array(object, dtype=None)", object="g")  # a list's cotangent is the stacked array
deflinear("numpy.asarray(a, dtype=None)", a="g", view=True)  # no copy of an array: it aliases
# `y = x`: a plain rename, which the lowering needs when a name is rebound to a value.
deflinear("dpgen.assign(x)", x="g")

alias("numpy.ndarray.flatten", "numpy.ravel")
