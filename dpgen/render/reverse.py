"""Rendering of reverse-mode IR: the forward sweep of `f_vjp` and the statements of its pullback.

A mixin of `dpgen.render.module.Renderer`: atoms, rule templates, primitive calls, tests and the
backend's statement shapes come from `dpgen.render.expressions.ExpressionPrinter`; this module
only knows which forward and adjoint statements there are and how each is written (the
per-iteration pullback tape of a loop, a branch's pullback, in-place or functional updates).
"""

from __future__ import annotations

import ast

from dpgen.escape import comment_text
from dpgen.ir import (
    AddInPlace,
    AdjointStmt,
    Atom,
    Comment,
    CopyAdjoint,
    Eqn,
    ForRange,
    Index,
    IndexAddAdjoint,
    KeyAddAdjoint,
    SetAdjoint,
    Test,
    UnpackAdjoints,
    Var,
    VjpBranch,
    VjpCall,
    VjpLoop,
    ZeroIndexAdjoint,
    ZerosAdjoint,
)

COMMENT_WIDTH = 88  # black's line length: a longer comment keeps only its location


class ReverseRendering:
    """The reverse-mode half of the renderer: forward-sweep lines and pullback statements."""

    def set_index(self, target: str, base: Atom, index: Index, value: Atom) -> list[str]:
        """``target = base`` with ``base[index] = value`` written in: the array itself is left
        as it was, since the pullback may still read it."""
        return self.statement(
            "set_index",
            target=target,
            base=ast.unparse(self.atom(base)),
            index=self.index_text(index),
            value=ast.unparse(self.atom(value)),
        )

    def forward(self, stmt) -> list[str]:
        if isinstance(stmt, VjpBranch):
            return self.forward_branch(stmt)
        if isinstance(stmt, VjpLoop):
            return self.forward_loop(stmt)
        if isinstance(stmt, Eqn) and stmt.op == "dpgen.setitem":
            return self.set_index(stmt.outs[0], *stmt.args)
        return [self.forward_line(stmt)]

    def forward_branch(self, stmt: VjpBranch) -> list[str]:
        branch = stmt.branch
        outs = ast.Tuple([ast.Name(o) for o in branch.outs])
        arms = []
        for arm in (branch.then, branch.orelse):
            call = ast.Call(ast.Name(self.ref(f"{arm}_vjp")), [self.atom(a) for a in branch.inputs], [])
            arms.append([ast.unparse(ast.Assign([ast.Tuple([outs, ast.Name(stmt.pullback)])], call, lineno=0))])
        return self.statement("branch", test=ast.unparse(self.test(branch.test)), then=arms[0], orelse=arms[1])

    def forward_loop(self, stmt: VjpLoop) -> list[str]:
        loop = stmt.loop
        lines = []
        for out, start in zip(loop.carried, loop.init):
            if start != Var(out):
                lines.append(f"{out} = {ast.unparse(self.atom(start))}")
        if stmt.pullbacks != "_":
            lines += self.statement("new_tape", tape=stmt.pullbacks)
        args = (
            [ast.Name(t) for t in loop.targets]
            + [ast.Name(c) for c in loop.carried]
            + [self.atom(a) for a in loop.invariants]
        )
        results = [ast.Name(c) for c in loop.carried] + ([ast.Name(stmt.flag)] if loop.breaks else [])
        call = ast.Call(ast.Name(self.ref(f"{loop.body}_vjp")), args, [])
        body = [ast.unparse(ast.Assign([ast.Tuple([ast.Tuple(results), ast.Name(stmt.pullback)])], call, lineno=0))]
        if stmt.pullbacks != "_":
            body += self.statement("record", tape=stmt.pullbacks, pullback=stmt.pullback)
        if loop.breaks:
            body += self.statement("break_if", flag=stmt.flag)
        over = loop.over
        if isinstance(over, Test):
            return lines + self.statement("while_loop", test=ast.unparse(self.test(over)), body=body)
        if isinstance(over, ForRange):
            iterable = f"{self.ref('range')}({', '.join(ast.unparse(self.atom(a)) for a in over.args)})"
        else:
            iterable = ", ".join(ast.unparse(self.atom(a)) for a in over.sequences)
            if over.enumerate:
                iterable = f"{self.ref('enumerate')}({iterable})"
            elif over.reverse:
                iterable = f"{self.ref('reversed')}({iterable})"
            elif len(over.sequences) > 1:
                iterable = f"{self.ref('zip')}({iterable})"
        return lines + self.statement("for_loop", targets=", ".join(loop.targets), iterable=iterable, body=body)

    def forward_line(self, stmt: Eqn | VjpCall) -> str:
        if isinstance(stmt, VjpCall):
            call = stmt.call
            outs = _targets(call.outs)
            value = ast.Call(
                ast.Name(self.ref(f"{call.callee}_vjp")),
                [self.atom(a) for a in call.args],
                [ast.keyword(k, self.atom(v)) for k, v in call.kwargs],
            )
            return ast.unparse(ast.Assign([ast.Tuple([outs, ast.Name(stmt.pullback)])], value, lineno=0))
        return ast.unparse(ast.Assign([_targets(stmt.outs)], self.call_expr(stmt.op, stmt.args, stmt.kwargs), lineno=0))

    def backward(self, stmt: AdjointStmt) -> list[str]:
        if isinstance(stmt, Comment):
            # "model.py:12: <source statement>": user text, so one escaped line (dpgen.escape)
            text = f"# {comment_text(stmt.text)}"
            if len(text) + 8 > COMMENT_WIDTH:
                text = "# " + comment_text(stmt.text.split(": ", 1)[0])
            return [text]
        if isinstance(stmt, SetAdjoint):
            value = self.template(stmt.value)
            if stmt.accumulate and stmt.is_dict:
                return self.statement("accumulate_entries", target=stmt.target, part=ast.unparse(value), key=self.key)
            if stmt.in_place:
                return self.statement(
                    "add_into", target=stmt.target, value=ast.unparse(value), sum=_sum(stmt.target, value)
                )
            if stmt.accumulate:
                value = ast.BinOp(ast.Name(stmt.target), ast.Add(), value)
            return [ast.unparse(ast.Assign([ast.Name(stmt.target)], value, lineno=0))]
        if isinstance(stmt, UnpackAdjoints):
            value = self.template(stmt.value)
            if len(stmt.targets) == 1:
                value = ast.Subscript(value, ast.Constant(0))
                return [ast.unparse(ast.Assign([ast.Name(stmt.targets[0])], value, lineno=0))]
            names = ast.Tuple([ast.Name(t if t is not None else "_") for t in stmt.targets])
            return [ast.unparse(ast.Assign([names], value, lineno=0))]
        if isinstance(stmt, ZerosAdjoint):
            # Integer inputs still get floating-point cotangents, so the buffer cannot use x's dtype.
            helper = "_complex_zeros_like" if stmt.complex else "_zeros_like"
            self.use_helper(helper)
            zeros_like = self.ref(helper)
            if stmt.is_dict:
                skip = ", ".join(stmt.assigned) + ("," if len(stmt.assigned) == 1 else "")
                return self.statement(
                    "zeros_entries",
                    target=stmt.target,
                    like=stmt.like.name,
                    zeros_like=zeros_like,
                    key=self.key,
                    value=self.value,
                    skip=f"({skip})" if stmt.assigned else "",
                )
            return self.statement("zeros", target=stmt.target, like=stmt.like.name, zeros_like=zeros_like)
        if isinstance(stmt, CopyAdjoint) and stmt.is_dict:
            return self.statement("copy_entries", target=stmt.target, key=self.key, value=self.value)
        if isinstance(stmt, CopyAdjoint) and stmt.complex:
            # A complex array even where the value is real at run time: complex parts are added in.
            self.use_helper("_complex_copy")
            return [f"{stmt.target} = {self.ref('_complex_copy')}({stmt.target})"]
        if isinstance(stmt, CopyAdjoint):
            return self.statement("copy", target=stmt.target)
        if isinstance(stmt, KeyAddAdjoint):
            key = ast.unparse(self.atom(stmt.key))
            return self.statement("set_key" if stmt.first else "add_key", target=stmt.target, key=key, value=stmt.value)
        if isinstance(stmt, ZeroIndexAdjoint):
            index = self.index_text(stmt.index)
            return self.statement("zero_index", target=stmt.target, source=stmt.source, index=index)
        if isinstance(stmt, AddInPlace) and stmt.is_dict:
            return self.statement("add_entries", target=stmt.target, value=stmt.value, key=self.key)
        if isinstance(stmt, AddInPlace):
            return self.statement(
                "add_into", target=stmt.target, value=stmt.value, sum=_sum(stmt.target, ast.Name(stmt.value))
            )
        if isinstance(stmt, VjpLoop):  # the loop's reverse half: replay the tape of per-iteration pullbacks
            replay, tape = stmt.replay, stmt.pullbacks
            call = ast.Call(ast.Subscript(ast.Name(tape), ast.Name(replay.index)), [self.atom(replay.seed)], [])
            names = ast.Tuple([ast.Name(t if t is not None else "_") for t in replay.targets])
            body = [ast.unparse(ast.Assign([names], call, lineno=0))]
            for inner in replay.body:
                body += self.backward(inner)
            return self.statement(
                "reverse_walk",
                index=replay.index,
                tape=tape,
                reversed=self.ref("reversed"),
                range=self.ref("range"),
                len=self.ref("len"),
                body=body,
            )
        if isinstance(stmt, IndexAddAdjoint):
            index = self.index_text(stmt.index)
            if stmt.may_repeat:
                # An integer-array index may name an element twice; a scatter-add adds both times.
                return self.statement(
                    "scatter_add",
                    function=self.backend.qualified(self.backend.scatter_add or ""),
                    target=stmt.target,
                    index=index,
                    index_value=ast.unparse(self.index_value(stmt.index)),
                    value=stmt.value,
                )
            return self.statement("index_add", target=stmt.target, index=index, value=stmt.value)
        raise TypeError(stmt)


def _sum(target: str, value: ast.expr) -> str:
    """``target + value``, parenthesized as the operands need."""
    return ast.unparse(ast.BinOp(ast.Name(target), ast.Add(), value))


def _targets(outs: tuple[str, ...]) -> ast.expr:
    return ast.Name(outs[0]) if len(outs) == 1 else ast.Tuple([ast.Name(o) for o in outs])
