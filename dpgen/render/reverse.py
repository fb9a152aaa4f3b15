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
    ForEach,
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
        if stmt.checkpoint is not None:
            lines += self.checkpoint_comment(stmt)
            lines += self.statement("new_checkpoint_tape", tape=stmt.pullbacks, tape_class=self.tape_class(stmt))
        elif stmt.pullbacks != "_":
            lines += self.statement("new_tape", tape=stmt.pullbacks)
        carried = [ast.Name(c) for c in loop.carried]
        invariants = [self.atom(a) for a in loop.invariants]
        results = ast.Tuple(carried + ([ast.Name(stmt.flag)] if loop.breaks else []))
        body_vjp = ast.Name(self.ref(f"{loop.body}_vjp"))
        if stmt.checkpoint is not None:  # the tape runs the step and keeps what its schedule says
            step = ast.Call(
                ast.Attribute(ast.Name(stmt.pullbacks), "step"),
                [body_vjp, ast.Tuple([ast.Name(t) for t in loop.targets]), ast.Tuple(carried), ast.Tuple(invariants)],
                [],
            )
            body = [ast.unparse(ast.Assign([results], step, lineno=0))]
        else:
            call = ast.Call(body_vjp, [ast.Name(t) for t in loop.targets] + carried + invariants, [])
            body = [ast.unparse(ast.Assign([ast.Tuple([results, ast.Name(stmt.pullback)])], call, lineno=0))]
        if stmt.pullbacks != "_" and stmt.checkpoint is None:
            body += self.statement("record", tape=stmt.pullbacks, pullback=stmt.pullback)
        if loop.breaks:
            body += self.statement("break_if", flag=stmt.flag)
        over = loop.over
        if isinstance(over, Test):
            return lines + self.statement("while_loop", test=ast.unparse(self.test(over)), body=body)
        return lines + self.statement(
            "for_loop", targets=", ".join(loop.targets), iterable=self.iterable(over), body=body
        )

    def iterable(self, over: ForRange | ForEach) -> str:
        """What a ``for`` loop iterates, as the source wrote it."""
        if isinstance(over, ForRange):
            return f"{self.ref('range')}({', '.join(ast.unparse(self.atom(a)) for a in over.args)})"
        iterable = ", ".join(ast.unparse(self.atom(a)) for a in over.sequences)
        if over.enumerate:
            return f"{self.ref('enumerate')}({iterable})"
        if over.reverse:
            return f"{self.ref('reversed')}({iterable})"
        if len(over.sequences) > 1:
            return f"{self.ref('zip')}({iterable})"
        return iterable

    def trip_count(self, over: ForRange | ForEach) -> str:
        """The number of steps of a ``for`` loop without ``break``, known on entry."""
        length = self.ref("len")
        if isinstance(over, ForRange):
            return f"{length}({self.iterable(over)})"
        counts = [f"{length}({ast.unparse(self.atom(a))})" for a in over.sequences]
        return counts[0] if len(counts) == 1 else f"{self.ref('min')}({', '.join(counts)})"

    def tape_class(self, stmt: VjpLoop) -> str:
        """``_RevolveTape(steps, snapshots)`` or ``_OnlineTape(snapshots)`` (None: auto)."""
        checkpoint = stmt.checkpoint
        snapshots = repr(checkpoint.snapshots)
        if checkpoint.schedule == "revolve":
            self.use_helper("_RevolveTape")
            return f"{self.ref('_RevolveTape')}({self.trip_count(stmt.loop.over)}, {snapshots})"
        self.use_helper("_OnlineTape")
        return f"{self.ref('_OnlineTape')}({snapshots})"

    def checkpoint_comment(self, stmt: VjpLoop) -> list[str]:
        """Two comment lines: where the pragma is and what the tape does instead of a list of pullbacks."""
        checkpoint, snapshots = stmt.checkpoint, stmt.checkpoint.snapshots
        where = comment_text(f"{self.source_name}:{stmt.loop.span.line}")
        if checkpoint.schedule == "revolve":
            kept = "ceil(log2(steps)) states" if snapshots is None else f"{snapshots} state{'s' * (snapshots != 1)}"
            return [
                f"# {where}: checkpointed loop: the tape keeps {kept}",
                "# and recomputes the other steps from them (binomial schedule, Revolve)",
            ]
        kept = "about log2(steps)" if snapshots is None else f"at most {snapshots}"
        return [
            f"# {where}: checkpointed loop, length unknown on entry: the tape keeps",
            f"# {kept} states, spread out as it runs, and recomputes the other steps",
        ]

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
            names = ast.Tuple([ast.Name(t if t is not None else "_") for t in replay.targets])
            if stmt.checkpoint is not None:  # the tape hands out the pullbacks, recomputing them from its states
                call = ast.Call(ast.Name(stmt.pullback), [self.atom(replay.seed)], [])
            else:
                call = ast.Call(ast.Subscript(ast.Name(tape), ast.Name(replay.index)), [self.atom(replay.seed)], [])
            body = [ast.unparse(ast.Assign([names], call, lineno=0))]
            for inner in replay.body:
                body += self.backward(inner)
            if stmt.checkpoint is not None:
                return self.statement("tape_walk", index=replay.index, pullback=stmt.pullback, tape=tape, body=body)
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
