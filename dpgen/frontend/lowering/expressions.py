"""Expressions -> atoms and equations in A-normal form: operators, names, attributes, indexing,
`x if c else y`; `emit` writes one equation (a mixin of `Lowering`)."""

from __future__ import annotations

import ast

import libcst as cst

from dpgen import rules
from dpgen.escape import code_text
from dpgen.ir import Apply, Atom, Branch, Const, Eqn, Index, Loop, Seq, SliceAtom, Var
from dpgen.frontend.regions import names_read, unique
from dpgen.frontend.lowering.atoms import (
    const_seq,
    constant_position,
    fold,
    is_constant,
    is_string,
    named_constant,
    vars_in_atom,
)
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.tables import (
    ATTRIBUTES,
    BINARY_OPS,
    COMPARISONS,
    CONSTANTS,
    NEGATIVE,
    RETURN,
    SHORT_NAMES,
    VIEWS,
)


class ExpressionLowering:
    """Expressions to atoms, one equation per operation. Part of `Lowering`, whose `__init__` holds the state."""

    # ------------------------------------------------------------- expressions
    def expr(self, node: cst.BaseExpression, scope: Scope, target: str, allow_logic: bool = False) -> Atom:
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
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
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
                return fold(node.operator, left, right)
            if is_constant(left) and is_constant(right):  # `2 * np.pi`: a constant tree, no equation
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
                if is_constant(operand):
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
            if len(index.items) == 1 and not index.is_tuple and is_string(index.items[0]):
                # p["W1"]: a dict entry, named p_W1 where the key makes a name
                key = ast.literal_eval(index.items[0].text)
                name = f"{node.value.value}_{key}" if isinstance(node.value, cst.Name) and key.isidentifier() else None
                return self.emit(scope, "dpgen.getkey", (base, index.items[0]), (), target, name=name)
            if isinstance(base, Seq):
                position = constant_position(index, len(base.items))
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
                return const_seq(items, False)
            return Seq(items)
        return self.unsupported(node, "this expression")

    def if_expression(self, node: cst.IfExp, scope: Scope, target: str) -> Atom:
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

    def name(self, node: cst.Name, scope: Scope) -> Atom:
        name = node.value
        if name in scope.env:
            return scope.env[name]
        if name in ("True", "False", "None"):
            return Const(name)
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
                return named_constant(qualified)
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

    def attribute(self, node: cst.Attribute, scope: Scope, target: str) -> Atom:
        for qualified in self.parsed.qualified_names(node):
            if qualified in CONSTANTS:
                return named_constant(qualified)
        attr = node.attr.value
        if attr in ATTRIBUTES and not self._is_module(node.value):
            value = self.expr(node.value, scope, target)
            return self.emit(scope, ATTRIBUTES[attr], (value,), (), target)
        return self.unsupported(node, f"the attribute '{self.parsed.module.code_for_node(node)}'")

    def index(self, node: cst.Subscript, scope: Scope, target: str) -> Index:
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
        scope: Scope,
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
            rule.bind(tuple(args), tuple(kwargs))
        except rules.RuleError as exc:
            self.sink.error(self.parsed.span(node) if node is not None else scope.span, str(exc))
        short = SHORT_NAMES.get(op, op.rsplit(".", 1)[-1])
        out = scope.names.fresh(name or f"{target}_{short}")
        scope.body.append(Eqn((out,), op, tuple(args), tuple(kwargs), scope.span))
        if op in VIEWS and args and isinstance(args[0], Var):
            scope.shares.setdefault(out, set()).add(args[0].name)  # a NumPy view, or an item of a list or dict
        return Var(out)

    def _is_list(self, atom: Atom, scope: Scope) -> bool:
        """Whether an operand is a list or tuple that may hold variables: a display holding
        one, or a list built at run time (appends, a display that crossed into a loop or
        call, a loop carrying either)."""
        if isinstance(atom, Seq):
            return vars_in_atom(atom)
        if not isinstance(atom, Var):
            return False
        stmt = self._definition(atom.name, scope.body)
        if isinstance(stmt, Eqn):
            return stmt.op == "dpgen.append" or (stmt.op == "dpgen.assign" and self._is_list(stmt.args[0], scope))
        if isinstance(stmt, Loop):
            return self._is_list(stmt.init[stmt.carried.index(atom.name)], scope)
        return False
