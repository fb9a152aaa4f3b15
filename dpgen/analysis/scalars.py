"""Which values are provably scalars, found without running anything.

A binary rule must reduce its cotangent to each operand's shape (`unbroadcast`) only
when broadcasting may have happened; when every operand is a scalar it cannot, and the
pullback skips the call. Scalars come from literals, ``float``/``int`` annotations,
``math`` functions, full reductions (``np.sum(x)``), arithmetic on scalars, and calls of
module functions whose result (or the unpacked item of a tuple result) is a scalar.
Outlined branch arms and loop bodies see a parameter as a scalar when what feeds it is.

What a primitive does to shapes is a fact of its rule (`Rule.scalar_result`,
`Rule.reduces`, `Rule.pointwise`), so this module keeps no list of primitives of its own.
"""

from __future__ import annotations

import ast

from dpgen import rules
from dpgen.ir import (
    Apply,
    Branch,
    Call,
    Const,
    Eqn,
    ForEach,
    ForRange,
    Function,
    Global,
    Index,
    Loop,
    Module,
    Seq,
    SliceAtom,
    Var,
)
from dpgen.ir.walk import body_layout


def is_scalar_constant(atom: object, constants: frozenset[str] = frozenset()) -> bool:
    """A literal number, ``None``, a named constant such as ``np.pi``, one of the module's
    number `constants` (``DT = 0.01``), or arithmetic on those (``DT / 6``, ``2 * np.pi``)."""
    if isinstance(atom, Global):  # np.pi, math.e (and np.float64, as its text always counted); not `float`
        return not atom.name.startswith("builtins.")
    if isinstance(atom, Apply):
        return not atom.kwargs and all(is_scalar_constant(a, constants) for a in atom.args)
    if not isinstance(atom, Const):
        return False
    try:
        node = ast.parse(atom.text, mode="eval").body
    except SyntaxError:
        return False
    return _scalar_expression(node, constants)


def _scalar_expression(node: ast.expr, constants: frozenset[str]) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _scalar_expression(node.operand, constants)
    if isinstance(node, ast.BinOp):  # folded constant arithmetic, e.g. 2 * np.pi
        return _scalar_expression(node.left, constants) and _scalar_expression(node.right, constants)
    if isinstance(node, ast.Name):
        return node.id in constants
    return (isinstance(node, ast.Constant) and not isinstance(node.value, str)) or isinstance(node, ast.Attribute)


def scalar_constants(module: Module) -> frozenset[str]:
    """Module-level constants bound to a number (by every binding, should there be several)."""
    numbers, others = set(), set()
    for line in module.prelude:
        try:
            node = ast.parse(line).body[0]
        except (SyntaxError, IndexError):
            continue
        if isinstance(node, ast.Assign):
            value = isinstance(node.value, (ast.Constant, ast.UnaryOp)) and _scalar_expression(node.value, frozenset())
            for target in node.targets:
                if isinstance(target, ast.Name):
                    (numbers if value else others).add(target.id)
    return frozenset(numbers - others)


def module_scalars(module: Module) -> dict[str, frozenset[str]]:
    """For each function of the module, the names of its variables that always hold a scalar.

    Calls make this a fixed point over the module. It starts from "nothing is a scalar"
    and only ever adds names, so a recursive call counts as a scalar only when some
    non-recursive path proves it.
    """
    functions = {f.name: f for f in module.functions}
    constants = scalar_constants(module)
    params = {f.name: frozenset(p.name for p in f.params if p.scalar) for f in module.functions}
    scalars = {f.name: params[f.name] for f in module.functions}
    changed = True
    while changed:
        changed = False
        for f in module.functions:
            found = scalar_variables(f, params[f.name], functions, scalars, constants)
            changed |= found != scalars[f.name]
            scalars[f.name] = found
            for stmt in f.body:  # what an outlined region's parameters are fed
                for callee, fed in _internal_feeds(stmt, functions, found, constants):
                    changed |= not fed <= params[callee]
                    params[callee] |= fed
    return scalars


def _internal_feeds(
    stmt, functions: dict[str, Function], scalars: frozenset[str], constants: frozenset[str]
) -> list[tuple[str, set[str]]]:
    """(internal function, its parameters fed a scalar) for a branch or loop statement."""

    def scalar(atom: object) -> bool:
        return (isinstance(atom, Var) and atom.name in scalars) or is_scalar_constant(atom, constants)

    if isinstance(stmt, Branch):
        params = [p.name for p in functions[stmt.then].params]
        fed = {p for p, atom in zip(params, stmt.inputs) if scalar(atom)}
        return [(stmt.then, fed), (stmt.orelse, fed)]
    if isinstance(stmt, Loop):
        params = [p.name for p in functions[stmt.body].params]
        fed = {p for p, atom in zip(params[body_layout(stmt).invariants], stmt.invariants) if scalar(atom)}
        if isinstance(stmt.over, ForRange) or (isinstance(stmt.over, ForEach) and stmt.over.enumerate):
            fed.add(params[0])  # the position: an int
        return [(stmt.body, fed)]  # carried values: not followed (they may change type)
    return []


def _scalar_results(
    stmt: Call | Branch, functions: dict[str, Function], scalars: dict[str, frozenset[str]], constants: frozenset[str]
) -> list[str]:
    """The outputs of a call (or a branch, when both arms agree) that are scalars."""
    callees = [stmt.callee] if isinstance(stmt, Call) else [stmt.then, stmt.orelse]
    found = set(stmt.outs)
    for callee in callees:
        result = functions[callee].result
        # A call binding one name to a tuple result binds the tuple; an arm returns its outputs.
        unpacked = isinstance(result, Seq) and (isinstance(stmt, Branch) or len(stmt.outs) > 1)
        items = result.items if unpacked else (result,)
        if len(items) != len(stmt.outs):
            return []
        known = scalars[callee]
        found &= {
            out
            for out, item in zip(stmt.outs, items)
            if (isinstance(item, Var) and item.name in known) or is_scalar_constant(item, constants)
        }
    return [out for out in stmt.outs if out in found]


def scalar_variables(
    function: Function,
    scalar_params: frozenset[str],
    functions: dict[str, Function] | None = None,
    known: dict[str, frozenset[str]] | None = None,
    constants: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """Names of the function's variables that always hold a scalar.

    `known` holds what is known so far of the module's functions (see `module_scalars`).
    """
    scalars = set(scalar_params)

    def scalar(atom: object) -> bool:
        return (isinstance(atom, Var) and atom.name in scalars) or is_scalar_constant(atom, constants)

    for stmt in function.body:
        if isinstance(stmt, (Call, Branch)) and functions is not None and known is not None:
            scalars.update(_scalar_results(stmt, functions, known, constants))
            continue
        if not isinstance(stmt, Eqn) or len(stmt.outs) != 1:
            continue
        rule = rules.lookup(stmt.op)
        if rule is None:
            continue
        if rule.scalar_result:
            scalars.add(stmt.outs[0])
        elif rule.reduces is not None:
            if _full_reduction(rule, stmt):
                scalars.add(stmt.outs[0])
        elif rule.pointwise:  # the broadcast shape of the arguments: a scalar when they all are
            if (
                stmt.args
                and all(scalar(a) for a in stmt.args)
                and all(scalar(v) or k in ("dtype",) for k, v in stmt.kwargs)
            ):
                scalars.add(stmt.outs[0])
    return frozenset(scalars)


def _full_reduction(rule: rules.Rule, stmt: Eqn) -> bool:
    """A reduction over every axis (its axis parameter None, no keepdims): a scalar."""
    try:
        bound = rule.bind(stmt.args, stmt.kwargs)
    except rules.RuleError:
        return False
    keepdims = bound.values.get("keepdims", Const("False"))
    return bound[rule.reduces] == Const("None") and keepdims == Const("False")


# ------------------------------------------------------------------ equal shapes


def shape_classes(function: Function, scalars: frozenset[str], constants: frozenset[str]) -> dict[str, tuple]:
    """Variables grouped by a key that equal keys mean equal shapes, so a cotangent flowing
    between them needs no `unbroadcast`. Keys: a variable of unknown shape is its own class;
    ``u[s:-e]`` (constant bounds on the first axis) is (u's class, s + e), since every such slice
    has len(u) - s - e rows (or none); setitem and same-shape elementwise results keep theirs."""
    classes: dict[str, tuple] = {p.name: ("var", p.name) for p in function.params}

    def key(atom: object) -> tuple | None:
        if isinstance(atom, Var):
            return classes.get(atom.name)
        return None

    def scalar(atom: object) -> bool:
        return (isinstance(atom, Var) and atom.name in scalars) or is_scalar_constant(atom, constants)

    for stmt in function.body:
        if not isinstance(stmt, Eqn) or len(stmt.outs) != 1 or stmt.kwargs:
            for out in stmt.outs:
                classes[out] = ("var", out)
            continue
        out, args = stmt.outs[0], stmt.args
        found = None
        if stmt.op == "dpgen.getitem" and key(args[0]) is not None:
            found = _slice_class(key(args[0]), args[1])
        elif stmt.op == "dpgen.setitem":
            found = key(args[0])
        elif not _pointwise(stmt.op):
            pass
        elif len(args) == 1:
            found = key(args[0])
        elif len(args) == 2:
            a, b = key(args[0]), key(args[1])
            if a is not None and (a == b or scalar(args[1])):
                found = a
            elif b is not None and scalar(args[0]):
                found = b
        classes[out] = found if found is not None else ("var", out)
    return classes


def _pointwise(op: str) -> bool:
    rule = rules.lookup(op)
    return rule is not None and rule.pointwise


def _slice_class(base: tuple, index: object) -> tuple | None:
    """``x[s:-e]``: rows s .. len-e of x's first axis, so the class of (x, s + e)."""
    if not isinstance(index, Index) or len(index.items) != 1 or not isinstance(index.items[0], SliceAtom):
        return None
    part = index.items[0]
    if part.step is not None:
        return None
    start = _int(part.start) if part.start is not None else 0
    stop = _int(part.stop) if part.stop is not None else 0
    if start is None or stop is None or start < 0 or stop >= 0 and part.stop is not None:
        return None  # a stop of 0 or beyond counts from the front
    return ("slice", base, start - stop)


def _int(atom: object) -> int | None:
    if isinstance(atom, Const):
        try:
            value = ast.literal_eval(atom.text)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None
