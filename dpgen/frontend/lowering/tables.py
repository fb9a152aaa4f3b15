"""What Python syntax and names mean to the lowering: operator, method, attribute and constant
tables read off the rule table, the calls refused whatever their arguments, and the environment keys arms hand back."""

from __future__ import annotations

import libcst as cst

from dpgen import rules

# Python's operator syntax, by spelling. Which primitive a spelling means is a fact of that
# primitive's rule (`Rule.infix`, `Rule.prefix`); these tables only say how libcst writes it.
_BINARY_SYNTAX = {
    "+": cst.Add,
    "-": cst.Subtract,
    "*": cst.Multiply,
    "/": cst.Divide,
    "**": cst.Power,
    "@": cst.MatrixMultiply,
    "%": cst.Modulo,
    "//": cst.FloorDivide,
}
_COMPARISON_SYNTAX = {
    "<": cst.LessThan,
    "<=": cst.LessThanEqual,
    ">": cst.GreaterThan,
    ">=": cst.GreaterThanEqual,
    "==": cst.Equal,
    "!=": cst.NotEqual,
    "is": cst.Is,
    "is not": cst.IsNot,
}
_AUGMENTED_SYNTAX = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
    cst.ModuloAssign: cst.Modulo,
    cst.FloorDivideAssign: cst.FloorDivide,
}

# Source operators -> primitives, read off the rule table.
BINARY_OPS = {_BINARY_SYNTAX[r.infix]: r.name for r in rules.TABLE.values() if r.infix in _BINARY_SYNTAX}
AUGMENTED_OPS = _AUGMENTED_SYNTAX
COMPARISONS = {_COMPARISON_SYNTAX[r.infix]: r.name for r in rules.TABLE.values() if r.infix in _COMPARISON_SYNTAX}
NEGATIVE = next(r.name for r in rules.TABLE.values() if r.prefix == "-")  #: unary minus

# Short names for temporaries: the `sub` in `loss_sub = pred - y`.
SHORT_NAMES = {
    "numpy.add": "add",
    "numpy.subtract": "sub",
    "numpy.multiply": "mul",
    "numpy.divide": "div",
    "numpy.power": "pow",
    "numpy.negative": "neg",
    "numpy.remainder": "mod",
    "dpgen.getitem": "item",
}

# Array methods and attributes -> primitives (the array is the first argument), from the rules.
METHODS = {m: r.name for r in rules.TABLE.values() for m in r.methods}
VARARG_METHODS = {m for r in rules.TABLE.values() if r.method_varargs for m in r.methods}  # x.reshape(3, 4)
ATTRIBUTES = {r.attribute: r.name for r in rules.TABLE.values() if r.attribute is not None}

#: Named constants the IR holds by qualified name (`Global`); ``np.newaxis`` is ``None``.
CONSTANTS = frozenset(
    {
        "numpy.pi",
        "numpy.e",
        "numpy.inf",
        "numpy.nan",
        "numpy.newaxis",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
        "math.pi",
        "math.e",
        "math.tau",
        "math.inf",
        "math.nan",
        "builtins.float",
        "builtins.int",
        "builtins.bool",
        # Complex types, as values (`dtype=complex`, `dtype=np.complex64`): analysis/dtypes.py
        # reads them; as calls they are casts with rules (rules/complex_parts.py).
        "builtins.complex",
        "numpy.complex64",
        "numpy.complex128",
        "numpy.complex256",
        "numpy.complexfloating",
        "numpy.cdouble",
        "numpy.csingle",
        "numpy.clongdouble",
    }
)

NONDIFFERENTIABLE_ANNOTATIONS = {"int", "bool", "str"}
#: Primitives the renderer writes as operators (comparisons included): a call of one on a list
#: display (`np.less([a, b], 1)`) needs the list made an array first.
OPERATORS = {r.name for r in rules.TABLE.values() if r.infix is not None or r.prefix is not None}

#: Calls refused however their arguments are typed, with why and what to write instead.
REFUSED_CALLS = {
    "numpy.real_if_close": (
        "np.real_if_close is not differentiated: its result is real or complex depending on the"
        " values (real only when every imaginary part is small), so its type cannot be known"
        " before running; write np.real(z) to take the real part"
    ),
}

# Results that may share memory with their first argument (`Rule.view`): writing into them writes into it.
VIEWS = {r.name for r in rules.TABLE.values() if r.view}
ROW = "<row>"  #: `shares` marker for a loop's row of an iterated array

# Environment keys for the values a structured arm hands back besides variables. They are
# not identifiers, so they never collide with a source name.
RETURN = "<return>"  #: the function's return value, once an arm returned
BREAK = "<break>"  #: whether a loop body hit ``break``
SPECIAL = {RETURN: "out", BREAK: "broke"}
# Statements a function may have copied into both arms of an `if` that may jump out of the
# block (`Lowering.block`); past this the copies would swamp the output.
COPY_BUDGET = 200
