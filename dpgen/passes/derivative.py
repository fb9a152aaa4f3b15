"""`f_derivative` in the reverse-mode IR: which public functions get one, and why the others do not.

A public function with complex-typed parameters gets a `Derivative` on its `VjpFunction`: the
renderer writes ``f_derivative`` (the conjugate of the pullback's cotangents for the seed 1.0)
when `analysis.holomorphy` proves the function holomorphic in every complex parameter, and a
comment naming the statement that breaks holomorphy otherwise. Functions without complex
parameters are left as they are, so real modules generate the same text as before.
"""

from __future__ import annotations

import dataclasses

from dpgen.analysis.activity import dict_variables
from dpgen.analysis.holomorphy import holomorphy
from dpgen.ir import Derivative, VjpModule


def derivatives(vjp: VjpModule) -> VjpModule:
    """The reverse-mode module with `VjpFunction.derivative` set where complex parameters ask for it."""
    found = holomorphy(vjp.source)
    dicts = dict_variables(vjp.source)
    functions = []
    for fn in vjp.functions:
        if fn.source.name in found:
            params, breaks = found[fn.source.name]
            complex_ = tuple(p.name in params for p in fn.source.params)
            # f_derivative passes complex parameters as complex arrays and conjugates their
            # cotangents: numbers and arrays only (a dict's derivative is its f_grad's business).
            held = sorted(p for p in params if p in dicts[fn.source.name])
            unsupported = f"'{held[0]}' holds a dict (f_derivative takes numbers and arrays)" if held else ""
            derivative = Derivative(f"{fn.source.name}_derivative", complex_, breaks, unsupported)
            fn = dataclasses.replace(fn, derivative=derivative)
        functions.append(fn)
    return dataclasses.replace(vjp, functions=tuple(functions))
