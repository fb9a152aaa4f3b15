"""The intermediate representation every pass after `lower` reads and writes.

A function is a list of equations in A-normal form: each `Eqn` applies one primitive
(named by its qualified name, e.g. ``numpy.multiply``) to atoms (variables or constants)
and binds fresh names. Variables are never rebound (the lowering renames reassignments),
so a pullback can read any forward value by name without a tape in straight-line code.

The reverse and forward passes add their own statement nodes (`reverse`, `forward`). All classes
are frozen: a pass returns a new IR value, it never edits the one it was given.

The nodes live in `core`, `reverse`, `forward` and `hvp`; this package re-exports them. `walk`
answers what statements read and write, for every pass and analysis.
"""

from dpgen.ir.core import (  # noqa: F401
    Var,
    Const,
    Seq,
    SliceAtom,
    Index,
    Atom,
    Hole,
    Lit,
    Global,
    Apply,
    Expr,
    Eqn,
    Call,
    Test,
    Branch,
    ForRange,
    ForEach,
    Checkpoint,
    Loop,
    Stmt,
    Param,
    Function,
    Module,
)

from dpgen.ir.reverse import (  # noqa: F401
    VjpCall,
    VjpBranch,
    VjpLoop,
    LoopCheckpoint,
    Template,
    SetAdjoint,
    UnpackAdjoints,
    ZerosAdjoint,
    CopyAdjoint,
    KeyAddAdjoint,
    IndexAddAdjoint,
    Comment,
    ZeroIndexAdjoint,
    AddInPlace,
    ReverseLoop,
    AdjointStmt,
    VjpFunction,
    VjpModule,
    Derivative,
    HolomorphyBreak,
)

from dpgen.ir.forward import (  # noqa: F401
    SetTangent,
    ZeroTangent,
    DefaultTangent,
    JvpCall,
    JvpBranch,
    JvpLoop,
    JvpStmt,
    JvpFunction,
    JvpModule,
)

from dpgen.ir.hvp import HvpFunction, HvpModule  # noqa: F401
