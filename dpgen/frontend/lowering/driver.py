"""The `Lowering` state object and the entry point `lower`: the module pass (constants, function
table, cross-function checks) and each function's signature; the mixins lower the bodies."""

from __future__ import annotations

import libcst as cst

from dpgen.errors import DiagnosticSink, Span
from dpgen.escape import code_text
from dpgen.ir import Atom, Checkpoint, Const, Function, Module, Param, Var
from dpgen.names import BACKEND_NAMES, NameAllocator, reserved
from dpgen.frontend.regions import jumps, module_bindings, name_nodes, returns_tuple, suite, terminates
from dpgen.frontend.pragmas import Placed, read_pragmas
from dpgen.frontend.source import Parsed
from dpgen.frontend.lowering.aliasing import AliasChecks
from dpgen.frontend.lowering.blocks import BlockLowering
from dpgen.frontend.lowering.calls import CallLowering
from dpgen.frontend.lowering.expressions import ExpressionLowering
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.statements import StatementLowering
from dpgen.frontend.lowering.syntax import (
    annotation_name,
    is_complex_parameter,
    is_differentiable,
    is_literal,
)
from dpgen.frontend.lowering.tables import NONDIFFERENTIABLE_ANNOTATIONS, RETURN


class Lowering(BlockLowering, StatementLowering, AliasChecks, ExpressionLowering, CallLowering):
    """Lowers one parsed module; errors go to the sink.

    One state object for the whole module: the mixins (one module each) read and update the
    attributes set here, and no method adds an attribute of its own."""

    def __init__(
        self,
        parsed: Parsed,
        sink: DiagnosticSink,
        skip: frozenset[str] = frozenset(),
        helpers: frozenset[str] = frozenset(),
    ):
        self.parsed = parsed  # the module being lowered, with positions and resolved names
        self.sink = sink  # where errors go; lowering goes on after one
        self.skip = skip  # functions the fence refused: not lowered, calls to them still checked
        self.helpers = helpers  # dpgen's own helpers (in its own output): called as primitives
        self.definitions: dict[int, list] = {}  # id(body) -> [body, statements indexed, name -> first position]
        self.functions: dict[str, cst.FunctionDef] = {}  # the module's functions by name
        self.last_span = Span(1, 1)  # the last statement lowered: the place of nodes dpgen built itself
        self.in_test = 0  # lowering an if/while test (nested tests count)
        self.calls: list[tuple[str, cst.Call]] = []  # module calls, checked once all are lowered
        self.passthrough: dict[str, dict[int, str]] = {}  # internal function -> output k is input name
        self.handed_back: dict[str, dict] = {}  # call result -> {tuple position or None: argument variable}
        self.param_writes: dict[str, tuple[str, Span]] = {}  # function -> a parameter it writes into
        self.constants: dict[str, str] = {}  # module-level literal constants: name -> source
        self.module_names: set[str] = set()  # every name bound at module level
        self.rebound: dict[str, str] = {}  # module-level names bound more than once -> why
        self.module_bound: set[str] = set()  # names bound at any depth of module-level blocks
        self.function_aliases: dict[str, str] = {}  # module-level `alias = name`: alias -> name
        self.constant_names: dict[str, str] = {}  # constants the output spells another way
        self.function_names: NameAllocator | None = None  # names of the module's functions, once `module` knows them
        self.internal: list[Function] = []  # internal functions outlined from the function being lowered
        self.copied = 0  # statements of the current function copied into both arms of an `if` (`COPY_BUDGET`)
        self.current = ""  # the user function being lowered
        self.base_names: frozenset[str] = frozenset()  # names taken in the current function; outlines start there
        self.pragmas: dict[int, Placed] = {}  # id of a def/for/while node -> the checkpoint pragma on it
        self.applied: set[int] = set()  # the keys of `pragmas` recorded in the IR

    def reserved(self, name: str) -> bool:
        """Whether a user variable called `name` must take another name in the output: the
        generated code refers to a module-level name or a local of its own spelled so."""
        return reserved(name, self.functions)

    # ------------------------------------------------------------------ module
    def module(self) -> Module:
        self.pragmas = read_pragmas(self.parsed, self.sink)
        literals = []  # the target names of each literal constant, in source order
        # A module-level name is copied as a constant only if the module binds it exactly
        # once: the generated module would otherwise compute with its first value.
        bindings = module_bindings(self.parsed.module)
        star = bindings.pop("*", [])
        self.module_bound = set(bindings)
        for name, found in bindings.items():
            if len(found) > 1 or star:
                node, how = found[-1] if len(found) > 1 else star[0]
                self.rebound[name] = f"{how} at line {self.span(node, None).line} rebinds it"
        for stmt in self.parsed.module.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in self.helpers:
                self.module_names.add(stmt.name.value)
            elif isinstance(stmt, cst.FunctionDef):
                if stmt.name.value in self.functions:
                    self.error(stmt.name, f"function '{stmt.name.value}' is defined twice (rename one)")
                elif stmt.name.value in self.rebound:
                    self.error(
                        stmt.name,
                        f"function '{stmt.name.value}' is rebound at module level: {self.rebound[stmt.name.value]} (rename one)",
                    )
                self.functions[stmt.name.value] = stmt
                self.module_names.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and all(isinstance(t.target, cst.Name) for t in small.targets):
                        names = [t.target.value for t in small.targets]
                        self.module_names.update(names)
                        # A complex constant (`J = 1j`) is copied too: analysis/dtypes reads the prelude.
                        if is_literal(small.value) and not any(n in self.rebound for n in names):
                            value = code_text(self.parsed.module.code_for_node(small.value))
                            literals.append(names)
                            for name in names:
                                self.constants[name] = value
                        elif isinstance(small.value, cst.Name) and not any(n in self.rebound for n in names):
                            for name in names:
                                self.function_aliases[name] = (
                                    small.value.value
                                )  # `_g_jvp = g_jvp`, if g_jvp is a function
        # A constant named like a function dpgen generates (`f_vjp = 2.0` beside `def f`) or a
        # helper would be hidden by it in the output: the output's copy takes another name.
        spare = NameAllocator(self.module_names, self.reserved)
        self.constant_names = {name: spare.fresh(name) for name in self.constants if self.reserved(name)}
        prelude = [
            " = ".join([self.constant_names.get(n, n) for n in names] + [self.constants[names[0]]])
            for names in literals
        ]
        functions = []
        self.function_names = NameAllocator(self.module_names)
        for node in self.functions.values():
            if node.name.value in self.skip:
                continue
            self.internal = []
            functions.append(self.function(node))
            functions.extend(self.internal)
        for callee, call in self.calls:
            if callee in self.param_writes:
                param, _ = self.param_writes[callee]
                self.error(
                    call,
                    f"'{callee}' writes into its argument '{param}', which would change this caller's array; "
                    f"that is not supported yet (copy inside '{callee}': {param} = {param}.copy())",
                )
        self.check_pragmas_placed()
        return Module(self.parsed.source.name, tuple(prelude), tuple(functions))

    # ---------------------------------------------------------------- function
    def function(self, node: cst.FunctionDef) -> Function | None:
        taken = {n.value for n in name_nodes(node)} | self.module_names | BACKEND_NAMES
        scope = Scope(NameAllocator(taken, self.reserved))
        scope.params = frozenset(p.name.value for p in (*node.params.posonly_params, *node.params.params))
        params = []
        for p in (*node.params.posonly_params, *node.params.params):
            name = p.name.value
            if name in BACKEND_NAMES:
                self.error(
                    p,
                    f"a parameter named '{name}' is not supported (it is the name of a module dpgen's output imports)",
                )
            elif name == "_":
                self.error(
                    p,
                    "a parameter named '_' is not supported (dpgen's output assigns the values it discards to '_'; rename it)",
                )
            default = None
            if p.default is not None:
                if is_literal(p.default):
                    default = Const(code_text(self.parsed.module.code_for_node(p.default)))
                else:
                    self.error(
                        p.default,
                        "a default value that is not a literal constant is not supported (use a number, string, True/False or None)",
                    )
            scope.env[name] = Var(name)
            scope.bound.add(name)
            by_default = not is_differentiable(p) and annotation_name(p) not in NONDIFFERENTIABLE_ANNOTATIONS
            params.append(
                Param(
                    name,
                    default,
                    is_differentiable(p),
                    scalar=annotation_name(p) in ("float", "int"),  # `complex` may name an array's dtype: not a scalar
                    by_default=by_default,
                    complex=is_complex_parameter(p),
                )
            )

        statements = suite(node.body)
        if jumps(statements) and not terminates(statements):
            # Falling off the end returns None: said explicitly, an arm that returns takes
            # the rest of the function and every path ends in a return (`block`).
            statements.append(cst.SimpleStatementLine([cst.Return(None)]))
        self.copied = 0
        self.current = node.name.value
        self.base_names = frozenset(taken)
        self.block(statements, scope, first=True)
        return Function(
            name=node.name.value,
            params=tuple(params),
            body=tuple(scope.body),
            result=scope.env.get(RETURN, Const("None")),
            span=self.parsed.span(node),
            statement_lines=tuple(sorted(set(scope.lines))),
            taken_names=frozenset(scope.names.taken),
            returns_tuple=returns_tuple(node),
            checkpoint=self.checkpoint(node),
        )

    def checkpoint(self, node: cst.FunctionDef | cst.For | cst.While) -> Checkpoint | None:
        """The checkpoint pragma on `node`, if any (`dpgen.passes.checkpoint` applies it)."""
        placed = self.pragmas.get(id(node))
        if placed is None:
            return None
        self.applied.add(id(node))
        return placed.checkpoint

    def check_pragmas_placed(self) -> None:
        """A valid pragma whose def or loop was not lowered (code after a `return`, say) would be
        dropped without a word: an error instead, unless an error about that code is already out."""
        if self.sink.diagnostics:
            return
        for key, placed in self.pragmas.items():
            if key not in self.applied and placed.function not in self.skip:
                self.sink.error(
                    placed.checkpoint.span,
                    "'# dpgen: checkpoint' stands on code that dpgen does not differentiate (is it reachable?)",
                )

    def unsupported(self, node: cst.CSTNode, what: str, plain: bool = False) -> Atom:
        self.error(node, what if plain else f"{what} is not supported")
        return Const("None")

    def error(self, node: cst.CSTNode, message: str) -> None:
        self.sink.error(self.span(node, None), message)

    def span(self, node: cst.CSTNode, scope: Scope | None) -> Span:
        """The node's position; statements dpgen builds itself take the enclosing one."""
        try:
            return self.parsed.span(node)
        except KeyError:
            return scope.span if scope is not None else self.last_span


def lower(
    parsed: Parsed, sink: DiagnosticSink, skip: frozenset[str] = frozenset(), helpers: frozenset[str] = frozenset()
) -> Module:
    """Lower a parsed module; unsupported constructs are reported into `sink`.

    Functions in `skip` (the fence rejected them) are not lowered, but calls to them are
    still checked against their signatures. `helpers` are dpgen's own helpers in a
    generated module given back as input: calls to them are primitives."""
    return Lowering(parsed, sink, skip, helpers).module()
