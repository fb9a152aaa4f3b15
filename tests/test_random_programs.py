"""Random small programs from a fixed grammar, differentiated by dpgen and checked against
central finite differences (``support.check_vjp``).

A program is a helper ``h(a, b)`` and an entry point ``f(x, y, z, M, s)`` (x, y, z of
shape (4,), M of shape (3, 4), s a float). Their bodies are drawn from

    statement  := name = array                               (straight-line)
                | name[index] (= | += | -= | *=) scalar       (element update, index in range)
                | if np.sum(array) > c: block [else: block]
                | for i in range(1 | 2 | 3 | x.shape[0]): block   (loop-carried updates)
    array      := name | array (+ | - | *) (array | scalar) | array / (2.0 + np.sin(...))
                | np.sin(array) | np.cos(array) | np.tanh(array) | np.exp(np.tanh(array))
                | array ** 2 | array * np.sum(array) | array * name[index]
                | np.sum(M * array, axis=0) | h(array, array)
    scalar     := name[index] | np.sum(array) | s | const | np.sin(scalar) | np.tanh(scalar)
                | scalar * scalar | scalar + scalar

Finite differences stay well conditioned because values stay bounded: the generator keeps
a bound on every expression's magnitude and wraps any sub-expression whose bound passes
LIMIT in ``np.tanh``; loop-carried updates are squashed (``v = np.tanh(...)``,
``v = 0.5 * v + 0.5 * np.sin(...)``, ``v[i] += 0.5 * np.tanh(...)``); and an ``if`` whose
test lands within MARGIN of its threshold for the drawn arguments is rejected (a finite
difference would straddle the branch).

NARROWED in the first three tests: writes through an array that another name shares are
steered clear of, because dpgen reports them as not supported yet (see
test_writes_through_shared_arrays_are_reported in test_control_flow.py); the last test
turns the feature "shared-writes" on and accepts a report or a right gradient:

* "callee mutation": h writes only into arrays of its own, never into its parameters or a
  name that may alias one, and never returns a bare parameter (or alias of one).
* "alias in a block": an if arm or loop body writes only into arrays no other name refers
  to, and never makes an alias (straight-line aliasing, which works, is still generated).
* "alias kept by an arm that did not run": after ``t = x``, once a block may rebind t (or
  x), neither is written into again (found by this test; the shrunk form is the
  alias-kept-by-untaken-arm case there).

Each test function turns on a set of features; together they check a few hundred
programs. Everything is derandomized, so the run is deterministic and prints nothing.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dpgen.errors import SourceErrors
from support import check_vjp, differentiate, load_source

ARRAY_PARAMS = ("x", "y", "z")
HELPER_PARAMS = ("a", "b")
LOCALS = ("t", "u")
LENGTH = 4  # every 1-D array has this length
ROWS = 3  # M is (ROWS, LENGTH)
LIMIT = 4.0  # a sub-expression whose magnitude may pass this is squashed with np.tanh
MARGIN = 1e-3  # an `if` test closer than this to its threshold is rejected
CONSTANTS = ("0.5", "1.3", "-0.7", "2.0")


# ------------------------------------------------------------------------ the grammar


class Gen:
    """Draws one function body. Every expression comes with a bound on its magnitude."""

    def __init__(self, draw, features: frozenset[str], params: dict[str, float], helper: bool, helper_bound: float = 1.0):
        self.draw = draw
        self.features = features
        self.narrow = "shared-writes" not in features
        self.bound: dict[str, float] = dict(params)  #: readable array names -> magnitude bound
        self.helper = helper  # inside h: no call to h, no M, no s
        self.helper_bound = helper_bound  # what h returns
        self.loop_vars: list[str] = []
        self.trips = 1  # how many times the current block may run
        # Arrays this function may write into. NARROWED (callee mutation): h never writes
        # into its parameters nor into any name that may alias one.
        self.owned: set[str] = set() if helper and self.narrow else set(params)
        # Which names share one array (`t = x` makes t an alias of x).
        self.group: dict[str, int] = {n: i for i, n in enumerate(params)}
        # Names that may or may not still share an array: an alias, then a block that may
        # rebind one of them. NARROWED (alias kept by an arm that did not run): never written.
        self.uncertain: set[str] = set()
        self.lines: list[tuple[int, str]] = []  # (depth, text); text may hold a "{gt:...}" test

    @property
    def defined(self) -> list[str]:
        return list(self.bound)

    # ------------------------------------------------------------------ expressions
    @staticmethod
    def squash(text: str, bound: float) -> tuple[str, float]:
        return (f"np.tanh({text})", 1.0) if bound > LIMIT else (text, bound)

    def name(self) -> tuple[str, float]:
        name = self.draw(st.sampled_from(self.defined))
        return self.squash(name, self.bound[name])

    def index(self) -> str:
        choices = [str(i) for i in range(LENGTH)] + [str(i) for i in range(-LENGTH, 0)] + self.loop_vars
        return self.draw(st.sampled_from(choices))

    def element(self) -> tuple[str, float]:
        name = self.draw(st.sampled_from(self.defined))
        return self.squash(f"{name}[{self.index()}]", self.bound[name])

    def scalar(self, depth: int) -> tuple[str, float]:
        options = ["element", "const"] + ([] if self.helper else ["s"])
        if depth > 0:
            options += ["sum", "sin", "tanh", "mul", "add"]
        kind = self.draw(st.sampled_from(options))
        if kind == "element":
            return self.element()
        if kind == "const":
            c = self.draw(st.sampled_from(CONSTANTS))
            return c, abs(float(c))
        if kind == "s":
            return "s", 1.0
        if kind == "sum":
            text, b = self.array(depth - 1)
            return self.squash(f"np.sum({text})", LENGTH * b)
        if kind in ("sin", "tanh"):
            return f"np.{kind}({self.scalar(depth - 1)[0]})", 1.0
        (left, bl), (right, br) = self.scalar(depth - 1), self.scalar(depth - 1)
        if kind == "mul":
            return self.squash(f"({left} * {right})", bl * br)
        return self.squash(f"({left} + {right})", bl + br)

    def operand(self, depth: int) -> tuple[str, float]:
        """The other side of a binary operation: an array, or a scalar that broadcasts."""
        kind = self.draw(st.sampled_from(["array", "array", "scalar"]))
        return self.array(depth) if kind == "array" else self.scalar(depth)

    def array(self, depth: int) -> tuple[str, float]:
        """An expression whose value is an array of shape (LENGTH,)."""
        options = ["name", "name"]
        if depth > 0:
            options += ["add", "sub", "mul", "div", "sin", "cos", "tanh", "exp", "square", "scale", "element"]
            if not self.helper:
                options += ["axis-sum"]
                if "call" in self.features:
                    options += ["call", "call"]
        kind = self.draw(st.sampled_from(options))
        if kind == "name":
            return self.name()
        sub = lambda: self.array(depth - 1)  # noqa: E731
        if kind in ("add", "sub", "mul"):
            (left, bl), (right, br) = sub(), self.operand(depth - 1)
            if self.draw(st.booleans()):
                left, right = right, left
            op = dict(add="+", sub="-", mul="*")[kind]
            return self.squash(f"({left} {op} {right})", bl * br if kind == "mul" else bl + br)
        if kind == "div":  # the denominator is in [1, 3]
            if self.draw(st.booleans()):
                numerator, b = sub()
                return f"({numerator} / (2.0 + np.sin({self.operand(depth - 1)[0]})))", b
            numerator, b = self.scalar(depth - 1)
            return f"({numerator} / (2.0 + np.sin({sub()[0]})))", b
        if kind in ("sin", "cos", "tanh"):
            return f"np.{kind}({sub()[0]})", 1.0
        if kind == "exp":
            return f"np.exp(np.tanh({sub()[0]}))", np.e
        if kind == "square":
            text, b = sub()
            return self.squash(f"({text} ** 2)", b * b)
        if kind == "scale":
            (left, bl), (right, br) = sub(), sub()
            return self.squash(f"({left} * np.sum({right}))", bl * LENGTH * br)
        if kind == "element":
            (left, bl), (right, br) = sub(), self.element()
            return self.squash(f"({left} * {right})", bl * br)
        if kind == "axis-sum":
            text, b = sub()
            return self.squash(f"np.sum(M * {text}, axis=0)", ROWS * b)
        assert kind == "call"
        return f"h({sub()[0]}, {sub()[0]})", self.helper_bound

    # ------------------------------------------------------------------- statements
    def emit(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))

    def block(self, depth: int, size: int, nesting: int) -> None:
        for _ in range(size):
            self.statement(depth, nesting)

    def statement(self, depth: int, nesting: int) -> None:
        in_block = depth > 1
        writable = [n for n in self.defined if n in self.owned and not (self.narrow and n in self.uncertain)]
        if in_block and self.narrow:
            # NARROWED (alias in a block): a block writes only into unaliased arrays.
            writable = [n for n in writable if list(self.group.values()).count(self.group[n]) == 1]
        options = ["assign", "assign"]
        if "setitem" in self.features and writable:
            options += ["setitem"]
        if "if" in self.features and nesting > 0:
            options += ["if"] * 2
        if "for" in self.features and nesting > 0 and len(self.loop_vars) < 2:
            options += ["for"] * 3
        kind = self.draw(st.sampled_from(options))
        if kind == "assign":
            self.assign(depth, in_block)
        elif kind == "setitem":
            self.setitem(depth, self.draw(st.sampled_from(writable)))
        elif kind == "if":
            threshold = self.draw(st.sampled_from(["-1.0", "-0.3", "0.0", "0.4", "1.5"]))
            self.emit(depth, f"if {{gt:np.sum({self.array(2)[0]}), {threshold}}}:")
            self.block(depth + 1, self.draw(st.integers(1, 2)), nesting - 1)
            if self.draw(st.booleans()):
                self.emit(depth, "else:")
                self.block(depth + 1, self.draw(st.integers(1, 2)), nesting - 1)
        else:
            var = "i" if "i" not in self.loop_vars else "j"
            count = self.draw(st.sampled_from(["1", "2", "3", "a.shape[0]" if self.helper else "x.shape[0]"]))
            self.emit(depth, f"for {var} in range({count}):")
            self.loop_vars.append(var)
            trips, self.trips = self.trips, self.trips * (LENGTH if "shape" in count else int(count))
            self.block(depth + 1, self.draw(st.integers(1, 2)), nesting - 1)
            self.loop_vars.remove(var)
            self.trips = trips

    def assign(self, depth: int, in_block: bool) -> None:
        # In a block only names bound before it are assigned (no name is bound on one path
        # only); at the top level a new local may be introduced.
        fresh = [n for n in LOCALS if n not in self.bound] if not in_block else []
        target = self.draw(st.sampled_from(self.defined + fresh))
        if self.loop_vars:  # a loop-carried value is squashed, so it stays bounded
            if target in self.bound and self.draw(st.booleans()):
                value, b = f"0.5 * {target} + 0.5 * np.sin({self.array(2)[0]})", max(self.bound[target], 1.0)
            else:
                value, b = f"np.tanh({self.array(2)[0]})", 1.0
        else:
            value, b = self.array(self.draw(st.integers(0, 3)))
            if in_block and self.narrow and value in self.bound and value != target:
                value = f"({value} * 1.0)"  # NARROWED (alias in a block): a block never makes an alias
        self.emit(depth, f"{target} = {value}")
        alias = value in self.bound and value != target
        self.own(target, value, in_block)
        if not in_block:
            self.group[target] = self.group[value] if alias else max(self.group.values()) + 1
            self.uncertain.discard(target)
            self.bound[target] = b
        else:  # either path may have run
            self.bound[target] = max(b, self.bound.get(target, 0.0))
            if target in self.group and list(self.group.values()).count(self.group[target]) > 1:
                self.uncertain.update(n for n, g in self.group.items() if g == self.group[target])
        if alias:
            for name, group in self.group.items():
                if group == self.group[target]:
                    self.bound[name] = max(self.bound[name], b)

    def setitem(self, depth: int, target: str) -> None:
        op = self.draw(st.sampled_from(["=", "+=", "-=", "*="]))
        value, b = self.scalar(2)
        if op == "*=":
            value, b = f"np.cos({value})", 1.0
        elif self.loop_vars:
            value, b = f"0.5 * np.tanh({value})", 0.5
        self.emit(depth, f"{target}[{self.index()}] {op} {value}")
        grown = self.bound[target] + b * self.trips if op in ("+=", "-=") else max(self.bound[target], b)
        for name, group in self.group.items():  # every alias sees the write
            if group == self.group[target]:
                self.bound[name] = max(self.bound[name], grown)

    def own(self, target: str, value: str, in_block: bool) -> None:
        """Track which names hold an array h may write into after `target = value`."""
        if not self.helper or not self.narrow:
            self.owned.add(target)
            return
        if value in self.bound:  # a bare name: an alias, writable only if its source is
            if value in self.owned and not in_block:
                self.owned.add(target)
            else:
                self.owned.discard(target)
        elif not in_block:
            self.owned.add(target)  # a new array (made in a block, only on one path)


def render(lines: list[tuple[int, str]], instrumented: bool) -> str:
    """Source text; `instrumented` routes every `if` test through `_gt`, which records margins."""
    out = []
    for depth, text in lines:
        if "{gt:" in text:
            start, end = text.index("{gt:"), text.rindex("}")
            left, threshold = text[start + 4 : end].rsplit(", ", 1)
            test = f"_gt({left}, {threshold})" if instrumented else f"{left} > {threshold}"
            text = text[:start] + test + text[end + 1 :]
        out.append("    " * depth + text)
    return "\n".join(out)


@st.composite
def programs(draw, features: frozenset[str]) -> tuple[str, str]:
    """(source text, the same with every `if` test instrumented)."""
    helper = Gen(draw, features, {p: LIMIT for p in HELPER_PARAMS}, helper=True)
    helper.emit(0, "def h(a, b):")
    helper.block(1, draw(st.integers(1, 3)), nesting=1)
    returned, bound = helper.array(2)
    if returned in helper.bound and helper.narrow:
        returned = f"({returned} * 1.0)"  # NARROWED (callee mutation): h never returns an alias
    helper.emit(1, f"return {returned}")

    main = Gen(draw, features, {p: 1.0 for p in ARRAY_PARAMS}, helper=False, helper_bound=bound)
    main.emit(0, "def f(x, y, z, M, s):")
    main.block(1, draw(st.integers(1, 4)), nesting=2)
    result = main.array(2)[0]
    main.emit(1, f"return np.sum({result})" if draw(st.booleans()) else f"return {result}")

    source, instrumented = (
        "import numpy as np\n\n\n" + render(helper.lines, flag) + "\n\n\n" + render(main.lines, flag) + "\n" for flag in (False, True)
    )
    return source, instrumented


# ---------------------------------------------------------------------------- checking

_PRELUDE = """
_margins = []


def _gt(value, threshold):
    _margins.append(abs(float(value) - threshold))
    return value > threshold
"""


def check_program(program: tuple[str, str], seed: int) -> None:
    source, instrumented = program
    rng = np.random.default_rng(seed)
    args = [rng.uniform(-1, 1, size=LENGTH) for _ in ARRAY_PARAMS] + [rng.uniform(-1, 1, size=(ROWS, LENGTH)), float(rng.uniform(-1, 1))]
    probe = load_source(_PRELUDE + instrumented)
    result = probe.f(*[np.copy(a) for a in args])
    assume(np.all(np.isfinite(result)))
    assume(not probe._margins or min(probe._margins) > MARGIN)  # no finite difference straddles a branch
    primal, generated = differentiate(source)
    check_vjp(primal.f, generated.f_vjp, args, rng)


SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@settings(max_examples=100, **SETTINGS)
@given(programs(frozenset({"setitem", "call"})), st.integers(0, 2**16))
def test_straight_line_programs(program, seed):
    check_program(program, seed)


@settings(max_examples=80, **SETTINGS)
@given(programs(frozenset({"setitem", "call", "if"})), st.integers(0, 2**16))
def test_programs_with_branches(program, seed):
    check_program(program, seed)


@settings(max_examples=70, **SETTINGS)
@given(programs(frozenset({"setitem", "call", "if", "for"})), st.integers(0, 2**16))
def test_programs_with_loops(program, seed):
    check_program(program, seed)


@settings(max_examples=80, **SETTINGS)
@given(programs(frozenset({"setitem", "call", "if", "for", "shared-writes"})), st.integers(0, 2**16))
def test_programs_with_shared_writes_are_reported_or_right(program, seed):
    """With writes through shared arrays allowed: dpgen reports them or gets them right."""
    try:
        check_program(program, seed)
    except SourceErrors as exc:
        assert all("is not supported yet" in d.message for d in exc.diagnostics), exc
