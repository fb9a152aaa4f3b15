"""`dpgen diff --dump-ir` / `--dump-after STAGE`: the IR as a jaxpr-like listing.

One statement per line, each citing the source line it came from::

    def predict(x, W1, b1):  # model.py:8
      h_matmul = numpy.matmul(x, W1)  # model.py:9
      h = numpy.tanh(h_add)  # model.py:9
      return h

Nested blocks are indented under the statement that owns them: an `if`'s test and both arms
(the outlined internal functions are printed where they are used, not as top-level
functions), a loop's body, the pullback of an `f_vjp` with its adjoint statements, a reverse
loop's body. The listing is for people reading the compiler's work; it is not Python and is
never parsed back, so it may say `call g(x)` or `h_bar += ...` where Python would differ.

The printer reads the IR nodes only (the IR imports nothing from the rest of dpgen), and
falls back to a generic field dump for a node it does not know, so a pass that adds a node
still gets a listing, if a plainer one.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from dpgen.ir.core import Branch, Call, Const, Eqn, ForEach, ForRange, Function, Index, Loop, Module, Seq, SliceAtom
from dpgen.ir.core import Apply, Checkpoint, Global, Hole, Lit, Test, Var
from dpgen.ir.expr import OPERATOR_SYMBOLS
from dpgen.ir.forward import DefaultTangent, JvpBranch, JvpCall, JvpFunction, JvpLoop, JvpModule, SetTangent
from dpgen.ir.forward import ZeroTangent
from dpgen.ir.reverse import AddInPlace, Comment, CopyAdjoint, IndexAddAdjoint, KeyAddAdjoint, ReverseLoop
from dpgen.ir.reverse import (
    LoopCheckpoint,
    SetAdjoint,
    Template,
    UnpackAdjoints,
    VjpBranch,
    VjpCall,
    VjpFunction,
    VjpLoop,
)
from dpgen.ir.reverse import VjpModule, ZeroIndexAdjoint, ZerosAdjoint

INDENT = "  "

# ------------------------------------------------------------------------------ atoms


def atom(value) -> str:
    """An atom as Python would spell it: ``x``, ``2.0``, ``(a, b)``, ``[i, 1:3]``."""
    if value is None:
        return "None"
    if isinstance(value, Var):
        return value.name
    if isinstance(value, Const):
        return value.text
    if isinstance(value, Seq):
        items = ", ".join(atom(item) for item in value.items)
        if value.is_list:
            return f"[{items}]"
        return f"({items},)" if len(value.items) == 1 else f"({items})"
    if isinstance(value, Index):
        items = ", ".join(atom(item) for item in value.items)
        return f"[{items},]" if value.is_tuple and len(value.items) == 1 else f"[{items}]"
    if isinstance(value, SliceAtom):
        text = f"{_part(value.start)}:{_part(value.stop)}"
        return text + (f":{atom(value.step)}" if value.step is not None else "")
    if isinstance(value, (Apply, Global, Lit)):  # an expression atom: ``numpy.zeros_like(out)``, ``numpy.pi``
        return _expr(value, {})[0]
    return repr(value)


def _part(value) -> str:
    return "" if value is None else atom(value)


def _arguments(args: Iterable, kwargs: Iterable = ()) -> str:
    return ", ".join([atom(a) for a in args] + [f"{k}={atom(v)}" for k, v in kwargs])


def _names(names: Iterable[str | None]) -> str:
    return ", ".join("_" if n is None else n for n in names)


def _tuple(names: Iterable[str | None]) -> str:
    """``(a, b)``, ``(a,)``: a tuple of names as Python writes it."""
    names = list(names)
    return f"({_names(names)},)" if len(names) == 1 else f"({_names(names)})"


#: Operators print with their symbols (`ir.expr.OPERATOR_SYMBOLS`), binary ones through this table.
_BINARY = {op: spelling for op, spelling in OPERATOR_SYMBOLS.items() if op != "numpy.negative"}
_UNARY, _ATOM = 12, 16
_HELPERS = "dpgen.helpers._"


def _wrap(text_and_precedence: tuple[str, int], needs: bool) -> str:
    text, _ = text_and_precedence
    return f"({text})" if needs else text


def _expr(node, bindings: dict) -> tuple[str, int]:
    """An expression tree as text with holes bound, and the precedence of its outermost operator."""
    if isinstance(node, Hole):
        bound = bindings.get(node.name)
        return _expr(bound, {}) if bound is not None else (node.name, _ATOM)
    if isinstance(node, Lit):
        negative = isinstance(node.value, (int, float)) and node.value < 0
        return repr(node.value), _UNARY if negative else _ATOM
    if isinstance(node, Global):
        return node.name, _ATOM
    if isinstance(node, Apply):
        args = [_expr(a, bindings) for a in node.args]
        if node.op in _BINARY and len(args) == 2 and not node.kwargs:
            symbol, p = _BINARY[node.op]
            (_, lp), (_, rp) = args
            right_assoc = symbol == "**"
            left = _wrap(args[0], lp < p or (lp == p and (right_assoc or p == 5)))
            right = _wrap(args[1], rp < p or (rp == p and not right_assoc))
            return f"{left} {symbol} {right}", p
        if node.op == "numpy.negative" and len(args) == 1 and not node.kwargs:
            return "-" + _wrap(args[0], args[0][1] < _UNARY), _UNARY
        if node.op == "dpgen.getitem":
            return f"{_wrap(args[0], args[0][1] < _ATOM)}[{args[1][0]}]", _ATOM
        if node.op == "dpgen.getattr":
            return f"{_wrap(args[0], args[0][1] < _ATOM)}.{node.args[1].value}", _ATOM
        keywords = [f"{k}={_expr(v, bindings)[0]}" for k, v in node.kwargs]
        if node.op == "dpgen.call":
            return f"{_wrap(args[0], args[0][1] < _ATOM)}({', '.join([a[0] for a in args[1:]] + keywords)})", _ATOM
        name = node.op[len(_HELPERS) :] if node.op.startswith(_HELPERS) else node.op
        return f"{name}({', '.join([a[0] for a in args] + keywords)})", _ATOM
    if isinstance(node, Index):  # bound inside brackets the rule writes itself (``g[index]``)
        return atom(node)[1:-1], _ATOM
    return atom(node), _ATOM


def template(value: Template) -> str:
    """A derivative expression with its holes replaced by the atoms they are bound to."""
    return _expr(value.expr, dict(value.bindings))[0]


def _term(value) -> str:
    if isinstance(value, Template):
        return template(value)
    if isinstance(value, Apply):
        return f"{value.op}({_arguments(value.args, value.kwargs)})"
    return _generic(value)


def _generic(value) -> str:
    """Any other node: its class and fields on one line (a node this printer does not know yet)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(f"{f.name}={_field(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({fields})"
    return repr(value)


def _field(value) -> str:
    if isinstance(value, (Var, Const, Seq, Index, SliceAtom)):
        return atom(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_field(v) for v in value) + ")"
    return _generic(value)


# -------------------------------------------------------------------------- listings


class _Printer:
    """Writes one module's listing; internal functions are printed nested where they are used."""

    def __init__(self, source_name: str, functions: dict[str, object]):
        self.source_name = source_name
        self.functions = functions  #: source function name -> its node in this module (Function, VjpFunction, ...)
        self.printed: set[str] = set()
        self.lines: list[str] = []

    def emit(self, depth: int, text: str, span=None) -> None:
        where = f"  # {self.source_name}:{span.line}" if span is not None else ""
        self.lines.append(INDENT * depth + text + where)

    def nested(self, depth: int, name: str) -> None:
        """The internal function `name` (a branch arm, a loop body), under its statement."""
        node = self.functions.get(name)
        if node is None:
            self.emit(depth, f"# {name}: not in this module")
            return
        self.printed.add(name)
        self.function(depth, node)

    def function(self, depth: int, node) -> None:
        if isinstance(node, Function):
            self.lowered(depth, node)
        elif isinstance(node, VjpFunction):
            self.vjp(depth, node)
        elif isinstance(node, JvpFunction):
            self.jvp(depth, node)
        else:
            self.emit(depth, _generic(node))

    # ------------------------------------------------------------------ lowered IR

    def lowered(self, depth: int, fn: Function) -> None:
        params = ", ".join(_param(p) for p in fn.params)
        note = f"  ({fn.description})" if fn.description else ""
        self.emit(depth, f"def {fn.name}({params}):{note}{_checkpoint(fn.checkpoint)}", fn.span)
        for stmt in fn.body:
            self.stmt(depth + 1, stmt)
        self.emit(depth + 1, f"return {atom(fn.result)}")

    def stmt(self, depth: int, stmt) -> None:
        if isinstance(stmt, Eqn):
            self.emit(depth, f"{_lhs(stmt.outs)}{stmt.op}({_arguments(stmt.args, stmt.kwargs)})", stmt.span)
        elif isinstance(stmt, Call):
            self.emit(depth, f"{_lhs(stmt.outs)}call {stmt.callee}({_arguments(stmt.args, stmt.kwargs)})", stmt.span)
        elif isinstance(stmt, Branch):
            self.emit(depth, f"{_lhs(stmt.outs)}if {atom(stmt.test.result)}", stmt.span)
            self.branch_body(depth + 1, stmt, _arguments(stmt.inputs))
        elif isinstance(stmt, Loop):
            self.emit(depth, f"{_lhs(stmt.outs)}{_loop_head(stmt)}", stmt.span)
            self.loop_body(depth + 1, stmt)
        else:
            self.emit(depth, _generic(stmt))

    def test(self, depth: int, test: Test) -> None:
        if test.body:
            self.emit(depth, "test:")
            for eqn in test.body:
                self.stmt(depth + 1, eqn)

    def branch_body(self, depth: int, branch: Branch, arguments: str) -> None:
        self.test(depth, branch.test)
        self.emit(depth, f"then: call {self.display(branch.then)}({arguments})")
        self.nested(depth + 1, branch.then)
        self.emit(depth, f"else: call {self.display(branch.orelse)}({arguments})")
        self.nested(depth + 1, branch.orelse)

    def loop_body(self, depth: int, loop: Loop, extra: str = "", tangents: Iterable[str] = ()) -> None:
        if isinstance(loop.over, Test):
            self.test(depth, loop.over)
        carried = ", ".join(f"{c} = {atom(i)}" for c, i in zip(loop.carried, loop.init))
        self.emit(depth, f"carry: {carried or '-'}")
        for line in tangents:
            self.emit(depth, line)
        if loop.invariants:
            self.emit(depth, f"invariants: {_arguments(loop.invariants)}")
        flag = "  (returns a break flag)" if loop.breaks else ""
        self.emit(depth, f"body: call {self.display(loop.body)}{extra}{flag}")
        self.nested(depth + 1, loop.body)

    # ------------------------------------------------------------------ reverse mode

    def vjp(self, depth: int, fn: VjpFunction) -> None:
        params = ", ".join(_param(p) for p in fn.source.params)
        recorded = f"  [checkpointed: keeps its inputs, reruns {fn.recorded}]" if fn.checkpoint else ""
        self.emit(depth, f"def {fn.name}({params}):  (reverse mode of {fn.source.name}){recorded}", fn.source.span)
        for stmt in fn.forward:
            self.forward_sweep(depth + 1, stmt)
        self.emit(depth + 1, f"return {atom(fn.source.result)}, {fn.pullback_name}")
        seed = fn.seed if fn.seed_unpack is None else f"{fn.seed} -> {_unpack(fn.seed_unpack)}"
        self.emit(depth + 1, f"def {fn.pullback_name}({seed}):")
        for stmt in fn.backward:
            self.adjoint(depth + 2, stmt)
        self.emit(depth + 2, f"return {_tuple(fn.cotangents)}")

    def forward_sweep(self, depth: int, stmt) -> None:
        if isinstance(stmt, VjpCall):
            call = stmt.call
            outs = _tuple(call.outs) if len(call.outs) > 1 else _names(call.outs)
            lhs = f"{outs}, {stmt.pullback} = "
            self.emit(depth, f"{lhs}call {call.callee}_vjp({_arguments(call.args, call.kwargs)})", call.span)
        elif isinstance(stmt, VjpBranch):
            branch = stmt.branch
            self.emit(depth, f"{_names(branch.outs)}, {stmt.pullback} = if {atom(branch.test.result)}", branch.span)
            self.branch_body(depth + 1, branch, _arguments(branch.inputs))
        elif isinstance(stmt, VjpLoop):
            loop = stmt.loop
            self.emit(depth, f"{_lhs(loop.outs)}{_loop_head(loop)}", loop.span)
            pullbacks = f" -> append {stmt.pullback} to {stmt.pullbacks}" if stmt.pullbacks != "_" else ""
            if stmt.checkpoint is not None:
                pullbacks = f" -> step on {stmt.pullbacks}{_tape(stmt.checkpoint)}"
            self.loop_body(depth + 1, loop, pullbacks)
        else:
            self.stmt(depth, stmt)

    def display(self, source_name: str) -> str:
        """What this module calls internal function `source_name` (``_f_line3_then_vjp`` in reverse mode)."""
        node = self.functions.get(source_name)
        return getattr(node, "name", source_name)

    def adjoint(self, depth: int, stmt) -> None:
        by_key = "  (key by key)"
        if isinstance(stmt, Comment):
            self.emit(depth, f"# {stmt.text}")
        elif isinstance(stmt, SetAdjoint):
            value = template(stmt.value)
            if stmt.in_place:
                text = f"{stmt.target} += {value}"
            elif stmt.accumulate:
                text = f"{stmt.target} = {stmt.target} + {value}"
            else:
                text = f"{stmt.target} = {value}"
            self.emit(depth, text + (by_key if stmt.is_dict else ""))
        elif isinstance(stmt, UnpackAdjoints):
            self.emit(depth, f"{_names(stmt.targets)} = {template(stmt.value)}")
        elif isinstance(stmt, ZerosAdjoint):
            kept = f"  (keys {', '.join(stmt.assigned)} assigned later)" if stmt.assigned else ""
            zeros = "complex_zeros_like" if stmt.complex else "zeros_like"
            self.emit(depth, f"{stmt.target} = {zeros}({stmt.like.name})" + (by_key if stmt.is_dict else "") + kept)
        elif isinstance(stmt, CopyAdjoint):
            copy = "complex_copy" if stmt.complex else "copy"
            self.emit(depth, f"{stmt.target} = {copy}({stmt.target})" + (by_key if stmt.is_dict else ""))
        elif isinstance(stmt, KeyAddAdjoint):
            op = "=" if stmt.first else "+="
            self.emit(depth, f"{stmt.target}[{stmt.key.text}] {op} {stmt.value}")
        elif isinstance(stmt, IndexAddAdjoint):
            if stmt.may_repeat:  # an integer-array index may name one element twice: add, don't assign
                self.emit(depth, f"add.at({stmt.target}, {atom(stmt.index)[1:-1]}, {stmt.value})")
            else:
                self.emit(depth, f"{stmt.target}{atom(stmt.index)} += {stmt.value}")
        elif isinstance(stmt, ZeroIndexAdjoint):
            if stmt.target != stmt.source:
                self.emit(depth, f"{stmt.target} = copy({stmt.source})")
            self.emit(depth, f"{stmt.target}{atom(stmt.index)} = 0")
        elif isinstance(stmt, AddInPlace):
            self.emit(depth, f"{stmt.target} += {stmt.value}" + (by_key if stmt.is_dict else ""))
        elif isinstance(stmt, VjpLoop):  # in the pullback a loop node stands for its replay of the tape
            self.replay(depth, stmt.replay, stmt.pullbacks, stmt.pullback if stmt.checkpoint else None)
        elif isinstance(stmt, ReverseLoop):
            self.replay(depth, stmt, "tape")
        else:
            self.emit(depth, _generic(stmt))

    def replay(self, depth: int, replay: ReverseLoop, tape: str, pullback: str | None = None) -> None:
        if pullback:  # checkpointed: the tape recomputes the pullbacks from its states
            self.emit(depth, f"for {replay.index}, {pullback} in {tape}.pullbacks():")
            self.emit(depth + 1, f"{_names(replay.targets)} = {pullback}({atom(replay.seed)})")
        else:
            self.emit(depth, f"for {replay.index} in reversed(range(len({tape}))):")
            self.emit(depth + 1, f"{_names(replay.targets)} = {tape}[{replay.index}]({atom(replay.seed)})")
        for inner in replay.body:
            self.adjoint(depth + 1, inner)

    # ------------------------------------------------------------------ forward mode

    def jvp(self, depth: int, fn: JvpFunction) -> None:
        params = ", ".join(_param(p) for p in fn.source.params)
        tangents = ", ".join(fn.tangent_params)
        self.emit(depth, f"def {fn.name}({params}; {tangents}):  (forward mode of {fn.source.name})", fn.source.span)
        for stmt in fn.body:
            self.tangent(depth + 1, stmt)
        self.emit(depth + 1, f"return {atom(fn.result)}, {atom(fn.dresult)}")

    def tangent(self, depth: int, stmt) -> None:
        if isinstance(stmt, SetTangent):
            like = f"  (broadcast like {stmt.like.name})" if stmt.like is not None else ""
            self.emit(depth, f"{stmt.target} = {' + '.join(_term(t) for t in stmt.terms) or '0'}{like}")
        elif isinstance(stmt, ZeroTangent):
            self.emit(depth, f"{stmt.target} = zero_tangent({atom(stmt.like)})")
        elif isinstance(stmt, DefaultTangent):
            self.emit(depth, f"if {stmt.target} is None: {stmt.target} = zero_tangent({stmt.like.name})")
        elif isinstance(stmt, JvpCall):
            call = stmt.call
            arguments = f"{_arguments(call.args, call.kwargs)}; {_arguments(stmt.tangents)}"
            lhs = f"{_tuple(call.outs)}, {_tuple(stmt.douts)} = "
            self.emit(depth, f"{lhs}call {call.callee}_jvp({arguments})", call.span)
        elif isinstance(stmt, JvpBranch):
            branch = stmt.branch
            lhs = f"{_tuple(branch.outs)}, {_tuple(stmt.douts)} = "
            self.emit(depth, f"{lhs}if {atom(branch.test.result)}", branch.span)
            arguments = f"{_arguments(branch.inputs)}; {_arguments(stmt.tangents)}"
            self.branch_body(depth + 1, branch, arguments)
        elif isinstance(stmt, JvpLoop):
            loop = stmt.loop
            self.emit(depth, f"{_tuple(loop.outs)}, {_tuple(stmt.dcarried)} = {_loop_head(loop)}", loop.span)
            rows = [f"{r[0]} in {atom(r[1])}" for r in stmt.rows if r is not None]
            dinit = ", ".join(f"{d} = {atom(i)}" for d, i in zip(stmt.dcarried, stmt.dinit) if d is not None)
            lines = [f"tangent carry: {dinit or '-'}"] + ([f"tangent rows: {', '.join(rows)}"] if rows else [])
            self.loop_body(depth + 1, loop, f"  (tangents {_arguments(stmt.tangents)})", lines)
        else:
            self.stmt(depth, stmt)


def _param(p) -> str:
    text = p.name + (f"={p.default.text}" if p.default is not None else "")
    return text + ("" if p.differentiable else " [nondiff]") + (" [scalar]" if p.scalar else "")


def _lhs(outs: tuple[str, ...]) -> str:
    return f"{', '.join(outs)} = " if outs else ""


def _unpack(names) -> str:
    if isinstance(names, (tuple, list)):
        items = [_unpack(n) for n in names]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return "_" if names is None else str(names)


def _checkpoint(checkpoint: Checkpoint | None) -> str:
    """The recorded pragma, after a def or loop head (nothing when there is none)."""
    if checkpoint is None:
        return ""
    snapshots = "auto" if checkpoint.snapshots is None else checkpoint.snapshots
    return f"  [checkpoint snapshots={snapshots}, pragma at {checkpoint.span.line}:{checkpoint.span.col}]"


def _tape(checkpoint: LoopCheckpoint) -> str:
    """How a checkpointed loop's tape keeps states (`dpgen.passes.checkpoint`)."""
    snapshots = "auto" if checkpoint.snapshots is None else checkpoint.snapshots
    return f"  [{checkpoint.schedule} tape, snapshots={snapshots}]"


def _loop_head(loop: Loop) -> str:
    return _loop_over(loop) + _checkpoint(loop.checkpoint)


def _loop_over(loop: Loop) -> str:
    targets = ", ".join(loop.targets)
    over = loop.over
    if isinstance(over, ForRange):
        return f"for {targets} in range({_arguments(over.args)})"
    if isinstance(over, ForEach):
        seqs = _arguments(over.sequences)
        seqs = f"zip({seqs})" if len(over.sequences) > 1 else seqs
        seqs = f"reversed({seqs})" if over.reverse else seqs
        seqs = f"enumerate({seqs})" if over.enumerate else seqs
        return f"for {targets} in {seqs}"
    if isinstance(over, Test):
        return f"while {atom(over.result)}"
    return f"loop over {_generic(over)}"


def _module_listing(source_name: str, prelude: tuple[str, ...], entries: list[tuple[str, object]]) -> list[str]:
    """`entries`: (source function name, node) in module order; internal ones nest where used."""
    printer = _Printer(source_name, dict(entries))
    printer.lines += list(prelude)
    internal = {name for name, node in entries if _source(node).internal}
    for name, node in entries:
        if name not in internal:
            if printer.lines:
                printer.lines.append("")
            printer.function(0, node)
    for name, node in entries:  # an internal function no statement uses (not expected): still shown
        if name in internal and name not in printer.printed:
            printer.lines.append("")
            printer.function(0, node)
    return printer.lines


def _source(node) -> Function:
    return node if isinstance(node, Function) else getattr(node, "source", node)


def listing(ir) -> str:
    """The listing of one stage's result: a lowered, reverse-mode, forward-mode or HVP module."""
    if isinstance(ir, Module):
        lines = _module_listing(ir.source_name, ir.prelude, [(f.name, f) for f in ir.functions])
    elif isinstance(ir, (VjpModule, JvpModule)):
        source = ir.source
        lines = _module_listing(source.source_name, source.prelude, [(f.source.name, f) for f in ir.functions])
    elif hasattr(ir, "inner") and hasattr(ir, "functions"):  # the HVP stage: reverse mode of the forward-mode module
        lines = listing(ir.inner).rstrip("\n").split("\n")
        for fn in ir.functions:
            params = ", ".join(p.name for p in fn.source.params)
            lines += ["", f"def {fn.name}({params}; directions):  (Hessian-vector product of {fn.source.name})"]
            lines.append(f"{INDENT}return {fn.vjp_name}(primals; directions) pulled back with the seed (0, 1)")
    else:
        lines = [_generic(ir)]
    return "\n".join(lines) + "\n"


def dump(stages) -> str:
    """`--dump-ir`: the lowered IR, then the final IR of each mode generated."""
    parts = [("lowered", stages.lowered), ("reverse", stages.reversed), ("forward", stages.forward)]
    parts.append(("hvp", stages.hessian))
    return "\n".join(f"# {name}\n{listing(ir)}" for name, ir in parts if ir is not None)
