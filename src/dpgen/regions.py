"""Reading regions of source before lowering them: which names a block reads, binds or
writes into, whether it always ends in return/break/continue, and what a function hands back.

These are questions about libcst statements, asked once per branch, loop or call by
`dpgen.lower`; keeping them here leaves the lowering itself to build IR.
"""

from __future__ import annotations

import functools

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
        self.breaks = False
        self.loop_depth = 0
        self.top = top  #: the compound statement being summarized, walked into

    # A nested compound statement is summarized once and cached (`_summary`): lowering asks
    # about every arm of an if/elif chain, so walking each arm in full would be quadratic
    # (a 300-branch elif took minutes).
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, COMPOUND) and node is not self.top:
            names, assigned, written, breaks = _summary(node)
            self.names.extend(names)
            self.assigned.extend(assigned)
            self.written.extend(written)
            self.breaks = self.breaks or (breaks and self.loop_depth == 0)
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

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.assigned.extend(_bound_by_target(node.target))
        if isinstance(node.target, cst.Subscript):
            self.written.extend(_bound_by_target(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.assigned.extend(_bound_by_target(node.target))
        if isinstance(node.target, cst.Subscript):
            self.written.extend(_bound_by_target(node.target))

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

    def visit_Break(self, node: cst.Break) -> None:
        if self.loop_depth == 0:
            self.breaks = True

    def visit_Call(self, node: cst.Call) -> None:
        # `xs.append(v)` changes `xs` in place: it is assigned for the block.
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in MUTATING_METHODS and isinstance(node.func.value, cst.Name):
            self.assigned.append(node.func.value.value)
            self.written.append(node.func.value.value)


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


@functools.lru_cache(maxsize=16384)
def _summary(node: cst.CSTNode) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], bool]:
    """What `_Walk` collects in one compound statement (nodes hash by identity)."""
    walker = _Walk(top=node)
    node.visit(walker)
    return tuple(walker.names), tuple(walker.assigned), tuple(walker.written), walker.breaks


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
        return f"{name}() takes {len(params)} positional argument{'s' if len(params) != 1 else ''} but {n_args} were given"
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
