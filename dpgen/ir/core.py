"""The core IR: atoms, equations, control flow, functions and modules (what `lower` builds)."""

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
    """A literal known when the code is generated, kept as the user's source text."""

    text: str  #: a literal, e.g. ``2.0``, ``None``, ``'ij,jk->ik'``, ``(0, 1)``, or a module constant's name


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


#: An argument of an equation. Besides variables and literal text, a constant may be a named
#: constant (`Global`, ``numpy.pi``) or arithmetic on constants (an `Apply`, ``2 * np.pi``),
#: and the passes write ``np.zeros_like(out)`` as an `Apply` too.
Atom = Union[Var, Const, Seq, Index, "Global", "Apply"]

# ------------------------------------------------------------------- expressions
# Derivative expressions (rule bodies, adjoint and tangent values) are trees: a primitive,
# named by its qualified name, applied to atoms, literals, qualified names, rule holes or
# other applications. `Seq` and `Index` may hold expressions too (``(len(xs),)``, ``g[:-1]``).
# A tree is never source text: the renderer prints it, infix where the primitive has an
# operator. Smart constructors and walkers live in `dpgen.ir.expr`.


@dataclass(frozen=True)
class Hole:
    """A name of a rule expression bound when the rule is applied: ``g`` (the cotangent),
    ``t`` (a tangent), ``ans`` (the output), a parameter of the rule's signature, or
    ``operands_0`` (element 0 of a list or ``*`` parameter)."""

    name: str


@dataclass(frozen=True)
class Lit:
    """A Python literal in a rule: a number, a string, True/False or None."""

    value: object


@dataclass(frozen=True)
class Global:
    """A module-level value by qualified name, e.g. ``numpy.pi`` or ``math.e``."""

    name: str


@dataclass(frozen=True)
class Apply:
    """A primitive applied to expressions: ``numpy.multiply(g, numpy.cos(x))``.

    `op` is a qualified name: a NumPy or ``math`` function, ``builtins.len``, a backend
    helper (``dpgen.helpers._unbroadcast``) or one of the structural primitives
    ``dpgen.getitem`` (``a[index]``), ``dpgen.getattr`` (``a.mT``, the name a `Lit`) and
    ``dpgen.call`` (a bound callable applied to the other arguments: ``pullback(seed)``).
    """

    op: str
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...] = ()


Expr = Union[Var, Const, Seq, Index, Hole, Lit, Global, Apply]

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
class Checkpoint:
    """A `# dpgen: checkpoint` pragma read from the source (see `dpgen.frontend.pragmas`).

    Recorded on the `Function` or `Loop` it stands on; `dpgen.passes.checkpoint` applies it."""

    snapshots: int | None  #: ``snapshots=N``; None for ``snapshots=auto`` (and always for a def)
    span: Span  #: where the pragma comment is


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
    checkpoint: Checkpoint | None = None  #: a ``# dpgen: checkpoint`` pragma on the loop

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
    #: Annotated complex (``z: complex``, ``NDArray[np.complex128]``) or with a complex default:
    #: it may hold complex values. Any other parameter is real, checked on entry at run time.
    complex: bool = False


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
    checkpoint: Checkpoint | None = None  #: a ``# dpgen: checkpoint`` pragma on the ``def``


@dataclass(frozen=True)
class Module:
    """A lowered source module."""

    source_name: str  #: file name for comments and the header (no directories)
    prelude: tuple[str, ...]  #: module-level constants copied verbatim, e.g. ``SCALE = 2.0``
    functions: tuple[Function, ...]
