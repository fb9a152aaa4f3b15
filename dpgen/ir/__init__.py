"""The intermediate representation every pass after `lower` reads and writes.

A function is a list of equations in A-normal form: each `Eqn` applies one primitive
(named by its qualified name, e.g. ``numpy.multiply``) to atoms (variables or constants)
and binds fresh names. Variables are never rebound (the lowering renames reassignments),
so a pullback can read any forward value by name without a tape in straight-line code.

The reverse pass adds the pullback statements at the bottom of this file. All classes
are frozen: a pass returns a new IR value, it never edits the one it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from dpgen.errors import Span

# ----------------------------------------------------------------------------- atoms


@dataclass(frozen=True)
class Var:
    """A variable bound by a parameter or an equation."""

    name: str  #: unique within its function


@dataclass(frozen=True)
class Const:
    """A value known when the code is generated, kept as Python source text."""

    text: str  #: a literal or constant expression, e.g. ``2.0``, ``None``, ``np.pi``


@dataclass(frozen=True)
class Seq:
    """A tuple or list display whose items are atoms, e.g. ``[a, b]`` in ``np.stack([a, b])``."""

    items: tuple["Atom", ...]  #: the elements, in order
    is_list: bool = False  #: render with brackets instead of parentheses


@dataclass(frozen=True)
class SliceAtom:
    """``start:stop:step`` inside a subscript; a missing part is None."""

    start: "Atom | None"
    stop: "Atom | None"
    step: "Atom | None"


@dataclass(frozen=True)
class Index:
    """The subscript of ``x[...]``: atoms, slices, ``None`` (new axis) or ``...``."""

    items: tuple["Atom | SliceAtom", ...]  #: one entry per comma-separated element
    is_tuple: bool  #: written with a comma (``x[i, j]`` or ``x[i,]``)


Atom = Union[Var, Const, Seq, Index]

# ----------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Eqn:
    """``outs = op(*args, **kwargs)`` for one primitive from the rule table."""

    outs: tuple[str, ...]  #: names bound (several when the source unpacks a tuple)
    op: str  #: qualified name of the primitive, the key into the rule table
    args: tuple[Atom, ...]  #: positional arguments, as written
    kwargs: tuple[tuple[str, Atom], ...]  #: keyword arguments, as written
    span: Span  #: the source statement this equation came from


@dataclass(frozen=True)
class Call:
    """``outs = callee(*args, **kwargs)`` for a function defined in the same module."""

    outs: tuple[str, ...]  #: names bound; several when the callee returns a tuple
    callee: str  #: the callee's name in the source module
    args: tuple[Atom, ...]
    kwargs: tuple[tuple[str, Atom], ...]
    span: Span


@dataclass(frozen=True)
class Test:
    """The test of an ``if`` or ``while``: non-differentiable equations rendered as one inline
    expression (so ``and``/``or`` keep short-circuiting); a ``while`` test reads the carried names."""

    body: tuple["Eqn", ...]  #: non-differentiable equations computing the test
    result: Atom  #: the test's value


@dataclass(frozen=True)
class Branch:
    """``if cond`` with each arm outlined into an internal function of the same signature.

    Both arms take `inputs` and return the values of `outs`; the pullback of whichever
    arm ran is what the reverse pass stores, so the branch decision needs no flag.
    """

    test: "Test"  #: evaluated inline in the forward sweep
    then: str  #: internal function for the true arm
    orelse: str  #: internal function for the false arm
    inputs: tuple[Atom, ...]  #: arguments of both arms
    outs: tuple[str, ...]  #: names bound after the ``if``
    span: Span


@dataclass(frozen=True)
class ForRange:
    """``for i in range(*args)``."""

    args: tuple[Atom, ...]


@dataclass(frozen=True)
class ForEach:
    """``for x in xs``, ``zip(xs, ys)``, ``enumerate(xs)``, ``reversed(xs)``: rows or items."""

    sequences: tuple[Atom, ...]  #: what is iterated, one per zipped sequence
    enumerate: bool  #: the first target is the position
    reverse: bool  #: iterated back to front


@dataclass(frozen=True)
class Loop:
    """A ``for`` or ``while`` loop whose body is outlined into an internal function.

    The body function takes (targets..., carried..., invariants...) and returns the new
    carried values (plus a stop flag when the body can ``break``).
    """

    body: str  #: internal function for one iteration
    over: "ForRange | ForEach | Test"
    targets: tuple[str, ...]  #: loop variables, bound each iteration (empty for while)
    carried: tuple[str, ...]  #: names of the carried values inside the loop and after it
    sources: tuple[str, ...]  #: the source names of the carried values, for naming
    init: tuple[Atom, ...]  #: the carried values on entry
    invariants: tuple[Atom, ...]  #: values the body reads but never rebinds
    breaks: bool  #: the body returns a flag saying whether it hit ``break``
    span: Span

    @property
    def outs(self) -> tuple[str, ...]:
        """The names the loop binds: the carried values after the last iteration."""
        return self.carried


Stmt = Union[Eqn, Call, Branch, Loop]


@dataclass(frozen=True)
class Param:
    """A positional-or-keyword parameter of a source function."""

    name: str
    default: Const | None  #: default value, if any
    differentiable: bool  #: False for parameters declared int/bool/str (by annotation or default)
    scalar: bool = False  #: annotated ``float`` (or int): a scalar, so nothing broadcasts it
    by_default: bool = False  #: not differentiable only because of a literal default (``n=2``)


@dataclass(frozen=True)
class Function:
    """One source function, lowered to equations."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    result: Atom  #: what the function returns: a Var, a Const, or a Seq for a tuple
    span: Span  #: the ``def`` line
    statement_lines: tuple[tuple[int, str], ...]  #: (line, source text) of statements, for comments
    taken_names: frozenset[str]  #: every name used in the function, for fresh names later
    internal: bool = False  #: outlined from a loop body or branch arm: no contract names, no f_grad
    returns_tuple: bool = False  #: some ``return`` gives a tuple: no f_grad
    description: str = ""  #: for internal functions: what they are, e.g. "one iteration of the for loop at line 4"


@dataclass(frozen=True)
class Module:
    """A lowered source module."""

    source_name: str  #: file name for comments and the header (no directories)
    prelude: tuple[str, ...]  #: module-level constants copied verbatim, e.g. ``SCALE = 2.0``
    functions: tuple[Function, ...]


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
    """A derivative expression from the rule table with its names bound to atoms."""

    text: str  #: Python expression over the names in `bindings`, ``np`` and helper names
    bindings: tuple[tuple[str, Atom], ...]  #: template name -> atom


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


# ---------------------------------------------------------------- forward-mode output


@dataclass(frozen=True)
class Apply:
    """A primitive applied to atoms, rendered as the source would write it: the tangent of a
    linear primitive is the primitive itself, applied to tangents (``np.sum(dx, axis=1)``)."""

    op: str
    args: tuple[Atom, ...]
    kwargs: tuple[tuple[str, Atom], ...]


@dataclass(frozen=True)
class SetTangent:
    """``target = term + term + ...``: the tangent of one equation's output."""

    target: str
    terms: tuple["Template | Apply", ...]
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


@dataclass(frozen=True)
class JvpModule:
    """The forward-mode module: one `JvpFunction` per source function."""

    source: Module
    functions: tuple[JvpFunction, ...]
