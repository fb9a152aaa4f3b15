"""Calls: numpy and math functions, array methods, module functions and their aliases, dpgen's
own helpers, and which names are modules rather than values (a mixin of `Lowering`)."""

from __future__ import annotations

import libcst as cst

from dpgen import rules
from dpgen.ir import Atom, Call, Const, Seq, Stmt, Var
from dpgen.rules.helpers import HELPER_PREFIX
from dpgen.frontend.regions import call_mismatch, returned_parameters
from dpgen.frontend.lowering.atoms import const_seq
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.syntax import is_dotted
from dpgen.frontend.lowering.tables import (
    METHODS,
    OPERATORS,
    REFUSED_CALLS,
    VARARG_METHODS,
)


class CallLowering:
    """Calls of library functions, methods, module functions and dpgen's helpers. Part of `Lowering`, whose `__init__` holds the state."""

    def call(self, node: cst.Call, scope: Scope, target: str) -> Atom:
        func = node.func
        for arg in node.args:
            if arg.star:
                return self.unsupported(arg, "'*' and '**' arguments")
        qualified = sorted(self.parsed.qualified_names(func)) if is_dotted(func) else []
        rule_names = [q for q in qualified if rules.lookup(q) is not None]
        for q in qualified:
            if q in REFUSED_CALLS:
                return self.unsupported(node, REFUSED_CALLS[q], plain=True)
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
            if rules.lookup(f"{HELPER_PREFIX}{callee}") is None:  # the helpers rules/helpers.py names as ruleless
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
                args = (Seq(args) if not all(isinstance(a, Const) for a in args) else const_seq(args, False),)
            return self.emit(scope, METHODS[method], (receiver, *args), kwargs, target, node=node)
        shown = qualified[0] if qualified else self.parsed.module.code_for_node(func)
        self.error(node, f"no derivative rule for '{shown}' (see the supported functions in README.md)")
        return Const("None")

    def arguments(
        self, node: cst.Call, scope: Scope, target: str
    ) -> tuple[tuple[Atom, ...], tuple[tuple[str, Atom], ...]]:
        args = tuple(self.expr(a.value, scope, target) for a in node.args if a.keyword is None)
        kwargs = tuple((a.keyword.value, self.expr(a.value, scope, target)) for a in node.args if a.keyword is not None)
        return args, kwargs

    def _is_helper_call(self, node: cst.BaseExpression, helper: str) -> bool:
        """A call of one of dpgen's own helpers, by its name or the alias the output gives it
        where a parameter hides the name."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)) or helper not in self.helpers:
            return False
        return self.function_aliases.get(node.func.value, node.func.value) == helper

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
        if not is_dotted(node):
            # A call or an operation always makes a value, also under attributes:
            # libcst names ``np.outer(a, b).T`` "numpy.outer.T", as if it were a module's.
            return False
        names = self.parsed.qualified_names(node)
        return (
            bool(names)
            and all("<locals>" not in n for n in names)
            and not (isinstance(node, cst.Name) and node.value in self.module_names)
        )
