"""Lowering: libcst tree -> IR in A-normal form.

Each source expression becomes equations that apply one primitive each, named by the
qualified name the rule table uses: ``a * b``, ``np.multiply(a, b)`` and
``from numpy import multiply; multiply(a, b)`` all become ``numpy.multiply``, because
names are resolved through libcst's qualified-name metadata, never by spelling.

Variables are renamed on rebinding (``h``, then ``h_2``) so every value the pullback
reads is still there; literal constants are propagated instead of bound. Problems are
reported into the sink with locations; lowering goes on so one run reports them all.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from dpgen import rules
from dpgen.errors import DiagnosticSink, Span
from dpgen.escape import code_text
from dpgen.ir import (
    Apply,
    Atom,
    Branch,
    Call,
    Const,
    Eqn,
    ForEach,
    ForRange,
    Function,
    Global,
    Index,
    Loop,
    Module,
    Param,
    Seq,
    SliceAtom,
    Stmt,
    Var,
    Test,
)
from dpgen.names import BACKEND_NAMES, NameAllocator, reserved
from dpgen.rules.helpers import HELPER_PREFIX
from dpgen.frontend.regions import (
    assigned,
    breaks,
    call_mismatch,
    else_statements,
    is_append,
    jumps,
    module_bindings,
    name_nodes,
    names_read,
    returned_parameters,
    tuple_lengths,
    returns_tuple,
    size,
    target_names,
    suite,
    terminates,
    unique,
    walk,
)
from dpgen.frontend.source import Parsed

# Python's operator syntax, by spelling. Which primitive a spelling means is a fact of that
# primitive's rule (`Rule.infix`, `Rule.prefix`); these tables only say how libcst writes it.
_BINARY_SYNTAX = {
    "+": cst.Add,
    "-": cst.Subtract,
    "*": cst.Multiply,
    "/": cst.Divide,
    "**": cst.Power,
    "@": cst.MatrixMultiply,
    "%": cst.Modulo,
    "//": cst.FloorDivide,
}
_COMPARISON_SYNTAX = {
    "<": cst.LessThan,
    "<=": cst.LessThanEqual,
    ">": cst.GreaterThan,
    ">=": cst.GreaterThanEqual,
    "==": cst.Equal,
    "!=": cst.NotEqual,
    "is": cst.Is,
    "is not": cst.IsNot,
}
_AUGMENTED_SYNTAX = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
    cst.ModuloAssign: cst.Modulo,
    cst.FloorDivideAssign: cst.FloorDivide,
}

# Source operators -> primitives, read off the rule table.
BINARY_OPS = {_BINARY_SYNTAX[r.infix]: r.name for r in rules.TABLE.values() if r.infix in _BINARY_SYNTAX}
AUGMENTED_OPS = _AUGMENTED_SYNTAX
COMPARISONS = {_COMPARISON_SYNTAX[r.infix]: r.name for r in rules.TABLE.values() if r.infix in _COMPARISON_SYNTAX}
NEGATIVE = next(r.name for r in rules.TABLE.values() if r.prefix == "-")  #: unary minus

# Short names for temporaries: the `sub` in `loss_sub = pred - y`.
SHORT_NAMES = {
    "numpy.add": "add",
    "numpy.subtract": "sub",
    "numpy.multiply": "mul",
    "numpy.divide": "div",
    "numpy.power": "pow",
    "numpy.negative": "neg",
    "numpy.remainder": "mod",
    "dpgen.getitem": "item",
}

# Array methods and attributes -> primitives (the array is the first argument), from the rules.
METHODS = {m: r.name for r in rules.TABLE.values() for m in r.methods}
VARARG_METHODS = {m for r in rules.TABLE.values() if r.method_varargs for m in r.methods}  # x.reshape(3, 4)
ATTRIBUTES = {r.attribute: r.name for r in rules.TABLE.values() if r.attribute is not None}

#: Named constants the IR holds by qualified name (`Global`); ``np.newaxis`` is ``None``.
CONSTANTS = frozenset(
    {
        "numpy.pi",
        "numpy.e",
        "numpy.inf",
        "numpy.nan",
        "numpy.newaxis",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
        "math.pi",
        "math.e",
        "math.tau",
        "math.inf",
        "math.nan",
        "builtins.float",
        "builtins.int",
        "builtins.bool",
    }
)

NONDIFFERENTIABLE_ANNOTATIONS = {"int", "bool", "str"}
#: Primitives the renderer writes as operators (comparisons included): a call of one on a list
#: display (`np.less([a, b], 1)`) needs the list made an array first.
OPERATORS = {r.name for r in rules.TABLE.values() if r.infix is not None or r.prefix is not None}

# Complex numbers are refused until dpgen differentiates them (the rules assume real values).
COMPLEX = "complex numbers are not supported yet (dpgen differentiates real values only)"
COMPLEX_NAMES = {"builtins.complex"} | {
    f"numpy.{name}"
    for name in (
        "complex64",
        "complex128",
        "complex256",
        "complexfloating",
        "cdouble",
        "csingle",
        "clongdouble",
        "conj",
        "conjugate",
        "real",
        "imag",
        "angle",
        "real_if_close",
    )
}
COMPLEX_ATTRIBUTES = {"real", "imag", "conj", "conjugate"}  # `z.real`, `z.conj()`

# Results that may share memory with their first argument (`Rule.view`): writing into them writes into it.
VIEWS = {r.name for r in rules.TABLE.values() if r.view}
ROW = "<row>"  #: `shares` marker for a loop's row of an iterated array

# Environment keys for the values a structured arm hands back besides variables. They are
# not identifiers, so they never collide with a source name.
RETURN = "<return>"  #: the function's return value, once an arm returned
BREAK = "<break>"  #: whether a loop body hit ``break``
SPECIAL = {RETURN: "out", BREAK: "broke"}
# Statements a function may have copied into both arms of an `if` that may jump out of the
# block (`Lowering.block`); past this the copies would swamp the output.
COPY_BUDGET = 200


@dataclass
class _Scope:
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


class Lowering:
    """Lowers one parsed module; errors go to the sink."""

    def __init__(
        self,
        parsed: Parsed,
        sink: DiagnosticSink,
        skip: frozenset[str] = frozenset(),
        helpers: frozenset[str] = frozenset(),
    ):
        self.parsed = parsed
        self.sink = sink
        self.skip = skip
        self.helpers = helpers  # dpgen's own helpers (in its own output): called as primitives
        self.definitions: dict[int, list] = {}  # id(body) -> [body, statements indexed, name -> first position]
        self.functions: dict[str, cst.FunctionDef] = {}
        self.last_span = Span(1, 1)
        self.in_test = 0  # lowering an if/while test (nested tests count)
        self.calls: list[tuple[str, cst.Call]] = []  # module calls, checked once all are lowered
        self.passthrough: dict[str, dict[int, str]] = {}  # internal function -> output k is input name
        self.handed_back: dict[str, dict] = {}  # call result -> {tuple position or None: argument variable}
        self.param_writes: dict[str, tuple[str, Span]] = {}  # function -> a parameter it writes into
        self.constants: dict[str, str] = {}  # module-level literal constants: name -> source
        self.module_names: set[str] = set()  # every name bound at module level
        self.rebound: dict[str, str] = {}  # module-level names bound more than once -> why
        self.complex_constants: set[str] = set()  # module-level names bound to complex literals
        self.module_bound: set[str] = set()  # names bound at any depth of module-level blocks
        self.function_aliases: dict[str, str] = {}  # module-level `alias = name`: alias -> name
        self.constant_names: dict[str, str] = {}  # constants the output spells another way

    def reserved(self, name: str) -> bool:
        """Whether a user variable called `name` must take another name in the output: the
        generated code refers to a module-level name or a local of its own spelled so."""
        return reserved(name, self.functions)

    # ------------------------------------------------------------------ module
    def module(self) -> Module:
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
            elif isinstance(found[0][0], cst.Assign) and _is_complex(found[0][0].value):
                self.complex_constants.add(name)
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
                        if _is_literal(small.value) and not any(
                            n in self.rebound or n in self.complex_constants for n in names
                        ):
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
        return Module(self.parsed.source.name, tuple(prelude), tuple(functions))

    # ---------------------------------------------------------------- function
    def function(self, node: cst.FunctionDef) -> Function | None:
        taken = {n.value for n in name_nodes(node)} | self.module_names | BACKEND_NAMES
        scope = _Scope(NameAllocator(taken, self.reserved))
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
                if _is_complex(p.default):
                    self.error(p.default, f"a complex default value: {COMPLEX}")
                elif _is_literal(p.default):
                    default = Const(code_text(self.parsed.module.code_for_node(p.default)))
                else:
                    self.error(
                        p.default,
                        "a default value that is not a literal constant is not supported (use a number, string, True/False or None)",
                    )
            scope.env[name] = Var(name)
            scope.bound.add(name)
            by_default = not _differentiable(p) and _annotation(p) not in NONDIFFERENTIABLE_ANNOTATIONS
            params.append(
                Param(
                    name, default, _differentiable(p), scalar=_annotation(p) in ("float", "int"), by_default=by_default
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
        )

    # -------------------------------------------------------------- blocks
    def block(self, statements: list[cst.BaseStatement], scope: _Scope, first: bool = False) -> None:
        """Lower a statement list. An ``if`` that may return/break/continue at any depth takes
        the rest of the block into every arm that can fall through, so every arm ends structured."""
        for i, stmt in enumerate(statements):
            rest = statements[i + 1 :]
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    scope.span = self.last_span = self.span(small, scope)
                    if small in self.parsed.positions:  # not a statement dpgen built itself
                        scope.lines.append((scope.span.line, self.parsed.module.code_for_node(small).strip()))
                    if isinstance(small, cst.Return):
                        if scope.in_loop:
                            self.error(
                                small, "'return' inside a loop is not supported yet (break, then return after the loop)"
                            )
                            return
                        value = self.expr(small.value, scope, "out") if small.value is not None else Const("None")
                        self._bind_name(RETURN, value, scope)
                        return
                    if isinstance(small, cst.Break):
                        scope.env[BREAK] = Const("True")
                        return
                    if isinstance(small, cst.Continue):
                        return
                    self.statement(small, scope, first=first and i == 0)
            elif isinstance(stmt, cst.If):
                scope.span = self.span(stmt, scope)
                scope.lines.append((scope.span.line, "if " + self.parsed.module.code_for_node(stmt.test).strip() + ":"))
                then, orelse = suite(stmt.body), else_statements(stmt.orelse)
                if rest and jumps(then + orelse):
                    # An arm may leave (return, break, continue), at any depth of `if`s: the
                    # rest of the block runs only where it did not, so it moves into every
                    # arm that can fall through and each jump ends its path. Where both arms
                    # can fall through, the rest is lowered twice; `copied` bounds that.
                    if not terminates(then) and not terminates(orelse):
                        self.copied += size(rest)
                        if self.copied > COPY_BUDGET:
                            if self.copied - size(rest) <= COPY_BUDGET:  # report it once
                                self.error(
                                    stmt,
                                    "too many 'if' statements here may break, continue or return from inside another 'if' "
                                    "(the code after them would be copied into too many arms; set a flag and test it once)",
                                )
                            return
                    self.branch(
                        stmt,
                        then if terminates(then) else then + rest,
                        orelse if terminates(orelse) else orelse + rest,
                        scope,
                    )
                    return
                self.branch(stmt, then, orelse, scope)
            elif isinstance(stmt, (cst.For, cst.While)):
                scope.span = self.span(stmt, scope)
                code = self.parsed.module.code_for_node
                if isinstance(stmt, cst.For):
                    header = f"for {code(stmt.target).strip()} in {code(stmt.iter).strip()}:"
                else:
                    header = f"while {code(stmt.test).strip()}:"
                scope.lines.append((scope.span.line, header))
                if stmt.orelse is not None:
                    self.error(stmt.orelse, "an 'else' clause on a loop is not supported (use a flag)")
                self.loop(stmt, scope)
            else:
                self.error(stmt, f"'{self.parsed.module.code_for_node(stmt).split()[0]}' statement is not supported")

    def branch(self, node: cst.If, then: list, orelse: list, scope: _Scope) -> None:
        """``if``: both arms outlined with one signature; the names they bind come out."""
        test = self.test(node.test, scope)
        then_assigned, else_assigned = assigned(then), assigned(orelse)
        outputs = [
            n
            for n in unique(then_assigned + else_assigned)
            if n in scope.env or (n in then_assigned and n in else_assigned)
        ]
        if terminates(then) and terminates(orelse) and not scope.in_loop:
            outputs = [RETURN]
        elif scope.in_loop and (breaks(then) or breaks(orelse)):
            outputs.append(BREAK)
        inputs = unique(
            [n for n in names_read(then + orelse) if n in scope.env] + [n for n in outputs if n in scope.env]
        )
        self.check_aliased_writes(then + orelse, scope)
        line = self.span(node, scope).line
        then_fn = self.outline(
            f"_{self.current}_line{line}_then",
            then,
            inputs,
            outputs,
            scope,
            description=f"the true arm of the 'if' at line {line}",
        )
        else_fn = self.outline(
            f"_{self.current}_line{line}_else",
            orelse,
            inputs,
            outputs,
            scope,
            description=f"the false arm of the 'if' at line {line}",
        )
        outs = tuple(self._version(_display(n), scope) for n in outputs)
        arguments = self.arguments_for(inputs, scope)
        scope.body.append(Branch(test, then_fn, else_fn, arguments, outs, scope.span))
        self.share_passthrough(outs, (then_fn, else_fn), dict(zip(inputs, arguments)), scope)
        for name, out in zip(outputs, outs):
            scope.env[name] = Var(out)

    def share_passthrough(
        self, outs: tuple[str, ...], functions: tuple[str, ...], inputs: dict, scope: _Scope, starts: tuple = ()
    ) -> None:
        """An output that is an input handed through unchanged (`if c: x = z`, or an arm or
        loop that did not rebind it) may be that input's array: writes must say so.

        `inputs` maps the functions' input names to the values passed in."""
        for k, out in enumerate(outs):
            sources = [self.passthrough[f].get(k) for f in functions]
            values = [inputs.get(n) for n in sources if n is not None] + list(starts[k : k + 1])
            for value in values:
                if isinstance(value, Var):
                    scope.shares.setdefault(out, set()).add(value.name)

    def loop(self, node: cst.For | cst.While, scope: _Scope) -> None:
        """``for``/``while``: the body is outlined; loop-carried names are its inputs and outputs."""
        body = suite(node.body)
        targets: list[str] = []
        if isinstance(node, cst.For):
            targets = target_names(node.target)
            if targets is None:
                self.error(node.target, "this loop target is not supported (use a name or a tuple of names)")
                return
            over = self.iteration(node.iter, scope, len(targets))
            if over is None:
                return
        rebound = [n for n in assigned(body) if n not in targets]
        carried = [n for n in unique(rebound) if n in scope.env]
        invariants = [
            n
            for n in unique(names_read(body) + (names_read([node.test]) if isinstance(node, cst.While) else []))
            if n in scope.env and n not in carried and n not in targets
        ]
        has_break = breaks(body)
        self.check_aliased_writes(body, scope)
        if isinstance(node, cst.For) and isinstance(over, ForEach):
            self.check_iterated_writes(node, over, body, scope)
        init = self.arguments_for(carried, scope)
        invariant_values = self.arguments_for(invariants, scope)
        arguments_params = frozenset(
            n for n in carried + invariants if n in scope.params and scope.env.get(n) == Var(n)
        )
        outs = tuple(self._version(n, scope) for n in carried)
        for name, out in zip(carried, outs):
            scope.env[name] = Var(out)  # inside the loop header the carried values have these names
        if isinstance(node, cst.While):
            over = self.test(node.test, scope)
        kind = "for" if isinstance(node, cst.For) else "while"
        body_fn = self.outline(
            f"_{self.current}_line{scope.span.line}_{kind}",
            body,
            targets + carried + invariants,
            carried + ([BREAK] if has_break else []),
            scope,
            in_loop=True,
            description=f"one iteration of the '{kind}' loop at line {scope.span.line}",
            # Range counters and enumerate positions are integers: no derivative flows through them.
            integers=frozenset(
                targets[:1] if isinstance(over, ForRange) or (isinstance(over, ForEach) and over.enumerate) else ()
            ),
            rows=frozenset(
                targets[1:]
                if isinstance(over, ForEach) and over.enumerate
                else targets if isinstance(over, ForEach) else ()
            ),
            params=arguments_params,
        )
        parent_targets = tuple(self._version(t, scope) for t in targets)
        scope.body.append(
            Loop(body_fn, over, parent_targets, outs, tuple(carried), init, invariant_values, has_break, scope.span)
        )
        # The values the body's parameters start from; after zero iterations a carried name
        # still holds its entry value.
        entry = dict(zip(carried + invariants, list(init) + list(invariant_values)))
        self.share_passthrough(outs, (body_fn,), entry, scope, starts=init)

    def materialize(self, atom: Atom, scope: _Scope, name: str) -> Atom:
        """A list display holding variables becomes a run-time list where it crosses into
        another function (an arm, a loop body, a call): its items' adjoints then travel as one."""
        if isinstance(atom, Seq) and _vars_in_atom(atom):
            return self.emit(scope, "dpgen.assign", (atom,), (), name, name=scope.names.fresh(name))
        return atom

    def arguments_for(self, names: list[str], scope: _Scope) -> tuple[Atom, ...]:
        """The current values of `names`, list displays made run-time lists (and kept so)."""
        for n in names:
            if isinstance(scope.env.get(n), Seq) and _vars_in_atom(scope.env[n]):
                value = self.materialize(scope.env[n], scope, _display(n))
                for other, bound in list(scope.env.items()):
                    if bound == scope.env[n] and other != n:
                        scope.env[other] = value
                scope.env[n] = value
        return tuple(scope.env[n] for n in names)

    def iteration(self, node: cst.BaseExpression, scope: _Scope, n_targets: int):
        """What a ``for`` iterates over: range, zip, enumerate, reversed, or rows/items."""
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and not any(a.keyword or a.star for a in node.args)
        ):
            builtin = {q for q in self.parsed.qualified_names(node.func) if q.startswith("builtins.")}
            args = [a.value for a in node.args]
            if "builtins.range" in builtin:
                return ForRange(tuple(self.expr(a, scope, "n") for a in args))
            if "builtins.zip" in builtin and len(args) == n_targets:
                return ForEach(
                    tuple(self.materialize(self.expr(a, scope, "seq"), scope, "seq") for a in args),
                    enumerate=False,
                    reverse=False,
                )
            if "builtins.enumerate" in builtin and len(args) == 1 and n_targets == 2:
                return ForEach(
                    (self.materialize(self.expr(args[0], scope, "seq"), scope, "seq"),), enumerate=True, reverse=False
                )
            if "builtins.reversed" in builtin and len(args) == 1 and n_targets == 1:
                return ForEach(
                    (self.materialize(self.expr(args[0], scope, "seq"), scope, "seq"),), enumerate=False, reverse=True
                )
        if n_targets != 1:
            self.error(node, "unpacking loop targets is supported for zip() and enumerate() only")
            return None
        return ForEach((self.materialize(self.expr(node, scope, "seq"), scope, "seq"),), enumerate=False, reverse=False)

    def outline(
        self,
        name: str,
        statements: list,
        inputs: list[str],
        outputs: list[str],
        parent: _Scope,
        in_loop: bool | None = None,
        description: str = "",
        integers: frozenset[str] = frozenset(),
        rows: frozenset[str] = frozenset(),
        params: frozenset[str] | None = None,
    ) -> str:
        """Lower `statements` as an internal function of `inputs` returning `outputs`."""
        name = self.function_names.fresh(name)
        scope = _Scope(
            NameAllocator(self.base_names, self.reserved), in_loop=parent.in_loop if in_loop is None else in_loop
        )
        scope.span = parent.span
        # Inputs that are still the user function's own arguments (writes reach its caller).
        scope.params = (
            params
            if params is not None
            else frozenset(n for n in inputs if n in parent.params and parent.env.get(n) == Var(n))
        )
        scope.shares.update({n: {ROW} for n in rows})
        scope.region = (frozenset(inputs), frozenset(outputs))
        params = []
        for n in inputs:
            # An internal function's parameters are not the user's: one named like a helper
            # or a generated function would hide it, so it takes another name.
            param = scope.names.fresh(_display(n)) if n in SPECIAL or self.reserved(n) else n
            scope.env[n] = Var(param)
            scope.bound.add(param)
            params.append(Param(param, None, differentiable=n not in integers))
        if BREAK in outputs and BREAK not in scope.env:
            scope.env[BREAK] = Const("False")
        self.block(statements, scope)
        defaults = {RETURN: Const("None"), BREAK: Const("False")}
        result = Seq(
            tuple(
                self.materialize(scope.env.get(n, defaults.get(n, Const("None"))), scope, _display(n)) for n in outputs
            )
        )
        # Outputs that are some *other* input, unchanged: after the region they may share memory.
        by_param = {Var(p.name): n for p, n in zip(params, inputs)}
        self.passthrough[name] = {k: by_param[item] for k, item in enumerate(result.items) if item in by_param}
        self.internal.append(
            Function(
                name=name,
                params=tuple(params),
                body=tuple(scope.body),
                result=result,
                span=parent.span,
                statement_lines=tuple(sorted(set(scope.lines))),
                taken_names=frozenset(scope.names.taken),
                internal=True,
                description=description,
            )
        )
        return name

    def test(self, node: cst.BaseExpression, scope: _Scope) -> Test:
        """A branch or loop test: equations rendered inline, so ``and``/``or`` short-circuit."""
        saved, scope.body = scope.body, []
        self.in_test += 1
        result = self.expr(node, scope, "test", allow_logic=True)
        self.in_test -= 1
        eqns, scope.body = tuple(scope.body), saved
        for stmt in eqns:
            if not isinstance(stmt, (Eqn, Call)):  # a loop (comprehension) cannot be inlined
                self.error(
                    node,
                    "this expression inside an 'if' or 'while' test is not supported yet (compute it into a variable before the test)",
                )
                return Test((), Const("False"))
        return Test(eqns, result)

    def statement(self, node: cst.CSTNode, scope: _Scope, first: bool) -> None:
        if isinstance(node, cst.Assign):
            value = self.expr(node.value, scope, _target_hint(node.targets[0].target))
            scope.renamed = {}  # this statement's renames only: a freed name may be reused later
            for k, target in enumerate(node.targets):
                # `a = b = v`: binding `a` may rename v's equation to `a`; later targets must
                # read the value under its new name (and must not take a call's outputs away).
                value = _renamed(value, scope.renamed)
                self.bind(target.target, value, node.value, scope, keep=k < len(node.targets) - 1)
        elif isinstance(node, cst.AnnAssign):
            if node.value is None:
                return  # a bare annotation binds nothing
            self.bind(node.target, self.expr(node.value, scope, _target_hint(node.target)), node.value, scope)
        elif isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Subscript):
            # `x[i] += v`: read the element, combine, write it back; the index is evaluated once.
            located = self.subscript_target(node.target, scope)
            if located is None:
                return
            base, index = located
            name = node.target.value.value
            old = self.emit(scope, "dpgen.getitem", (base, index), (), name)
            right = self.expr(node.value, scope, name)
            new = self.emit(scope, BINARY_OPS[AUGMENTED_OPS[type(node.operator)]], (old, right), (), name)
            self.store(name, base, index, new, scope)
        elif isinstance(node, cst.AugAssign):
            if not isinstance(node.target, cst.Name):
                self.error(
                    node.target, "augmented assignment to this target is not supported (assign to a name or an element)"
                )
                return
            op = BINARY_OPS[AUGMENTED_OPS[type(node.operator)]]
            left = self.name(node.target, scope)
            aliases = sorted(n for n, v in scope.env.items() if v == left and n != node.target.value)
            if isinstance(left, Var) and aliases:
                # On an array `x += v` writes in place, so every alias would change too.
                self.error(
                    node,
                    f"augmented assignment to '{node.target.value}' while '{aliases[0]}' refers to the same value "
                    f"is not supported yet (write '{node.target.value} = {node.target.value} {self.parsed.module.code_for_node(node.operator).strip()[:-1]} ...')",
                )
                return
            right = self.expr(node.value, scope, node.target.value)
            if self._is_list(left, scope) or self._is_list(right, scope):
                self.error(
                    node,
                    "augmented assignment on a list or tuple of variables is not supported (Python extends or repeats it; use append, or make it an array first: np.array([...]))",
                )
                return
            self.bind(node.target, self.emit(scope, op, (left, right), (), node.target.value), node.value, scope)
        elif (
            isinstance(node, cst.Expr) and first and isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))
        ):
            return  # docstring
        elif isinstance(node, cst.Expr) and self._is_helper_call(node.value, "_check_real"):
            return  # dpgen's own argument check, in its output read back: no value, no derivative
        elif isinstance(node, cst.Expr) and is_append(node.value):
            self.append(node.value, scope)
        elif isinstance(node, cst.Pass):
            return
        elif isinstance(node, cst.Expr):
            self.error(node, "an expression statement is not supported (its value would be discarded; assign it)")
        else:
            self.error(node, f"'{self.parsed.module.code_for_node(node).split()[0]}' statement is not supported")

    def bind(
        self, target: cst.BaseExpression, value: Atom, value_node: cst.CSTNode, scope: _Scope, keep: bool = False
    ) -> None:
        """Bind a target to a value; the value's equation is renamed to the target when fresh.

        `keep`: another target of the same statement still needs `value` as one variable."""
        if isinstance(target, cst.Name):
            self._bind_name(target.value, value, scope)
        elif isinstance(target, cst.Subscript):
            located = self.subscript_target(target, scope)
            if located is not None:
                self.store(target.value.value, *located, value, scope)
        elif isinstance(target, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Name) for e in target.elements):
            names = [e.value.value for e in target.elements]
            if isinstance(value, Seq) and len(value.items) == len(names):
                for name, item in zip(names, value.items):
                    self._bind_name(name, item, scope)
            elif (
                len(names) == 1
                and isinstance(value, Var)
                and scope.body
                and isinstance(scope.body[-1], Call)
                and scope.body[-1].outs == (value.name,)
            ):
                # `(a,) = f(x)`: one output would read as the whole tuple, so take its item.
                item = self.emit(scope, "dpgen.getitem", (value, Index((Const("0"),), False)), (), names[0])
                self._bind_name(names[0], item, scope)
            elif (
                isinstance(value, Var)
                and (keep or _referenced(value, scope))
                and self._tuple_length(value, scope) == len(names)
            ):
                # A tuple another name still holds (`t = f(x); a, b = t; t[0]`): read its items
                # by index, so `t` stays one variable.
                for k, name in enumerate(names):
                    item = self.emit(scope, "dpgen.getitem", (value, Index((Const(str(k)),), False)), (), name)
                    self._bind_name(name, item, scope)
            elif (
                not keep
                and isinstance(value, Var)
                and scope.body
                and isinstance(scope.body[-1], (Eqn, Call))
                and scope.body[-1].outs == (value.name,)
            ):
                # Unpack the outputs of the call that produced `value`: `a, b = f(x)`.
                outs = tuple(self._version(name, scope) for name in names)
                last = scope.body[-1]
                scope.body[-1] = type(last)(outs, *_fields_after_outs(last))
                for position, argument in self.handed_back.get(value.name, {}).items():
                    if position is not None and position < len(outs):
                        scope.shares.setdefault(outs[position], set()).add(argument)
                for name, out in zip(names, outs):
                    scope.env[name] = Var(out)
            else:
                self.error(
                    value_node, "unpacking this value is not supported (unpack a tuple display or a function call)"
                )
                for name in names:
                    scope.env[name] = Const("None")  # no follow-on "not defined" errors
        else:
            self.error(target, "assigning to this target is not supported yet (assign to a name or a tuple of names)")

    def append(self, call: cst.Call, scope: _Scope) -> None:
        """``xs.append(v)``: a list known when generating grows in place; a run-time list gets
        a new version (the pullback may still read the old one)."""
        name = call.func.value.value
        base = self.name(call.func.value, scope)
        item = self.expr(call.args[0].value, scope, name)
        if isinstance(base, Seq):
            new: Atom = Seq(base.items + (item,), is_list=True)
            scope.env[name] = new
        elif isinstance(base, Var):
            self._bind_name(name, self.emit(scope, "dpgen.append", (base, item), (), name), scope)
            new = scope.env[name]
        else:
            self.error(call, f"'{name}' is not a list")
            return
        for other, bound in list(scope.env.items()):
            if bound == base:
                scope.env[other] = new  # every alias sees the appended item

    def list_comprehension(self, node: cst.ListComp, scope: _Scope, target: str) -> Atom:
        """``[e for x in xs if c]``: the loop that appends, lowered like written-out code."""
        result = scope.names.fresh(f"{target}_list")
        statement: cst.BaseStatement = cst.SimpleStatementLine(
            [cst.Expr(cst.Call(cst.Attribute(cst.Name(result), cst.Name("append")), [cst.Arg(node.elt)]))]
        )
        clauses = []
        clause = node.for_in
        while clause is not None:
            clauses.append(clause)
            clause = clause.inner_for_in
        for clause in reversed(clauses):
            for condition in reversed(clause.ifs):
                statement = cst.If(test=condition.test, body=cst.IndentedBlock([statement]))
            statement = cst.For(target=clause.target, iter=clause.iter, body=cst.IndentedBlock([statement]))
        scope.env[result] = Seq((), is_list=True)
        scope.bound.add(result)
        self.block([statement], scope)
        return scope.env.pop(result)

    def sharing(self, var: str, scope: _Scope, exclude: str = "") -> list[str]:
        """Names bound to values that may share memory with variable `var` (either direction)."""
        partners = scope.shares.get(var, set())
        return sorted(
            n
            for n, v in scope.env.items()
            if isinstance(v, Var)
            and v.name != var
            and (v.name in partners or var in scope.shares.get(v.name, ()))
            and n != exclude
            and n not in SPECIAL
        )

    def check_aliased_writes(self, statements: list, scope: _Scope) -> None:
        """Writing into an array inside an arm or loop body while another name outside refers
        to the same array would need the write to reach both names across the function
        boundary; dpgen says so instead of generating code whose values differ."""
        walked = walk(statements)
        for name in unique(walked.written + walked.augmented):
            value = scope.env.get(name)
            aliases = sorted(
                n
                for n, v in scope.env.items()
                if isinstance(value, Var) and v == value and n != name and n not in SPECIAL
            )
            if isinstance(value, Var):
                aliases += self.sharing(value.name, scope, exclude=name)
            if not aliases:
                continue
            if name in walked.written:
                self.error(
                    statements[0],
                    f"writing into '{name}' here while '{aliases[0]}' refers to the same array is not supported yet "
                    f"(use one name, or copy: {name} = {aliases[0]}.copy())",
                )
            else:
                # On an array `x += v` writes in place: `aliases[0]` would change too.
                self.error(
                    walked.written_at[name],
                    f"augmented assignment to '{name}' while '{aliases[0]}' refers to the same value "
                    f"is not supported yet (write '{name} = {name} + ...', or copy first: {name} = {aliases[0]}.copy())",
                )

    def check_iterated_writes(self, node: cst.For, over: ForEach, body: list, scope: _Scope) -> None:
        """Python's ``for row in v`` walks the very array (or list) `v`: a write into it in the
        body reaches the rows not visited yet. dpgen's loop walks the value on entry, so such
        a write is refused (the rows themselves are `ROW`s, refused in `store`)."""
        iterated: set[str] = set()
        for sequence in over.sequences:
            if isinstance(sequence, Var):
                memory = self.shared_closure(sequence.name, scope)
                iterated.update(
                    n for n, v in scope.env.items() if isinstance(v, Var) and v.name in memory and n not in SPECIAL
                )
        # `for x in xs` over a list known when generating: its name, as written.
        walkers = ("zip", "enumerate", "reversed")
        arguments = (
            [a.value for a in node.iter.args]
            if isinstance(node.iter, cst.Call)
            and isinstance(node.iter.func, cst.Name)
            and node.iter.func.value in walkers
            else [node.iter]
        )
        iterated.update(a.value for a in arguments if isinstance(a, cst.Name) and a.value in scope.env)
        walked = walk(body)
        for name in unique(walked.written + walked.augmented):
            if name in iterated:
                self.error(
                    walked.written_at[name],
                    f"writing into '{name}' inside the loop that walks it is not supported (Python's loop would see "
                    f"the write in the rows not visited yet; to walk the values on entry: for ... in {name}.copy())",
                )

    def shared_closure(self, var: str, scope: _Scope) -> set[str]:
        """Variables that may share memory with `var`, directly or through others."""
        found, todo = {var}, [var]
        while todo:
            current = todo.pop()
            linked = set(scope.shares.get(current, ())) | {
                v for v, partners in scope.shares.items() if current in partners
            }
            for other in linked - found - {ROW}:
                found.add(other)
                todo.append(other)
        return found

    def subscript_target(self, target: cst.Subscript, scope: _Scope) -> tuple[Var, Index] | None:
        """The array and index of an assignment target ``x[...]``."""
        if (
            len(target.slice) == 1
            and isinstance(target.slice[0].slice, cst.Index)
            and isinstance(target.slice[0].slice.value, cst.SimpleString)
        ):
            self.error(target, "assigning into a dict is not supported (dicts of parameters are read-only)")
            return None
        if not isinstance(target.value, cst.Name):
            self.error(target, "assigning into a nested subscript is not supported (index once: x[i, j])")
            return None
        base = self.name(target.value, scope)
        if not isinstance(base, Var):
            self.error(target, f"'{target.value.value}' cannot be assigned into (it is a constant)")
            return None
        return base, self.index(target, scope, target.value.value)

    def store(self, name: str, base: Var, index: Index, value: Atom, scope: _Scope) -> None:
        """``x[index] = value``: a new version of the array; every alias of it sees the write."""
        if base.name in scope.params:
            self.param_writes.setdefault(self.current, (base.name, scope.span))
        partners = scope.shares.get(base.name, set())
        if ROW in partners:
            self.sink.error(
                scope.span,
                f"writing into '{name}', a row of the array the loop walks, is not supported yet (copy it: {name} = {name}.copy())",
            )
        # Either direction: `r = x[0]; r[1] = v` and `r = x[0]; x[0, 1] = v` both reach the other name.
        others = self.sharing(base.name, scope, exclude=name)
        if others:
            self.sink.error(
                scope.span,
                f"writing into '{name}' while it may be the same array as '{others[0]}' is not supported yet "
                f"(copy first: {name} = {name}.copy())",
            )
        if scope.region is not None:
            # `w = v; w[i] = ...` in an arm or loop body changes `v` too; where the region
            # does not hand `v` back (it never assigns `v` itself), the change would be lost.
            inputs, outputs = scope.region
            lost = sorted(
                n for n, v in scope.env.items() if v == base and n != name and n in inputs and n not in outputs
            )
            if lost:
                self.sink.error(
                    scope.span,
                    f"writing into '{name}' here also changes '{lost[0]}' (the same array), which is not supported yet "
                    f"inside an 'if' arm or a loop body (copy first: {name} = {lost[0]}.copy())",
                )
        new = self.emit(scope, "dpgen.setitem", (base, index, value), (), name)
        self._bind_name(name, new, scope)
        for other, bound in list(scope.env.items()):
            if bound == base:
                scope.env[other] = scope.env[name]

    def _tuple_length(self, value: Var, scope: _Scope) -> int | None:
        """How many items the tuple a module function returned into `value` has, when every
        `return` of that function is a tuple display of one length."""
        for stmt in scope.body:
            if isinstance(stmt, Call) and stmt.outs == (value.name,) and stmt.callee in self.functions:
                lengths = tuple_lengths(self.functions[stmt.callee])
                return next(iter(lengths)) if len(lengths) == 1 else None
        return None

    def _bind_name(self, name: str, value: Atom, scope: _Scope) -> None:
        last = scope.body[-1] if scope.body else None
        if (
            isinstance(value, Var)
            and isinstance(last, (Eqn, Call))
            and last.outs == (value.name,)
            and not _referenced(value, scope)
        ):
            # The expression's own result: give its equation the target's name.
            out = self._version(name, scope)
            last = scope.body[-1]
            if value.name != out:
                scope.names.discard(value.name)
                scope.renamed[value.name] = out
                scope.body[-1] = type(last)((out,), *_fields_after_outs(last))
                if value.name in scope.shares:
                    scope.shares[out] = scope.shares.pop(value.name)
            scope.env[name] = Var(out)
        else:
            scope.env[name] = value  # a constant or another variable: no copy needed
            scope.bound.add(name)

    def _version(self, name: str, scope: _Scope) -> str:
        """The SSA name for a new binding of source name `name`."""
        name = _display(name)
        if name not in scope.bound and not self.reserved(name):
            scope.bound.add(name)
            return name
        return scope.names.version(name)

    # ------------------------------------------------------------- expressions
    def expr(self, node: cst.BaseExpression, scope: _Scope, target: str, allow_logic: bool = False) -> Atom:
        """Lower an expression to an atom, emitting equations for its operations.

        `allow_logic` admits ``and``/``or``/``not``, which only tests may use (they are
        rendered inline there, so short-circuiting is kept)."""
        if isinstance(node, cst.BooleanOperation) and allow_logic:
            left = self.expr(node.left, scope, target, allow_logic=True)
            right = self.expr(node.right, scope, target, allow_logic=True)
            op = "dpgen.and" if isinstance(node.operator, cst.And) else "dpgen.or"
            return self.emit(scope, op, (left, right), (), target)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not) and allow_logic:
            return self.emit(
                scope, "dpgen.not", (self.expr(node.expression, scope, target, allow_logic=True),), (), target
            )
        if isinstance(node, cst.BooleanOperation):
            return self.unsupported(node, "'and'/'or' outside an 'if' or 'while' test (use np.logical_and)")
        if isinstance(node, cst.IfExp):
            return self.if_expression(node, scope, target)
        if isinstance(node, cst.Name):
            return self.name(node, scope)
        if isinstance(node, cst.Imaginary):
            return self.unsupported(node, f"the complex literal '{node.value}': {COMPLEX}", plain=True)
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
            return Const(code_text(self.parsed.module.code_for_node(node)))
        if isinstance(node, cst.Attribute):
            return self.attribute(node, scope, target)
        if isinstance(node, cst.BinaryOperation):
            left = self.expr(node.left, scope, target)
            right = self.expr(node.right, scope, target)
            op = BINARY_OPS.get(type(node.operator))
            if op is None:
                return self.unsupported(node, "this operator")
            if isinstance(left, Const) and isinstance(right, Const):
                return _fold(node.operator, left, right)
            if _is_constant(left) and _is_constant(right):  # `2 * np.pi`: a constant tree, no equation
                return Apply(op, (left, right))
            if self._is_list(left, scope) or self._is_list(right, scope):
                # Python concatenates or repeats lists: no NumPy rule describes that. A list
                # of constants (`[0.0] * n`) carries no derivative and is rendered as written.
                return self.unsupported(
                    node,
                    "an arithmetic operator on a list or tuple of variables (Python concatenates or repeats it; make it an array first: np.array([...]))",
                )
            return self.emit(scope, op, (left, right), (), target)
        if isinstance(node, cst.UnaryOperation):
            operand = self.expr(node.expression, scope, target)
            if isinstance(node.operator, cst.Plus):
                return operand
            if isinstance(node.operator, cst.Minus):
                if isinstance(operand, Const):
                    return Const(ast.unparse(ast.UnaryOp(ast.USub(), ast.parse(operand.text, mode="eval").body)))
                if _is_constant(operand):
                    return Apply(NEGATIVE, (operand,))
                return self.emit(scope, NEGATIVE, (operand,), (), target)
            if isinstance(node.operator, cst.Not):
                return self.unsupported(node, "'not' outside an 'if' or 'while' test (use np.logical_not)")
            return self.unsupported(node, "'~'")
        if isinstance(node, cst.Comparison):
            if len(node.comparisons) != 1 or type(node.comparisons[0].operator) not in COMPARISONS:
                return self.unsupported(node, "this comparison")
            left = self.expr(node.left, scope, target)
            right = self.expr(node.comparisons[0].comparator, scope, target)
            return self.emit(scope, COMPARISONS[type(node.comparisons[0].operator)], (left, right), (), target)
        if isinstance(node, cst.Call):
            return self.call(node, scope, target)
        if isinstance(node, cst.Subscript):
            base = self.expr(node.value, scope, target)
            index = self.index(node, scope, target)
            if len(index.items) == 1 and not index.is_tuple and _is_string(index.items[0]):
                # p["W1"]: a dict entry, named p_W1 where the key makes a name
                key = ast.literal_eval(index.items[0].text)
                name = f"{node.value.value}_{key}" if isinstance(node.value, cst.Name) and key.isidentifier() else None
                return self.emit(scope, "dpgen.getkey", (base, index.items[0]), (), target, name=name)
            if isinstance(base, Seq):
                position = _constant_position(index, len(base.items))
                if position is not None:
                    return base.items[position]  # a list known when generating: no equation
                base = self.emit(scope, "dpgen.assign", (base,), (), target)  # a run-time list to index
            return self.emit(scope, "dpgen.getitem", (base, index), (), target)
        if (
            isinstance(node, cst.List)
            and len(node.elements) == 2
            and isinstance(node.elements[0], cst.StarredElement)
            and not isinstance(node.elements[1], cst.StarredElement)
        ):
            # `[*xs, v]`: how dpgen's own output spells `xs.append(v)` on a new list.
            base = self.expr(node.elements[0].value, scope, target)
            return self.emit(
                scope, "dpgen.append", (base, self.expr(node.elements[1].value, scope, target)), (), target
            )
        if isinstance(node, cst.List):
            return Seq(tuple(self.expr(e.value, scope, target) for e in node.elements), is_list=True)
        if isinstance(node, cst.ListComp):
            return self.list_comprehension(node, scope, target)
        if isinstance(node, cst.Tuple):
            items = tuple(self.expr(e.value, scope, target) for e in node.elements)
            if all(isinstance(i, Const) for i in items):
                return _const_seq(items, False)
            return Seq(items)
        return self.unsupported(node, "this expression")

    def if_expression(self, node: cst.IfExp, scope: _Scope, target: str) -> Atom:
        """``a if c else b``: a branch whose arms each compute one expression."""
        if self.in_test:
            # Inside an ``if``/``while`` test nothing is differentiated and the test is
            # rendered as one inline expression, so this stays a conditional expression
            # there (only the arm taken is evaluated).
            parts = (self.expr(n, scope, target, allow_logic=True) for n in (node.test, node.body, node.orelse))
            return self.emit(scope, "dpgen.ifexp", tuple(parts), (), target)
        test = self.test(node.test, scope)
        inputs = unique([n for n in names_read([node.body, node.orelse]) if n in scope.env])
        line = self.span(node, scope).line
        arms = []
        for arm, expression in (("then", node.body), ("else", node.orelse)):
            statement = cst.SimpleStatementLine([cst.Return(value=expression)])
            description = (
                f"the {'true' if arm == 'then' else 'false'} value of the conditional expression at line {line}"
            )
            arms.append(
                self.outline(
                    f"_{self.current}_line{line}_{arm}",
                    [statement],
                    inputs,
                    [RETURN],
                    scope,
                    in_loop=False,
                    description=description,
                )
            )
        out = scope.names.fresh(f"{target}_ifexp")
        arguments = self.arguments_for(inputs, scope)
        scope.body.append(Branch(test, arms[0], arms[1], arguments, (out,), scope.span))
        self.share_passthrough((out,), tuple(arms), dict(zip(inputs, arguments)), scope)
        return Var(out)

    def name(self, node: cst.Name, scope: _Scope) -> Atom:
        name = node.value
        if name in scope.env:
            return scope.env[name]
        if name in ("True", "False", "None"):
            return Const(name)
        if name in self.complex_constants:
            return self.unsupported(node, f"the module-level constant '{name}' is complex: {COMPLEX}", plain=True)
        if name in self.rebound:
            self.error(
                node,
                f"the module-level variable '{name}' is not supported: {self.rebound[name]} (only a name bound once, to a literal constant, is copied; pass it as a parameter)",
            )
            return Const("None")
        if name in self.constants:
            return Const(self.constant_names.get(name, name))
        for qualified in self.parsed.qualified_names(node):
            if qualified in CONSTANTS:
                return _named_constant(qualified)
            if qualified in COMPLEX_NAMES:
                return self.unsupported(node, f"'{name}': {COMPLEX}", plain=True)
        if name in self.functions:
            return self.unsupported(node, f"using the function '{name}' as a value")
        if name in self.module_names or name in self.module_bound:
            self.error(
                node,
                f"the module-level variable '{name}' is not supported (it is not a literal constant; pass it as a parameter)",
            )
            return Const("None")
        self.error(node, f"name '{name}' is not defined in the function")
        return Const("None")

    def attribute(self, node: cst.Attribute, scope: _Scope, target: str) -> Atom:
        for qualified in self.parsed.qualified_names(node):
            if qualified in CONSTANTS:
                return _named_constant(qualified)
            if qualified in COMPLEX_NAMES:
                return self.unsupported(node, f"'{self.parsed.module.code_for_node(node)}': {COMPLEX}", plain=True)
        attr = node.attr.value
        if attr in COMPLEX_ATTRIBUTES and not self._is_module(node.value):
            return self.unsupported(node, f"'.{attr}': {COMPLEX}", plain=True)
        if attr in ATTRIBUTES and not self._is_module(node.value):
            value = self.expr(node.value, scope, target)
            return self.emit(scope, ATTRIBUTES[attr], (value,), (), target)
        return self.unsupported(node, f"the attribute '{self.parsed.module.code_for_node(node)}'")

    def call(self, node: cst.Call, scope: _Scope, target: str) -> Atom:
        func = node.func
        for arg in node.args:
            if arg.star:
                return self.unsupported(arg, "'*' and '**' arguments")
        qualified = sorted(self.parsed.qualified_names(func)) if _dotted(func) else []
        rule_names = [q for q in qualified if rules.lookup(q) is not None]
        if any(q in COMPLEX_NAMES for q in qualified) or (
            isinstance(func, cst.Attribute)
            and func.attr.value in COMPLEX_ATTRIBUTES
            and not self._is_module(func.value)
        ):
            return self.unsupported(node, f"'{self.parsed.module.code_for_node(func)}(...)': {COMPLEX}", plain=True)
        # Another module-level name for a module function or helper (the aliases dpgen's own
        # output defines where a parameter hides a name): the call is a call of that function.
        callee = (
            self.function_aliases.get(func.value, func.value)
            if isinstance(func, cst.Name) and func.value not in scope.env
            else None
        )
        if callee in self.rebound:  # `h = g`, then `h = g2` in an `if`: which one runs is not known here
            self.error(
                func,
                f"the module-level name '{callee}' is not supported: {self.rebound[callee]} (call one function by its own name)",
            )
            return Const("None")
        if callee is not None and callee in self.functions:
            args, kwargs = self.arguments(node, scope, target)
            problem = call_mismatch(self.functions[callee], len(args), [k for k, _ in kwargs])
            if problem:
                self.error(node, problem)
            args = tuple(self.materialize(a, scope, target) for a in args)
            kwargs = tuple((k, self.materialize(v, scope, target)) for k, v in kwargs)
            self.calls.append((callee, node))
            out = scope.names.fresh(f"{target}_{callee}")
            scope.body.append(Call((out,), callee, args, kwargs, scope.span))
            # The callee may hand an argument back (``return a``, or ``return a, b``): the
            # result (or that tuple item) may be the caller's array.
            handed_back = {
                pos: args[k].name
                for pos, k in returned_parameters(self.functions[callee]).items()
                if k < len(args) and isinstance(args[k], Var)
            }
            if handed_back:
                self.handed_back[out] = handed_back
                if None in handed_back:
                    scope.shares.setdefault(out, set()).add(handed_back[None])
            return Var(out)
        if callee is not None and callee in self.helpers:
            if rules.lookup(f"{HELPER_PREFIX}{callee}") is None:  # `_check_real` as a value, `_split_like`
                return self.unsupported(node, f"a call of dpgen's helper '{callee}' in its output read back")
            args, kwargs = self.arguments(node, scope, target)
            return self.emit(scope, f"{HELPER_PREFIX}{callee}", args, kwargs, target, node=node)
        if rule_names:
            args, kwargs = self.arguments(node, scope, target)
            op = rules.canonical(rule_names[0])
            if op in OPERATORS:
                # `np.multiply([a, b], 2)` is rendered as an operator, on an array: on the
                # list itself, `*` would repeat it.
                args = tuple(
                    self.emit(scope, "numpy.asarray", (a,), (), target) if isinstance(a, Seq) else a for a in args
                )
            return self.emit(scope, op, args, kwargs, target, node=node)
        if isinstance(func, cst.Attribute) and not self._is_module(func.value):
            method = func.attr.value
            if method not in METHODS:
                return self.unsupported(node, f"the method '.{method}()'")
            receiver = self.expr(func.value, scope, target)
            args, kwargs = self.arguments(node, scope, target)
            if method in VARARG_METHODS and len(args) > 1:
                args = (Seq(args) if not all(isinstance(a, Const) for a in args) else _const_seq(args, False),)
            return self.emit(scope, METHODS[method], (receiver, *args), kwargs, target, node=node)
        shown = qualified[0] if qualified else self.parsed.module.code_for_node(func)
        self.error(node, f"no derivative rule for '{shown}' (see the supported functions in README.md)")
        return Const("None")

    def arguments(
        self, node: cst.Call, scope: _Scope, target: str
    ) -> tuple[tuple[Atom, ...], tuple[tuple[str, Atom], ...]]:
        args = tuple(self.expr(a.value, scope, target) for a in node.args if a.keyword is None)
        kwargs = tuple((a.keyword.value, self.expr(a.value, scope, target)) for a in node.args if a.keyword is not None)
        return args, kwargs

    def index(self, node: cst.Subscript, scope: _Scope, target: str) -> Index:
        items = []
        for element in node.slice:
            s = element.slice
            if isinstance(s, cst.Slice):
                parts = [None if p is None else self.expr(p, scope, target) for p in (s.lower, s.upper, s.step)]
                items.append(SliceAtom(*parts))
            elif isinstance(s.value, cst.Ellipsis):
                items.append(Const("..."))
            else:
                items.append(self.expr(s.value, scope, target))
        is_tuple = len(node.slice) > 1 or node.slice[-1].comma is not cst.MaybeSentinel.DEFAULT
        return Index(tuple(items), is_tuple)

    # ----------------------------------------------------------------- helpers
    def emit(
        self,
        scope: _Scope,
        op: str,
        args,
        kwargs,
        target: str,
        node: cst.CSTNode | None = None,
        name: str | None = None,
    ) -> Atom:
        """Append one equation and return its output variable."""
        rule = rules.lookup(op)
        assert rule is not None, op
        try:
            bound = rule.bind(tuple(args), tuple(kwargs))
            if _is_complex_dtype(bound.values.get("dtype")):
                raise rules.RuleError(f"dtype={bound['dtype'].text}: {COMPLEX}")
        except rules.RuleError as exc:
            self.sink.error(self.parsed.span(node) if node is not None else scope.span, str(exc))
        short = SHORT_NAMES.get(op, op.rsplit(".", 1)[-1])
        out = scope.names.fresh(name or f"{target}_{short}")
        scope.body.append(Eqn((out,), op, tuple(args), tuple(kwargs), scope.span))
        if op in VIEWS and args and isinstance(args[0], Var):
            scope.shares.setdefault(out, set()).add(args[0].name)  # a NumPy view, or an item of a list or dict
        return Var(out)

    def _is_helper_call(self, node: cst.BaseExpression, helper: str) -> bool:
        """A call of one of dpgen's own helpers, by its name or the alias the output gives it
        where a parameter hides the name."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)) or helper not in self.helpers:
            return False
        return self.function_aliases.get(node.func.value, node.func.value) == helper

    def _is_list(self, atom: Atom, scope: _Scope) -> bool:
        """Whether an operand is a list or tuple that may hold variables: a display holding
        one, or a list built at run time (appends, a display that crossed into a loop or
        call, a loop carrying either)."""
        if isinstance(atom, Seq):
            return _vars_in_atom(atom)
        if not isinstance(atom, Var):
            return False
        stmt = self._definition(atom.name, scope.body)
        if isinstance(stmt, Eqn):
            return stmt.op == "dpgen.append" or (stmt.op == "dpgen.assign" and self._is_list(stmt.args[0], scope))
        if isinstance(stmt, Loop):
            return self._is_list(stmt.init[stmt.carried.index(atom.name)], scope)
        return False

    def _definition(self, name: str, body: list) -> Stmt | None:
        """The first statement of `body` that assigns `name`, or None.

        A scan per question made long functions quadratic; the index grows with the body
        (statements are only appended). The last statement is not indexed: lowering may
        still rename its outputs (`scope.body[-1] = ...`), so it is looked at each time.
        """
        entry = self.definitions.get(id(body))
        if entry is None or entry[0] is not body:
            entry = self.definitions[id(body)] = [body, 0, {}]
        _, indexed, first = entry
        for position in range(indexed, len(body) - 1):
            for out in body[position].outs:
                first.setdefault(out, position)
        entry[1] = max(indexed, len(body) - 1)
        if name in first:
            return body[first[name]]
        return body[-1] if body and name in body[-1].outs else None

    def _is_module(self, node: cst.BaseExpression) -> bool:
        """Whether an expression names a module (``np``, ``np.linalg``) rather than a value."""
        if not _dotted(node):
            # A call or an operation always makes a value, also under attributes:
            # libcst names ``np.outer(a, b).T`` "numpy.outer.T", as if it were a module's.
            return False
        names = self.parsed.qualified_names(node)
        return (
            bool(names)
            and all("<locals>" not in n for n in names)
            and not (isinstance(node, cst.Name) and node.value in self.module_names)
        )

    def unsupported(self, node: cst.CSTNode, what: str, plain: bool = False) -> Atom:
        self.error(node, what if plain else f"{what} is not supported")
        return Const("None")

    def error(self, node: cst.CSTNode, message: str) -> None:
        self.sink.error(self.span(node, None), message)

    def span(self, node: cst.CSTNode, scope: _Scope | None) -> Span:
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


# --------------------------------------------------------------------- helpers


def _dotted(node: cst.BaseExpression) -> bool:
    """Whether an expression is a dotted name (``np``, ``np.linalg.inv``), not a value's attribute."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _is_literal(node: cst.BaseExpression) -> bool:
    try:
        ast.literal_eval(code_text(cst.Module([]).code_for_node(node)))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _is_complex(node: cst.BaseExpression) -> bool:
    """Whether an expression holds a complex literal (``1j``, ``2 + 3j``, ``(1.0, 2j)``)."""
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Imaginary(self, n: cst.Imaginary) -> None:
            found.append(n)

    node.visit(_Find())
    return bool(found)


def _is_complex_dtype(atom: object) -> bool:
    """``dtype="complex128"`` (or ``"c16"``, ``"D"``): a string NumPy reads as a complex type."""
    if not _is_string(atom):
        return False
    import numpy  # only here: dpgen itself never needs NumPy otherwise

    try:
        return numpy.dtype(ast.literal_eval(atom.text)).kind == "c"
    except Exception:  # noqa: BLE001 - numpy raises TypeError, ValueError or SyntaxError for text it cannot read
        return False


def _annotation(param: cst.Param) -> str | None:
    """A parameter's annotation when it is a plain name (``float``), else None."""
    if param.annotation is not None and isinstance(param.annotation.annotation, cst.Name):
        return param.annotation.annotation.value
    return None


def _differentiable(param: cst.Param) -> bool:
    if _annotation(param) in NONDIFFERENTIABLE_ANNOTATIONS:
        return False
    if param.default is not None and isinstance(param.default, (cst.Integer, cst.SimpleString, cst.ConcatenatedString)):
        return False
    if isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
        return False
    return True


def _target_hint(target: cst.BaseExpression) -> str:
    """The name temporaries of an assignment are named after."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, (cst.Tuple, cst.List)) and target.elements and isinstance(target.elements[0].value, cst.Name):
        return "_".join(e.value.value for e in target.elements if isinstance(e.value, cst.Name))
    return "tmp"


def _fields_after_outs(stmt: Stmt) -> tuple:
    if isinstance(stmt, Eqn):
        return (stmt.op, stmt.args, stmt.kwargs, stmt.span)
    return (stmt.callee, stmt.args, stmt.kwargs, stmt.span)


def _named_constant(qualified: str) -> Atom:
    """``np.pi`` -> ``Global("numpy.pi")``: the IR names the value, the renderer spells it."""
    return Const("None") if qualified == "numpy.newaxis" else Global(qualified)


def _is_constant(atom: object) -> bool:
    """A literal, a named constant, or arithmetic on those (``2 * np.pi``)."""
    if isinstance(atom, (Const, Global)):
        return True
    return isinstance(atom, Apply) and all(_is_constant(a) for a in atom.args) and not atom.kwargs


def _fold(operator: cst.BaseBinaryOp, left: Const, right: Const) -> Const:
    """A constant expression stays constant: `2 * np.pi` needs no equation."""
    ops = {
        cst.Add: ast.Add,
        cst.Subtract: ast.Sub,
        cst.Multiply: ast.Mult,
        cst.Divide: ast.Div,
        cst.Power: ast.Pow,
        cst.Modulo: ast.Mod,
        cst.FloorDivide: ast.FloorDiv,
        cst.MatrixMultiply: ast.MatMult,
    }
    expr = ast.BinOp(
        ast.parse(left.text, mode="eval").body, ops[type(operator)](), ast.parse(right.text, mode="eval").body
    )
    return Const(ast.unparse(expr))


def _const_seq(items, is_list: bool) -> Const:
    inner = ", ".join(i.text for i in items)
    if is_list:
        return Const(f"[{inner}]")
    return Const(f"({inner},)" if len(items) == 1 else f"({inner})")


def _display(name: str) -> str:
    """A usable variable name for an environment key (``<return>`` -> ``out``)."""
    return SPECIAL.get(name, name)


def _constant_position(index: Index, length: int) -> int | None:
    """``xs[2]`` or ``xs[-1]`` on a list of known length: the position, else None."""
    if index.is_tuple or len(index.items) != 1 or not isinstance(index.items[0], Const):
        return None
    try:
        value = ast.literal_eval(index.items[0].text)
    except ValueError:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and -length <= value < length:
        return value % length
    return None


def _is_string(atom: object) -> bool:
    if not isinstance(atom, Const):
        return False
    try:
        return isinstance(ast.literal_eval(atom.text), str)
    except ValueError:
        return False


def _renamed(atom: Atom, renamed: dict[str, str]) -> Atom:
    """`atom` with each variable whose equation was renamed to its target spelled the new way."""
    if isinstance(atom, Var) and atom.name in renamed:
        return _renamed(Var(renamed[atom.name]), renamed)
    if isinstance(atom, Seq):
        return Seq(tuple(_renamed(item, renamed) for item in atom.items), atom.is_list)
    return atom


def _referenced(var: Var, scope: _Scope) -> bool:
    """Whether some name is bound to `var`, alone or as an item of a tuple or list display."""

    def holds(atom: object) -> bool:
        return atom == var or (isinstance(atom, Seq) and any(holds(item) for item in atom.items))

    return any(holds(value) for value in scope.env.values())


def _vars_in_atom(atom: object) -> bool:
    """Whether a list display (or tuple) holds any variable."""
    if isinstance(atom, Var):
        return True
    if isinstance(atom, Seq):
        return any(_vars_in_atom(item) for item in atom.items)
    return False
