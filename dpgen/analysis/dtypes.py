"""Which variables may hold complex numbers, found statically: the complex pass's types.

Complex differentiation needs to know, at each primitive, whether its arguments may be
complex: a holomorphic rule then conjugates its local derivative, a non-holomorphic one
uses its complex rule (or is refused), and a real variable's cotangent drops the imaginary
part that complex neighbours give it ("real stays real").

The lattice has two points: *real* (provably never complex) and *may be complex*. Taking
"may be complex" for a value that is real at run time costs a `conj` that changes nothing;
the converse would give a wrong gradient, so every source of complex values counts:

- parameters declared complex (`Param.complex`: an annotation or a complex default); every
  other parameter is real, and the generated entry checks that at run time;
- complex literals (``1j``), module constants bound to them, and ``dtype=complex``;
- a primitive's `Rule.out_dtype` (``np.fft.fft`` is complex, ``np.abs`` real, ``np.sin``
  promotes, ``x[i] = v`` keeps x's dtype as NumPy does);
- calls, branch arms and loop bodies, through a fixed point over the module: a function's
  parameter may be complex when any caller may feed it a complex value, and a loop's
  carried value when its initial value or any iteration's may be complex.
"""

from __future__ import annotations

import ast

from dpgen import rules
from dpgen.ir import Branch, Call, Const, Eqn, Function, Loop, Module, Seq, Var
from dpgen.ir.walk import arguments, body_layout, callees

#: ``dtype=`` spellings that make a constructor's output complex.
_COMPLEX_DTYPES = {
    "complex",
    "np.complex64",
    "np.complex128",
    "np.complex256",
    "np.complexfloating",
    "np.cdouble",
    "np.csingle",
    "np.clongdouble",
    "numpy.complex64",
    "numpy.complex128",
    "'complex'",
    '"complex"',
    "'complex64'",
    '"complex64"',
    "'complex128'",
    '"complex128"',
    "'c8'",
    '"c8"',
    "'c16'",
    '"c16"',
    "'D'",
    '"D"',
    "'F'",
    '"F"',
}


def is_complex_literal(text: str) -> bool:
    """Whether a literal's source text holds a complex number (``1j``, ``2 - 3j``, ``(1.0, 2j)``)."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Constant) and isinstance(n.value, complex) for n in ast.walk(node))


def complex_literal_value(text: str) -> complex | None:
    """The value of a literal's source text that is one complex number (``1j``, ``(2 - 3j)``),
    so a pass can conjugate it where it is written; None for anything else."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    return value if type(value) is complex else None


def complex_constants(module: Module) -> frozenset[str]:
    """Module-level names bound (by any binding) to an expression with a complex literal."""
    found = set()
    for line in module.prelude:
        try:
            node = ast.parse(line).body[0]
        except (SyntaxError, IndexError):
            continue
        if isinstance(node, ast.Assign) and is_complex_literal(ast.unparse(node.value)):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(found)


def may_be_complex(atom: object, complex_vars: frozenset[str] | set[str], constants: frozenset[str]) -> bool:
    """Whether an atom (a variable, a literal, a display of them) may hold a complex value."""
    if isinstance(atom, Var):
        return atom.name in complex_vars
    if isinstance(atom, Const):
        return atom.text in constants or is_complex_literal(atom.text)
    if isinstance(atom, (Seq, tuple)):
        items = atom.items if isinstance(atom, Seq) else atom
        return any(may_be_complex(item, complex_vars, constants) for item in items)
    return False


def _eqn_complex(eqn: Eqn, complex_vars: set[str], constants: frozenset[str]) -> bool:
    rule = rules.lookup(eqn.op)
    dtype = rule.out_dtype if rule is not None else "promote"
    if any(key == "dtype" and isinstance(value, Const) for key, value in eqn.kwargs):
        text = dict(eqn.kwargs)["dtype"].text
        if text != "None":
            return text in _COMPLEX_DTYPES
    if dtype == "real":
        return False
    if dtype == "complex":
        return True
    atoms = eqn.args[:1] if dtype == "first" else eqn.args + tuple(value for _, value in eqn.kwargs)
    return any(may_be_complex(atom, complex_vars, constants) for atom in atoms)


class _Types:
    """The fixed point: complex parameters, variables and result positions per function."""

    def __init__(self, module: Module):
        self.functions = {f.name: f for f in module.functions}
        self.constants = complex_constants(module)
        self.params = {f.name: {p.name for p in f.params if p.complex} for f in module.functions}
        self.variables: dict[str, set[str]] = {f.name: set() for f in module.functions}
        self.results: dict[str, set[int]] = {f.name: set() for f in module.functions}

    def solve(self) -> None:
        changed = True
        while changed:
            changed = False
            for f in self.functions.values():
                changed |= self._function(f)

    def _feed(self, callee: str, param: str) -> bool:
        if param in self.params[callee]:
            return False
        self.params[callee].add(param)
        return True

    def _result_positions(self, f: Function, found: set[str]) -> set[int]:
        items = f.result.items if isinstance(f.result, Seq) else (f.result,)
        return {k for k, item in enumerate(items) if may_be_complex(item, found, self.constants)}

    def _function(self, f: Function) -> bool:
        found = set(self.params[f.name])
        changed = False
        for stmt in f.body:
            if isinstance(stmt, Eqn):
                if _eqn_complex(stmt, found, self.constants):
                    found.update(stmt.outs)
                continue
            for callee_name in callees(stmt):
                callee = self.functions[callee_name]
                for param, atom in arguments(stmt, callee):
                    if atom is None:
                        fed = param.default is not None and may_be_complex(param.default, set(), self.constants)
                    else:
                        fed = may_be_complex(atom, found, self.constants)
                    if fed:
                        changed |= self._feed(callee_name, param.name)
            outs, fed_back = self._outs(stmt)
            found.update(outs)
            changed |= fed_back
        positions = self._result_positions(f, found)
        changed |= found != self.variables[f.name] or positions != self.results[f.name]
        self.variables[f.name] = found
        self.results[f.name] = positions
        return changed

    def _outs(self, stmt: Call | Branch | Loop) -> tuple[set[str], bool]:
        """The outputs of a call, branch or loop that may be complex, and whether a loop's
        iterations newly fed its body a complex carried value (another round is due)."""
        if isinstance(stmt, Loop):
            body = self.functions[stmt.body]
            carried = body.params[body_layout(stmt).carried]
            changed = False
            for k, param in enumerate(carried):
                if k in self.results[body.name]:  # an iteration may make the carried value complex
                    changed |= self._feed(body.name, param.name)
            return {out for out, param in zip(stmt.carried, carried) if param.name in self.params[body.name]}, changed
        found: set[str] = set()
        for callee_name in callees(stmt):
            callee = self.functions[callee_name]
            positions = self.results[callee_name]
            unpacked = isinstance(callee.result, Seq) and (isinstance(stmt, Branch) or len(stmt.outs) > 1)
            if unpacked:
                found.update(out for k, out in enumerate(stmt.outs) if k in positions)
            elif positions:
                found.update(stmt.outs)
        return found, False


def complex_types(module: Module) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """For each function: the variables (parameters included) that may hold complex values,
    and the parameters that may (declared complex, or fed a complex value by a caller)."""
    types = _Types(module)
    types.solve()
    found = {name: frozenset(v) for name, v in types.variables.items()}
    return found, {name: frozenset(p) for name, p in types.params.items()}


def complex_variables(module: Module) -> dict[str, frozenset[str]]:
    """For each function, the variables that may hold complex values."""
    return complex_types(module)[0]
