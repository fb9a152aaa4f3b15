"""Which public functions are provably holomorphic in their complex parameters (for `f_derivative`).

A function f of a complex z has a complex derivative f'(z) when it is holomorphic in z, and then
the pullback of the seed 1.0 is conj(f'(z)) (design: z_bar = w_bar * conj(f'(z))). dpgen writes
`f_derivative` only where it can prove that from the code: every primitive on the active path
from z to the output (varied from z and useful, as in `analysis.activity`) is holomorphic
(`Rule.holomorphic`), and every variable on that path may be complex. A real-typed variable on
the path (``z.real``, or ``z`` written into a real buffer) is a real projection: it breaks
holomorphy even where no primitive does. A primitive that carries no derivative (a comparison,
``np.shape``) is never on the path, so a branch on ``np.abs(z) < 1`` keeps f holomorphic (piecewise).

Calls, branch arms and loop bodies are checked inside, for the parameters the path feeds them and
the results it reads; a loop body's carried values feed the next iteration, found as a fixed point.
Recursion assumes the function being checked holomorphic: any breaking primitive is still met in
its body, on the path that reaches it.

When f is not holomorphic in z, the first breaking statement (in execution order) is reported:
the comment written in place of `f_derivative` names it.
"""

from __future__ import annotations

from dpgen import rules
from dpgen.analysis import activity, dtypes
from dpgen.ir import Branch, Call, Eqn, Function, HolomorphyBreak, Loop, Module, Seq, Stmt
from dpgen.ir.walk import arguments, body_layout, callees, variables

_Key = tuple[str, frozenset[str], frozenset[int]]


def _items(fn: Function) -> tuple:
    """The function's results by position (one position for a result that is not a tuple)."""
    return fn.result.items if isinstance(fn.result, Seq) else (fn.result,)


class _Holomorphy:
    """The check, memoized per (function, parameters on the path, results read)."""

    def __init__(self, module: Module):
        self.module = module
        self.functions = {f.name: f for f in module.functions}
        self.active = activity.active_parameters(module)
        self.complex_vars, self.complex_params = dtypes.complex_types(module)
        self.memo: dict[_Key, HolomorphyBreak | None] = {}
        self.in_progress: set[_Key] = set()
        self.assumed = 0  # how often recursion was assumed holomorphic: such answers are not memoized

    def inputs(self, stmt: Stmt) -> list[str]:
        return activity.differentiable_inputs(stmt, self.active, self.functions)

    def flow(self, fn: Function, seeds: set[str], wanted: set[int]) -> tuple[set[str], set[str]]:
        """(varied from `seeds`, useful for the results at `wanted`) inside `fn`."""
        varied = set(seeds)
        for stmt in fn.body:
            if any(n in varied for n in self.inputs(stmt)):
                varied.update(stmt.outs)
        useful = {n for k, item in enumerate(_items(fn)) if k in wanted for n in variables(item)}
        for stmt in reversed(fn.body):
            if any(out in useful for out in stmt.outs):
                useful.update(self.inputs(stmt))
        return varied, useful

    def seeds(self, stmt: Stmt, callee: Function, varied: set[str]) -> set[str]:
        """The callee's parameters the statement feeds a value varied from the path's start."""
        active = set(self.active[callee.name])
        return {
            p.name
            for p, atom in arguments(stmt, callee)
            if p.name in active and atom is not None and any(n in varied for n in variables(atom))
        }

    def wanted(self, stmt: Call | Branch, callee: Function, useful: set[str]) -> set[int]:
        """The callee's result positions the caller reads on the path (as `dtypes` maps them)."""
        positions = range(len(_items(callee)))
        if isinstance(callee.result, Seq) and (isinstance(stmt, Branch) or len(stmt.outs) > 1):
            return {k for k, out in zip(positions, stmt.outs) if out in useful}
        return set(positions) if any(out in useful for out in stmt.outs) else set()

    def loop(self, stmt: Loop, varied: set[str], useful: set[str]) -> HolomorphyBreak | None:
        """The body, with the carried values iteration feeds back: a carried result varied from
        the path makes its parameter a seed of the next iteration, and a carried parameter the
        wanted results read makes its result wanted by the iteration before."""
        body = self.functions[stmt.body]
        carried = body.params[body_layout(stmt).carried]
        seeds = self.seeds(stmt, body, varied)
        wanted = {k for k, out in enumerate(stmt.carried) if out in useful}
        while True:
            inner_varied, inner_useful = self.flow(body, seeds, wanted)
            items = _items(body)
            more_seeds = seeds | {
                p.name for k, p in enumerate(carried) if any(n in inner_varied for n in variables(items[k]))
            }
            more_wanted = wanted | {k for k, p in enumerate(carried) if p.name in inner_useful}
            if more_seeds == seeds and more_wanted == wanted:
                return self.check(body.name, seeds, wanted)
            seeds, wanted = more_seeds, more_wanted

    def check(self, name: str, seeds: set[str], wanted: set[int]) -> HolomorphyBreak | None:
        """The first statement of `name` (or of what it runs) that breaks holomorphy on the path
        from `seeds` to the results at `wanted`; None when every one is holomorphic."""
        key = (name, frozenset(seeds), frozenset(wanted))
        if key in self.memo:
            return self.memo[key]
        if key in self.in_progress:  # recursion: its body is being checked further up
            self.assumed += 1
            return None
        self.in_progress.add(key)
        assumed = self.assumed
        found = self.body(self.functions[name], seeds, wanted)
        self.in_progress.discard(key)
        if found is not None or self.assumed == assumed:
            self.memo[key] = found
        return found

    def body(self, fn: Function, seeds: set[str], wanted: set[int]) -> HolomorphyBreak | None:
        varied, useful = self.flow(fn, seeds, wanted)
        for stmt in fn.body:
            if not any(n in varied for n in self.inputs(stmt)) or not any(out in useful for out in stmt.outs):
                continue  # not on the path
            if isinstance(stmt, Eqn):
                found = None if rules.lookup(stmt.op).holomorphic else self.where(fn, stmt)
            elif isinstance(stmt, Loop):
                found = self.loop(stmt, varied, useful)
            else:
                found = None
                for callee_name in callees(stmt):
                    callee = self.functions[callee_name]
                    found = found or self.check(
                        callee_name, self.seeds(stmt, callee, varied), self.wanted(stmt, callee, useful)
                    )
            if found is None and any(
                out in varied and out in useful and out not in self.complex_vars[fn.name] for out in stmt.outs
            ):
                found = self.where(fn, stmt)  # a real projection: the imaginary direction is lost
            if found is not None:
                return found
        return None

    def where(self, fn: Function, stmt: Stmt) -> HolomorphyBreak:
        line = stmt.span.line
        return HolomorphyBreak("", f"{self.module.source_name}:{line}", dict(fn.statement_lines).get(line, ""))


def holomorphy(module: Module) -> dict[str, tuple[tuple[str, ...], tuple[HolomorphyBreak, ...]]]:
    """For each public function with a complex-typed parameter and a single (not tuple) result:
    its complex-typed parameters, in order, and per parameter in which it is not holomorphic the
    first statement that breaks it (no breaks: holomorphic in all of them)."""
    analysis = _Holomorphy(module)
    found = {}
    for f in module.functions:
        params = tuple(p.name for p in f.params if p.name in analysis.complex_params[f.name] and p.differentiable)
        if f.internal or f.returns_tuple or isinstance(f.result, Seq) or not params:
            continue
        breaks = []
        for param in params:
            if param in analysis.active[f.name]:
                where = analysis.check(f.name, {param}, {0})
                if where is not None:
                    breaks.append(HolomorphyBreak(param, where.location, where.text))
        found[f.name] = (params, tuple(breaks))
    return found
