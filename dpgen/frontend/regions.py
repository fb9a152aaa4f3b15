"""Reading regions of source before lowering them: which names a block reads, binds or
writes into, whether it always ends in return/break/continue, and what a function hands back.

These are questions about libcst statements, asked once per branch, loop or call by
`dpgen.frontend.lower`; keeping them here leaves the lowering itself to build IR.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import libcst as cst


def unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def name_nodes(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(_Collect())
    return found


def suite(body: cst.BaseSuite) -> list:
    """The statements of a block, also of one on the header's line (``def f(x): return x``).

    The small statements of a one-line suite are wrapped in a statement line of their own;
    they stay the parsed nodes, so their positions are still known.
    """
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body.body)]
    return list(body.body)


def else_statements(orelse: cst.If | cst.Else | None) -> list:
    if orelse is None:
        return []
    if isinstance(orelse, cst.If):
        return [orelse]  # elif: an if statement alone in the else arm
    return suite(orelse.body)


def terminates(statements: list) -> bool:
    """Whether a block always ends in return, break or continue."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(s, (cst.Return, cst.Break, cst.Continue)) for s in last.body)
    if isinstance(last, cst.If):
        return terminates(suite(last.body)) and terminates(else_statements(last.orelse))
    return False


class _Walk(cst.CSTVisitor):
    """Collects names, assigned names and breaks of a block, not entering nested loops for breaks."""

    def __init__(self, top: cst.CSTNode | None = None):
        self.names: list[str] = []
        self.assigned: list[str] = []
        self.written: list[str] = []  #: names written through: x[i] = v, xs.append(v)
        self.written_at: dict[str, cst.CSTNode] = {}  #: the first statement writing each
        self.augmented: list[str] = []  #: names augmented in place on arrays: x += v
        self.breaks = False  #: a break of this block's loop
        self.loop_jumps = False  #: a break or continue of this block's loop
        self.returns = False
        self.loop_depth = 0
        self.top = top  #: the compound statement being summarized, walked into

    # A nested compound statement is summarized once and cached (`_summary`): lowering asks
    # about every arm of an if/elif chain, so walking each arm in full would be quadratic
    # (a 300-branch elif took minutes).
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, COMPOUND) and node is not self.top:
            inner = _summary(node)
            self.names.extend(inner.names)
            self.assigned.extend(inner.assigned)
            self.written.extend(inner.written)
            for name, at in inner.written_at:
                self.written_at.setdefault(name, at)
            self.augmented.extend(inner.augmented)
            if self.loop_depth == 0:  # inside a loop of ours, its breaks are that loop's
                self.breaks = self.breaks or inner.breaks
                self.loop_jumps = self.loop_jumps or inner.loop_jumps
            self.returns = self.returns or inner.returns
            return False
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, COMPOUND) and original_node is not self.top:
            return  # not walked into: its leave_ methods must not run either
        super().on_leave(original_node)

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `x.sum`: `sum` is not a variable
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # keyword names are not variables
        return False

    def _write(self, names: list[str], node: cst.CSTNode) -> None:
        self.written.extend(names)
        for name in names:
            self.written_at.setdefault(name, node)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.assigned.extend(_bound_by_target(node.target))
        if isinstance(node.target, cst.Subscript):
            self._write(_bound_by_target(node.target), node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigned.extend(_bound_by_target(node.target))
        if isinstance(node.target, cst.Subscript):
            self._write(_bound_by_target(node.target), node)
        else:
            self.augmented.extend(_bound_by_target(node.target))
            if isinstance(node.target, cst.Name):
                self.written_at.setdefault(node.target.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assigned.extend(_bound_by_target(node.target))

    def visit_For(self, node: cst.For) -> None:
        self.assigned.extend(_bound_by_target(node.target))
        self.loop_depth += 1

    def leave_For(self, node: cst.For) -> None:
        self.loop_depth -= 1

    def visit_While(self, node: cst.While) -> None:
        self.loop_depth += 1

    def leave_While(self, node: cst.While) -> None:
        self.loop_depth -= 1

    @property
    def jumps(self) -> bool:
        """A break/continue of this block's loop, or a return."""
        return self.loop_jumps or self.returns

    def visit_Break(self, node: cst.Break) -> None:
        if self.loop_depth == 0:
            self.breaks = self.loop_jumps = True

    def visit_Continue(self, node: cst.Continue) -> None:
        if self.loop_depth == 0:
            self.loop_jumps = True

    def visit_Return(self, node: cst.Return) -> None:
        self.returns = True

    def visit_Call(self, node: cst.Call) -> None:
        # `xs.append(v)` changes `xs` in place: it is assigned for the block.
        if (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value in MUTATING_METHODS
            and isinstance(node.func.value, cst.Name)
        ):
            self.assigned.append(node.func.value.value)
            self._write([node.func.value.value], node)


MUTATING_METHODS = {"append"}


def _bound_by_target(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _bound_by_target(e.value)]
    if isinstance(target, cst.Subscript):
        base = target.value
        while isinstance(base, cst.Subscript):
            base = base.value
        return [base.value] if isinstance(base, cst.Name) else []  # `x[i] = v` changes x
    return []


COMPOUND = (cst.If, cst.For, cst.While)


class _Summary(NamedTuple):
    """What `_Walk` collects in one compound statement, frozen for the cache."""

    names: tuple[str, ...]
    assigned: tuple[str, ...]
    written: tuple[str, ...]
    written_at: tuple[tuple[str, cst.CSTNode], ...]
    augmented: tuple[str, ...]
    breaks: bool
    loop_jumps: bool
    returns: bool


@functools.lru_cache(maxsize=16384)
def _summary(node: cst.CSTNode) -> _Summary:
    """`_Walk` over one compound statement (nodes hash by identity)."""
    walker = _Walk(top=node)
    node.visit(walker)
    return _Summary(
        tuple(walker.names),
        tuple(walker.assigned),
        tuple(walker.written),
        tuple(walker.written_at.items()),
        tuple(walker.augmented),
        walker.breaks,
        walker.loop_jumps,
        walker.returns,
    )


def walk(nodes: list) -> _Walk:
    walker = _Walk()
    for node in nodes:
        node.visit(walker)
    return walker


def names_read(nodes: list) -> list[str]:
    return unique(walk(nodes).names)


def assigned(nodes: list) -> list[str]:
    return unique(walk(nodes).assigned)


def breaks(nodes: list) -> bool:
    return walk(nodes).breaks


def jumps(nodes: list) -> bool:
    """Whether a block may leave by return, or by break/continue of the loop around it, at
    any depth of ``if``s (a nested loop's own break and continue do not count)."""
    return walk(nodes).jumps


def size(nodes: list) -> int:
    """How many statements a block holds, nested ones included."""

    class _Count(cst.CSTVisitor):
        count = 0

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            self.count += len(node.body)

        def visit_If(self, node: cst.If) -> None:
            self.count += 1

        def visit_For(self, node: cst.For) -> None:
            self.count += 1

        def visit_While(self, node: cst.While) -> None:
            self.count += 1

    counter = _Count()
    for node in nodes:
        node.visit(counter)
    return counter.count


def target_names(target: cst.BaseExpression) -> list[str] | None:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in target.elements):
        return [e.value.value for e in target.elements]
    return None


def call_mismatch(callee: cst.FunctionDef, n_args: int, keywords: list[str]) -> str | None:
    """Why a call cannot bind to `callee`'s parameters, as Python would say it; None if it can."""
    params = [*callee.params.posonly_params, *callee.params.params]
    names = [p.name.value for p in params]
    name = callee.name.value
    if n_args > len(params):
        return (
            f"{name}() takes {len(params)} positional argument{'s' if len(params) != 1 else ''} but {n_args} were given"
        )
    for keyword in keywords:
        if keyword not in names:
            return f"{name}() got an unexpected keyword argument '{keyword}'"
        if names.index(keyword) < n_args:
            return f"{name}() got multiple values for argument '{keyword}'"
    missing = [p.name.value for p in params[n_args:] if p.default is None and p.name.value not in keywords]
    if missing:
        return f"{name}() missing required argument '{missing[0]}'"
    return None


def is_append(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "append"
        and isinstance(node.func.value, cst.Name)
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    )


def returned_parameters(function: cst.FunctionDef) -> dict:
    """Parameters a function may hand back unchanged: {tuple position or None: parameter index}.

    Follows plain renames (``b = a; return b``); any ``return`` counts, in arms too."""
    names = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    renames: dict[str, str] = {}
    reassigned: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def __init__(self):
            self.returns: list[cst.BaseExpression] = []

        def visit_Return(self, node: cst.Return) -> None:
            if node.value is not None:
                self.returns.append(node.value)

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    if isinstance(node.value, cst.Name):
                        renames[target.target.value] = node.value.value
                    else:
                        reassigned.add(target.target.value)

    collect = _Collect()
    function.visit(collect)

    def parameter(node: cst.BaseExpression) -> int | None:
        seen = set()
        while isinstance(node, cst.Name) and node.value in renames and node.value not in seen:
            seen.add(node.value)
            node = cst.Name(renames[node.value])
        if isinstance(node, cst.Name) and node.value in names and node.value not in reassigned:
            return names.index(node.value)
        return None

    found: dict = {}
    for value in collect.returns:
        if isinstance(value, cst.Tuple):
            for position, element in enumerate(value.elements):
                if parameter(element.value) is not None:
                    found[position] = parameter(element.value)
        elif parameter(value) is not None:
            found[None] = parameter(value)
    return found


def returns_tuple(function: cst.FunctionDef) -> bool:
    found = []

    class _Returns(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append(isinstance(node.value, cst.Tuple))

    function.visit(_Returns())
    return any(found)


#: Methods that change a list or dict in place: after `C.append(v)` at module level, a literal
#: `C` copied into the generated module would hold the old items.
_MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem"}
)


def module_bindings(module: cst.Module) -> dict[str, list[tuple[cst.CSTNode, str]]]:
    """Every binding of a module-level name: name -> [(node, how)], in source order.

    Counts what Python counts: assignments (plain, annotated, augmented, walrus), loop and
    ``with`` targets, imports, ``def`` and ``class``, ``except ... as``, ``del``, at any
    depth of module-level blocks, and ``global`` declarations inside functions (the
    function may rebind the name). Function and class bodies bind their own names only.
    """
    found: dict[str, list[tuple[cst.CSTNode, str]]] = {}

    def add(target: cst.CSTNode | None, node: cst.CSTNode, how: str) -> None:
        if isinstance(target, cst.Name):
            found.setdefault(target.value, []).append((node, how))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                add(element.value, node, how)
        elif isinstance(target, cst.StarredElement):
            add(target.value, node, how)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            # `C[0] = v`, `C.x = v`: the value copied as a constant would be the old one.
            base = target.value
            while isinstance(base, (cst.Subscript, cst.Attribute)):
                base = base.value
            add(base, node, "a write into it")

    class _Bindings(cst.CSTVisitor):
        def __init__(self):
            self.depth = 0  # inside a function, class or lambda: its own scope

        def _enter(self, node) -> None:
            self.depth += 1

        def _leave(self, node) -> None:
            self.depth -= 1

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            if self.depth == 0:
                add(node.name, node, "a def")
            self.depth += 1

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            if self.depth == 0:
                add(node.name, node, "a class")
            self.depth += 1

        leave_FunctionDef = leave_ClassDef = _leave
        visit_Lambda = _enter
        leave_Lambda = _leave

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                self.depth == 0
                and isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.attr.value in _MUTATORS
            ):
                add(func.value, node, f"'.{func.attr.value}(...)'")

        def visit_Global(self, node: cst.Global) -> None:
            for item in node.names:
                add(item.name, node, "a 'global' declaration")

        def visit_Assign(self, node: cst.Assign) -> None:
            if self.depth == 0:
                for target in node.targets:
                    add(target.target, node, "an assignment")

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if self.depth == 0 and node.value is not None:
                add(node.target, node, "an assignment")

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if self.depth == 0:
                add(node.target, node, "an augmented assignment")

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            if self.depth == 0:  # a walrus in a comprehension binds in the module too
                add(node.target, node, "an assignment expression")

        def visit_For(self, node: cst.For) -> None:
            if self.depth == 0:
                add(node.target, node, "a loop target")

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if self.depth == 0 and node.asname is not None:
                add(node.asname.name, node, "a 'with' target")

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            if self.depth == 0 and node.name is not None:
                add(node.name.name, node, "an 'except' target")

        def visit_Del(self, node: cst.Del) -> None:
            if self.depth == 0:
                add(node.target, node, "a 'del'")

        def visit_Import(self, node: cst.Import) -> None:
            if self.depth == 0:
                for alias in node.names:
                    name = alias.asname.name if alias.asname else alias.name
                    while isinstance(name, cst.Attribute):  # `import a.b` binds `a`
                        name = name.value
                    add(name, node, "an import")

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if self.depth == 0 and isinstance(node.names, cst.ImportStar):
                found.setdefault("*", []).append((node, "a star import"))  # may bind any name
            elif self.depth == 0:
                for alias in node.names:
                    add(alias.asname.name if alias.asname else alias.name, node, "an import")

    module.visit(_Bindings())
    return found


def tuple_lengths(function: cst.FunctionDef) -> set[int]:
    """The lengths of the tuple displays a function returns; empty unless every `return`
    returns one (so unpacking its result by index reads the items Python would unpack)."""
    found: list[int | None] = []

    class _Returns(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function  # a nested function's returns are its own

        def visit_Return(self, node: cst.Return) -> None:
            value = node.value
            plain = isinstance(value, cst.Tuple) and not any(isinstance(e, cst.StarredElement) for e in value.elements)
            found.append(len(value.elements) if plain else None)

    function.visit(_Returns())
    return set(found) if found and None not in found else set()
