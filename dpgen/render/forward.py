"""Rendering of forward-mode IR: the statements of `f_jvp`, one line each.

A mixin of `dpgen.render.module.Renderer`, whose base (`dpgen.render.expressions`) supplies
atoms, rule templates and primitive calls, and the backend's statement shapes, and whose
`dpgen.render.reverse` half writes the primal equations; this module only knows which
tangent statements there are and the JVP calling convention (primals, then one tangent per
parameter; a pair (value, tangent) back).
"""

from __future__ import annotations

import ast

from dpgen.ir import (
    Apply,
    DefaultTangent,
    Eqn,
    ForEach,
    ForRange,
    JvpBranch,
    JvpCall,
    JvpFunction,
    JvpLoop,
    SetTangent,
    Template,
    Test,
    Var,
    ZeroTangent,
)


def _assign(target: ast.expr, value: ast.expr) -> str:
    return ast.unparse(ast.Assign([target], value, lineno=0))


def _names(names) -> ast.expr:
    """A tuple target of names ("_" for None); empty becomes "_" so the unpacking stays valid."""
    if not names:
        return ast.Name("_")
    return ast.Tuple([ast.Name(n or "_") for n in names])


class JvpRendering:
    """The forward-mode half of the renderer."""

    def jvp_function(self, fn: JvpFunction) -> dict:
        src = fn.source
        self.shadowed = frozenset(p.name for p in src.params)
        params = [p.name for p in src.params] + list(fn.tangent_params)
        if any(p.default is not None for p in src.params):
            # Python needs defaults after the first one; a missing tangent is a zero one anyway.
            defaults = [p.name if p.default is None else f"{p.name}={p.default.text}" for p in src.params]
            params = defaults + [f"{t}=None" for t in fn.tangent_params]
        body = self.check_real(fn.name, src, fn.real_tangents) + [
            line for stmt in fn.body for line in self.jvp_statement(stmt)
        ]
        if src.internal:
            description = f"{src.description[0].upper()}{src.description[1:]}, with the tangents of its results"
        else:
            description = (
                f"{src.name} and its derivative along the tangents {', '.join(fn.tangent_params)} (None means zero)"
            )
        if src.internal:  # flat: (results..., tangents...), so callers unpack one level
            result = ast.Tuple([self.atom(a) for a in (*fn.result.items, *fn.dresult.items)])
        else:
            result = ast.Tuple([self.atom(fn.result), self.atom(fn.dresult)])
        return dict(
            kind="jvp",
            name=fn.name,
            params=", ".join(params),
            description=description,
            body=body,
            result=ast.unparse(result),
        )

    def jvp_statement(self, stmt) -> list[str]:
        if isinstance(stmt, Eqn):
            return self.forward(stmt)
        if isinstance(stmt, SetTangent):
            return self.set_tangent(stmt)
        if isinstance(stmt, ZeroTangent):
            self.use_helper("_zero_tangent")
            return [
                _assign(
                    ast.Name(stmt.target), ast.Call(ast.Name(self.ref("_zero_tangent")), [self.atom(stmt.like)], [])
                )
            ]
        if isinstance(stmt, DefaultTangent):
            self.use_helper("_zero_tangent")
            zero = f"{self.ref('_zero_tangent')}({stmt.like.name})"
            return self.statement("default_tangent", target=stmt.target, zero=zero)
        if isinstance(stmt, JvpCall):
            call = stmt.call
            args = [self.atom(a) for a in call.args] + [ast.keyword(k, self.atom(v)) for k, v in call.kwargs]
            positional = [a for a in args if not isinstance(a, ast.keyword)]
            keywords = [a for a in args if isinstance(a, ast.keyword)]
            value = ast.Call(
                ast.Name(self.ref(f"{call.callee}_jvp")),
                positional,
                keywords + self._tangent_keywords(call, stmt.tangents),
            )
            outs = ast.Name(call.outs[0]) if len(call.outs) == 1 else _names(call.outs)
            douts = ast.Name(stmt.douts[0]) if len(stmt.douts) == 1 else _names(stmt.douts)
            return [_assign(ast.Tuple([outs, douts]), value)]
        if isinstance(stmt, JvpBranch):
            return self.jvp_branch(stmt)
        if isinstance(stmt, JvpLoop):
            return self.jvp_loop(stmt)
        raise TypeError(stmt)

    def _tangent_keywords(self, call, tangents) -> list[ast.keyword]:
        """Tangents go by keyword: the callee's primals may have defaults the call leaves out."""
        return [ast.keyword(n, self.atom(t)) for n, t in zip(self.tangent_names[call.callee], tangents)]

    def set_tangent(self, stmt: SetTangent) -> list[str]:
        if len(stmt.terms) == 1 and isinstance(stmt.terms[0], Apply) and stmt.terms[0].op == "dpgen.setitem":
            return self.set_index(stmt.target, *stmt.terms[0].args)  # a write into a copy, as the primal
        value = None
        for term in stmt.terms:
            part = (
                self.template(term) if isinstance(term, Template) else self.call_expr(term.op, term.args, term.kwargs)
            )
            if value is not None and isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub):
                value = ast.BinOp(value, ast.Sub(), part.operand)  # `a - b`, not `a + -b`
            else:
                value = part if value is None else ast.BinOp(value, ast.Add(), part)
        if stmt.like is not None:
            self.use_helper("_broadcast_like")
            value = ast.Call(ast.Name(self.ref("_broadcast_like")), [value, ast.Name(stmt.like.name)], [])
        return [_assign(ast.Name(stmt.target), value)]

    def jvp_branch(self, stmt: JvpBranch) -> list[str]:
        branch = stmt.branch
        target = _names(list(branch.outs) + list(stmt.douts))
        arms = []
        for arm in (branch.then, branch.orelse):
            args = [self.atom(a) for a in branch.inputs] + [self.atom(t) for t in stmt.tangents]
            arms.append([_assign(target, ast.Call(ast.Name(self.ref(f"{arm}_jvp")), args, []))])
        test = ast.unparse(self.test(branch.test, jvp=True))
        return self.statement("branch", test=test, then=arms[0], orelse=arms[1])

    def jvp_loop(self, stmt: JvpLoop) -> list[str]:
        loop = stmt.loop
        lines = []
        for out, start in zip(loop.carried, loop.init):
            if start != Var(out):
                lines.append(_assign(ast.Name(out), self.atom(start)))
        for dout, dstart in zip(stmt.dcarried, stmt.dinit):
            if dout is not None and dstart != Var(dout):
                lines.append(_assign(ast.Name(dout), self.atom(dstart)))
        args = (
            [ast.Name(t) for t in loop.targets]
            + [ast.Name(c) for c in loop.carried]
            + [self.atom(a) for a in loop.invariants]
        )
        by_position = self._row_tangents(stmt)
        args += [
            by_position[t.name] if isinstance(t, Var) and t.name in by_position else self.atom(t) for t in stmt.tangents
        ]
        results = (
            list(loop.carried) + ([stmt.flag] if loop.breaks else []) + [d for d in stmt.dcarried if d is not None]
        )
        call = ast.Call(ast.Name(self.ref(f"{loop.body}_jvp")), args, [])
        body = [_assign(_names(results), call)]
        if loop.breaks:
            body += self.statement("break_if", flag=stmt.flag)
        over = loop.over
        if isinstance(over, Test):
            return lines + self.statement("while_loop", test=ast.unparse(self.test(over, jvp=True)), body=body)
        if isinstance(over, ForRange):
            iterable = f"{self.ref('range')}({', '.join(ast.unparse(self.atom(a)) for a in over.args)})"
            return lines + self.statement("for_loop", targets=", ".join(loop.targets), iterable=iterable, body=body)
        targets, iterable = self._jvp_iteration(stmt)
        return lines + self.statement("for_loop", targets=targets, iterable=iterable, body=body)

    def _jvp_iteration(self, stmt: JvpLoop) -> tuple[str, str]:
        """``x, dx`` and ``zip(xs, dxs)`` -- each iterated row beside its tangent's row.

        Spelled with plain names, ``zip`` and slices only, so dpgen reads it back; with
        ``enumerate`` the tangent rows are indexed by the position instead (`_row_tangents`)."""
        loop = stmt.loop
        over = loop.over
        if over.enumerate:
            sequence = ast.unparse(self.atom(over.sequences[0]))
            return ", ".join(loop.targets), f"{self.ref('enumerate')}({sequence})"
        targets = list(loop.targets) + [row[0] for row in stmt.rows if row is not None]
        sequences = [self.atom(s) for s in over.sequences] + [self.atom(row[1]) for row in stmt.rows if row is not None]
        if over.reverse:
            sequences = [
                ast.Subscript(s, ast.Slice(None, None, ast.UnaryOp(ast.USub(), ast.Constant(1)))) for s in sequences
            ]
        iterable = sequences[0] if len(sequences) == 1 else ast.Call(ast.Name(self.ref("zip")), sequences, [])
        return ", ".join(targets), ast.unparse(iterable)

    def _row_tangents(self, stmt: JvpLoop) -> dict[str, ast.expr]:
        """With ``enumerate``, a row's tangent is read by position: ``dxs[i]``."""
        loop = stmt.loop
        if not (isinstance(loop.over, ForEach) and loop.over.enumerate):
            return {}
        return {
            row[0]: ast.Subscript(self.atom(row[1]), ast.Name(loop.targets[0])) for row in stmt.rows if row is not None
        }
