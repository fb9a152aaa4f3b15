"""Forward-mode IR: tangent statements and the JVP functions that hold them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from dpgen.ir.core import Apply, Var, Atom, Eqn, Call, Branch, Loop, Function, Module
from dpgen.ir.reverse import Template

# ---------------------------------------------------------------- forward-mode output


@dataclass(frozen=True)
class SetTangent:
    """``target = term + term + ...``: the tangent of one equation's output."""

    target: str
    terms: tuple["Template | Apply", ...]  #: a rule's contribution, or the primitive applied to tangents (linear)
    like: Var | None = None  #: the output, when the terms may not cover its full (broadcast) shape


@dataclass(frozen=True)
class ZeroTangent:
    """``target = _zero_tangent(like)``: zeros where a linear primitive needs a tangent for a constant."""

    target: str
    like: Atom


@dataclass(frozen=True)
class DefaultTangent:
    """``if target is None: target = _zero_tangent(like)``: a caller's None means a zero tangent."""

    target: str
    like: Var


@dataclass(frozen=True)
class JvpCall:
    """``outs, douts = callee_jvp(args..., dargs...)``."""

    call: Call
    tangents: tuple[Atom, ...]  #: one per callee parameter (``None`` where it has no tangent)
    douts: tuple[str, ...]  #: tangent names, mirroring `call.outs` ("_" where unused)


@dataclass(frozen=True)
class JvpBranch:
    """``if test: outs, douts = then_jvp(inputs..., dinputs...) else: ...``."""

    branch: Branch
    tangents: tuple[Atom, ...]  #: tangents of the inputs the arms take tangents for
    douts: tuple[str, ...]  #: tangent names of the outputs that carry one


@dataclass(frozen=True)
class JvpLoop:
    """The loop, with the carried values' tangents threaded through every iteration."""

    loop: Loop
    rows: tuple[tuple[str, Atom] | None, ...]  #: per loop target: (tangent name, tangent sequence), or None
    dcarried: tuple[str | None, ...]  #: per carried value: its tangent's name, or None
    dinit: tuple[Atom | None, ...]  #: per carried value: its tangent on entry
    tangents: tuple[Atom, ...]  #: the tangents passed to the body, in its tangent-parameter order
    flag: str  #: the variable for the body's break flag ("" without break)


JvpStmt = Union[Eqn, JvpCall, JvpBranch, JvpLoop, SetTangent, ZeroTangent, DefaultTangent]


@dataclass(frozen=True)
class JvpFunction:
    """``f_jvp``: the values and their tangents, statement by statement."""

    source: Function
    name: str  #: ``f_jvp``
    tangent_params: tuple[str, ...]  #: the tangent parameters after the primal ones (``dx``, ...)
    body: tuple[JvpStmt, ...]
    result: Atom  #: the primal result
    dresult: Atom  #: its tangent (a Seq of the returned positions for internal functions)
    #: per source parameter, its tangent parameter (None where it takes none); for `dpgen.passes.unjvp`
    param_tangents: tuple[str | None, ...] = ()
    #: tangent parameters the public entry checks are real: those of real parameters, in a
    #: module with complex values (a complex tangent there would lose its imaginary part)
    real_tangents: tuple[str, ...] = ()


@dataclass(frozen=True)
class JvpModule:
    """The forward-mode module: one `JvpFunction` per source function."""

    source: Module
    functions: tuple[JvpFunction, ...]
