"""Hessian-vector products: dpgen applied to its own forward-mode output.

``f_hvp(x, v) = H(x) v`` is the gradient of the directional derivative ``<grad f(x), v>``,
which is the tangent `f_jvp(x, v)` returns. So the forward-mode module is rendered, read
back through the ordinary front end (its helpers are primitives, see `dpgen.frontend.own_helpers`)
and differentiated in reverse mode: reverse over forward. That costs a small multiple of
`f_grad`, like forward over reverse, and uses only code paths the tests already cover
for user programs, so a second derivative is exactly as correct as a first one.

The reverse-mode output is not read back (its pullbacks are closures, which the front
end does not read yet), which is why the composition runs in this order.
"""

from __future__ import annotations

import re

from dpgen.errors import DiagnosticSink, Span
from dpgen.frontend.fence import fence
from dpgen.ir import Call, DefaultTangent, JvpFunction, JvpModule, Module, Seq
from dpgen.frontend.lower import lower
from dpgen.frontend.own_helpers import own_helpers
from dpgen.passes.reverse import reverse
from dpgen.passes.simplify import simplify
from dpgen.frontend.source import Source, parse
from dpgen.ir.hvp import HvpFunction, HvpModule  # the nodes this pass builds (pipeline imports them here)


def hvp(module: Module, jvp: JvpModule, jvp_text: str, source_path: str) -> HvpModule:
    """Differentiate `jvp_text`, the rendered forward-mode module of `module`, in reverse mode."""
    source = Source(f"{module.source_name.removesuffix('.py')}_jvp.py", jvp_text)
    sink = DiagnosticSink(source.path)
    parsed = parse(source)
    helpers = own_helpers(parsed)
    lowered = lower(parsed, sink, skip=fence(parsed, sink, helpers), helpers=helpers)
    inner = None
    if not sink.diagnostics:
        inner = simplify(reverse(lowered, sink))
    if sink.diagnostics:
        # A construct of the forward-mode code the front end does not read back yet (the one
        # known today: unpacking `(a, b), (da, db) = g_jvp(...)` from a function returning a tuple).
        first = sorted(sink.diagnostics, key=lambda d: (d.span.line, d.span.col))[0]
        outer = DiagnosticSink(source_path)
        where = _source_span(module, jvp, jvp_text, first.span.line)
        outer.error(
            where,
            f"--mode hvp cannot differentiate the forward-mode code of this statement again (its line {first.span.line}: {first.message})",
        )
        outer.raise_if_any()
    functions = []
    tangents = {f.source.name: f for f in jvp.functions}
    for f in module.functions:
        if f.internal or f.returns_tuple or isinstance(f.result, Seq):
            continue  # a Hessian needs a real-scalar function
        fn = tangents[f.name]
        has_tangent = tuple(p.name in _tangent_params(fn) for p in f.params)
        functions.append(HvpFunction(f, f"{f.name}_hvp", f"{f.name}_jvp_vjp", has_tangent))
    return HvpModule(inner, tuple(functions))


def _source_span(module: Module, jvp: JvpModule, jvp_text: str, line: int) -> Span:
    """Where in the user's source the forward-mode code's `line` comes from.

    The enclosing ``def`` names a forward-mode function, hence its source function; within
    it, the first call of a function returning a tuple is the construct not read back yet.
    """
    enclosing = next((m[1] for text in reversed(jvp_text.split("\n")[:line]) if (m := _DEF.match(text))), None)
    tuple_functions = {f.name for f in module.functions if f.returns_tuple}
    for fn in jvp.functions:
        if fn.name == enclosing:
            calls = [stmt for stmt in fn.source.body if isinstance(stmt, Call) and stmt.callee in tuple_functions]
            return calls[0].span if calls else fn.source.span
    return Span(1, 1)


_DEF = re.compile(r"def (\w+)\(")


def _tangent_params(fn: JvpFunction) -> set[str]:
    """The parameters whose tangents f_jvp reads (its None checks say which)."""
    return {stmt.like.name for stmt in fn.body if isinstance(stmt, DefaultTangent)}
