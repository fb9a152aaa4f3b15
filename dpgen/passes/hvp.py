"""Hessian-vector products: reverse mode over forward mode, composed in the IR.

``f_hvp(x, v) = H(x) v`` is the gradient of the directional derivative ``<grad f(x), v>``,
which is the tangent `f_jvp(x, v)` returns. So the forward pass's output is turned into
ordinary core IR (`dpgen.passes.unjvp`) and differentiated by the reverse pass: reverse over
forward. That costs a small multiple of `f_grad`, like forward over reverse, and uses only
the passes the tests already cover for user programs, so a second derivative is exactly as
correct as a first one. No text is rendered and read back, so every equation keeps the span
of the user's statement it came from.

The composition runs in this order because the forward pass's output is plain equations,
while the reverse pass's pullbacks are closures over a tape.

Complex parameters: the tangent parameters unjvp makes carry `Param.complex` from their
primals, so the reverse pass types them, and ``f_hvp(z, v)`` of a real-valued f is
``d/dt grad f(z + t v)`` at 0 in the convention grad = df/dx + i df/dy. A function whose
output may be complex gets a run-time check that it is real.
"""

from __future__ import annotations

from dpgen.analysis.dtypes import complex_constants, complex_types, may_be_complex
from dpgen.errors import DiagnosticSink
from dpgen.ir import DefaultTangent, HvpFunction, HvpModule, JvpFunction, JvpModule, Module, Seq
from dpgen.passes.checkpoint import checkpoint
from dpgen.passes.reverse import reverse
from dpgen.passes.simplify import simplify
from dpgen.passes.unjvp import unjvp


def hvp(module: Module, jvp: JvpModule, sink: DiagnosticSink) -> HvpModule:
    """Differentiate `jvp`, the forward-mode module of `module`, in reverse mode."""
    tangents = unjvp(jvp, sink)
    sink.raise_if_any()
    # The inner module's loops are the source loops (unjvp keeps their pragmas): checkpointed too.
    inner = checkpoint(simplify(reverse(tangents, sink)), sink)
    sink.raise_if_any()
    recorded = {f.source.name: f.recorded for f in inner.functions if f.recorded}
    functions = []
    by_name = {f.source.name: f for f in jvp.functions}
    complex_vars = complex_types(module)[0]
    constants = complex_constants(module)
    for f in module.functions:
        if f.internal or f.returns_tuple or isinstance(f.result, Seq):
            continue  # a Hessian needs a real-scalar function
        fn = by_name[f.name]
        has_tangent = tuple(p.name in _tangent_params(fn) for p in f.params)
        complex_output = may_be_complex(f.result, complex_vars[f.name], constants)
        # A checkpointed f: f_hvp calls the recorded vjp of f_jvp (checkpointing the whole
        # Hessian-vector product would only run f_jvp twice), so it checks its arguments itself.
        vjp_name = recorded.get(fn.name, f"{f.name}_jvp_vjp")
        functions.append(HvpFunction(f, f"{f.name}_hvp", vjp_name, has_tangent, complex_output, fn.name in recorded))
    return HvpModule(inner, tuple(functions), tangents)


def _tangent_params(fn: JvpFunction) -> set[str]:
    """The parameters whose tangents f_jvp reads (its None checks say which)."""
    return {stmt.like.name for stmt in fn.body if isinstance(stmt, DefaultTangent)}
