"""Statement lists and control flow: blocks with early exits, `if` branches, loops, and the
outlining of arms and bodies into internal functions (a mixin of `Lowering`)."""

from __future__ import annotations

import libcst as cst

from dpgen.ir import Atom, Branch, Call, Const, Eqn, ForEach, ForRange, Function, Loop, Param, Seq, Var, Test
from dpgen.names import NameAllocator
from dpgen.frontend.regions import (
    assigned,
    breaks,
    else_statements,
    jumps,
    names_read,
    size,
    target_names,
    suite,
    terminates,
    unique,
)
from dpgen.frontend.lowering.atoms import display_name, vars_in_atom
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.tables import BREAK, COPY_BUDGET, RETURN, ROW, SPECIAL


class BlockLowering:
    """Statement lists, branches and loops; arms and bodies become internal functions. Part of `Lowering`, whose `__init__` holds the state."""

    # -------------------------------------------------------------- blocks
    def block(self, statements: list[cst.BaseStatement], scope: Scope, first: bool = False) -> None:
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

    def branch(self, node: cst.If, then: list, orelse: list, scope: Scope) -> None:
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
        outs = tuple(self._version(display_name(n), scope) for n in outputs)
        arguments = self.arguments_for(inputs, scope)
        scope.body.append(Branch(test, then_fn, else_fn, arguments, outs, scope.span))
        self.share_passthrough(outs, (then_fn, else_fn), dict(zip(inputs, arguments)), scope)
        for name, out in zip(outputs, outs):
            scope.env[name] = Var(out)

    def share_passthrough(
        self, outs: tuple[str, ...], functions: tuple[str, ...], inputs: dict, scope: Scope, starts: tuple = ()
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

    def loop(self, node: cst.For | cst.While, scope: Scope) -> None:
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
            Loop(
                body_fn,
                over,
                parent_targets,
                outs,
                tuple(carried),
                init,
                invariant_values,
                has_break,
                scope.span,
                checkpoint=self.checkpoint(node),
            )
        )
        # The values the body's parameters start from; after zero iterations a carried name
        # still holds its entry value.
        entry = dict(zip(carried + invariants, list(init) + list(invariant_values)))
        self.share_passthrough(outs, (body_fn,), entry, scope, starts=init)

    def materialize(self, atom: Atom, scope: Scope, name: str) -> Atom:
        """A list display holding variables becomes a run-time list where it crosses into
        another function (an arm, a loop body, a call): its items' adjoints then travel as one."""
        if isinstance(atom, Seq) and vars_in_atom(atom):
            return self.emit(scope, "dpgen.assign", (atom,), (), name, name=scope.names.fresh(name))
        return atom

    def arguments_for(self, names: list[str], scope: Scope) -> tuple[Atom, ...]:
        """The current values of `names`, list displays made run-time lists (and kept so)."""
        for n in names:
            if isinstance(scope.env.get(n), Seq) and vars_in_atom(scope.env[n]):
                value = self.materialize(scope.env[n], scope, display_name(n))
                for other, bound in list(scope.env.items()):
                    if bound == scope.env[n] and other != n:
                        scope.env[other] = value
                scope.env[n] = value
        return tuple(scope.env[n] for n in names)

    def iteration(self, node: cst.BaseExpression, scope: Scope, n_targets: int):
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
        parent: Scope,
        in_loop: bool | None = None,
        description: str = "",
        integers: frozenset[str] = frozenset(),
        rows: frozenset[str] = frozenset(),
        params: frozenset[str] | None = None,
    ) -> str:
        """Lower `statements` as an internal function of `inputs` returning `outputs`."""
        name = self.function_names.fresh(name)
        scope = Scope(
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
            param = scope.names.fresh(display_name(n)) if n in SPECIAL or self.reserved(n) else n
            scope.env[n] = Var(param)
            scope.bound.add(param)
            params.append(Param(param, None, differentiable=n not in integers))
        if BREAK in outputs and BREAK not in scope.env:
            scope.env[BREAK] = Const("False")
        self.block(statements, scope)
        defaults = {RETURN: Const("None"), BREAK: Const("False")}
        result = Seq(
            tuple(
                self.materialize(scope.env.get(n, defaults.get(n, Const("None"))), scope, display_name(n))
                for n in outputs
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

    def test(self, node: cst.BaseExpression, scope: Scope) -> Test:
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
