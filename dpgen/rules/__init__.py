"""The derivative rule table: one entry per primitive, keyed by qualified name.

A rule is declared with the primitive's signature, as NumPy spells it, and one
cotangent expression per differentiable parameter:

    defvjp("numpy.linalg.inv(a)", a="-ans.mT @ g @ ans.mT", jvp={"a": "-ans @ t @ ans"})

Expressions are written as Python over these names: ``g`` (the output's cotangent), ``ans``
(the output), the signature's parameters, ``np`` (the backend's array module) and the
helpers of the backend's ``helpers.py.j2`` (``unbroadcast``, ...). Each is parsed once,
here, into an expression tree (`dpgen.rules.syntax`; a malformed rule fails at import) whose
names are holes the passes bind to atoms, so a rule never sees generated variable names.
A parameter whose argument is a list of arrays (``np.stack``) or a ``*`` parameter
(``np.einsum``) gets one expression that yields a cotangent per element. A rule too
structural for one expression is a small function of the bound arguments that returns a
tree, built from trees parsed at import or with `dpgen.ir` nodes (see ``einsum``).

Forward mode (JVPs) reads the same table. Most primitives need no second rule:

- ``defelementwise``: the Jacobian is diagonal, so a rule states each parameter's LOCAL
  derivative (``numpy.sin(x)``: ``np.cos(x)``). The reverse pass builds the cotangent
  ``unbroadcast(g * d, x)`` and the forward pass the contribution ``t * d``, each in one
  function. Where a product would not be exact (``np.where``), the expression may read
  ``g`` itself: it is then the cotangent, linear in ``g``, and the tangent replaces ``g``.
- ``deflinear``: linear in its differentiable parameters jointly (``np.sum``, reshape,
  indexing): the tangent is the primitive applied to the tangents.
- ``defmultilinear``: linear in each one separately (``np.matmul``, ``np.einsum``): the
  tangent sums the primitive with one argument at a time replaced by its tangent.
- ``defvjp(..., jvp={...})``: anything else states each parameter's contribution, an
  expression over ``t`` (that parameter's tangent) and the names a cotangent may use.

The families live in sibling modules; importing this package registers all of them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable, Mapping, Union

from dpgen.ir import Atom, Const, Expr
from dpgen.rules.syntax import MalformedRule, parse


@dataclass(frozen=True)
class PerElement:
    """For a list or ``*`` parameter: a function (bound, k) -> the cotangent tree of element k."""

    build: Callable[["Bound", int], Expr]


#: A cotangent tree (for elementwise rules: the local derivative), or a function of the
#: bound arguments that builds one, or, for a list parameter, a tree that yields one
#: cotangent per element (unpacked) or a `PerElement` builder. Declared as text or trees;
#: stored as trees.
VjpTemplate = Union[Expr, Callable[["Bound"], Expr], PerElement]

#: Bump when a rule's output changes, so headers tell which rules produced a file.
RULES_VERSION = "4"


class RuleError(Exception):
    """A call that the rule cannot differentiate, e.g. an unsupported constant argument."""


@dataclass(frozen=True)
class Rule:
    """Everything dpgen knows about one primitive."""

    name: str  #: qualified name, e.g. ``numpy.sum``
    params: tuple[str, ...]  #: parameter names in positional order
    defaults: Mapping[str, str]  #: default values (source text) of optional parameters
    varargs: str | None  #: name of a ``*`` parameter, bound to a tuple of atoms
    kwonly: tuple[str, ...]  #: keyword-only parameters (after ``*``), all with defaults
    vjp: Mapping[str, VjpTemplate] = field(default_factory=dict)  #: param -> cotangent (elementwise: derivative)
    differentiable: bool = True  #: False for primitives whose outputs carry no derivative
    jvp_kind: str = "explicit"  #: "elementwise", "linear", "multilinear" or "explicit" (see the module docstring)
    jvp: Mapping[str, Union[Expr, Callable[["Bound"], Expr]]] = field(
        default_factory=dict
    )  #: explicit: param -> contribution

    def bind(self, args: tuple[Atom, ...], kwargs: tuple[tuple[str, Atom], ...]) -> "Bound":
        """Match a call's arguments to this rule's parameters, as Python would."""
        values: dict[str, object] = {}
        positional = list(args)
        for name in self.params:
            if not positional:
                break
            values[name] = positional.pop(0)
        if positional:
            if self.varargs is None:
                raise RuleError(f"{self.short_name}() takes at most {len(self.params)} positional arguments")
            values[self.varargs] = tuple(positional)
        for key, value in kwargs:
            if key not in self.params and key not in self.kwonly:
                raise RuleError(f"{self.short_name}() has no supported keyword argument '{key}'")
            if key in values:
                raise RuleError(f"{self.short_name}() got multiple values for argument '{key}'")
            values[key] = value
        for name in self.params + self.kwonly:
            if name not in values:
                if name not in self.defaults:
                    raise RuleError(f"{self.short_name}() is missing required argument '{name}'")
                values[name] = Const(self.defaults[name])
        if self.varargs is not None and self.varargs not in values:
            values[self.varargs] = ()
        if values.get("out", Const("None")) != Const("None"):
            raise RuleError(f"{self.short_name}(out=...) is not supported (assign the result instead)")
        return Bound(self, values)

    @property
    def short_name(self) -> str:
        return self.name.replace("numpy.", "np.")


@dataclass(frozen=True)
class Bound:
    """A rule with its parameters bound to the atoms of one call."""

    rule: Rule
    values: Mapping[str, object]  #: param -> Atom, or tuple of atoms for ``*`` params

    def __getitem__(self, name: str):
        return self.values[name]

    def constant(self, name: str) -> object:
        """The Python value of a parameter bound to a literal, or raise RuleError."""
        atom = self.values[name]
        if not isinstance(atom, Const):
            raise RuleError(f"argument '{name}' of {self.rule.short_name}() must be a literal constant")
        try:
            return ast.literal_eval(atom.text)
        except ValueError:
            raise RuleError(f"argument '{name}' of {self.rule.short_name}() must be a literal constant") from None


TABLE: dict[str, Rule] = {}


def _parse_signature(signature: str) -> dict:
    """``"numpy.sum(a, axis=None)"`` -> the Rule fields that describe the signature."""
    name, _, rest = signature.partition("(")
    fn = ast.parse(f"def _({rest}: pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    positional = fn.args.args
    defaults = {
        a.arg: ast.unparse(d) for a, d in zip(positional[len(positional) - len(fn.args.defaults) :], fn.args.defaults)
    }
    defaults.update({a.arg: ast.unparse(d) for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults)})
    return dict(
        name=name,
        params=tuple(a.arg for a in positional),
        defaults=defaults,
        varargs=fn.args.vararg.arg if fn.args.vararg else None,
        kwonly=tuple(a.arg for a in fn.args.kwonlyargs),
    )


def _register(rule: Rule) -> None:
    assert rule.name not in TABLE, f"duplicate rule {rule.name}"
    TABLE[rule.name] = rule


def defvjp(
    signature: str, jvp: Mapping[str, object] | None = None, _kind: str = "explicit", **vjp: VjpTemplate
) -> None:
    """Declare a differentiable primitive: its signature, a cotangent per parameter and,
    for forward mode, a tangent contribution per parameter (``jvp``, over ``t``).

    Parameters that are not named get no cotangent (they are not differentiable, like
    ``axis``); naming a parameter with ``None`` says so explicitly.
    """
    fields = _parse_signature(signature)
    vjp = {k: v for k, v in vjp.items() if v is not None}
    for key in list(vjp) + list(jvp or {}):
        assert key in fields["params"] or key == fields["varargs"], f"{fields['name']}: no parameter {key}"
    if _kind == "explicit":
        assert set(jvp or {}) == set(vjp), f"{fields['name']}: jvp and vjp must name the same parameters"
    names = set(fields["params"]) | {fields["varargs"]} - {None} | set(fields["kwonly"]) | {"ans"}
    vjp = {k: _tree(v, names | {"g"}) for k, v in vjp.items()}
    jvp = {k: _tree(v, names | {"t"}) for k, v in (jvp or {}).items()}
    _register(Rule(**fields, vjp=vjp, jvp_kind=_kind, jvp=jvp))


def _tree(template: object, holes: set[str]) -> object:
    """Rule text -> its tree, now (a malformed rule fails at import); builders stay functions."""
    if isinstance(template, str):
        return parse(template, holes)
    if callable(template) or isinstance(template, PerElement):
        return template
    raise MalformedRule(f"a rule expression must be text or a function, not {template!r}")


def expr(text: str, *holes: str) -> Expr:
    """A tree for a rule function to use, parsed at import: ``_C = expr("np.reshape(g, np.shape(a))", "g", "a")``."""
    return parse(text, set(holes))


def defelementwise(signature: str, **vjp: VjpTemplate) -> None:
    """A primitive with a diagonal Jacobian, given each parameter's local derivative."""
    defvjp(signature, _kind="elementwise", **vjp)


def deflinear(signature: str, **vjp: VjpTemplate) -> None:
    """A primitive linear in its differentiable parameters jointly: its JVP is itself."""
    defvjp(signature, _kind="linear", **vjp)


def defmultilinear(signature: str, **vjp: VjpTemplate) -> None:
    """A primitive linear in each differentiable parameter separately (a product)."""
    defvjp(signature, _kind="multilinear", **vjp)


def nondiff(*signatures: str) -> None:
    """Declare primitives whose outputs carry no derivative (shapes, indices, comparisons)."""
    for signature in signatures:
        _register(Rule(**_parse_signature(signature), differentiable=False))


def alias(name: str, target: str) -> None:
    """Make `name` lower to the same primitive as `target` (``numpy.true_divide`` -> ``numpy.divide``)."""
    ALIASES[name] = target


ALIASES: dict[str, str] = {}


def lookup(qualified_name: str) -> Rule | None:
    """The rule for a qualified name, following aliases."""
    return TABLE.get(ALIASES.get(qualified_name, qualified_name))


def canonical(qualified_name: str) -> str:
    return ALIASES.get(qualified_name, qualified_name)


# Importing the families fills TABLE; keep them after the definitions they use.
from dpgen.rules import elementwise, reductions, shape, linalg, scalar, nondifferentiable, helpers  # noqa: E402,F401
