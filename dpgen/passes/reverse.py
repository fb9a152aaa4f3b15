"""The reverse-mode pass: each function's forward sweep plus the pullback that reverses it.

Each function's forward sweep and pullback are its forward and backward halves; what crosses
between them (the residuals) is computed from the pullback at the end (`analysis.residuals`) and
recorded in the IR, and one `VjpLoop` node holds both halves of a loop.

Activity analysis runs first (`dpgen.analysis.activity`): a variable gets an adjoint only
when it depends on a differentiable parameter (varied) *and* the output depends on it
(useful), so shape arithmetic, masks and constants cost nothing in the pullback.

The pullback walks the equations backwards. The first contribution to an adjoint binds
it; later ones accumulate (``x_bar = x_bar + ...``). Indexing reads scatter into a fresh
zero buffer, the only adjoint ever updated in place; an adjoint that may share memory
with another (a pass-through like ``unbroadcast`` can return its input) is copied first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from dpgen import rules
from dpgen.rules import RuleError
from dpgen.errors import DiagnosticSink
from dpgen.ir import (
    KeyAddAdjoint,
    ZeroIndexAdjoint,
    AddInPlace,
    AdjointStmt,
    Apply,
    Branch,
    Loop,
    ReverseLoop,
    VjpBranch,
    VjpLoop,
    Atom,
    Call,
    Comment,
    Const,
    CopyAdjoint,
    Eqn,
    Expr,
    Function,
    Hole,
    Index,
    IndexAddAdjoint,
    Lit,
    Module,
    Seq,
    SetAdjoint,
    Template,
    UnpackAdjoints,
    Var,
    VjpCall,
    VjpFunction,
    VjpModule,
    ZerosAdjoint,
)
from dpgen.ir.expr import OPERATORS, holes, mul, real, strip_unbroadcast, substitute, unbroadcast
from dpgen.names import NameAllocator
from dpgen.analysis import activity, complex_refusals, residuals
from dpgen.analysis.dtypes import complex_constants, complex_literal_value, complex_types, may_be_complex
from dpgen.passes.conjugate import conjugate_derivative, conjugate_holes, has_complex_literal
from dpgen.analysis.activity import active_parameters, dict_variables
from dpgen.analysis.scalars import is_scalar_constant, module_scalars, scalar_constants, shape_classes
from dpgen.ir import walk
from dpgen.rules.syntax import HELPER_PREFIX

# ------------------------------------------------------------------- pullback


@dataclass
class _Adjoints:
    """The pullback under construction for one function."""

    names: NameAllocator
    active: set[str]  #: variables that get adjoints
    scalars: frozenset[str]  #: variables that provably hold scalars
    shapes: dict[str, tuple] = field(default_factory=dict)  #: variable -> key; equal keys, equal shapes
    dicts: set[str] = field(default_factory=set)  #: variables holding dicts of parameters
    complex_vars: frozenset[str] = frozenset()  #: variables that may hold complex values (`analysis.dtypes`)
    complex_constants: frozenset[str] = frozenset()  #: module constants bound to complex literals
    zero_entries: dict[str, set[str]] = field(default_factory=dict)  #: dict adjoint -> keys still holding its zeros
    shared_entries: set[str] = field(default_factory=set)  #: dict adjoints with entries that are other adjoints
    bar: dict[str, str] = field(default_factory=dict)  #: variable -> its adjoint's current name
    owned: set[str] = field(default_factory=set)  #: adjoints known to own their memory
    #: Adjoint names (and temporaries) that may hold complex values: the adjoints of complex
    #: variables, and a callee's cotangents before a real variable takes their real part.
    complex_names: set[str] = field(default_factory=set)
    #: Complex variables whose adjoint is known to be a complex array (complex zeros): only
    #: those take in-place updates, which could not store a complex value in a real array.
    complex_buffers: set[str] = field(default_factory=set)
    real_parts: set[str] = field(default_factory=set)  #: temporaries a real variable takes the real part of
    stmts: list[AdjointStmt] = field(default_factory=list)

    def fresh(self, var: str, suffix: str = "_bar") -> str:
        """A new name for (a part of) `var`'s adjoint, complex when `var` may be."""
        name = self.names.fresh(f"{var}{suffix}")
        if var in self.complex_vars:
            self.complex_names.add(name)
        return name

    def bind(self, var: str) -> str:
        """Give `var` a new adjoint name (its array is not known to be complex yet)."""
        self.bar[var] = self.fresh(var)
        self.complex_buffers.discard(var)
        return self.bar[var]

    def zeros(self, var: Var) -> ZerosAdjoint:
        """A zero buffer for `var`'s adjoint: complex zeros when `var` may be complex (it may be
        real at run time, and complex cotangents are added into the buffer in place)."""
        is_complex = var.name in self.complex_vars
        if is_complex:
            self.complex_buffers.add(var.name)
        return ZerosAdjoint(self.bar[var.name], var, is_dict=var.name in self.dicts, complex=is_complex)

    def copy(self, var: str) -> CopyAdjoint:
        """Copy `var`'s adjoint before an in-place update (as a complex array for a complex variable)."""
        is_complex = var in self.complex_vars and var not in self.complex_buffers
        if is_complex:
            self.complex_buffers.add(var)
        return CopyAdjoint(self.bar[var], is_dict=var in self.dicts, complex=is_complex)

    def needs_own_copy(self, var: str) -> bool:
        """Whether `var`'s adjoint must be copied before an in-place update."""
        return var not in self.owned or (var in self.complex_vars and var not in self.complex_buffers)

    def atom_complex(self, atom: object) -> bool:
        """Whether an atom of the pullback (a primal, an adjoint, a literal) may be complex."""
        if isinstance(atom, Var):
            return atom.name in self.complex_vars or atom.name in self.complex_names
        if isinstance(atom, Const):
            return may_be_complex(atom, frozenset(), self.complex_constants)
        if isinstance(atom, Lit):
            return type(atom.value) is complex
        if isinstance(atom, (Seq, tuple)):
            return any(self.atom_complex(item) for item in (atom.items if isinstance(atom, Seq) else atom))
        if isinstance(atom, Apply):
            return any(self.atom_complex(a) for a in atom.args) or any(self.atom_complex(v) for _, v in atom.kwargs)
        return False

    def template_complex(self, template: Template) -> bool:
        """Whether a contribution may be complex: it reads a complex atom or a complex literal."""
        bindings = dict(template.bindings)
        return (
            has_complex_literal(template.expr)
            or any(self.atom_complex(bindings[name]) for name in holes(template.expr) if name in bindings)
            or self.atom_complex(_tree_atoms(template.expr))
        )

    def real_stays_real(self, var: str, value: Template) -> Template:
        """`value`, or its real part when `var` is real but `value` may be complex."""
        if var in self.complex_vars or not self.template_complex(value):
            return value
        return Template(real(value.expr), value.bindings)

    def contribute(self, var: str, value: Template) -> None:
        value = self.real_stays_real(var, value)
        self.zero_entries.pop(var, None)
        if var not in self.bar:
            self.bind(var)
            self.stmts.append(SetAdjoint(self.bar[var], value, accumulate=False))
            self.owned.discard(var)
        else:
            self.stmts.append(self._accumulate(var, value))
            self.owned.add(var)  # `x_bar + c` is a new array

    def _accumulate(self, var: str, value: Template) -> SetAdjoint:
        """``x_bar = x_bar + value``; in place when no other name can hold x_bar's array (it
        is a sum or a buffer this pullback made, and x's adjoint is read only once complete)
        and, for a complex variable, the array is known to be complex."""
        is_dict = var in self.dicts
        in_place = not self.needs_own_copy(var) and not is_dict
        return SetAdjoint(self.bar[var], value, accumulate=True, is_dict=is_dict, in_place=in_place)

    def target_for(self, var: str, complex_value: bool = False) -> str | None:
        """Where an unpacked cotangent for `var` lands: its adjoint, or a temporary to add in.
        A cotangent that may be complex for a real `var` lands in a temporary whose real part
        `add_parts` takes."""
        if var not in self.active:
            return None
        if complex_value and var not in self.complex_vars:
            part = self.names.fresh(f"{var}_bar_part")
            self.complex_names.add(part)
            self.real_parts.add(part)
            return part
        if var not in self.bar:
            return self.bind(var)
        return self.fresh(var, "_bar_part")

    def add_parts(self, vars_and_targets: list[tuple[str, str | None]]) -> None:
        for var, target in vars_and_targets:
            self.zero_entries.pop(var, None)
            if target in self.real_parts:
                self.contribute(var, Template(Hole("part"), (("part", Var(target)),)))
            elif target is not None and target != self.bar[var]:
                self.stmts.append(self._accumulate(var, Template(Hole("part"), (("part", Var(target)),))))
                self.owned.add(var)


def _tree_atoms(node: object) -> tuple:
    """The atoms a tree holds outside its holes (``np.zeros_like(out)`` holds ``out``)."""
    if isinstance(node, (Var, Const)):
        return (node,)
    if isinstance(node, Apply):
        return tuple(a for child in node.args + tuple(v for _, v in node.kwargs) for a in _tree_atoms(child))
    if isinstance(node, (Seq, Index)):
        return tuple(a for child in node.items for a in _tree_atoms(child))
    return ()


class _Reverse:
    def __init__(self, module: Module, sink: DiagnosticSink):
        self.module = module
        self.sink = sink
        self.functions = {f.name: f for f in module.functions}
        self.active_params = active_parameters(module)
        self.dicts = dict_variables(module)
        self.scalars = module_scalars(module)
        self.constants = scalar_constants(module)
        # Which variables and parameters may hold complex values: holomorphic rules conjugate
        # what they read of those, and real variables take the real part of their cotangents.
        self.complex_vars, self.complex_params = complex_types(module)
        self.complex_constants = complex_constants(module)
        # For internal functions: positions of result items that can carry a derivative.
        self.varied_results = {}
        for f in module.functions:
            if f.internal and isinstance(f.result, Seq):
                varied = activity.varied(f, self.active_params, self.functions)
                self.varied_results[f.name] = {
                    k for k, item in enumerate(f.result.items) if set(walk.variables(item)) & varied
                }

    def function(self, f: Function) -> VjpFunction:
        self.current = f
        self._refuse_on_complex(f)
        # Values the forward sweep computes, for rules that need one of them again (sin needs cos).
        self.computed = {
            (s.op, s.args): s.outs[0] for s in f.body if isinstance(s, Eqn) and len(s.outs) == 1 and not s.kwargs
        }
        names = NameAllocator(f.taken_names)
        varied = activity.varied(f, self.active_params, self.functions)
        useful = activity.useful(f, self.active_params, self.functions)
        adj = _Adjoints(
            names,
            varied & useful,
            self.scalars[f.name],
            shape_classes(f, self.scalars[f.name], self.constants),
            self.dicts[f.name],
            self.complex_vars[f.name],
            self.complex_constants,
        )

        # Forward sweep: module calls go through the callee's vjp to keep its pullback.
        forward: list[Eqn | VjpCall | VjpBranch | VjpLoop] = []
        pullbacks: dict[int, str] = {}
        for i, stmt in enumerate(f.body):
            needs_pullback = any(n in adj.active for n in stmt.outs) and any(
                n in adj.active for n in activity.differentiable_inputs(stmt, self.active_params, self.functions)
            )
            if isinstance(stmt, Call):
                pullbacks[i] = names.fresh(f"{stmt.callee}_pullback") if needs_pullback else "_"
                forward.append(VjpCall(stmt, pullbacks[i]))
            elif isinstance(stmt, Branch):
                pullbacks[i] = names.fresh("branch_pullback") if needs_pullback else "_"
                forward.append(VjpBranch(stmt, pullbacks[i]))
            elif isinstance(stmt, Loop):
                pullbacks[i] = names.fresh("loop_pullbacks") if needs_pullback else "_"
                step = names.fresh("step_pullback") if needs_pullback else "_"
                forward.append(VjpLoop(stmt, pullbacks[i], step, names.fresh("broke") if stmt.breaks else ""))
            else:
                forward.append(stmt)

        # Seed: the pullback's parameter is the output's cotangent.
        seed_unpack = None
        if isinstance(f.result, Seq):
            seed = names.fresh("out_bar")
            parts: list[tuple[str, str | None]] = []
            seed_unpack = _seed_targets(f.result, adj, parts)
            adj.add_parts(parts)
        elif isinstance(f.result, Var) and f.result.name in adj.active:
            seed = adj.target_for(f.result.name)
        else:
            seed = names.fresh("out_bar")

        lines = dict(f.statement_lines)
        last_line = None
        for i in reversed(range(len(f.body))):
            stmt = f.body[i]
            if not any(out in adj.bar for out in stmt.outs):
                continue
            before = len(adj.stmts)
            try:
                if isinstance(stmt, Eqn):
                    self.eqn(stmt, adj)
                elif isinstance(stmt, Call):
                    self.call(stmt, pullbacks[i], adj)
                elif isinstance(stmt, Branch):
                    self.branch(stmt, pullbacks[i], adj)
                else:
                    self.loop(forward[i], adj)
            except rules.RuleError as exc:
                self.sink.error(stmt.span, str(exc))
            if len(adj.stmts) > before and stmt.span.line != last_line:
                where = f"{self.module.source_name}:{stmt.span.line}"
                adj.stmts.insert(
                    before, Comment(f"{where}: {lines[stmt.span.line]}" if stmt.span.line in lines else where)
                )
                last_line = stmt.span.line

        # An active parameter always reaches the output; a zero adjoint is a safety net only.
        active = self.active_params[f.name]
        for p in f.params:
            if p.name in active and p.name not in adj.bar:
                adj.bind(p.name)
                adj.stmts.append(adj.zeros(Var(p.name)))
        # A public parameter declared complex may be passed a real value: its cotangent is real
        # then (real stays real, decided at run time, as only the value tells).
        for p in f.params:
            if not f.internal and p.name in active and p.name in self.complex_params[f.name]:
                real_if_real = Apply(f"{HELPER_PREFIX}_real_if_real", (Hole("g"), Hole("x")))
                bindings = (("g", Var(adj.bar[p.name])), ("x", Var(p.name)))
                adj.stmts.append(SetAdjoint(adj.bar[p.name], Template(real_if_real, bindings), accumulate=False))
        cotangents = tuple(adj.bar[p.name] if p.name in active else None for p in f.params)
        backward = _skip_assigned_zeros(adj.stmts)
        return VjpFunction(
            source=f,
            name=f"{f.name}_vjp",
            pullback_name=names.fresh(f"{f.name}_pullback"),
            grad_name=f"{f.name}_grad",
            forward=tuple(forward),
            seed=seed,
            seed_unpack=seed_unpack,
            backward=backward,
            cotangents=cotangents,
        )

    def _refuse_on_complex(self, f: Function) -> None:
        """Located errors for the calls refused on complex values in every mode (`complex_refusals`)."""
        for span, message in complex_refusals.refusals(f, self.complex_vars[f.name], self.complex_constants):
            self.sink.error(span, message)

    def eqn(self, eqn: Eqn, adj: _Adjoints) -> None:
        rule = rules.lookup(eqn.op)
        bound = rule.bind(eqn.args, eqn.kwargs)
        (out,) = eqn.outs
        g = Var(adj.bar[out])
        if eqn.op == "dpgen.getitem":
            self.getitem(bound["a"], bound["index"], g, adj)
            return
        if eqn.op == "dpgen.getkey":
            self.getkey(bound["d"], bound["key"], g, adj)
            return
        if eqn.op == "dpgen.setitem":
            self.setitem(eqn, bound, g, adj)
            return
        bindings = {"g": g, "ans": Var(out)}
        for name, value in bound.values.items():
            bindings[name] = value
            if isinstance(value, (tuple, Seq)):
                items = value if isinstance(value, tuple) else value.items
                bindings.update({f"{name}_{k}": item for k, item in enumerate(items)})
        # Primal values (parameters, `ans`; never `g`) that may be complex: their holes are
        # conjugated in holomorphic rules; a complex literal is conjugated where it is written.
        complex_holes = frozenset(name for name, atom in bindings.items() if name != "g" and adj.atom_complex(atom))
        literals = {
            name: Lit(complex_literal_value(atom.text))
            for name, atom in bindings.items()
            if name in complex_holes and isinstance(atom, Const) and complex_literal_value(atom.text) is not None
        }
        complex_holes = complex_holes - set(literals)
        for param, template in rule.vjp.items():
            value = bound[param]
            complex_arg = _complex_argument(bound, param, adj)

            def cotangent(tree: Expr | None = None, own: str = param) -> Expr:
                """The cotangent of `own` (an operand, or element k of a list parameter)."""
                if complex_arg is not None:
                    tree = complex_cotangent(rule, bound, param, complex_arg, literals, complex_holes, tree, own)
                return tree if tree is not None else _cotangent(rule, bound, param)

            if isinstance(value, Var):
                if value.name in adj.active:
                    tree = cotangent()
                    same_shape = value.name in adj.shapes and adj.shapes[value.name] == adj.shapes.get(out)
                    if same_shape or self._no_broadcast(rule, bound, param, adj):
                        tree = strip_unbroadcast(tree, param)
                    adj.contribute(value.name, self._reuse_forward(tree, bindings))
                continue
            if not isinstance(value, (tuple, Seq)):
                continue  # a constant: no adjoint
            items = value if isinstance(value, tuple) else value.items
            if not any(n in adj.active for n in walk.variables(items)):
                continue
            if isinstance(template, rules.PerElement):
                for k, item in enumerate(items):
                    tree = cotangent(template.build(bound, k), f"{param}_{k}")
                    if isinstance(item, Var) and item.name in adj.active:
                        adj.contribute(item.name, Template(tree, tuple(bindings.items())))
                    elif isinstance(item, Seq) and any(n in adj.active for n in walk.variables(item)):
                        value = Template(tree, tuple(bindings.items()))
                        part = adj.names.fresh(f"{out}_bar_item")
                        if adj.template_complex(value):
                            adj.complex_names.add(part)
                        adj.stmts.append(SetAdjoint(part, value, accumulate=False))
                        self._unpack(item.items, Template(Hole("g"), (("g", Var(part)),)), out, adj)
            else:
                self._unpack(items, Template(cotangent(), tuple(bindings.items())), out, adj)

    def _unpack(self, items: tuple, value: Template, out: str, adj: _Adjoints) -> None:
        """``a_bar, b_bar = value``: one cotangent per item of a list display. A nested display
        (``np.array([[a, b], [c, 1.0]])``) unpacks its item's cotangent again, to any depth."""
        targets: list[str | None] = []
        nested = []
        is_complex = adj.template_complex(value)  # then a real item takes the real part of its cotangent
        for v in items:
            if isinstance(v, Var):
                targets.append(adj.target_for(v.name, is_complex))
            elif isinstance(v, Seq) and any(n in adj.active for n in walk.variables(v)):
                targets.append(adj.names.fresh(f"{out}_bar_item"))
                if is_complex:
                    adj.complex_names.add(targets[-1])
                nested.append((v, targets[-1]))
            else:
                targets.append(None)
        adj.stmts.append(UnpackAdjoints(tuple(targets), value))
        adj.add_parts([(v.name, t) for v, t in zip(items, targets) if isinstance(v, Var)])
        for item, part in nested:
            self._unpack(item.items, Template(Hole("g"), (("g", Var(part)),)), out, adj)

    def _reuse_forward(self, tree: Expr, bindings: dict[str, Atom]) -> Template:
        """The rule's expression, reading ``np.cos(x)`` from the forward sweep when it computed
        exactly that: the pullback holds the value instead of computing it again. Only calls
        of a ``numpy`` or ``math`` function on bound names count (not operators)."""
        computed = self.computed
        reused: dict[str, Atom] = {}

        def reuse(node: Expr) -> Expr:
            if not isinstance(node, Apply):
                return node
            node = Apply(node.op, tuple(reuse(a) for a in node.args), tuple((k, reuse(v)) for k, v in node.kwargs))
            module, _, _ = node.op.partition(".")
            if node.kwargs or node.op in OPERATORS or module not in ("numpy", "math") or node.op.count(".") != 1:
                return node
            if not all(isinstance(a, Hole) and isinstance(bindings.get(a.name), (Var, Const)) for a in node.args):
                return node
            out = computed.get((node.op, tuple(bindings[a.name] for a in node.args)))
            if out is None:
                return node
            name = f"forward_{len(reused)}"
            reused[name] = Var(out)
            return Hole(name)

        tree = reuse(tree)
        return Template(tree, tuple(bindings.items()) + tuple(reused.items()))

    def _no_broadcast(self, rule: rules.Rule, bound: rules.Bound, param: str, adj: _Adjoints) -> bool:
        """Whether the output provably has `param`'s shape: every other operand is a
        scalar constant, or every operand is a scalar."""
        others = [bound[q] for q in rule.params if q != param]
        if all(is_scalar_constant(a, self.constants) for a in others):
            return True
        return all(
            is_scalar_constant(a, self.constants) or (isinstance(a, Var) and a.name in adj.scalars)
            for a in [bound[param], *others]
        )

    def getitem(self, base: Atom, index: Index, g: Var, adj: _Adjoints) -> None:
        if not isinstance(base, Var) or base.name not in adj.active:
            return
        var = base.name
        if var not in adj.bar:
            adj.bind(var)
            adj.stmts.append(adj.zeros(base))
            adj.owned.add(var)
        elif adj.needs_own_copy(var):
            adj.stmts.append(adj.copy(var))
            adj.owned.add(var)
        may_repeat = any(
            isinstance(i, (Var, Seq)) or (isinstance(i, Const) and i.text.startswith("[")) for i in index.items
        )
        adj.stmts.append(IndexAddAdjoint(adj.bar[var], index, g.name, may_repeat))

    def getkey(self, base: Atom, key: Const, g: Var, adj: _Adjoints) -> None:
        """``p["W1"]``: add into that entry of a dict of zeros shaped like `p`."""
        if isinstance(base, Var) and base.name in adj.active:
            if base.name not in adj.bar or base.name not in adj.owned:
                self._own(base, adj)  # entries are rebound below, never updated in place
            # The entry's first contribution replaces the zeros: no addition, no new array.
            first = key.text in adj.zero_entries.get(base.name, set())
            adj.zero_entries.get(base.name, set()).discard(key.text)
            if first:
                adj.shared_entries.add(base.name)
            adj.stmts.append(KeyAddAdjoint(adj.bar[base.name], key, g.name, first=first))

    def setitem(self, eqn: Eqn, bound: rules.Bound, g: Var, adj: _Adjoints) -> None:
        """``x_2 = setitem(x, index, v)``: v gets ``g[index]``; x gets g with that slot zeroed."""
        base, index, value = bound["a"], bound["index"], bound["value"]
        out = eqn.outs[0]
        base_active = isinstance(base, Var) and base.name in adj.active
        in_place = base_active and base.name not in adj.bar and out in adj.owned
        if isinstance(value, Var) and value.name in adj.active:
            bindings = (("g", g), ("index", index), ("value", value))
            # A slice of g is a view: copy it when the slot is about to be zeroed in place.
            read = Apply("dpgen.getitem", (Hole("g"), Hole("index")))
            if in_place:
                read = Apply("numpy.copy", (read,))
            adj.contribute(value.name, Template(unbroadcast(read, Hole("value")), bindings))
        if not base_active:
            return
        if in_place:
            adj.stmts.append(ZeroIndexAdjoint(g.name, g.name, index))  # our own buffer: zero in place
            adj.bar[base.name] = g.name
            # x and x_2 have one dtype (NumPy casts v into x), so the buffer stays what it was.
            if out in adj.complex_buffers:
                adj.complex_buffers.add(base.name)
        else:
            target = adj.target_for(base.name)
            adj.stmts.append(ZeroIndexAdjoint(target, g.name, index))
            adj.add_parts([(base.name, target)])
        adj.owned.add(base.name)

    def call(self, call: Call, pullback: str, adj: _Adjoints) -> None:
        callee = self.functions[call.callee]
        if len(call.outs) == 1:
            seed: Atom = Var(adj.bar[call.outs[0]])
        else:
            # A tuple result: outputs without an adjoint get a zero cotangent.
            seed = Seq(tuple(Var(adj.bar[o]) if o in adj.bar else _zeros_like(o) for o in call.outs))
        bound = walk.bind_call(call, callee)
        targets = []
        pairs = []
        for p in callee.params:
            atom = bound.get(p.name)
            if p.name in self.active_params[call.callee] and isinstance(atom, Var) and atom.name in adj.active:
                # Another call site may make the callee's parameter complex: a real argument
                # then takes the real part of the cotangent it gets back.
                target = adj.target_for(atom.name, p.name in self.complex_params[call.callee])
                pairs.append((atom.name, target))
                targets.append(target)
            else:
                targets.append(None)
        adj.stmts.append(UnpackAdjoints(tuple(targets), _pullback_call(pullback, seed)))
        adj.add_parts(pairs)

    def _seed(self, outs: tuple[str, ...], callee: str, adj: "_Adjoints") -> Seq:
        """The cotangents handed to an internal pullback: zeros where this function has none."""
        varied = self.varied_results[callee]
        items = []
        for k, out in enumerate(outs):
            if out in adj.bar:
                items.append(Var(adj.bar[out]))
            elif k in varied:
                items.append(_zeros_like(out))
            else:
                items.append(Const("None"))
        return Seq(tuple(items))

    def branch(self, branch: Branch, pullback: str, adj: "_Adjoints") -> None:
        seed = self._seed(branch.outs, branch.then, adj)
        active = set(self.active_params[branch.then])
        targets, pairs = [], []
        then, orelse = self.functions[branch.then].params, self.functions[branch.orelse].params
        for p, q, atom in zip(then, orelse, branch.inputs):
            if p.name in active and isinstance(atom, Var) and atom.name in adj.active:
                is_complex = p.name in self.complex_params[branch.then] or q.name in self.complex_params[branch.orelse]
                targets.append(adj.target_for(atom.name, is_complex))
                pairs.append((atom.name, targets[-1]))
            else:
                targets.append(None)
        adj.stmts.append(UnpackAdjoints(tuple(targets), _pullback_call(pullback, seed)))
        adj.add_parts(pairs)

    def loop(self, node: VjpLoop, adj: "_Adjoints") -> None:
        """The loop's reverse half: `node` again, now with its replay, where the pullback runs it."""
        loop = node.loop
        body = self.functions[loop.body]
        active = set(self.active_params[loop.body])
        n_targets, n_carried = len(loop.targets), len(loop.carried)
        # The carried adjoints: start from the loop's outputs, thread through every iteration.
        threaded = []
        for out in loop.carried:
            if out not in adj.bar:
                adj.bind(out)
                adj.stmts.append(adj.zeros(Var(out)))
                adj.owned.add(out)
            threaded.append(adj.bar[out])
        seed = Seq(tuple(Var(t) for t in threaded) + ((Const("None"),) if loop.breaks else ()))
        index = adj.names.fresh("step")
        targets: list[str | None] = []
        per_step = []
        for k, (param, feed) in enumerate(zip(body.params, walk.loop_arguments(loop))):
            if n_targets <= k < n_targets + n_carried:
                targets.append(threaded[k - n_targets] if param.name in active else None)
                continue
            if param.name not in active or not isinstance(feed, Var) or feed.name not in adj.active:
                targets.append(None)
                continue
            self._own(feed, adj)  # a buffer the loop adds into in place
            part = adj.names.fresh(f"{param.name}_bar" if k < n_targets else f"{feed.name}_bar_part")
            targets.append(part)
            if param.name in self.complex_params[loop.body] and feed.name not in adj.complex_vars:
                # The body's parameter may be complex, the sequence or invariant is real.
                per_step.append(SetAdjoint(part, Template(real(Hole("part")), (("part", Var(part)),)), False))
            if k < n_targets:  # an iterated element: add into its row of the sequence
                position = Apply("numpy.subtract", (Lit(-1), Var(index))) if loop.over.reverse else Var(index)
                per_step.append(IndexAddAdjoint(adj.bar[feed.name], Index((position,), False), part, may_repeat=False))
            else:
                per_step.append(AddInPlace(adj.bar[feed.name], part, is_dict=feed.name in adj.dicts))
                adj.zero_entries.pop(feed.name, None)
        adj.stmts.append(dataclasses.replace(node, replay=ReverseLoop(index, tuple(targets), seed, tuple(per_step))))
        # After the replay, the threaded adjoints belong to the values the loop started from.
        for out, start in zip(loop.carried, loop.init):
            adj.owned.discard(out)
            if (
                isinstance(start, Var)
                and start.name in adj.active
                and body.params[n_targets + loop.carried.index(out)].name in active
            ):
                adj.contribute(start.name, Template(Hole("g"), (("g", Var(adj.bar[out])),)))

    def _keys(self, var: str) -> set[str]:
        """Constant keys the current function reads from dict `var`."""
        return {
            stmt.args[1].text
            for stmt in self.current.body
            if isinstance(stmt, Eqn) and stmt.op == "dpgen.getkey" and stmt.args[0] == Var(var)
        }

    def _own(self, var: Var, adj: "_Adjoints") -> None:
        """Make `var`'s adjoint a buffer this pullback owns, so it can add into it in place."""
        if var.name not in adj.bar:
            adj.bind(var.name)
            adj.stmts.append(adj.zeros(var))
            adj.owned.add(var.name)
            if var.name in adj.dicts:
                adj.zero_entries[var.name] = {key for key in self._keys(var.name)}
        elif adj.needs_own_copy(var.name) or var.name in adj.shared_entries:
            # Copied before an in-place update: entries may be other adjoints' arrays.
            adj.stmts.append(adj.copy(var.name))
            adj.owned.add(var.name)
            adj.shared_entries.discard(var.name)
            adj.zero_entries.pop(var.name, None)


def _skip_assigned_zeros(stmts: list[AdjointStmt]) -> tuple[AdjointStmt, ...]:
    """Dict adjoints: no zeros for the entries a first contribution replaces anyway.

    An entry is first (`KeyAddAdjoint.first`) only while nothing has read the dict as a
    whole, so leaving it out of the zeros until then changes no value (only key order).
    """
    first = {}
    for stmt in stmts:
        if isinstance(stmt, KeyAddAdjoint) and stmt.first:
            first.setdefault(stmt.target, []).append(stmt.key.text)
    return tuple(
        (
            dataclasses.replace(stmt, assigned=tuple(first[stmt.target]))
            if isinstance(stmt, ZerosAdjoint) and stmt.is_dict and stmt.target in first
            else stmt
        )
        for stmt in stmts
    )


def _seed_targets(result: Seq, adj: "_Adjoints", parts: list) -> tuple:
    """Unpacking targets mirroring a tuple result (nested for lists inside it); None: no adjoint."""
    targets = []
    for item in result.items:
        if isinstance(item, Seq):
            targets.append(_seed_targets(item, adj, parts))
        elif isinstance(item, Var):
            targets.append(adj.target_for(item.name))
            parts.append((item.name, targets[-1]))
        else:
            targets.append(None)
    return tuple(targets)


def _cotangent(rule: rules.Rule, bound: rules.Bound, param: str) -> Expr:
    """The rule's cotangent tree for `param`, over the holes ``g``, ``ans`` and the parameters."""
    template = rule.vjp[param]
    tree = template(bound) if callable(template) else template
    if rule.jvp_kind == "elementwise":
        return elementwise_cotangent(rule, param, tree)
    return tree


def complex_cotangent(
    rule: rules.Rule,
    bound: rules.Bound,
    param: str,
    argument: str,
    literals: dict[str, Lit],
    complex_holes: frozenset[str],
    tree: Expr | None = None,
    own: str | None = None,
) -> Expr:
    """The cotangent tree of `param` when an argument of the call may be complex (`argument`
    names one). `tree` is the real cotangent when the caller built it (a list parameter's
    element `own`); `literals` maps holes bound to complex literals to their values.

    A rule that is not holomorphic uses its `complex_vjp` (over ``g``, not conjugated) or is refused;
    a holomorphic one reads the conjugates of its complex primals (`dpgen.passes.conjugate`),
    except linear rules, which state their adjoint already."""
    if not rule.holomorphic:
        if param not in rule.complex_vjp:
            raise RuleError(complex_refusals.no_complex_derivative(rule, argument))
        template = rule.complex_vjp[param]
        tree = template(bound) if callable(template) else template
        if rule.jvp_kind == "elementwise" and not _takes_scalars(rule):
            tree = unbroadcast(tree, Hole(param))
        return tree
    if tree is None:
        template = rule.vjp[param]
        tree = template(bound) if callable(template) else template
    if rule.jvp_kind == "linear":
        return tree
    tree = substitute(tree, literals)
    if rule.jvp_kind == "elementwise":
        return elementwise_cotangent(rule, param, tree, complex_holes)
    # A multilinear rule's cotangent for one operand reads that operand only for its shape.
    skip = frozenset({own or param}) if rule.jvp_kind == "multilinear" else frozenset()
    return conjugate_holes(tree, complex_holes, skip)


def elementwise_cotangent(
    rule: rules.Rule, param: str, derivative: Expr, complex_holes: frozenset[str] = frozenset()
) -> Expr:
    """``unbroadcast(g * d, x)`` for the local derivative ``d`` of an elementwise rule.

    The one place reverse mode applies a cotangent to a derivative: ``g * conj(d)`` where
    ``d`` reads values that may be complex (`complex_holes`) or a complex literal. A rule that
    reads ``g`` itself already is the cotangent (``np.where``): its complex primals are read
    conjugated instead. ``math`` functions and the two-value ``max``/``min`` take scalars
    (an array's truth value is an error there), which nothing broadcasts."""
    if "g" in holes(derivative):
        value = conjugate_holes(derivative, complex_holes)
    else:
        value = mul(Hole("g"), conjugate_derivative(derivative, complex_holes))
    if _takes_scalars(rule):
        return value
    return unbroadcast(value, Hole(param))


def _takes_scalars(rule: rules.Rule) -> bool:
    """``math`` functions and the two-value builtins ``max``/``min``: scalars only, no broadcasting."""
    return rule.name.startswith("math.") or rule.name in ("builtins.max", "builtins.min")


def _complex_argument(bound: rules.Bound, param: str, adj: _Adjoints) -> str | None:
    """How an error names an argument of a call that may be complex, `param`'s own first
    (``'z'``, the literal ``'1j'``); None when none may be."""
    for name in [param] + [p for p in bound.values if p != param]:
        atom = bound[name]
        if adj.atom_complex(atom):
            return complex_refusals.named(atom, adj.atom_complex)
    return None


def _zeros_like(name: str) -> Apply:
    """``np.zeros_like(name)``: the cotangent of an output nothing reads."""
    return Apply("numpy.zeros_like", (Var(name),))


def _pullback_call(pullback: str, seed: Atom) -> Template:
    """``pullback(seed)``: a stored pullback applied to its output cotangents."""
    return Template(
        Apply("dpgen.call", (Hole("pullback"), Hole("seed"))), (("pullback", Var(pullback)), ("seed", seed))
    )


def reverse(module: Module, sink: DiagnosticSink) -> VjpModule:
    """Build `f_vjp` for every function of the module."""
    pass_ = _Reverse(module, sink)
    return residuals.attach(VjpModule(module, tuple(pass_.function(f) for f in module.functions)))
