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

A rule also states the facts the rest of dpgen reads, as keyword arguments of the same
declaration (`FACTS`): ``infix="+"``, ``prefix="-"``, ``reduces="axis"``, ``view=True``,
``methods="sum"``, ``attribute="T"``, ``pointwise`` (the output has the broadcast shape of
the arguments), ``scalar_result`` and ``holomorphic``. The family sets the common case:
``defelementwise`` rules are pointwise and holomorphic, so ``numpy.sin`` takes one line.
Scalar inference, the view analysis, lowering and printing read these facts; none keeps a
list of primitives of its own, and tests/test_rule_table.py checks that the facts agree.

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
RULES_VERSION = "6"


class RuleError(Exception):
    """A call that the rule cannot differentiate, e.g. an unsupported constant argument."""


#: The kinds of derivative a rule states (see the module docstring).
KINDS = ("elementwise", "linear", "multilinear", "explicit", "nondifferentiable")


#: What a primitive's output dtype is, as far as complex numbers go:
#: ``promote`` complex when any argument may be (ufunc promotion), ``real`` never
#: (``abs``, ``angle``, comparisons, shapes), ``complex`` always (``np.fft.fft``), and
#: ``first`` the first argument's (``x[i] = v`` keeps x's dtype, as NumPy casts `v` to it).
DTYPES = ("promote", "real", "complex", "first")


@dataclass(frozen=True)
class Rule:
    """Everything dpgen knows about one primitive.

    Besides the signature and the derivative, the rule carries the facts the analyses and
    the printer read, so no other module keeps a private list of primitives:
    """

    name: str  #: qualified name, e.g. ``numpy.sum``
    params: tuple[str, ...]  #: parameter names in positional order
    defaults: Mapping[str, str]  #: default values (source text) of optional parameters
    varargs: str | None  #: name of a ``*`` parameter, bound to a tuple of atoms
    kwonly: tuple[str, ...]  #: keyword-only parameters (after ``*``), all with defaults
    vjp: Mapping[str, VjpTemplate] = field(default_factory=dict)  #: param -> cotangent (elementwise: derivative)
    kind: str = "explicit"  #: one of `KINDS`: how forward mode derives the JVP (module docstring)
    jvp: Mapping[str, Union[Expr, Callable[["Bound"], Expr]]] = field(
        default_factory=dict
    )  #: explicit: param -> contribution
    #: Shape-elementwise: the output has the broadcast shape of the arguments (a scalar when
    #: they all are). Not the same as kind "elementwise": ``np.ravel`` of a float is ``(1,)``.
    pointwise: bool = False
    view: bool = False  #: the result may share memory with the first argument (writes reach it)
    reduces: str | None = None  #: the axis parameter of a reduction (``"axis"``): scalar when None
    scalar_result: bool = False  #: a Python scalar whatever the arguments (``len``, ``math.*``)
    infix: str | None = None  #: binary operator spelling (``"+"``, ``"<"``, ``"is not"``, ``"and"``)
    prefix: str | None = None  #: unary operator spelling (``"-"``, ``"not"``)
    methods: tuple[str, ...] = ()  #: array method spellings, the array first (``x.sum()``)
    method_varargs: bool = False  #: ``x.reshape(3, 4)`` means ``x.reshape((3, 4))``
    attribute: str | None = None  #: array attribute spelling (``x.T``, ``x.shape``)
    #: Complex-differentiable where defined, so the complex pass may use ``g * conj(f')``;
    #: False means the primitive needs its own complex rule (abs, maximum, sign, ...).
    holomorphic: bool = False
    #: Parameters read only for their shape and dtype (``np.zeros_like(a)``'s `a`): the residual
    #: analysis keeps no array alive for them.
    shape_only: tuple[str, ...] = ()
    #: Whether the output may be complex (one of `DTYPES`), for `dpgen.analysis.dtypes`.
    out_dtype: str = "promote"
    #: For a primitive that is not holomorphic but has a derivative on complex values (abs,
    #: real, conj, vdot, norm): the cotangent (over ``g``, which the pass does not conjugate)
    #: and the tangent contribution (over ``t``) per parameter, used when the argument may be
    #: complex. Without them, a non-holomorphic primitive meeting a complex value is refused.
    complex_vjp: Mapping[str, Union[Expr, Callable[["Bound"], Expr]]] = field(default_factory=dict)
    complex_jvp: Mapping[str, Union[Expr, Callable[["Bound"], Expr]]] = field(default_factory=dict)
    #: The primitive refuses complex arguments at run time (``np.floor``, ``//``): dpgen refuses
    #: a call whose argument may be complex where it generates the code, with a location.
    #: Every ``math`` function is real-only too (by its name: math refuses complex numbers).
    real_only: bool = False

    @property
    def differentiable(self) -> bool:
        """False for primitives whose outputs carry no derivative."""
        return self.kind != "nondifferentiable"

    @property
    def jvp_kind(self) -> str:
        """How forward mode derives the JVP (the name `kind` had before it covered nondifferentiable)."""
        return "explicit" if self.kind == "nondifferentiable" else self.kind

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


#: The facts a declaration may state besides the derivative (fields of `Rule`).
FACTS = (
    "pointwise",
    "view",
    "reduces",
    "scalar_result",
    "infix",
    "prefix",
    "methods",
    "method_varargs",
    "attribute",
    "holomorphic",
    "shape_only",
    "out_dtype",
    "real_only",
)


def _facts(name: str, facts: Mapping[str, object], **defaults: object) -> dict:
    """The declared facts over the family's defaults. Every function of Python's ``math``
    module returns a Python float and refuses complex numbers at run time, so its rules need
    not say one by one that they are scalar, real and not to be used on complex values."""
    unknown = set(facts) - set(FACTS)
    assert not unknown, f"{name}: unknown facts {sorted(unknown)}"
    python_math = {"holomorphic": False, "out_dtype": "real"} if name.startswith("math.") else {}
    merged = {"scalar_result": name.startswith("math."), **defaults, **python_math, **facts}
    if isinstance(merged.get("methods"), str):
        merged["methods"] = (merged["methods"],)
    if isinstance(merged.get("shape_only"), str):
        merged["shape_only"] = (merged["shape_only"],)
    assert merged.get("out_dtype", "promote") in DTYPES, f"{name}: out_dtype must be one of {DTYPES}"
    return merged


def defvjp(
    signature: str,
    jvp: Mapping[str, object] | None = None,
    _kind: str = "explicit",
    complex_vjp: Mapping[str, object] | None = None,
    complex_jvp: Mapping[str, object] | None = None,
    **vjp: VjpTemplate,
) -> None:
    """Declare a differentiable primitive: its signature, a cotangent per parameter and,
    for forward mode, a tangent contribution per parameter (``jvp``, over ``t``).
    ``complex_vjp``/``complex_jvp`` state the derivative on complex arguments of a
    primitive that is not holomorphic (see `Rule.complex_vjp`).

    Parameters that are not named get no cotangent (they are not differentiable, like
    ``axis``); naming a parameter with ``None`` says so explicitly. Keyword arguments
    named like a `FACTS` entry state a fact instead (``reduces="axis"``); an explicit rule
    is not holomorphic unless it says so.
    """
    fields = _parse_signature(signature)
    assert not set(fields["params"]) & set(FACTS), f"{fields['name']}: a parameter is named like a fact"
    stated = {k: vjp.pop(k) for k in list(vjp) if k in FACTS}
    vjp = {k: v for k, v in vjp.items() if v is not None}
    for key in list(vjp) + list(jvp or {}):
        assert key in fields["params"] or key == fields["varargs"], f"{fields['name']}: no parameter {key}"
    if _kind == "explicit":
        assert set(jvp or {}) == set(vjp), f"{fields['name']}: jvp and vjp must name the same parameters"
    names = set(fields["params"]) | {fields["varargs"]} - {None} | set(fields["kwonly"]) | {"ans"}
    vjp = {k: _tree(v, names | {"g"}) for k, v in vjp.items()}
    jvp = {k: _tree(v, names | {"t"}) for k, v in (jvp or {}).items()}
    assert set(complex_vjp or {}) == set(complex_jvp or {}), f"{fields['name']}: complex_vjp and complex_jvp differ"
    assert set(complex_vjp or {}) <= set(vjp), f"{fields['name']}: a complex rule for a parameter with no rule"
    complex_vjp = {k: _tree(v, names | {"g"}) for k, v in (complex_vjp or {}).items()}
    complex_jvp = {k: _tree(v, names | {"t"}) for k, v in (complex_jvp or {}).items()}
    facts = _facts(fields["name"], stated, **_FAMILY_DEFAULTS[_kind])
    assert not (complex_vjp and facts.get("holomorphic")), f"{fields['name']}: holomorphic needs no complex rule"
    _register(Rule(**fields, vjp=vjp, kind=_kind, jvp=jvp, complex_vjp=complex_vjp, complex_jvp=complex_jvp, **facts))


#: What a family's rules are unless they say otherwise: an elementwise rule is pointwise and
#: holomorphic (two lines declare ``numpy.sin``); linear and multilinear maps are
#: complex-linear, so holomorphic too.
_FAMILY_DEFAULTS: dict[str, dict[str, object]] = {
    "elementwise": {"pointwise": True, "holomorphic": True},
    "linear": {"holomorphic": True},
    "multilinear": {"holomorphic": True},
    "explicit": {},
}


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


def nondiff(*signatures: str, **facts: object) -> None:
    """Declare primitives whose outputs carry no derivative (shapes, indices, comparisons);
    `facts` hold for every signature given (``pointwise=True`` for comparisons)."""
    for signature in signatures:
        fields = _parse_signature(signature)
        _register(Rule(**fields, kind="nondifferentiable", **_facts(fields["name"], facts)))


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
from dpgen.rules import (
    elementwise,
    complex_parts,
    reductions,
    shape,
    linalg,
    fft,
    scalar,
    nondifferentiable,
    helpers,
)  # noqa: E402,F401
