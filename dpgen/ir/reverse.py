"""Reverse-mode IR: the forward sweep's statements and the pullback's adjoint statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from dpgen.ir.core import Expr, Var, Const, Seq, Index, Atom, Eqn, Call, Branch, Loop, Function, Module

# ---------------------------------------------------------------- reverse-mode output


@dataclass(frozen=True)
class VjpCall:
    """``outs, pullback = callee_vjp(...)``: a module call in the forward sweep."""

    call: Call  #: the source call
    pullback: str  #: the variable that holds the callee's pullback


@dataclass(frozen=True)
class VjpBranch:
    """``if test: outs, pullback = then_vjp(...) else: ...``."""

    branch: Branch
    pullback: str  #: the variable that holds the arm's pullback


@dataclass(frozen=True)
class VjpLoop:
    """The loop in the forward sweep: each iteration appends its pullback to a list."""

    loop: Loop
    pullbacks: str  #: the list of per-iteration pullbacks ("_" when none is needed)
    pullback: str  #: the variable for one iteration's pullback
    flag: str  #: the variable for the body's break flag ("" without break)


@dataclass(frozen=True)
class Template:
    """A derivative expression from the rule table with its holes bound to atoms."""

    expr: "Expr"  #: a tree (see `dpgen.ir.core.Apply`) whose `Hole` names are bound in `bindings`
    bindings: tuple[tuple[str, Atom], ...]  #: hole name -> atom


@dataclass(frozen=True)
class SetAdjoint:
    """``target = value`` (first contribution) or ``target = target + value`` (accumulate)."""

    target: str  #: the adjoint variable, e.g. ``W1_bar``
    value: Template
    accumulate: bool
    is_dict: bool = False  #: a dict of cotangents: accumulate key by key
    in_place: bool = False  #: accumulate as ``target += value``: the pullback owns target's array


@dataclass(frozen=True)
class UnpackAdjoints:
    """``a_bar, _, c_bar = value``: a rule or pullback that yields one cotangent per input."""

    targets: tuple[str | None, ...]  #: None for inputs that need no cotangent
    value: Template


@dataclass(frozen=True)
class ZerosAdjoint:
    """``target = np.zeros_like(like)``: a fresh buffer that index updates may write into."""

    target: str
    like: Var
    is_dict: bool = False  #: zeros for every value of a dict
    assigned: tuple[str, ...] = ()  #: dict keys (source text) whose first contribution replaces the zeros: none made


@dataclass(frozen=True)
class CopyAdjoint:
    """``target = target.copy()``: before an in-place update of an adjoint that may share memory."""

    target: str
    is_dict: bool = False  #: a dict: its entries are copied as well


@dataclass(frozen=True)
class KeyAddAdjoint:
    """``target[key] = target[key] + value`` for a dict of cotangents this pullback owns."""

    target: str
    key: Const
    value: str
    first: bool = False  #: the entry still holds zeros: ``target[key] = value``


@dataclass(frozen=True)
class IndexAddAdjoint:
    """``target[index] += value`` (``np.add.at`` when the index may repeat elements)."""

    target: str
    index: Index
    value: str  #: the adjoint variable added in
    may_repeat: bool  #: the index holds a variable, which may be an integer array


@dataclass(frozen=True)
class Comment:
    """A comment naming the source line the following statements reverse."""

    text: str


@dataclass(frozen=True)
class ZeroIndexAdjoint:
    """``target = source.copy(); target[index] = 0``: the adjoint of an array before ``x[index] = v``.

    When `target` is `source` (an adjoint this pullback owns) the slot is zeroed in place.
    """

    target: str
    source: str
    index: Index


@dataclass(frozen=True)
class AddInPlace:
    """``target += value`` on an adjoint this pullback owns (a zero buffer it made)."""

    target: str
    value: str
    is_dict: bool = False  #: a dict of cotangents: key by key


@dataclass(frozen=True)
class ReverseLoop:
    """Replays a loop's pullbacks backwards:

    ``for index in reversed(range(len(pullbacks))): targets = pullbacks[index](seed)``
    then `body` (accumulations into adjoints of invariants and iterated sequences).
    """

    index: str
    pullbacks: str
    targets: tuple[str | None, ...]  #: one per body parameter
    seed: "Seq"  #: the carried adjoints, threaded through the iterations
    body: tuple["AdjointStmt", ...]


AdjointStmt = Union[
    SetAdjoint,
    UnpackAdjoints,
    ZerosAdjoint,
    CopyAdjoint,
    IndexAddAdjoint,
    KeyAddAdjoint,
    ZeroIndexAdjoint,
    AddInPlace,
    ReverseLoop,
    Comment,
]


@dataclass(frozen=True)
class VjpFunction:
    """``f_vjp``: the forward sweep, then the pullback closure over its values."""

    source: Function  #: the function being differentiated
    name: str  #: ``f_vjp``
    pullback_name: str  #: ``f_pullback``
    grad_name: str  #: ``f_grad``
    forward: tuple["Eqn | VjpCall | VjpBranch | VjpLoop", ...]  #: the forward sweep
    seed: str  #: the pullback's parameter, the output cotangent (``out_bar``)
    seed_unpack: tuple | None  #: for tuple outputs, the adjoint names to unpack into (nested for lists; None: none)
    backward: tuple[AdjointStmt, ...]  #: the pullback body
    cotangents: tuple[str | None, ...]  #: per parameter: its adjoint name, or None


@dataclass(frozen=True)
class VjpModule:
    """The reverse-mode module: one `VjpFunction` per source function."""

    source: Module
    functions: tuple[VjpFunction, ...]
