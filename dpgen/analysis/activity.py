"""Activity analysis: which variables and parameters carry derivatives, found statically.

A variable gets an adjoint (reverse mode) or a tangent (forward mode) only when it depends on a
differentiable parameter (varied) *and* the output depends on it (useful), so shape
arithmetic, masks and constants cost nothing. Which parameters of a function are active
depends on its callees, so the analysis iterates to a fixed point over the module
(recursion included). Both AD passes read it; moved here from the reverse pass as it was.

Also here: which parameters a caller feeds a derivative although their default says they
take none (`fed_derivatives`), and which variables hold dicts of parameters (`dict_variables`).
"""

from __future__ import annotations

from dpgen import rules
from dpgen.ir import Branch, Eqn, Function, Loop, Module, Param, Seq, Stmt, Var
from dpgen.ir.walk import arguments, body_layout, callees, variables


def differentiable_inputs(
    stmt: Stmt, active_params: dict[str, tuple[str, ...]], functions: dict[str, Function]
) -> list[str]:
    """Names of the variables whose adjoints this statement contributes to (in no particular order)."""
    if isinstance(stmt, Eqn):
        rule = rules.lookup(stmt.op)
        bound = rule.bind(stmt.args, stmt.kwargs)
        return [n for param in rule.vjp for n in variables(bound[param])]
    # A call, branch or loop: what it feeds the active parameters of the function it runs. Both
    # arms of a branch have one signature and the same active parameters: the first stands for both.
    callee = functions[callees(stmt)[0]]
    active = set(active_params[callee.name])
    return [n for p, atom in arguments(stmt, callee) if p.name in active for n in variables(atom)]


def useful(function: Function, active_params: dict[str, tuple[str, ...]], functions: dict[str, Function]) -> set[str]:
    """Variables the output depends on through differentiable inputs."""
    found = set(variables(function.result))
    for stmt in reversed(function.body):
        if any(out in found for out in stmt.outs):
            found.update(differentiable_inputs(stmt, active_params, functions))
    return found


def varied(function: Function, active_params: dict[str, tuple[str, ...]], functions: dict[str, Function]) -> set[str]:
    """Variables that depend on differentiable parameters through differentiable inputs."""
    found = {p.name for p in function.params if p.differentiable} | set(active_params[function.name])
    for stmt in function.body:
        if any(n in found for n in differentiable_inputs(stmt, active_params, functions)):
            found.update(stmt.outs)
    return found


def _callers_first(order: list[Function], functions: dict[str, Function]) -> list[Function]:
    """The functions with each one before the arms, loop bodies and functions it calls (where
    there is no cycle): what a caller feeds then reaches a chain of nested arms (a long
    `elif`) in one round of `fed_derivatives` instead of one round per level."""
    seen: set[str] = set()
    result: list[Function] = []
    for root in order:
        stack = [root.name]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            result.append(functions[name])
            called = [c for stmt in functions[name].body for c in callees(stmt)]
            stack.extend(reversed([c for c in called if c in functions]))
    return result


def fed_derivatives(module: Module) -> dict[str, set[str]]:
    """Parameters that a call, arm or loop may feed a value carrying a derivative.

    A parameter with an integer default (``def g(x, n=2)``) is taken as not differentiable,
    but a caller may pass it one (``g(x, y)``): its derivative must flow then, in both modes.
    Found as the variables varied from the entry functions' differentiable parameters,
    following calls, arms and loops (a loop body's carried results feed it back)."""
    functions = {f.name: f for f in module.functions}
    fed: dict[str, set[str]] = {
        f.name: set() if f.internal else {p.name for p in f.params if p.differentiable} for f in module.functions
    }
    carried: dict[str, slice] = {}  # loop body -> where its carried parameters sit
    for f in module.functions:
        for stmt in f.body:
            if isinstance(stmt, Loop):
                carried[stmt.body] = body_layout(stmt).carried
    order = _callers_first(module.functions, functions)
    changed = True
    while changed:
        changed = False
        through = {
            f.name: tuple(p.name for p in f.params if p.differentiable or p.name in fed[f.name])
            for f in module.functions
        }

        def feed(name: str, param: Param, atom, varied: set[str]) -> None:
            nonlocal changed
            if (
                (param.differentiable or param.by_default)
                and param.name not in fed[name]
                and any(n in varied for n in variables(atom))
            ):
                fed[name].add(param.name)
                changed = True

        for f in order:
            varied = set(fed[f.name])
            for stmt in f.body:
                if any(n in varied for n in differentiable_inputs(stmt, through, functions)):
                    varied.update(stmt.outs)
                for callee in callees(stmt):
                    for p, atom in arguments(stmt, functions[callee]):
                        feed(callee, p, atom, varied)
            if f.name in carried and isinstance(f.result, Seq):
                for p, item in zip(f.params[carried[f.name]], f.result.items):
                    feed(f.name, p, item, varied)
    return fed


def active_parameters(module: Module) -> dict[str, tuple[str, ...]]:
    """For each function, the parameters its pullback returns a cotangent for.

    Starts from every differentiable parameter (and each one declared not differentiable by
    its default that a caller feeds a derivative, `fed_derivatives`) and removes those the
    output does not depend on, until nothing changes (needed for recursion and calls
    between functions).
    """
    functions = {f.name: f for f in module.functions}
    fed = fed_derivatives(module)
    active = {
        f.name: tuple(p.name for p in f.params if p.differentiable or (p.by_default and p.name in fed[f.name]))
        for f in module.functions
    }
    # Loop-carried parameters stay active: their adjoints thread through the iterations.
    carried = {}
    for f in module.functions:
        for stmt in f.body:
            if isinstance(stmt, Loop):
                carried[stmt.body] = {p.name for p in functions[stmt.body].params[body_layout(stmt).carried]}
    while True:
        updated = {}
        for f in module.functions:
            needed = useful(f, active, functions) | carried.get(f.name, set())
            updated[f.name] = tuple(p for p in active[f.name] if p in needed)
        # Both arms of a branch return cotangents for the same parameters.
        for f in module.functions:
            for stmt in f.body:
                if isinstance(stmt, Branch):
                    union = set(updated[stmt.then]) | set(updated[stmt.orelse])
                    both = tuple(p.name for p in functions[stmt.then].params if p.name in union)
                    updated[stmt.then] = updated[stmt.orelse] = both
        if updated == active:
            return active
        active = updated


#: Primitives whose result has the structure of some of their arguments (positions): in
#: `--mode hvp` the forward pass's `dp_2 = _default_tangent(dp, p)` is a dict exactly when the
#: tangent `dp` and the parameter `p` are, so a dict read through `dp_2` makes `dp` a dict too.
SAME_STRUCTURE = {"dpgen.helpers._default_tangent": (0, 1), "dpgen.helpers._zero_tangent": (0,)}


def dict_variables(module: Module) -> dict[str, set[str]]:
    """For each function, the variables holding dicts of parameters (read as ``p["W1"]``).

    Their adjoints are dicts with the same keys, accumulated key by key. A variable is a
    dict when it is read with a constant string key, or passed to or returned from a
    parameter that is one, in any function of the module, or when it is the result or an
    argument of a `SAME_STRUCTURE` primitive whose result or arguments are.
    """
    functions = {f.name: f for f in module.functions}
    dicts: dict[str, set[str]] = {f.name: set() for f in module.functions}

    def links(stmt) -> list[tuple[str, str, str]]:
        """(callee, callee parameter, caller variable) pairs a statement connects."""
        pairs = [
            (callee, p.name, a.name)
            for callee in callees(stmt)
            for p, a in arguments(stmt, functions[callee])
            if isinstance(a, Var)
        ]
        if isinstance(stmt, Loop):  # a carried parameter also links to the value after the loop
            params = functions[stmt.body].params[body_layout(stmt).carried]
            pairs += [(stmt.body, p.name, out) for p, out in zip(params, stmt.carried)]
        return pairs

    changed = True
    while changed:
        changed = False
        for f in module.functions:
            for stmt in f.body:
                found = set()
                if isinstance(stmt, Eqn) and stmt.op == "dpgen.getkey" and isinstance(stmt.args[0], Var):
                    found.add((f.name, stmt.args[0].name))
                if isinstance(stmt, Eqn) and stmt.op in SAME_STRUCTURE:
                    same = [
                        *stmt.outs,
                        *(stmt.args[i].name for i in SAME_STRUCTURE[stmt.op] if isinstance(stmt.args[i], Var)),
                    ]
                    if any(var in dicts[f.name] for var in same):
                        found.update((f.name, var) for var in same)
                for callee, param, var in links(stmt):
                    if param in dicts[callee] and var not in dicts[f.name]:
                        found.add((f.name, var))
                    if var in dicts[f.name] and param not in dicts[callee]:
                        found.add((callee, param))
                for name, var in found:
                    if var not in dicts[name]:
                        dicts[name].add(var)
                        changed = True
    return dicts
