"""Hessian-vector-product IR: the reverse-mode module of the forward-mode one, plus ``f_hvp``.

Moved here from `dpgen.passes.hvp`, which builds these nodes, so that rendering reads node types
from the IR and never imports a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from dpgen.ir.core import Function, Module
from dpgen.ir.reverse import VjpModule


@dataclass(frozen=True)
class HvpFunction:
    """``f_hvp(primals..., directions...)``: calls the vjp of `f_jvp` with the seed (0, 1)."""

    source: Function
    name: str  #: ``f_hvp``
    vjp_name: str  #: ``f_jvp_vjp`` (``_f_jvp_vjp_recorded`` when f is checkpointed)
    differentiable: tuple[bool, ...]  #: per parameter: whether the Hessian has a row for it
    #: the output may be complex (`dpgen.analysis.dtypes`): f_hvp checks at run time that it is
    #: real, since a Hessian needs a real-scalar function
    complex_output: bool = False
    #: f is a checkpointed def: `vjp_name` is the recorded vjp, which checks no argument, so
    #: f_hvp checks them itself
    checkpointed: bool = False


@dataclass(frozen=True)
class HvpModule:
    """The reverse-mode module of the forward-mode module, plus one `f_hvp` per scalar function."""

    inner: VjpModule
    functions: tuple[HvpFunction, ...]
    tangents: Module | None = None  #: the forward IR as core IR, which `inner` differentiates (for --dump-after)
