"""The forward-mode pass: each function's JVP, the tangents computed beside the values.

Forward mode needs no tape: every equation is followed by its output's tangent, read
from the same rule table as the reverse pass (see `dpgen.rules`). A branch arm or loop
body gets its own `_jvp` taking tangents for the inputs that carry one, and a loop
threads the carried values' tangents through its iterations.

Which variables carry tangents is decided statically (they depend on a parameter with a
tangent through differentiable inputs), so shapes, masks and counters cost nothing. A
public `f_jvp` takes a tangent for every parameter; None means zero and is replaced by
zeros on entry, so the code below it never tests for None.

Complex values (`dpgen.analysis.dtypes` says which variables may hold them): a complex
tangent is ``dz = dx + i dy`` and a real variable's tangent is real. Holomorphic rules need
nothing new (``dw = f'(z) dz``); a rule that is not holomorphic uses its `complex_jvp` for an
argument that may be complex, or is refused with a located error. A real-typed output whose
tangent terms may be complex (``x[i] = z``: NumPy keeps x's dtype) takes their real part.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from dpgen import rules
from dpgen.errors import DiagnosticSink
from dpgen.ir import (
    Apply,
    Atom,
    Branch,
    Call,
    Const,
    DefaultTangent,
    Eqn,
    Expr,
    Function,
    Hole,
    JvpBranch,
    JvpCall,
    JvpFunction,
    JvpLoop,
    JvpModule,
    JvpStmt,
    Loop,
    Module,
    Seq,
    SetTangent,
    Template,
    Var,
    ZeroTangent,
)
from dpgen.names import NameAllocator
from dpgen.analysis import complex_refusals
from dpgen.analysis.activity import active_parameters
from dpgen.analysis.dtypes import complex_constants, complex_types, may_be_complex
from dpgen.analysis.scalars import is_scalar_constant, scalar_variables
from dpgen.ir.expr import holes, mul, substitute
from dpgen.ir.walk import bind_call, body_layout, loop_arguments, reads, variables, writes


def _varied_atom(atom: object, varied: set[str]) -> bool:
    return any(n in varied for n in variables(atom))


@dataclass
class _Tangents:
    """The JVP under construction for one function."""

    names: NameAllocator
    scalars: frozenset[str]
    complex: frozenset[str] = frozenset()  #: the variables that may hold complex values
    of: dict[str, str] = field(default_factory=dict)  #: variable -> its tangent's name
    stmts: list[JvpStmt] = field(default_factory=list)

    def name_for(self, var: str) -> str:
        self.of[var] = self.names.fresh(f"d{var}")
        return self.of[var]

    def atom(self, atom: Atom) -> Atom | None:
        """The tangent of an atom, or None when it is zero."""
        if isinstance(atom, Var):
            return Var(self.of[atom.name]) if atom.name in self.of else None
        if isinstance(atom, Seq) and any(n in self.of for n in variables(atom)):  # nested displays too
            return Seq(tuple(self.dense(i) for i in atom.items), atom.is_list)
        return None

    def dense(self, atom: Atom) -> Atom:
        """The tangent of an atom, materialized as zeros where it is zero."""
        tangent = self.atom(atom)
        if tangent is not None:
            return tangent
        if is_scalar_constant(atom):
            return Const("0.0")
        if isinstance(atom, Seq) and all(is_scalar_constant(i) for i in atom.items):
            return Seq(tuple(Const("0.0") for _ in atom.items), atom.is_list)  # a row of constants
        hint = atom.name if isinstance(atom, Var) else "zero"
        target = self.names.fresh(f"d{hint}")
        self.stmts.append(ZeroTangent(target, atom))
        return Var(target)


class _Forward:
    def __init__(self, module: Module, sink: DiagnosticSink):
        self.sink = sink
        self.functions = {f.name: f for f in module.functions}
        self.active_params = active_parameters(module)
        self.complex_vars = complex_types(module)[0]
        self.constants = complex_constants(module)
        self._analyzed: dict[tuple[str, frozenset[str]], tuple[frozenset[str], frozenset[int]]] = {}
        self.generated: list[JvpFunction] = []

    # ------------------------------------------------------------- analysis
    def analyze(self, f: Function, tparams: frozenset[str]) -> tuple[frozenset[str], frozenset[int]]:
        """(variables carrying tangents, result positions carrying one) for tangents on `tparams`."""
        key = (f.name, tparams)
        if key not in self._analyzed:
            varied = set(tparams)
            for stmt in f.body:
                varied.update(stmt.outs[k] for k in self.varied_outs(stmt, varied))
            items = f.result.items if isinstance(f.result, Seq) else (f.result,)
            self._analyzed[key] = (
                frozenset(varied),
                frozenset(k for k, item in enumerate(items) if _varied_atom(item, varied)),
            )
        return self._analyzed[key]

    def varied_outs(self, stmt, varied: set[str]) -> list[int]:
        """Positions of a statement's outputs that carry tangents."""
        if isinstance(stmt, Eqn):
            rule = rules.lookup(stmt.op)
            if not rule.differentiable:
                return []
            bound = rule.bind(stmt.args, stmt.kwargs)
            return list(range(len(stmt.outs))) if any(_varied_atom(bound[p], varied) for p in rule.vjp) else []
        if isinstance(stmt, Call):
            return (
                list(range(len(stmt.outs))) if any(t is not None for t in self.call_tangent_flags(stmt, varied)) else []
            )
        if isinstance(stmt, Branch):
            return sorted(self.branch_signature(stmt, varied)[1])
        return sorted(self.loop_signature(stmt, varied)[1])

    def call_tangent_flags(self, call: Call, varied: set[str]) -> list[bool | None]:
        callee = self.functions[call.callee]
        bound = bind_call(call, callee)
        active = set(self.active_params[call.callee])
        return [True if p.name in active and _varied_atom(bound.get(p.name), varied) else None for p in callee.params]

    def branch_signature(self, branch: Branch, varied: set[str]) -> tuple[frozenset[str], frozenset[int]]:
        """(arm parameters taking tangents, output positions carrying them): the union of both arms."""
        then = self.functions[branch.then]
        active = set(self.active_params[branch.then])
        tparams = frozenset(
            p.name for p, atom in zip(then.params, branch.inputs) if p.name in active and _varied_atom(atom, varied)
        )
        positions = self.analyze(then, tparams)[1] | self.analyze(self.functions[branch.orelse], tparams)[1]
        return tparams, positions

    def loop_signature(self, loop: Loop, varied: set[str]) -> tuple[frozenset[str], frozenset[int]]:
        """(body parameters taking tangents, carried positions carrying them), to a fixed point:
        a carried value has a tangent if it starts with one or any iteration gives it one."""
        body = self.functions[loop.body]
        active = set(self.active_params[loop.body])
        layout = body_layout(loop)
        feeds = loop_arguments(loop)
        carried = {j for j, start in enumerate(loop.init) if _varied_atom(start, varied)}
        while True:
            tparams = frozenset(
                p.name
                for k, (p, feed) in enumerate(zip(body.params, feeds))
                if p.name in active
                and (
                    (k - layout.carried.start) in carried if layout.role(k) == "carried" else _varied_atom(feed, varied)
                )
            )
            grown = carried | {j for j in self.analyze(body, tparams)[1] if j < len(loop.carried)}
            if grown == carried:
                return tparams, frozenset(carried)
            carried = grown

    # ----------------------------------------------------------- generation
    def function(self, f: Function, tparams: frozenset[str], positions: frozenset[int] | None = None) -> None:
        """Build `f_jvp`; `positions` are the result positions an internal function returns tangents for."""
        names = NameAllocator(f.taken_names)
        scalars = scalar_variables(f, frozenset(p.name for p in f.params if p.scalar))
        tan = _Tangents(names, scalars, self.complex_vars[f.name])
        varied = set(tparams)
        if f.internal:
            tangent_params = tuple(tan.name_for(p.name) for p in f.params if p.name in tparams)
        else:
            tangent_params = tuple(names.fresh(f"d{p.name}") for p in f.params)
            for p, dp in zip(f.params, tangent_params):
                if p.name in tparams:
                    tan.of[p.name] = dp
                    tan.stmts.append(DefaultTangent(dp, Var(p.name)))
        for span, message in complex_refusals.refusals(f, tan.complex, self.constants):
            self.sink.error(span, message)
        for stmt in f.body:
            try:
                if isinstance(stmt, Eqn):
                    tan.stmts.append(stmt)
                    if self.varied_outs(stmt, varied):
                        self.eqn(stmt, tan)
                elif isinstance(stmt, Call):
                    self.call(stmt, tan, varied)
                elif isinstance(stmt, Branch):
                    self.branch(stmt, tan, varied)
                else:
                    self.loop(stmt, tan, varied)
            except rules.RuleError as exc:
                self.sink.error(stmt.span, str(exc))
            varied.update(stmt.outs[k] for k in self.varied_outs(stmt, varied))

        if f.internal:
            items = f.result.items
            dresult: Atom = Seq(tuple(tan.dense(items[k]) for k in sorted(positions)))
        elif isinstance(f.result, Const) and f.result.text == "None":
            dresult = Const("None")
        else:
            dresult = tan.dense(f.result)
        if f.internal:
            param_tangents = tuple(tan.of[p.name] if p.name in tparams else None for p in f.params)
        else:
            param_tangents = tangent_params
        real_tangents = ()
        if not f.internal and any(self.complex_vars.values()):
            # A real parameter's tangent is real: rules on complex values (np.abs) would drop the
            # imaginary part of a complex one. Without complex values the JVP has real
            # coefficients, so a complex tangent is exact there and costs no check.
            real_tangents = tuple(dp for p, dp in zip(f.params, tangent_params) if p.differentiable and not p.complex)
        self.generated.append(
            JvpFunction(
                f, f"{f.name}_jvp", tangent_params, tuple(tan.stmts), f.result, dresult, param_tangents, real_tangents
            )
        )

    def eqn(self, eqn: Eqn, tan: _Tangents) -> None:
        rule = rules.lookup(eqn.op)
        bound = rule.bind(eqn.args, eqn.kwargs)
        (out,) = eqn.outs
        with_tangent = [
            p
            for p in rule.vjp
            if tan.atom(bound[p]) is not None
            or (isinstance(bound[p], tuple) and any(tan.atom(a) is not None for a in bound[p]))
        ]
        complex_params = self._complex_params(rule, bound, tan)
        # A real output whose terms may be complex keeps their real part ("real stays real"):
        # NumPy drops the imaginary part of `x[i] = z` for a real x (and of `dtype=float`), and
        # so does the tangent. Primitives real by definition (abs, np.real) need no help.
        realify = (
            out not in tan.complex
            and rule.out_dtype != "real"
            and any(self._may_be_complex(v, tan) for v in bound.values.values())
        )
        bindings = {"ans": Var(out), **{name: value for name, value in bound.values.items()}}
        for name, value in bound.values.items():
            if isinstance(value, (tuple, Seq)):
                items = value if isinstance(value, tuple) else value.items
                bindings.update({f"{name}_{k}": item for k, item in enumerate(items)})
        terms: list = []
        like = None
        if rule.jvp_kind in ("elementwise", "explicit"):
            referenced = set()
            for p in with_tangent:
                if p in complex_params:  # the rule's own contribution on complex values, whole
                    template = rule.complex_jvp[p]
                else:
                    template = rule.vjp[p] if rule.jvp_kind == "elementwise" else rule.jvp[p]
                tree = template(bound) if callable(template) else template
                if rule.jvp_kind == "elementwise" and p not in complex_params:
                    tree = elementwise_tangent(tree)  # a local derivative
                referenced |= holes(tree) | {p}
                if realify and p not in complex_params:
                    tree = Apply("numpy.real", (tree,))
                terms.append(Template(tree, tuple({**bindings, "t": tan.atom(bound[p])}.items())))
            if (
                rule.jvp_kind == "elementwise"
                and "ans" not in referenced
                and not self._covers(rule, bound, referenced, tan)
            ):
                like = Var(out)
        elif rule.jvp_kind == "linear":
            # The primitive applied to the tangents is the JVP of any real-linear map, so
            # `np.real`, `np.conj` and the holomorphic ones alike need nothing more.
            swap = {p: self._real_part(self._dense_param(bound[p], tan), tan, realify) for p in rule.vjp}
            terms.append(Apply(eqn.op, *_substituted(rule, eqn, swap)))
        else:  # multilinear: one argument at a time (exact for maps real-linear in each, `np.vdot` too)
            for p in with_tangent:
                value = bound[p]
                if isinstance(value, tuple):  # a * parameter: each operand separately
                    for k, item in enumerate(value):
                        if tan.atom(item) is not None:
                            dense = self._real_part(tan.atom(item), tan, realify)
                            replaced = value[:k] + (dense,) + value[k + 1 :]
                            terms.append(Apply(eqn.op, *_substituted(rule, eqn, {p: replaced})))
                else:
                    dense = self._real_part(tan.dense(value), tan, realify)
                    terms.append(Apply(eqn.op, *_substituted(rule, eqn, {p: dense})))
        target = tan.name_for(out)
        tan.stmts.append(SetTangent(target, tuple(terms), like))

    def _may_be_complex(self, value: object, tan: _Tangents) -> bool:
        return may_be_complex(value, tan.complex, self.constants)

    def _complex_params(self, rule: rules.Rule, bound: rules.Bound, tan: _Tangents) -> frozenset[str]:
        """The parameters whose complex arguments take the rule's `complex_jvp`, or raise
        `RuleError` where the rule has no derivative for a complex argument it may meet.

        Holomorphic rules need none (``dw = f'(z) dz``), nor linear and multilinear ones: the
        primitive applied to the tangents is exact for every real-linear map."""
        if rule.holomorphic or rule.jvp_kind in ("linear", "multilinear"):
            return frozenset()
        if rule.real_only or rule.name.startswith("math."):
            return frozenset()  # on complex values, refused by `complex_refusals` already
        found = set()
        for p in rule.vjp:
            if self._may_be_complex(bound[p], tan):
                if p not in rule.complex_jvp:
                    argument = complex_refusals.named(bound[p], lambda a: self._may_be_complex(a, tan))
                    raise rules.RuleError(complex_refusals.no_complex_derivative(rule, argument))
                found.add(p)
        return frozenset(found)

    def _real_part(self, tangent: object, tan: _Tangents, realify: bool) -> object:
        """`tangent`, or its real part bound to a fresh name when it may be complex and the
        output is real (the value written into a real buffer: ``dx_2[i] = np.real(dz)``)."""
        if isinstance(tangent, tuple):
            return tuple(self._real_part(t, tan, realify) for t in tangent)
        if not realify or not isinstance(tangent, Var) or not self._complex_tangent(tangent, tan):
            return tangent
        target = tan.names.fresh(f"{tangent.name}_real")
        tan.stmts.append(SetTangent(target, (Apply("numpy.real", (tangent,)),)))
        return Var(target)

    def _complex_tangent(self, tangent: Var, tan: _Tangents) -> bool:
        """Whether a tangent variable may be complex: the tangent of a complex-typed variable."""
        return any(d == tangent.name and v in tan.complex for v, d in tan.of.items())

    def _dense_param(self, value: object, tan: _Tangents) -> object:
        if isinstance(value, tuple):
            return tuple(tan.dense(v) for v in value)
        return tan.dense(value)

    def _covers(self, rule: rules.Rule, bound: rules.Bound, referenced: set[str], tan: _Tangents) -> bool:
        """Whether the terms read every operand that could broadcast the output larger."""
        for q in rule.params:
            value = bound[q]
            if q in referenced or is_scalar_constant(value) or (isinstance(value, Var) and value.name in tan.scalars):
                continue
            return False
        return True

    def call(self, call: Call, tan: _Tangents, varied: set[str]) -> None:
        callee = self.functions[call.callee]
        bound = bind_call(call, callee)
        flags = self.call_tangent_flags(call, varied)
        tangents = tuple(
            tan.atom(bound[p.name]) or Const("None") if flag else Const("None") for p, flag in zip(callee.params, flags)
        )
        if any(flag for flag in flags):
            douts = tuple(tan.name_for(o) for o in call.outs)
        else:
            douts = tuple("_" for _ in call.outs)
        tan.stmts.append(JvpCall(call, tangents, douts))

    def branch(self, branch: Branch, tan: _Tangents, varied: set[str]) -> None:
        tparams, positions = self.branch_signature(branch, varied)
        for arm in (branch.then, branch.orelse):
            self.function(self.functions[arm], tparams, positions)
        params = self.functions[branch.then].params
        tangents = tuple(tan.dense(atom) for p, atom in zip(params, branch.inputs) if p.name in tparams)
        douts = tuple(tan.name_for(branch.outs[k]) for k in sorted(positions))
        tan.stmts.append(JvpBranch(branch, tangents, douts))

    def loop(self, loop: Loop, tan: _Tangents, varied: set[str]) -> None:
        tparams, positions = self.loop_signature(loop, varied)
        body = self.functions[loop.body]
        self.function(body, tparams, positions)
        layout = body_layout(loop)
        dinit = tuple(tan.dense(start) if j in positions else None for j, start in enumerate(loop.init))
        dcarried = tuple(tan.name_for(out) if j in positions else None for j, out in enumerate(loop.carried))
        feeds = loop_arguments(loop)
        rows, tangents = [], []
        for k, (p, feed) in enumerate(zip(body.params, feeds)):
            if layout.role(k) == "target":
                if p.name in tparams:
                    row = tan.names.fresh(f"d{loop.targets[k]}")
                    rows.append((row, tan.atom(feed)))
                    tangents.append(Var(row))
                else:
                    rows.append(None)
            elif p.name in tparams:
                carried = layout.role(k) == "carried"
                tangents.append(Var(dcarried[k - layout.carried.start]) if carried else tan.dense(feed))
        flag = tan.names.fresh("broke") if loop.breaks else ""
        tan.stmts.append(JvpLoop(loop, tuple(rows), dcarried, dinit, tuple(tangents), flag))


def elementwise_tangent(derivative: Expr) -> Expr:
    """``t * d``: a parameter's contribution to the output's tangent, for the local derivative
    ``d`` of an elementwise rule (the one place forward mode applies a tangent to one). A rule
    that reads ``g`` is a cotangent linear in ``g``: the tangent takes its place."""
    if "g" in holes(derivative):
        return substitute(derivative, {"g": Hole("t")})
    return mul(Hole("t"), derivative)


def _substituted(rule: rules.Rule, eqn: Eqn, swap: dict[str, object]) -> tuple[tuple, tuple]:
    """The equation's arguments with the parameters in `swap` replaced (a * parameter by a tuple)."""
    args = list(eqn.args)
    for k in range(len(args)):
        if k < len(rule.params):
            if rule.params[k] in swap:
                args[k] = swap[rule.params[k]]
        elif rule.varargs in swap:
            args[k] = swap[rule.varargs][k - len(rule.params)]
    kwargs = tuple((key, swap.get(key, value)) for key, value in eqn.kwargs)
    return tuple(args), kwargs


def _prune_function(fn: JvpFunction) -> JvpFunction:
    """Drop equations and tangents nothing reads (tangents of values the output does not use)."""
    needed = set(variables(fn.result)) | set(variables(fn.dresult))
    kept = []
    for stmt in reversed(fn.body):
        if isinstance(stmt, (Eqn, SetTangent, ZeroTangent)):
            if not any(o in needed for o in writes(stmt)):
                continue
        kept.append(stmt)
        needed |= reads(stmt)
    return dataclasses.replace(fn, body=tuple(reversed(kept)))


def prune(module: JvpModule) -> JvpModule:
    return JvpModule(module.source, tuple(_prune_function(f) for f in module.functions))


def forward(module: Module, sink: DiagnosticSink) -> JvpModule:
    """Build `f_jvp` for every function of the module (internal ones from their call sites)."""
    pass_ = _Forward(module, sink)
    for f in module.functions:
        if not f.internal:
            pass_.function(f, frozenset(pass_.active_params[f.name]))
    by_name = {fn.source.name: fn for fn in pass_.generated}
    # In source order (internal functions after the function they came from), each once.
    ordered = [by_name[f.name] for f in module.functions if f.name in by_name]
    return JvpModule(module, tuple(ordered))
