"""Simple statements: assignments (to names, tuples and subscripts), `append`, list
comprehensions, and the SSA renaming of rebound names (a mixin of `Lowering`)."""

from __future__ import annotations

import libcst as cst

from dpgen.ir import Atom, Call, Const, Eqn, Index, Seq, Var
from dpgen.frontend.regions import is_append, tuple_lengths
from dpgen.frontend.lowering.atoms import display_name, fields_after_outs, referenced, with_renames
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.syntax import complex_part, target_hint
from dpgen.frontend.lowering.tables import AUGMENTED_OPS, BINARY_OPS, ROW


class StatementLowering:
    """Simple statements and the bindings they make. Part of `Lowering`, whose `__init__` holds the state."""

    def statement(self, node: cst.CSTNode, scope: Scope, first: bool) -> None:
        if isinstance(node, cst.AugAssign) and self._writes_a_part(node.target):
            return
        if isinstance(node, cst.Assign):
            value = self.expr(node.value, scope, target_hint(node.targets[0].target))
            scope.renamed = {}  # this statement's renames only: a freed name may be reused later
            for k, target in enumerate(node.targets):
                # `a = b = v`: binding `a` may rename v's equation to `a`; later targets must
                # read the value under its new name (and must not take a call's outputs away).
                value = with_renames(value, scope.renamed)
                self.bind(target.target, value, node.value, scope, keep=k < len(node.targets) - 1)
        elif isinstance(node, cst.AnnAssign):
            if node.value is None:
                return  # a bare annotation binds nothing
            self.bind(node.target, self.expr(node.value, scope, target_hint(node.target)), node.value, scope)
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
        self, target: cst.BaseExpression, value: Atom, value_node: cst.CSTNode, scope: Scope, keep: bool = False
    ) -> None:
        """Bind a target to a value; the value's equation is renamed to the target when fresh.

        `keep`: another target of the same statement still needs `value` as one variable."""
        elements = [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else [target]
        if any([self._writes_a_part(e) for e in elements]):  # a list: report every one
            return
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
                and (keep or referenced(value, scope))
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
                scope.body[-1] = type(last)(outs, *fields_after_outs(last))
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

    def append(self, call: cst.Call, scope: Scope) -> None:
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

    def list_comprehension(self, node: cst.ListComp, scope: Scope, target: str) -> Atom:
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

    def _writes_a_part(self, target: cst.BaseExpression) -> bool:
        """Refuse ``z.real = v`` and ``z.imag[i] = v`` (with a located error, then True): NumPy
        writes through the view into ``z``, and dpgen does not follow writes into the parts."""
        part = complex_part(target)
        if part is None:
            return False
        text = self.parsed.module.code_for_node(part)
        whole = self.parsed.module.code_for_node(part.value)
        self.error(
            target,
            f"writing into '{text}' is not supported: NumPy writes through it into '{whole}', and dpgen does not "
            f"follow writes into the parts of a complex value (build it anew: {whole} = re + 1j * im)",
        )
        return True

    def subscript_target(self, target: cst.Subscript, scope: Scope) -> tuple[Var, Index] | None:
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

    def store(self, name: str, base: Var, index: Index, value: Atom, scope: Scope) -> None:
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

    def _tuple_length(self, value: Var, scope: Scope) -> int | None:
        """How many items the tuple a module function returned into `value` has, when every
        `return` of that function is a tuple display of one length."""
        for stmt in scope.body:
            if isinstance(stmt, Call) and stmt.outs == (value.name,) and stmt.callee in self.functions:
                lengths = tuple_lengths(self.functions[stmt.callee])
                return next(iter(lengths)) if len(lengths) == 1 else None
        return None

    def _bind_name(self, name: str, value: Atom, scope: Scope) -> None:
        last = scope.body[-1] if scope.body else None
        if (
            isinstance(value, Var)
            and isinstance(last, (Eqn, Call))
            and last.outs == (value.name,)
            and not referenced(value, scope)
        ):
            # The expression's own result: give its equation the target's name.
            out = self._version(name, scope)
            last = scope.body[-1]
            if value.name != out:
                scope.names.discard(value.name)
                scope.renamed[value.name] = out
                scope.body[-1] = type(last)((out,), *fields_after_outs(last))
                if value.name in scope.shares:
                    scope.shares[out] = scope.shares.pop(value.name)
            scope.env[name] = Var(out)
        else:
            scope.env[name] = value  # a constant or another variable: no copy needed
            scope.bound.add(name)

    def _version(self, name: str, scope: Scope) -> str:
        """The SSA name for a new binding of source name `name`."""
        name = display_name(name)
        if name not in scope.bound and not self.reserved(name):
            scope.bound.add(name)
            return name
        return scope.names.version(name)
