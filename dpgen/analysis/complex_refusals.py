"""Calls refused where a value may be complex, the same in every mode (one wording, one place).

Two kinds of call are located errors whether or not they are differentiated:

- a call that would raise at run time on a complex argument (``math`` functions, ``np.floor``:
  `Rule.real_only`);
- a call with no derivative, which activity analysis takes as constant, but with a complex output
  that reads a complex variable: ``np.sign(z) = z / |z|`` is not constant off the real line. Real
  outputs (comparisons) and shape-only reads (``np.zeros_like(z)``) stay constant.

The reverse and forward passes both report these, and name arguments the same way, so a run of
both modes reports each once.
"""

from __future__ import annotations

from typing import Callable

from dpgen import rules
from dpgen.analysis.dtypes import may_be_complex
from dpgen.errors import Span
from dpgen.ir import Const, Eqn, Function, Seq, Var
from dpgen.ir.walk import variables


def named(atom: object, is_complex: Callable[[object], bool]) -> str:
    """How an error names a complex argument: ``'z'``, the literal ``'1j'``, or for a list the
    first item that may be complex."""
    if isinstance(atom, (Seq, tuple)):
        items = atom.items if isinstance(atom, Seq) else atom
        atom = next((i for i in items if is_complex(i)), atom)
    if isinstance(atom, Var):
        return f"'{atom.name}'"
    if isinstance(atom, Const):
        return f"'{atom.text}'"
    return "an argument"


def no_complex_derivative(rule: rules.Rule, argument: str) -> str:
    """The message for a primitive without a derivative on complex values (`argument`: `named`)."""
    return f"{rule.short_name} has no derivative for complex values ({argument} may be complex here)"


def refusals(function: Function, complex_vars: frozenset[str], constants: frozenset[str]) -> list[tuple[Span, str]]:
    """(where, message) for every call of `function` refused on complex values (module docstring)."""

    def is_complex(atom: object) -> bool:
        return may_be_complex(atom, complex_vars, constants)

    found = []
    for stmt in function.body:
        rule = rules.lookup(stmt.op) if isinstance(stmt, Eqn) else None
        if rule is None:
            continue
        if rule.real_only or rule.name.startswith("math."):
            complex_args = [a for a in stmt.args + tuple(v for _, v in stmt.kwargs) if is_complex(a)]
            if complex_args:
                advice = f"; use np.{rule.name.partition('.')[2]}" if rule.name.startswith("math.") else ""
                argument = named(complex_args[0], is_complex)
                found.append(
                    (
                        stmt.span,
                        f"{rule.short_name} does not take complex numbers{advice} ({argument} may be complex here)",
                    )
                )
            continue
        if rule.differentiable or rule.out_dtype == "real" or not any(o in complex_vars for o in stmt.outs):
            continue
        try:
            bound = rule.bind(stmt.args, stmt.kwargs)
        except rules.RuleError:
            continue  # not a call the passes differentiate; lowering reports what it must
        for p in rule.params + ((rule.varargs,) if rule.varargs else ()):
            value = bound.values.get(p)
            # Any variable, not only varied ones: activity analysis took the output as constant,
            # so a parameter feeding only np.sign(z) would get no derivative at all.
            if p not in rule.shape_only and value is not None and variables(value) and is_complex(value):
                found.append((stmt.span, no_complex_derivative(rule, named(value, is_complex))))
                break
    return found
