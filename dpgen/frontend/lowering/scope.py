"""The lowering state of one function (`Scope`): its environment, body and names."""

from __future__ import annotations

from dataclasses import dataclass, field

from dpgen.errors import Span
from dpgen.ir import Atom, Stmt
from dpgen.names import NameAllocator


@dataclass
class Scope:
    """Lowering state for one function."""

    names: NameAllocator
    env: dict[str, Atom] = field(default_factory=dict)  #: source name -> current value
    bound: set[str] = field(default_factory=set)  #: source names bound so far
    body: list[Stmt] = field(default_factory=list)
    span: Span = Span(0, 0)  #: the statement being lowered
    in_loop: bool = False  #: lowering a loop body (or an arm inside one)
    lines: list[tuple[int, str]] = field(default_factory=list)  #: (line, text) for comments
    params: frozenset[str] = frozenset()  #: names still holding the user function's own arguments
    shares: dict[str, set[str]] = field(default_factory=dict)  #: variable -> others it may share memory with
    #: in an outlined region: the names it takes, and those it hands back (None at top level)
    region: tuple[frozenset[str], frozenset[str]] | None = None
    renamed: dict[str, str] = field(default_factory=dict)  #: equation output -> the target name it was given
