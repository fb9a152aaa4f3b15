"""Forward-mode IR -> core IR: the JVP functions as ordinary functions, ready for another pass.

`dpgen.passes.forward` builds `JvpModule`s whose tangent statements are rule templates and
applications. Any pass that maps core IR (`Module`) can run after it once those become
equations: that is what this pass does, so ``--mode hvp`` is reverse(unjvp(forward(m))), with
no text rendered and read back.

- Each `JvpFunction` becomes a `Function` ``f_jvp`` taking the primal parameters, then the
  tangent parameters, and returning one flat tuple ``(results..., tangents...)`` (a pair
  ``(out, dout)`` for a function returning one value), so a call binds plain names.
- Tangent expressions become equations in A-normal form (fresh names from `NameAllocator`),
  each carrying the span of the source statement it differentiates: comments of the next
  pass cite ``model.py`` lines.
- Helpers (`_zero_tangent`, `_broadcast_like`, ...) become ``dpgen.helpers.*`` primitives,
  which have rules (`dpgen.rules.helpers`); an operation without a rule is a located error.
- `JvpCall`, `JvpBranch` and `JvpLoop` become `Call`, `Branch` and `Loop` of the callee's,
  arms' and body's jvp functions, tangents threaded beside the values.

Tangent terms are rule trees already (`dpgen.ir.expr.close` binds their holes); `_template_tree`
only turns their literals into constant atoms, so nothing here parses text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dpgen import rules
from dpgen.errors import DiagnosticSink, Span
from dpgen.ir import (
    Apply,
    Atom,
    Branch,
    Call,
    Const,
    DefaultTangent,
    Eqn,
    ForEach,
    Function,
    Index,
    JvpBranch,
    JvpCall,
    JvpFunction,
    JvpLoop,
    JvpModule,
    Lit,
    Loop,
    Module,
    Param,
    Seq,
    SetTangent,
    SliceAtom,
    Template,
    Test,
    Var,
    ZeroTangent,
)
from dpgen.ir.expr import OPERATORS as _OPERATORS
from dpgen.ir.expr import close
from dpgen.names import NameAllocator
from dpgen.rules.helpers import HELPER_PREFIX

# ------------------------------------------------------------ templates -> trees

#: A tree: an atom, or an application of a primitive to trees.
Tree = object


def _template_tree(template: Template) -> Tree:
    """A tangent term's tree with its holes bound to atoms (`close`), in the vocabulary equations
    take: a literal becomes a constant atom. A bound callable or an attribute read, which no
    forward rule writes today, has no primitive to become."""
    return _as_operands(close(template))


def _as_operands(node: object) -> Tree:
    if isinstance(node, Lit):
        return Const(repr(node.value))
    if isinstance(node, Apply):
        if node.op in ("dpgen.getattr", "dpgen.call"):
            raise rules.RuleError(f"--mode hvp cannot turn a forward rule's {node.op} into equations yet")
        args = tuple(_as_operands(a) for a in node.args)
        return Apply(node.op, args, tuple((k, _as_operands(v)) for k, v in node.kwargs))
    if isinstance(node, Seq):
        return Seq(tuple(_as_operands(i) for i in node.items), node.is_list)
    return node


# ------------------------------------------------------------------- the pass


def _number(atom: object) -> float | None:
    """The value of a numeric constant (``2``, ``0.5``), for folding; None for anything else."""
    if isinstance(atom, Lit) and type(atom.value) in (int, float):
        return atom.value
    if isinstance(atom, Const):
        for kind in (int, float):  # the literal's own text: a number, or not one to fold
            try:
                return kind(atom.text)
            except ValueError:
                continue
    return None


def _short(op: str) -> str:
    """A readable suffix for an intermediate's name: ``dh_mul`` for a product inside ``dh``."""
    name = op.rpartition(".")[2].lstrip("_")
    return {"multiply": "mul", "subtract": "sub", "divide": "div", "power": "pow", "negative": "neg"}.get(name, name)


@dataclass
class _Function:
    """One jvp function under conversion."""

    names: NameAllocator
    span: Span
    body: list = field(default_factory=list)
    rename: dict[str, Atom] = field(default_factory=dict)  #: tangents that are another atom


class _Unjvp:
    def __init__(self, jvp: JvpModule, sink: DiagnosticSink):
        self.sink = sink
        self.by_source = {fn.source.name: fn for fn in jvp.functions}
        self.loops = {stmt.loop.body: stmt for fn in jvp.functions for stmt in fn.body if isinstance(stmt, JvpLoop)}

    # ------------------------------------------------------------- atoms
    def atom(self, atom, cur: _Function):
        """An atom with renamed tangents substituted (inside displays and indices too)."""
        if isinstance(atom, Var):
            return cur.rename.get(atom.name, atom)
        if isinstance(atom, Seq):
            return Seq(tuple(self.atom(i, cur) for i in atom.items), atom.is_list)
        if isinstance(atom, Index):
            return Index(tuple(self.atom(i, cur) for i in atom.items), atom.is_tuple)
        if isinstance(atom, SliceAtom):
            return SliceAtom(*(None if p is None else self.atom(p, cur) for p in (atom.start, atom.stop, atom.step)))
        if isinstance(atom, tuple):
            return tuple(self.atom(i, cur) for i in atom)
        return atom

    def operand(self, tree: Tree, hint: str, cur: _Function) -> Atom:
        """A tree as an atom: nested applications become equations first (A-normal form)."""
        if isinstance(tree, Apply):
            tree = self.fold(tree, cur)
            if isinstance(tree, Apply):
                out = cur.names.fresh(f"{hint}_{_short(tree.op)}")
                self.equation(out, tree, hint, cur)
                return Var(out)
        if isinstance(tree, Seq):
            return Seq(tuple(self.operand(i, hint, cur) for i in tree.items), tree.is_list)
        return self.atom(tree, cur)

    def fold(self, tree: Apply, cur: _Function) -> Tree:
        """Constant patterns rule templates produce once substituted: ``2 - 1``, ``x ** 1``, ``1 * x``."""
        # Bottom up: ``x ** (2 - 1)`` folds its exponent first, then the power.
        args = tuple(self.fold(a, cur) if isinstance(a, Apply) else a for a in tree.args)
        tree = Apply(tree.op, args, tree.kwargs)
        if len(tree.args) != 2 or tree.kwargs:
            return tree
        left, right = (self.atom(a, cur) if not isinstance(a, Apply) else a for a in tree.args)
        a, b = _number(left), _number(right)
        arith = {"numpy.add": lambda: a + b, "numpy.subtract": lambda: a - b, "numpy.multiply": lambda: a * b}
        if a is not None and b is not None and tree.op in arith:
            return Const(repr(arith[tree.op]()))
        if b == 1 and tree.op in ("numpy.power", "numpy.multiply", "numpy.divide"):
            return left
        if a == 1 and tree.op == "numpy.multiply":
            return right
        return tree

    def equation(self, out: str, tree: Apply, hint: str, cur: _Function) -> None:
        if rules.lookup(tree.op) is None:
            raise rules.RuleError(f"--mode hvp needs a rule for {tree.op}, which the forward rule calls")
        args = tuple(self.operand(a, hint, cur) for a in tree.args)
        kwargs = tuple((k, self.operand(v, hint, cur)) for k, v in tree.kwargs)
        if tree.op in _OPERATORS:
            # An operator spells the primitive (`a * b`): a list display operand would be Python
            # list arithmetic (`[da, 0.0] * [x, 2.0]`), so it becomes an array first.
            args = tuple(self.as_array(a, hint, cur) if isinstance(a, Seq) else a for a in args)
        cur.body.append(Eqn((out,), rules.canonical(tree.op), args, kwargs, cur.span))

    def as_array(self, display: Seq, hint: str, cur: _Function) -> Var:
        out = cur.names.fresh(f"{hint}_asarray")
        cur.body.append(Eqn((out,), "numpy.asarray", (display,), (), cur.span))
        return Var(out)

    def bind(self, target: str, tree: Tree, cur: _Function) -> None:
        """``target = tree``; a tree that is an atom renames the target instead of copying it."""
        if isinstance(tree, Apply):
            tree = self.fold(tree, cur)
        if isinstance(tree, Apply):
            self.equation(target, tree, target, cur)
        else:
            cur.rename[target] = self.operand(tree, target, cur)

    # -------------------------------------------------------- statements
    def set_tangent(self, stmt: SetTangent, cur: _Function) -> None:
        value = None
        for term in stmt.terms:
            part = _template_tree(term) if isinstance(term, Template) else term
            if value is None:
                value = part
            elif isinstance(part, Apply) and part.op == "numpy.negative":
                value = Apply("numpy.subtract", (value, part.args[0]), ())  # `a - b`, not `a + -b`
            else:
                value = Apply("numpy.add", (value, part), ())
        if stmt.like is not None:
            value = Apply(f"{HELPER_PREFIX}_broadcast_like", (value, stmt.like), ())
        self.bind(stmt.target, value, cur)

    def test(self, test: Test, cur: _Function) -> Test:
        body = []
        for e in test.body:
            args, kwargs = self.atom(e.args, cur), tuple((k, self.atom(v, cur)) for k, v in e.kwargs)
            if isinstance(e, Call):
                # A module function's value in a test: its jvp with no tangents, item 0 of the pair.
                callee = self.by_source[e.callee]
                if _flat(callee.source):
                    raise rules.RuleError(f"--mode hvp does not take '{e.callee}', which returns a tuple, in a test")
                pair = cur.names.fresh(f"{e.outs[0]}_pair")
                none = tuple((t, Const("None")) for t in callee.param_tangents if t is not None)
                body.append(Call((pair,), f"{e.callee}_jvp", args, kwargs + none, e.span))
                body.append(Eqn(e.outs, "dpgen.getitem", (Var(pair), Index((Const("0"),), False)), (), e.span))
            else:
                body.append(Eqn(e.outs, e.op, args, kwargs, e.span))
        return Test(tuple(body), self.atom(test.result, cur))

    def call(self, stmt: JvpCall, cur: _Function) -> None:
        call = stmt.call
        callee = self.by_source[call.callee]
        tangents = tuple(
            (name, self.atom(t, cur)) for name, t in zip(callee.param_tangents, stmt.tangents) if name is not None
        )
        douts = tuple(d if d != "_" else cur.names.fresh(f"d{o}") for o, d in zip(call.outs, stmt.douts))
        kwargs = tuple((k, self.atom(v, cur)) for k, v in call.kwargs) + tangents
        args = self.atom(call.args, cur)
        n = len(callee.source.result.items) if _flat(callee.source) else 1
        if len(call.outs) == n and (n > 1 or not _flat(callee.source)):
            cur.body.append(Call(call.outs + douts, f"{call.callee}_jvp", args, kwargs, call.span))
        elif len(call.outs) == 1:  # (a one-tuple is always bound whole: ``(y,) = g(x)`` indexes it)
            # The whole tuple bound to one name: its items, then the tuple display again.
            (out,), (dout,) = call.outs, douts
            items = tuple(cur.names.fresh(f"{out}_{k}") for k in range(n))
            ditems = tuple(cur.names.fresh(f"{dout}_{k}") for k in range(n))
            cur.body.append(Call(items + ditems, f"{call.callee}_jvp", args, kwargs, call.span))
            for name, parts in ((out, items), (dout, ditems)):
                display = Seq(tuple(Var(i) for i in parts))
                cur.body.append(Eqn((name,), "dpgen.assign", (display,), (), call.span))
        else:
            raise rules.RuleError(f"--mode hvp cannot unpack what '{call.callee}' returns into {len(call.outs)} names")

    def branch(self, stmt: JvpBranch, cur: _Function) -> None:
        b = stmt.branch
        cur.body.append(
            Branch(
                self.test(b.test, cur),
                f"{b.then}_jvp",
                f"{b.orelse}_jvp",
                self.atom(b.inputs + stmt.tangents, cur),
                b.outs + stmt.douts,
                b.span,
            )
        )

    def loop(self, stmt: JvpLoop, cur: _Function) -> None:
        loop = stmt.loop
        over = loop.over
        rows = [row for row in stmt.rows if row is not None]
        row_targets = tuple(r[0] for r in rows)
        by_position: tuple[Atom, ...] = ()  # enumerate: the tangent sequences, indexed in the body
        if isinstance(over, ForEach) and rows and over.enumerate:
            by_position, row_targets = tuple(self.atom(r[1], cur) for r in rows), ()
            over = ForEach(self.atom(over.sequences, cur), True, over.reverse)
        elif isinstance(over, ForEach) and rows:
            # Each row beside its tangent's row: zip, over reversed copies for reversed().
            sequences = self.atom(over.sequences, cur) + tuple(self.atom(r[1], cur) for r in rows)
            if over.reverse:
                sequences = tuple(self.reversed(s, cur) for s in sequences)
            over = ForEach(sequences, False, False)
        elif isinstance(over, ForEach):
            over = ForEach(self.atom(over.sequences, cur), over.enumerate, over.reverse)
        elif isinstance(over, Test):
            over = self.test(over, cur)
        else:
            over = type(over)(self.atom(over.args, cur))
        body = self.by_source[loop.body]
        n_targets, n_carried = len(loop.targets), len(loop.carried)
        # The tangents handed to the body, split like its parameters: carried, then invariant ones.
        handed = [p for p in body.param_tangents if p is not None]
        per_param = dict(zip(handed, stmt.tangents))
        invariant_tangents = tuple(
            self.atom(per_param[t], cur) for t in body.param_tangents[n_targets + n_carried :] if t is not None
        )
        positions = [j for j, d in enumerate(stmt.dcarried) if d is not None]
        cur.body.append(
            Loop(
                f"{loop.body}_jvp",
                over,
                loop.targets + row_targets,
                loop.carried + tuple(stmt.dcarried[j] for j in positions),
                loop.sources + tuple(f"d{loop.sources[j]}" for j in positions),
                self.atom(loop.init, cur) + tuple(self.atom(stmt.dinit[j], cur) for j in positions),
                self.atom(loop.invariants, cur) + invariant_tangents + by_position,
                loop.breaks,
                loop.span,
                checkpoint=loop.checkpoint,  # the jvp loop is the source loop: the pragma stays on it
            )
        )

    def reversed(self, sequence: Atom, cur: _Function) -> Atom:
        """``sequence[::-1]``, as an equation: rows and their tangents walk back together."""
        hint = sequence.name if isinstance(sequence, Var) else "sequence"
        out = cur.names.fresh(f"{hint}_reversed")
        index = Index((SliceAtom(None, None, Const("-1")),), False)
        cur.body.append(Eqn((out,), "dpgen.getitem", (sequence, index), (), cur.span))
        return Var(out)

    # --------------------------------------------------------- functions
    def function(self, fn: JvpFunction) -> Function:
        src = fn.source
        taken = set(src.taken_names) | {t for t in fn.tangent_params}
        taken |= {n for stmt in fn.body for n in _bound(stmt)}
        cur = _Function(NameAllocator(taken), src.span)
        tangent = dict(zip((p.name for p in src.params), fn.param_tangents))
        with_default = any(p.default is not None for p in src.params)

        def tangent_param(p: Param, name: str) -> Param:
            # A complex parameter's tangent is complex: the reverse pass types it from the flag.
            default = Const("None") if with_default else None
            return Param(name, default, p.differentiable, p.scalar, complex=p.complex)

        primal = list(src.params)
        result_items = list(src.result.items) if _flat(src) else [src.result]
        dresult_items = list(fn.dresult.items) if _flat(src) else [fn.dresult]
        if src.name in self.loops:
            # A loop body: (targets, their rows' tangents, carried, their tangents, invariants, theirs),
            # returning (carried, their tangents, break flag) as `Loop` expects.
            jloop = self.loops[src.name]
            nt, nc = len(jloop.loop.targets), len(jloop.loop.carried)
            over = jloop.loop.over
            by_position = isinstance(over, ForEach) and over.enumerate
            row_params = [tangent_param(p, tangent[p.name]) for p in primal[:nt] if tangent[p.name]]
            params = primal[:nt] + ([] if by_position else row_params)
            params += primal[nt : nt + nc]
            for j, d in enumerate(jloop.dcarried):
                if d is not None:
                    p = primal[nt + j]
                    params.append(tangent_param(p, tangent[p.name] or cur.names.fresh(f"d{p.name}")))
            params += primal[nt + nc :]
            params += [tangent_param(p, tangent[p.name]) for p in primal[nt + nc :] if tangent[p.name]]
            if by_position:  # enumerate: each row's tangent is its tangent sequence at the position
                for row in row_params:
                    whole = cur.names.fresh(f"{row.name}s")
                    params.append(Param(whole, row.default, row.differentiable, complex=row.complex))
                    index = Index((Var(primal[0].name),), False)
                    cur.body.append(Eqn((row.name,), "dpgen.getitem", (Var(whole), index), (), src.span))
            result_items = result_items[:nc] + dresult_items + result_items[nc:]
            dresult_items = []
        else:
            params = primal + [tangent_param(p, tangent[p.name]) for p in primal if tangent[p.name]]

        for k, stmt in enumerate(fn.body):
            try:
                if isinstance(stmt, Eqn):
                    cur.span = stmt.span
                    cur.body.append(
                        Eqn(
                            stmt.outs,
                            stmt.op,
                            self.atom(stmt.args, cur),
                            tuple((key, self.atom(v, cur)) for key, v in stmt.kwargs),
                            stmt.span,
                        )
                    )
                elif isinstance(stmt, SetTangent):
                    self.set_tangent(stmt, cur)
                elif isinstance(stmt, ZeroTangent):
                    # Zeros for the statement that comes next (the forward pass materializes them first).
                    cur.span = next((_span(s) for s in fn.body[k:] if _span(s) is not None), cur.span)
                    self.bind(stmt.target, Apply(f"{HELPER_PREFIX}_zero_tangent", (stmt.like,), ()), cur)
                elif isinstance(stmt, DefaultTangent):
                    # A caller's None is a zero tangent: a primitive, so no branch to outline.
                    dense = cur.names.fresh(stmt.target)
                    cur.body.append(
                        Eqn(
                            (dense,),
                            f"{HELPER_PREFIX}_default_tangent",
                            (Var(stmt.target), stmt.like),
                            (),
                            src.span,
                        )
                    )
                    cur.rename[stmt.target] = Var(dense)
                elif isinstance(stmt, JvpCall):
                    cur.span = stmt.call.span
                    self.call(stmt, cur)
                elif isinstance(stmt, JvpBranch):
                    cur.span = stmt.branch.span
                    self.branch(stmt, cur)
                else:
                    cur.span = stmt.loop.span
                    self.loop(stmt, cur)
            except rules.RuleError as exc:
                self.sink.error(cur.span, str(exc))

        result = Seq(tuple(self.atom(a, cur) for a in result_items + dresult_items))
        taken |= cur.names.taken
        return Function(
            name=f"{src.name}_jvp",
            params=tuple(params),
            body=tuple(cur.body),
            result=result,
            span=src.span,
            statement_lines=src.statement_lines,
            taken_names=frozenset(taken | _all_names(cur.body) | {p.name for p in params}),
            internal=src.internal,
            returns_tuple=True,  # (values, tangents): no f_grad for it
            description=src.description,
            checkpoint=src.checkpoint,  # a checkpointed def: so is the vjp of its jvp (f_hvp)
        )


def _flat(src: Function) -> bool:
    """Whether the jvp of `src` returns ``(items..., tangents...)``: for a tuple display, so a
    caller unpacking it binds plain names; otherwise it returns the pair ``(value, tangent)``."""
    return src.internal or (src.returns_tuple and isinstance(src.result, Seq))


def _span(stmt) -> Span | None:
    if isinstance(stmt, Eqn):
        return stmt.span
    if isinstance(stmt, JvpCall):
        return stmt.call.span
    if isinstance(stmt, JvpBranch):
        return stmt.branch.span
    if isinstance(stmt, JvpLoop):
        return stmt.loop.span
    return None


def _bound(stmt) -> tuple[str, ...]:
    """Names a forward-mode statement binds."""
    if isinstance(stmt, Eqn):
        return stmt.outs
    if isinstance(stmt, (SetTangent, ZeroTangent, DefaultTangent)):
        return (stmt.target,)
    if isinstance(stmt, JvpCall):
        return stmt.call.outs + stmt.douts
    if isinstance(stmt, JvpBranch):
        return stmt.branch.outs + stmt.douts
    rows = tuple(r[0] for r in stmt.rows if r is not None)
    return stmt.loop.carried + stmt.loop.targets + rows + tuple(d for d in stmt.dcarried if d) + (stmt.flag,)


def _all_names(body) -> set[str]:
    return {n for stmt in body for n in stmt.outs}


def unjvp(jvp: JvpModule, sink: DiagnosticSink) -> Module:
    """The forward-mode module as a core-IR module of ``f_jvp`` functions (see the module docstring)."""
    pass_ = _Unjvp(jvp, sink)
    return Module(jvp.source.source_name, jvp.source.prelude, tuple(pass_.function(fn) for fn in jvp.functions))
