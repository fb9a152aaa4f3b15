"""The fence: reject syntax dpgen does not differentiate, with a location and a hint.

It walks every top-level function once and reports *all* unsupported constructs, so a
user fixes a file in one round. What passes the fence is the subset `lower` handles;
`lower` still reports semantic problems (unknown names, functions without a rule).
"""

from __future__ import annotations

import libcst as cst

from dpgen.errors import DiagnosticSink
from dpgen.frontend.source import Parsed

# Node type -> (what it is, how to get around it). Checked inside function bodies.
UNSUPPORTED: dict[type, tuple[str, str]] = {
    cst.Try: ("'try' statement", "exceptions cannot be differentiated"),
    cst.TryStar: ("'try' statement", "exceptions cannot be differentiated"),
    cst.Raise: ("'raise'", "exceptions cannot be differentiated"),
    cst.Assert: ("'assert'", "check inputs before calling the function"),
    cst.With: ("'with' statement", "move the context manager out of the differentiated function"),
    cst.Yield: ("'yield'", "generators cannot be differentiated"),
    cst.Await: ("'await'", "coroutines cannot be differentiated"),
    cst.Global: ("'global'", "pass the value as a parameter"),
    cst.Nonlocal: ("'nonlocal'", "pass the value as a parameter"),
    cst.Del: ("'del'", "let the name go out of scope"),
    cst.ClassDef: ("a class", "define functions at module level"),
    cst.FunctionDef: ("a nested function", "define the function at module level and call it"),
    cst.Lambda: ("'lambda'", "define a module-level function and call it"),
    cst.SetComp: ("a set comprehension", "sets cannot be differentiated"),
    cst.DictComp: ("a dict comprehension", "write the entries out"),
    cst.GeneratorExp: ("a generator expression", "write the elements out"),
    cst.Dict: ("a dict", "pass arrays as separate parameters"),
    cst.Set: ("a set", "sets cannot be differentiated"),
    cst.NamedExpr: ("':=' assignment", "assign in a separate statement"),
    cst.FormattedString: ("an f-string", "strings cannot be differentiated"),
    cst.Import: ("an import inside a function", "import at module level"),
    cst.ImportFrom: ("an import inside a function", "import at module level"),
    cst.StarredElement: ("'*' unpacking", "pass the arguments one by one"),
    cst.Match: ("'match' statement", "write it as if/elif/else"),
}


class _Fence(cst.CSTVisitor):
    def __init__(self, parsed: Parsed, sink: DiagnosticSink, helpers: frozenset[str]):
        self.parsed = parsed
        self.sink = sink
        self.helpers = helpers  # dpgen's own helpers in a generated module: primitives, not read
        self.entered: list[cst.FunctionDef] = []  # the functions whose bodies we are inside
        self.rejected: set[str] = set()  # top-level functions with at least one error
        self.appends: set[int] = set()  # ids of the `*xs` in `[*xs, v]`, which is supported

    @property
    def depth(self) -> int:
        return len(self.entered)

    def _reject(self, node: cst.CSTNode, what: str, hint: str) -> None:
        self.sink.error(self.parsed.span(node), f"{what} is not supported ({hint})")
        if self.entered:
            self.rejected.add(self.entered[0].name.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if not self.depth and node.name.value in self.helpers:
            return False
        if self.depth:
            self._reject(node, *UNSUPPORTED[cst.FunctionDef])
            return False
        self.entered.append(node)  # errors in the signature belong to this function too
        if node.asynchronous:
            self._reject(node, "an async function", "write a plain 'def'")
        for decorator in node.decorators:
            self._reject(decorator, "a decorator", "differentiate the undecorated function")
        params = node.params
        if isinstance(params.star_arg, cst.Param) or params.kwonly_params:
            self._reject(
                params.star_arg if isinstance(params.star_arg, cst.Param) else params.kwonly_params[0],
                "a '*' or keyword-only parameter",
                "use positional parameters",
            )
        if params.star_kwarg:
            self._reject(params.star_kwarg, "a '**' parameter", "use positional parameters")
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        # libcst calls on_leave even for a node whose children were skipped (a rejected
        # nested def), so only leave the functions that were entered; a bare counter
        # would drop to 0 there and let the rest of the outer body pass unchecked.
        if self.entered and self.entered[-1] is original_node:
            self.entered.pop()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.FunctionDef):
            return self.visit_FunctionDef(node)
        if isinstance(node, cst.List) and len(node.elements) == 2 and isinstance(node.elements[0], cst.StarredElement):
            self.appends.add(id(node.elements[0]))  # `[*xs, v]`, a list with one more item
        if self.depth and type(node) in UNSUPPORTED and id(node) not in self.appends:
            self._reject(node, *UNSUPPORTED[type(node)])
            return False
        if not self.depth and isinstance(node, (cst.ClassDef, cst.If)):
            return False  # module-level code dpgen does not read (e.g. `if __name__ == ...`)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, cst.FunctionDef):
            self.leave_FunctionDef(original_node)


def fence(parsed: Parsed, sink: DiagnosticSink, helpers: frozenset[str] = frozenset()) -> frozenset[str]:
    """Report every unsupported construct inside the module's functions into `sink`.

    Returns the names of the functions with errors: lowering skips them, so the other
    functions' errors are reported in the same run.
    """
    visitor = _Fence(parsed, sink, helpers)
    parsed.module.visit(visitor)
    return frozenset(visitor.rejected)
