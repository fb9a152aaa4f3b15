"""Reverse-mode IR: the forward sweep's statements and the pullback's adjoint statements.

Residuals are data here. Every `VjpFunction` (a source function, a loop body or a branch arm)
names the forward values its backward half reads (`residuals`, and `shape_residuals` for the
ones read only for their shape and dtype); a call or an arm records the residuals of the
pullback it keeps, and one `VjpLoop` node owns both halves of a loop with the per-iteration
residuals its tape stacks. The NumPy backend still renders closures that read these values by
name; a JAX backend can return them from a `custom_vjp` forward half and stack them for
`lax.scan`; `dpgen.passes.checkpoint` has a checkpointed loop recompute them from stored states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from dpgen.errors import Span
from dpgen.ir.core import Expr, Var, Const, Seq, Index, Atom, Eqn, Call, Branch, Loop, Function, Module, Checkpoint

# ---------------------------------------------------------------- reverse-mode output


@dataclass(frozen=True)
class VjpCall:
    """``outs, pullback = callee_vjp(...)``: a module call in the forward sweep."""

    call: Call  #: the source call
    pullback: str  #: the variable that holds the callee's pullback
    residuals: tuple[str, ...] = ()  #: what that pullback holds: the callee's residuals (its names)


@dataclass(frozen=True)
class VjpBranch:
    """``if test: outs, pullback = then_vjp(...) else: ...``."""

    branch: Branch
    pullback: str  #: the variable that holds the arm's pullback
    then_residuals: tuple[str, ...] = ()  #: what that pullback holds when the true arm ran (its names)
    orelse_residuals: tuple[str, ...] = ()  #: ... when the false arm ran


@dataclass(frozen=True)
class LoopCheckpoint:
    """How a checkpointed loop keeps its tape (set by `dpgen.passes.checkpoint`).

    Instead of one pullback per iteration, the tape keeps a few states of the loop (the
    carried values before a step) and recomputes the others' pullbacks from them when the
    replay needs them: ``"revolve"`` for a loop whose trip count is known on entry (a ``for``
    without ``break``: Griewank and Walther's binomial schedule), ``"online"`` for one whose
    trip count is not (``while``, or ``break``)."""

    schedule: str  #: "revolve" | "online"
    snapshots: int | None  #: the snapshot budget; None: chosen at run time from the trip count (auto)
    span: Span  #: where the pragma is, for the comment the rendering writes


@dataclass(frozen=True)
class VjpLoop:
    """Both halves of a loop: the forward iterations and the reverse replay.

    Forward (in `VjpFunction.forward`): each iteration runs the body's forward half and
    appends what its backward half needs to the tape `pullbacks`: per iteration, the body's
    `residuals`. Reverse (`replay`): the tape is replayed back to front. The same node object
    also stands in `VjpFunction.backward` where the replay runs, so a pass reading either
    place sees both halves; `dpgen.analysis.residuals.attach` restores that identity after a
    pass rewrote one of the places.
    """

    loop: Loop
    pullbacks: str  #: the tape: one entry per iteration ("_" when none is needed)
    pullback: str  #: the variable for one iteration's pullback
    flag: str  #: the variable for the body's break flag ("" without break)
    replay: "ReverseLoop | None" = None  #: the reverse half (None when the tape is not needed)
    residuals: tuple[str, ...] = ()  #: per iteration, the body's residuals: what a scan would stack
    invariant_residuals: tuple[str, ...] = ()  #: those of `residuals` equal in every iteration (invariants)
    shape_residuals: tuple[str, ...] = ()  #: per iteration, the body's values read only for shape and dtype
    #: Checkpointed (`pullbacks` is then a tape object that stores states, not pullbacks): the
    #: per-iteration `residuals` above are recomputed from stored states, not stored.
    checkpoint: LoopCheckpoint | None = None


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
    complex: bool = False  #: complex zeros: `like` may be complex (and real at run time)


@dataclass(frozen=True)
class CopyAdjoint:
    """``target = target.copy()``: before an in-place update of an adjoint that may share memory."""

    target: str
    is_dict: bool = False  #: a dict: its entries are copied as well
    complex: bool = False  #: copied into a complex array: complex cotangents are added in place


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
    """The reverse half of a `VjpLoop`, replaying its tape backwards:

    ``for index in reversed(range(len(tape))): targets = tape[index](seed)``
    then `body` (accumulations into adjoints of invariants and iterated sequences).
    """

    index: str
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
    VjpLoop,  #: where the loop's replay runs (its `replay`)
    Comment,
]


@dataclass(frozen=True)
class HolomorphyBreak:
    """Where a function stops being holomorphic in one of its complex parameters."""

    param: str  #: the complex parameter whose path meets the statement
    location: str  #: ``model.py:7``
    text: str  #: the source statement there (user text: rendered escaped)


@dataclass(frozen=True)
class Derivative:
    """``f_derivative``: the complex derivative f'(z) of a function holomorphic in its complex
    parameters, the conjugate of the pullback's cotangents for the seed 1.0; or, when it is not
    holomorphic, why it is not written (`breaks`)."""

    name: str  #: ``f_derivative``
    complex: tuple[bool, ...]  #: per parameter: complex-typed, so the derivative has an entry for it
    breaks: tuple[HolomorphyBreak, ...] = ()  #: not empty: not holomorphic, no f_derivative
    #: Not empty: why no f_derivative is written although nothing breaks holomorphy (a dict parameter).
    unsupported: str = ""


@dataclass(frozen=True)
class VjpFunction:
    """``f_vjp`` split in two: the forward half (`forward`, which also hands over `residuals`)
    and the backward half (`backward`, which reads only the residuals and its cotangent `seed`).
    NumPy renders the backward half as the pullback closure over the forward half's names."""

    source: Function  #: the function being differentiated
    name: str  #: ``f_vjp``
    pullback_name: str  #: ``f_pullback``
    grad_name: str  #: ``f_grad``
    forward: tuple["Eqn | VjpCall | VjpBranch | VjpLoop", ...]  #: the forward sweep
    seed: str  #: the pullback's parameter, the output cotangent (``out_bar``)
    seed_unpack: tuple | None  #: for tuple outputs, the adjoint names to unpack into (nested for lists; None: none)
    backward: tuple[AdjointStmt, ...]  #: the pullback body
    cotangents: tuple[str | None, ...]  #: per parameter: its adjoint name, or None
    #: The forward values `backward` reads (parameters and forward-sweep names, in that order,
    #: pullbacks and tapes included): what the forward half hands the backward half.
    residuals: tuple[str, ...] = ()
    #: Forward values `backward` reads only for their shape and dtype (``zeros_like(x)``,
    #: ``unbroadcast(g, x)``): no array needs keeping for them; not in `residuals`.
    shape_residuals: tuple[str, ...] = ()
    #: ``f_derivative`` for a public function with complex parameters (None: none, and no comment).
    derivative: Derivative | None = None
    #: A checkpointed def (`dpgen.passes.checkpoint`): `name` keeps only the inputs (then its
    #: `residuals` are the parameters) and its pullback reruns `recorded`, this function's
    #: ordinary vjp (`forward` and `backward`) under an internal name.
    checkpoint: Checkpoint | None = None
    recorded: str = ""  #: ``_f_vjp_recorded`` when checkpointed


@dataclass(frozen=True)
class VjpModule:
    """The reverse-mode module: one `VjpFunction` per source function."""

    source: Module
    functions: tuple[VjpFunction, ...]
