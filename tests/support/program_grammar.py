"""The random-program grammar and checker shared by the property tests and the fuzzer.

``tests/test_random_programs.py`` draws programs through hypothesis (``HypothesisDrawer``);
``benchmarks/fuzz.py`` draws them from a seeded ``random.Random`` (``RandomDrawer``), so
program ``i`` of seed ``s`` is reproducible without hypothesis. Both go through ``Gen``,
which only ever asks its drawer for ``pick(sequence)``, ``integer(lo, hi)`` and
``boolean()``: with the features of the original property tests the draws (and programs)
are exactly those the grammar drew before it moved here.

A program is a helper ``h(a, b)`` (and, with "tuple", a helper ``g(a, b)`` returning a
pair) and an entry point ``f(x, y, z, M, s)`` (x, y, z of shape (4,), M of shape (3, 4),
s a float; with "dict" also ``P = {"w": (4,), "c": float}``). Bodies are drawn from

    statement  := name = array | t, u = g(array, array)             (straight-line)
                | name[index] (= | += | -= | *=) scalar              (element update)
                | if test: block [elif test: block] [else: block]
                | for i in range(1 | 2 | 3 | x.shape[0]): block      (loop-carried updates)
                | for row in M | for k, row in enumerate(M) | for p, q in zip(x, y): block
                | n = 0; while n < 3 and test: n += 1; block         (data-dependent trips)
                | if test: [if test:] (break | continue)            (inside loops)
                | acc = [array] | acc.append(array)                  (lists)
    test       := np.sum(array) (> | <) c | test and test | test or test
    array      := name | array (+ | - | *) (array | scalar) | array / (2.0 + np.sin(...))
                | np.sin(array) | np.cos(array) | np.tanh(array) | np.exp(np.tanh(array))
                | array ** 2 | array * np.sum(array) | array * name[index]
                | np.sum(M * array, axis=0) | h(array, array) | np.maximum(array, array)
                | (array if test else array) | np.tanh(acc[-1]) | np.mean(np.stack(acc), axis=0)
                | P["w"]
    scalar     := name[index] | np.sum(array) | np.max(array) | s | const | p | P["c"]
                | np.sin(scalar) | np.tanh(scalar) | scalar * scalar | scalar + scalar

Each construct beyond the original grammar is behind a feature name (see FEATURES).

Finite differences stay well conditioned because values stay bounded: every expression
carries a bound on its magnitude, and a sub-expression whose bound passes LIMIT is wrapped
in ``np.tanh``; loop-carried updates are squashed. Every data-dependent decision (an ``if``
or ``while`` test, which side of ``np.maximum`` wins, which element ``np.max`` picks) is
recorded by an instrumented copy of the program; a draw is rejected when a decision lies
within MARGIN of flipping, or when any point a finite difference evaluates makes a
different decision than the base point (the difference would straddle a kink).

NARROWED (writes through shared arrays, see test_random_programs.py): unless
"shared-writes" is on, h never writes into its parameters, a block never makes an alias,
and names that may or may not still share an array are not written into. Containers only
ever hold fresh arrays (``(x * 1.0)``, never ``x``), and arrays walked by a loop are
neither written nor rebound inside it (writing into an array a loop walks is a known gap).
"""

from __future__ import annotations

import copy
import math
import random
import re
import traceback
from dataclasses import dataclass, field

import numpy as np

# Structures, directions and tolerances are the test suite's one gradient checker's.
from support.gradcheck import ATOL, EPS, EPS2, RTOL, SECOND_ATOL
from support.structures import Mismatch, combine, flat, inner, random_tangent, same_structure  # noqa: F401

ARRAY_PARAMS = ("x", "y", "z")
HELPER_PARAMS = ("a", "b")
LOCALS = ("t", "u")
LENGTH = 4  # every 1-D array has this length
ROWS = 3  # M is (ROWS, LENGTH)
LIMIT = 4.0  # a sub-expression whose magnitude may pass this is squashed with np.tanh
MARGIN = 1e-3  # a decision closer than this to flipping is rejected
CONSTANTS = ("0.5", "1.3", "-0.7", "2.0")
THRESHOLDS = ("-1.0", "-0.3", "0.0", "0.4", "1.5")

#: What each feature adds to the grammar.
FEATURES = {
    "setitem": "element updates x[i] (=, +=, -=, *=) scalar",
    "call": "calls to the module helper h (also inside tests, unless 'safe-tests')",
    "if": "if / else",
    "for": "for over range(...)",
    "shared-writes": "writes through arrays another name shares (not NARROWED)",
    "elif": "elif arms",
    "ifexp": "conditional expressions a if test else b",
    "boolop": "and / or in tests, < as well as >",
    "while": "while with a data-dependent, bounded trip count",
    "rows": "for over the rows of M, enumerate(M), zip(x, y)",
    "break": "if test: break / continue directly inside a loop body",
    "break2": "break / continue under any number of ifs inside a loop",
    "list": "lists built by append, indexed and np.stack-ed",
    "tuple": "a helper g returning a pair, unpacked",
    "dict": "a dict parameter P read with constant string keys (dict literals are refused by design)",
    "reduce": "np.max and np.maximum",
    "safe-tests": "no helper call and no conditional expression inside a test",
}
#: Everything: what the fuzzer draws from.
ALL_FEATURES = frozenset(FEATURES) - {"shared-writes", "safe-tests"}

_VIEW = re.compile(r"^\w+\[[^\[\]]*\]$")  # x["w"], acc[0]: reads that share the container's array


# ---------------------------------------------------------------------------- drawers


class RandomDrawer:
    """Draws from a seeded random.Random: no hypothesis needed at run time."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def pick(self, options):
        return self.rng.choice(list(options))

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5


class HypothesisDrawer:
    """Draws through a hypothesis `draw`, so hypothesis can shrink the program."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def pick(self, options):
        return self.draw(self.st.sampled_from(list(options)))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))

    def boolean(self) -> bool:
        return self.draw(self.st.booleans())


# ------------------------------------------------------------------------ the grammar


def marked_test(left: str, op: str, threshold: str) -> str:
    """A comparison, marked so `render` can write it plainly or through `_test`."""
    return f"\x01{left}\x02{op}\x02{threshold}\x03"


class Gen:
    """Draws one function body. Every expression comes with a bound on its magnitude."""

    def __init__(
        self,
        drawer,
        features,
        params: dict[str, float],
        helper: bool,
        helper_bound: float = 1.0,
        pair_bounds=None,
        depth: int = 2,
    ):
        self.d = drawer
        self.depth = depth  # how deep the expressions of statements, tests and returns nest
        self.features = features
        self.narrow = "shared-writes" not in features
        self.bound: dict[str, float] = dict(params)  #: readable array names -> magnitude bound
        self.helper = helper  # inside h (or g): no call to h, no M, no s
        self.helper_bound = helper_bound  # what h returns
        self.pair_bounds = pair_bounds  # what g returns, when there is a g
        self.loop_vars: list[str] = []  # integer loop variables, usable as indices
        self.loop_depth = 0
        self.ifs_in_loop = 0  # ifs between this point and the innermost loop
        self.trips = 1  # how many times the current block may run
        # Arrays this function may write into. NARROWED (callee mutation): h never writes
        # into its parameters nor into any name that may alias one.
        self.owned: set[str] = set() if helper and self.narrow else set(params)
        # Which names share one array (`t = x` makes t an alias of x).
        self.group: dict[str, int] = {n: i for i, n in enumerate(params)}
        # Names that may or may not still share an array: an alias, then a block that may
        # rebind one of them. NARROWED (alias kept by an arm that did not run): never written.
        self.uncertain: set[str] = set()
        self.readonly: set[str] = set()  # loop rows, and arrays a loop walks: never assigned
        self.scalars: dict[str, float] = {}  # scalar names (zip variables, P["c"]) -> bound
        self.lists: dict[str, float] = {}  # list name -> bound of its items
        self.dicts: dict[str, dict[str, float]] = {}  # dict name -> key -> bound of its arrays
        self.in_test = False
        self.lines: list[tuple[int, str]] = []  # (depth, text); tests are marked_test()s

    @property
    def defined(self) -> list[str]:
        return list(self.bound)

    def has(self, feature: str) -> bool:
        return feature in self.features

    # ------------------------------------------------------------------ expressions
    @staticmethod
    def squash(text: str, bound: float) -> tuple[str, float]:
        return (f"np.tanh({text})", 1.0) if bound > LIMIT else (text, bound)

    def name(self) -> tuple[str, float]:
        name = self.d.pick(self.defined)
        return self.squash(name, self.bound[name])

    def index(self) -> str:
        choices = [str(i) for i in range(LENGTH)] + [str(i) for i in range(-LENGTH, 0)] + self.loop_vars
        return self.d.pick(choices)

    def element(self) -> tuple[str, float]:
        name = self.d.pick(self.defined)
        return self.squash(f"{name}[{self.index()}]", self.bound[name])

    def scalar(self, depth: int) -> tuple[str, float]:
        options = ["element", "const"] + ([] if self.helper else ["s"])
        if self.scalars:
            options += ["scalar-name"]
        if depth > 0:
            options += ["sum", "sin", "tanh", "mul", "add"]
            if self.has("reduce"):
                options += ["max"]
        kind = self.d.pick(options)
        if kind == "element":
            return self.element()
        if kind == "const":
            c = self.d.pick(CONSTANTS)
            return c, abs(float(c))
        if kind == "s":
            return "s", 1.0
        if kind == "scalar-name":
            name = self.d.pick(sorted(self.scalars))
            return self.squash(name, self.scalars[name])
        if kind == "sum":
            text, b = self.array(depth - 1)
            return self.squash(f"np.sum({text})", LENGTH * b)
        if kind == "max":
            text, b = self.array(depth - 1)
            return f"np.max({text})", b
        if kind in ("sin", "tanh"):
            return f"np.{kind}({self.scalar(depth - 1)[0]})", 1.0
        (left, bl), (right, br) = self.scalar(depth - 1), self.scalar(depth - 1)
        if kind == "mul":
            return self.squash(f"({left} * {right})", bl * br)
        return self.squash(f"({left} + {right})", bl + br)

    def operand(self, depth: int) -> tuple[str, float]:
        """The other side of a binary operation: an array, or a scalar that broadcasts."""
        kind = self.d.pick(["array", "array", "scalar"])
        return self.array(depth) if kind == "array" else self.scalar(depth)

    def array(self, depth: int) -> tuple[str, float]:
        """An expression whose value is an array of shape (LENGTH,)."""
        options = ["name", "name"]
        if depth > 0:
            options += ["add", "sub", "mul", "div", "sin", "cos", "tanh", "exp", "square", "scale", "element"]
            safe_test = self.in_test and self.has("safe-tests")
            if not self.helper:
                options += ["axis-sum"]
                if "call" in self.features and not safe_test:
                    options += ["call", "call"]
            if self.has("reduce"):
                options += ["maximum"]
            if self.has("ifexp") and not safe_test:
                options += ["ifexp"]
        if self.lists:
            options += ["list-read"]
        if self.dicts:
            options += ["dict-read"]
        kind = self.d.pick(options)
        if kind == "name":
            return self.name()
        sub = lambda: self.array(depth - 1)  # noqa: E731
        if kind in ("add", "sub", "mul"):
            (left, bl), (right, br) = sub(), self.operand(depth - 1)
            if self.d.boolean():
                left, right = right, left
            op = dict(add="+", sub="-", mul="*")[kind]
            return self.squash(f"({left} {op} {right})", bl * br if kind == "mul" else bl + br)
        if kind == "div":  # the denominator is in [1, 3]
            if self.d.boolean():
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
        if kind == "maximum":
            (left, bl), (right, br) = sub(), self.operand(depth - 1)
            return f"np.maximum({left}, {right})", max(bl, br)
        if kind == "ifexp":
            (left, bl), cond, (right, br) = sub(), self.test(depth - 1), sub()
            return f"({left} if {cond} else {right})", max(bl, br)
        if kind == "list-read":
            name = self.d.pick(sorted(self.lists))
            if self.d.boolean():
                return f"np.tanh({name}[{self.d.pick(['0', '-1'])}])", 1.0
            return f"np.mean(np.stack({name}), axis=0)", self.lists[name]
        if kind == "dict-read":
            name = self.d.pick(sorted(self.dicts))
            key = self.d.pick(sorted(self.dicts[name]))
            return self.squash(f'{name}["{key}"]', self.dicts[name][key])
        assert kind == "call"
        return f"h({sub()[0]}, {sub()[0]})", self.helper_bound

    def test(self, depth: int | None = None) -> str:
        """A data-dependent test; with "boolop", possibly an `and` / `or` of two."""
        depth = self.depth if depth is None else depth
        threshold = self.d.pick(THRESHOLDS)
        op = self.d.pick([">", "<"]) if self.has("boolop") else ">"
        self.in_test, outer = True, self.in_test
        text = marked_test(f"np.sum({self.array(depth)[0]})", op, threshold)
        if self.has("boolop") and depth > 0 and self.d.integer(0, 3) == 0:
            text = f"{text} {self.d.pick(['and', 'or'])} {self.test(depth - 1)}"
        self.in_test = outer
        return text

    # ------------------------------------------------------------------- statements
    def emit(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))

    def block(self, depth: int, size: int, nesting: int) -> None:
        for _ in range(size):
            self.statement(depth, nesting)

    def writable(self, in_block: bool) -> list[str]:
        names = [
            n
            for n in self.defined
            if n in self.owned and not (self.narrow and n in self.uncertain) and n not in self.readonly
        ]
        if in_block and self.narrow:
            # NARROWED (alias in a block): a block writes only into unaliased arrays.
            names = [n for n in names if list(self.group.values()).count(self.group[n]) == 1]
        return names

    def statement(self, depth: int, nesting: int) -> None:
        in_block = depth > 1
        writable = self.writable(in_block)
        top = depth == 1 and not self.helper
        options = ["assign", "assign"]
        if "setitem" in self.features and writable:
            options += ["setitem"]
        if "if" in self.features and nesting > 0:
            options += ["if"] * 2
        if "for" in self.features and nesting > 0 and len(self.loop_vars) < 2:
            options += ["for"] * 3
        if self.has("while") and nesting > 0 and self.loop_depth < 2:
            options += ["while"]
        if self.has("rows") and nesting > 0 and self.loop_depth < 2 and not self.helper:
            options += ["rows"]
        if self.loop_depth and (self.has("break2") or (self.has("break") and self.ifs_in_loop == 0)):
            options += ["jump"]
        if self.has("list") and top and not self.lists:
            options += ["list-new"]
        if self.lists and self.loop_depth:
            options += ["append"] * 2
        if self.pair_bounds is not None:
            options += ["unpack"]
        kind = self.d.pick(options)
        if kind == "assign":
            self.assign(depth, in_block)
        elif kind == "setitem":
            self.setitem(depth, self.d.pick(writable))
        elif kind == "if":
            self.branch(depth, nesting)
        elif kind == "for":
            var = "i" if "i" not in self.loop_vars else "j"
            count = self.d.pick(["1", "2", "3", "a.shape[0]" if self.helper else "x.shape[0]"])
            self.emit(depth, f"for {var} in range({count}):")
            self.loop(depth, nesting, LENGTH if "shape" in count else int(count), index=var)
        elif kind == "while":
            counter = "n" if "n" not in self.loop_vars else "m"
            self.emit(depth, f"{counter} = 0")
            self.emit(depth, f"while {counter} < 3 and ({self.test(1)}):")  # parenthesized: the test may hold an `or`
            self.emit(depth + 1, f"{counter} += 1")  # first: a `continue` cannot skip it
            self.loop(depth, nesting, 3, index=counter)
        elif kind == "rows":
            self.rows(depth, nesting)
        elif kind == "jump":
            self.jump(depth)
        elif kind == "list-new":
            name = "acc"
            self.emit(depth, f"{name} = [np.tanh({self.array(self.depth)[0]})]")
            self.lists[name] = 1.0
        elif kind == "append":
            name = self.d.pick(sorted(self.lists))
            self.emit(depth, f"{name}.append(np.tanh({self.array(self.depth)[0]}))")
        else:
            self.unpack(depth, in_block)

    def branch(self, depth: int, nesting: int) -> None:
        if self.has("boolop") or self.has("ifexp"):
            cond = self.test()
        else:  # the original grammar's draw order: threshold, then the array
            threshold = self.d.pick(THRESHOLDS)
            self.in_test = True
            cond = marked_test(f"np.sum({self.array(self.depth)[0]})", ">", threshold)
            self.in_test = False
        self.emit(depth, f"if {cond}:")
        self.ifs_in_loop += 1
        self.block(depth + 1, self.d.integer(1, 2), nesting - 1)
        while self.has("elif") and self.d.integer(0, 2) == 0:
            self.emit(depth, f"elif {self.test(1)}:")
            self.block(depth + 1, self.d.integer(1, 2), nesting - 1)
        if self.d.boolean():
            self.emit(depth, "else:")
            self.block(depth + 1, self.d.integer(1, 2), nesting - 1)
        self.ifs_in_loop -= 1

    def loop(self, depth: int, nesting: int, trips: int, index: str | None = None) -> None:
        """The body of a loop whose header was just emitted."""
        if index:
            self.loop_vars.append(index)
        outer_trips, self.trips = self.trips, self.trips * trips
        outer_ifs, self.ifs_in_loop = self.ifs_in_loop, 0
        self.loop_depth += 1
        self.block(depth + 1, self.d.integer(1, 2), nesting - 1)
        self.loop_depth -= 1
        self.ifs_in_loop = outer_ifs
        if index:
            self.loop_vars.remove(index)
        self.trips = outer_trips

    def rows(self, depth: int, nesting: int) -> None:
        walkable = [n for n in self.defined if n not in self.readonly]
        form = self.d.pick(
            ["rows", "enumerate", "zip"] if len(walkable) > 2 else ["rows", "enumerate"]
        )  # a name stays assignable
        row = "row" if "row" not in self.bound else "row2"
        if form == "zip":
            first, second = self.d.pick(walkable), self.d.pick(walkable)
            p, q = ("p", "q") if "p" not in self.scalars else ("p2", "q2")
            self.emit(depth, f"for {p}, {q} in zip({first}, {second}):")
            walked = {first, second} - self.readonly
            self.readonly |= walked  # NARROWED: an array a loop walks is not written inside it
            self.scalars.update({p: self.bound[first], q: self.bound[second]})
            self.loop(depth, nesting, LENGTH)
            del self.scalars[p], self.scalars[q]
            self.readonly -= walked
            return
        index = "k" if "k" not in self.loop_vars else "k2"
        self.emit(depth, f"for {row} in M:" if form == "rows" else f"for {index}, {row} in enumerate(M):")
        self.bound[row], self.group[row] = 1.0, max(self.group.values()) + 1
        self.readonly.add(row)
        self.loop(depth, nesting, ROWS, index=index if form == "enumerate" else None)
        del self.bound[row], self.group[row]
        self.readonly.discard(row)

    def jump(self, depth: int) -> None:
        self.emit(depth, f"if {self.test(1)}:")
        if self.has("break2") and self.d.boolean():
            depth += 1
            self.emit(depth, f"if {self.test(1)}:")
        self.emit(depth + 1, self.d.pick(["break", "continue"]))

    def unpack(self, depth: int, in_block: bool) -> None:
        fresh = [n for n in LOCALS if n not in self.bound] if not in_block else []
        choices = [n for n in self.defined if n not in self.readonly] + fresh
        if len(choices) < 2:  # inside a zip over all but one name: nothing to unpack into
            return self.assign(depth, in_block)
        first = self.d.pick(choices)
        second = self.d.pick([n for n in choices if n != first])
        left, right = self.array(self.depth)[0], self.array(self.depth)[0]
        self.emit(depth, f"{first}, {second} = g({left}, {right})")
        for target, b in zip((first, second), self.pair_bounds):
            self.record(target, "g(...)", b, in_block)

    def assign(self, depth: int, in_block: bool) -> None:
        # In a block only names bound before it are assigned (no name is bound on one path
        # only); at the top level a new local may be introduced.
        fresh = [n for n in LOCALS if n not in self.bound] if not in_block else []
        targets = [n for n in self.defined if n not in self.readonly] if self.readonly else self.defined
        target = self.d.pick(targets + fresh)
        if self.loop_depth:  # a loop-carried value is squashed, so it stays bounded
            if target in self.bound and self.d.boolean():
                value, b = f"0.5 * {target} + 0.5 * np.sin({self.array(self.depth)[0]})", max(self.bound[target], 1.0)
            else:
                value, b = f"np.tanh({self.array(self.depth)[0]})", 1.0
        else:
            value, b = self.array(self.d.integer(0, 3))
            if in_block and self.narrow and value in self.bound and value != target:
                value = f"({value} * 1.0)"  # NARROWED (alias in a block): a block never makes an alias
            if _VIEW.match(value):
                value = f"({value} * 1.0)"  # a container's array is never shared with a name
        self.emit(depth, f"{target} = {value}")
        self.record(target, value, b, in_block)

    def record(self, target: str, value: str, b: float, in_block: bool) -> None:
        """Bookkeeping after `target = value`: aliases, ownership, bounds."""
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
        op = self.d.pick(["=", "+=", "-=", "*="])
        value, b = self.scalar(self.depth)
        if op == "*=":
            value, b = f"np.cos({value})", 1.0
        elif self.loop_vars or self.loop_depth:
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


# --------------------------------------------------------------------------- programs


def draw_program(drawer, features, small: bool = False) -> str:
    """The marked-up text of one program (see `render`); `small` ones generate faster."""
    features = frozenset(features)
    depth = 1 if small else 2
    helper = Gen(drawer, features, {p: LIMIT for p in HELPER_PARAMS}, helper=True, depth=depth)
    helper.emit(0, "def h(a, b):")
    helper.block(1, 1 if small else drawer.integer(1, 3), nesting=1)
    returned, bound = helper.array(helper.depth)
    if returned in helper.bound and helper.narrow:
        returned = f"({returned} * 1.0)"  # NARROWED (callee mutation): h never returns an alias
    helper.emit(1, f"return {returned}")
    lines = [helper.lines]

    pair_bounds = None
    if "tuple" in features:
        pair = Gen(drawer, features, {p: LIMIT for p in HELPER_PARAMS}, helper=True, depth=depth)
        pair.emit(0, "def g(a, b):")
        pair.block(1, 1 if small else drawer.integer(1, 2), nesting=1)
        (first, b1), (second, b2) = pair.array(pair.depth), pair.array(pair.depth)
        first, second = (f"({text} * 1.0)" if text in pair.bound else text for text in (first, second))
        pair.emit(1, f"return {first}, {second}")
        lines.append(pair.lines)
        pair_bounds = (b1, b2)

    params = {p: 1.0 for p in ARRAY_PARAMS}
    main = Gen(drawer, features, params, helper=False, helper_bound=bound, pair_bounds=pair_bounds, depth=depth)
    signature = "x, y, z, M, s"
    if "dict" in features:
        signature += ", P"
        main.dicts["P"] = {"w": 1.0}
        main.scalars['P["c"]'] = 1.0
    main.emit(0, f"def f({signature}):")
    main.block(1, drawer.integer(1, 3 if small else 4), nesting=2)
    result = main.array(main.depth)[0]
    scalar = drawer.boolean() or (small and drawer.boolean())  # small ones feed HVP mode more often
    main.emit(1, f"return np.sum({result})" if scalar else f"return {result}")
    lines.append(main.lines)
    return (
        "import numpy as np\n\n\n"
        + "\n\n\n".join("\n".join("    " * d + t for d, t in block) for block in lines)
        + "\n"
    )


def render(marked: str, instrumented: bool) -> str:
    """Source text; `instrumented` routes every decision through the recorders of PRELUDE."""
    text = marked
    while "\x03" in text:  # innermost first: a test may hold a conditional expression with a test
        end = text.index("\x03")
        start = text.rindex("\x01", 0, end)
        left, op, threshold = text[start + 1 : end].split("\x02")
        test = f'_test({left}, "{op}", {threshold})' if instrumented else f"{left} {op} {threshold}"
        text = text[:start] + test + text[end + 1 :]
    if instrumented:
        text = PRELUDE + text.replace("np.maximum(", "_np_maximum(").replace("np.max(", "_np_max(")
    return text


PRELUDE = """
import numpy as _numpy

_trace = []


def _test(value, op, threshold):
    value = float(value)
    outcome = value > threshold if op == ">" else value < threshold
    _trace.append(("test", outcome, abs(value - threshold)))
    return outcome


def _np_maximum(a, b):
    gap = _numpy.asarray(a, dtype=float) - _numpy.asarray(b, dtype=float)
    _trace.append(("maximum", tuple(_numpy.ravel(gap > 0)), float(_numpy.min(_numpy.abs(gap)))))
    return _numpy.maximum(a, b)


def _np_max(a):
    flat = _numpy.sort(_numpy.ravel(a))
    _trace.append(("max", int(_numpy.argmax(_numpy.ravel(a))), float(flat[-1] - flat[-2]) if flat.size > 1 else 1.0))
    return _numpy.max(a)

"""


# ------------------------------------------------------------------------- checking


class Rejected(Exception):
    """The draw is not a fair test: not finite, or a finite difference straddles a decision."""


@dataclass
class Outcome:
    category: str  #: pass, refused, wrong, internal, crash, skipped, n/a, bad-refusal
    detail: str = ""
    key: str = ""  #: what identifies the failure for grouping and minimizing


@dataclass
class Program:
    marked: str
    args: list
    rng_seed: object  #: seeds the random directions of the check
    features: frozenset = frozenset()  #: what the program was drawn with (for reports)
    source: str = field(init=False)
    instrumented: str = field(init=False)

    def __post_init__(self):
        self.source = render(self.marked, False)
        self.instrumented = render(self.marked, True)


def make_args(rng: np.random.Generator, features) -> list:
    args = [rng.uniform(-1, 1, size=LENGTH) for _ in ARRAY_PARAMS] + [
        rng.uniform(-1, 1, size=(ROWS, LENGTH)),
        float(rng.uniform(-1, 1)),
    ]
    if "dict" in features:
        args.append({"w": rng.uniform(-1, 1, size=LENGTH), "c": float(rng.uniform(-1, 1))})
    return args


def _load(text: str, name: str):
    import types

    module = types.ModuleType(name)
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


class Probe:
    """The instrumented primal: values, and the decisions taken on the way."""

    def __init__(self, program: Program):
        self.module = _load(program.instrumented, "probe")

    def __call__(self, args):
        self.module._trace.clear()
        value = self.module.f(*copy.deepcopy(args))
        trace = list(self.module._trace)
        return (
            value,
            tuple((kind, outcome) for kind, outcome, _ in trace),
            min((m for _, _, m in trace), default=math.inf),
        )


def check_modes(
    program: Program, modes=("reverse", "forward", "hvp"), rtol=RTOL, generate_text=None
) -> dict[str, Outcome]:
    """Each mode's outcome for one program (args included)."""
    rng = np.random.default_rng(program.rng_seed)
    args = program.args
    probe = Probe(program)
    base, decisions, margin = probe(args)
    if not np.all(np.isfinite(flat(base))):
        return {m: Outcome("skipped", "not finite") for m in modes}
    if margin <= MARGIN:
        return {m: Outcome("skipped", "a decision within MARGIN of flipping") for m in modes}
    v = random_tangent(args, rng)
    w = random_tangent(args, rng)
    u = random_tangent(base, rng)
    points = {}
    for steps in (
        [(v, EPS)],
        [(v, -EPS)],
        [(v, EPS2), (w, EPS2)],
        [(v, EPS2), (w, -EPS2)],
        [(v, -EPS2), (w, EPS2)],
        [(v, -EPS2), (w, -EPS2)],
    ):
        value, seen, _ = probe(combine(args, steps))
        if seen != decisions:
            return {m: Outcome("skipped", "a finite difference changes a decision") for m in modes}
        points[tuple(e for _, e in steps)] = value
    # <u, Df v> and <w, Hf v> by central differences
    first = (inner(u, points[(EPS,)]) - inner(u, points[(-EPS,)])) / (2 * EPS)
    directional = [(flat(points[(EPS,)]) - flat(points[(-EPS,)])) / (2 * EPS)]
    second = (
        (points[(EPS2, EPS2)] - points[(EPS2, -EPS2)] - points[(-EPS2, EPS2)] + points[(-EPS2, -EPS2)])
        / (4 * EPS2 * EPS2)
        if np.ndim(base) == 0
        else None
    )
    generate_text = generate_text or default_generate_text
    if np.ndim(base) != 0 or isinstance(base, tuple):  # no HVP of an array: not generated at all
        results = {m: Outcome("n/a", "f returns an array") for m in modes if m == "hvp"}
        modes = [m for m in modes if m != "hvp"]
    else:
        results = {}
    try:  # one run for every mode: a third of the time when nothing is refused
        text = generate_text(program.source, ",".join(modes))
        generate_one = lambda source, mode: text  # noqa: E731
    except Exception:  # noqa: BLE001 - then each mode on its own says what it thinks
        generate_one = generate_text
    for mode in modes:
        results[mode] = _check_mode(
            program, mode, args, base, u, v, w, first, directional[0], second, rtol, generate_one
        )
    return results


def _located(exc, source: str) -> bool:
    lines = source.count("\n") + 1
    return bool(exc.diagnostics) and all(
        re.match(r"^model\.py:\d+:\d+: error: \S", str(d)) and 1 <= d.span.line <= lines and d.span.col >= 1
        for d in exc.diagnostics
    )


def _short(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{where}"


def _close(got: float, expected: float, rtol: float, atol: float = ATOL) -> bool:
    return abs(got - expected) <= atol + rtol * max(1.0, abs(expected))


def _check_mode(program, mode, args, base, u, v, w, first, directional, second, rtol, generate_text) -> Outcome:
    from dpgen.errors import SourceErrors

    if mode == "hvp" and np.ndim(base) != 0:
        return Outcome("n/a", "f returns an array")
    try:
        text = generate_text(program.source, mode)
    except SourceErrors as exc:
        if not _located(exc, program.source):
            return Outcome("bad-refusal", str(exc), "unlocated")
        message = re.sub(r"^model\.py:\d+:\d+: ", "", str(exc.diagnostics[0]))
        return Outcome("refused", str(exc), re.sub(r"\d+", "N", message)[:120])  # grouped whatever the line
    except Exception as exc:  # noqa: BLE001 - anything else is dpgen's bug
        return Outcome("internal", traceback.format_exc(), _short(exc))
    try:
        generated = _load(text, "generated")
        before = copy.deepcopy(args)
        if mode == "reverse":
            out, pullback = generated.f_vjp(*copy.deepcopy(args))
            cotangents = pullback(copy.deepcopy(u))
        elif mode == "forward":
            out, dout = generated.f_jvp(*copy.deepcopy(args), *copy.deepcopy(v))
        else:
            hv = generated.f_hvp(*copy.deepcopy(args), *copy.deepcopy(v))
            out = base
        del before
    except Exception as exc:  # noqa: BLE001 - the generated code crashed
        return Outcome("crash", traceback.format_exc(), _short(exc))
    try:
        if not same_structure(out, base) or not np.allclose(flat(out), flat(base), rtol=1e-10, atol=1e-12):
            raise Mismatch(f"value {out!r} != {base!r}")
        if mode == "reverse":
            if len(cotangents) != len(args):
                raise Mismatch(f"{len(cotangents)} cotangents for {len(args)} arguments")
            for k, (c, a) in enumerate(zip(cotangents, args)):
                if c is not None and not same_structure(c, a):
                    raise Mismatch(f"cotangent {k} has the wrong shape or structure")
            got = sum(inner(c, t) for c, t in zip(cotangents, v))
            if not _close(got, first, rtol):
                raise Mismatch(f"<vjp(u), v> = {got!r} but differences give {first!r}")
        elif mode == "forward":
            if not same_structure(dout, base):
                raise Mismatch("the tangent has the wrong shape or structure")
            got = flat(dout)
            if not np.all(np.abs(got - directional) <= ATOL + rtol * np.maximum(1.0, np.abs(directional))):
                raise Mismatch(f"jvp = {got!r} but differences give {directional!r}")
        else:
            if not isinstance(hv, tuple):  # one differentiable parameter: a bare value (like f_grad)
                full = generated.f_jvp_vjp(*copy.deepcopy(args), *copy.deepcopy(v))[1]((0.0, 1.0))[: len(args)]
                present = [h for h in full if h is not None]
                if len(present) != 1 or not np.allclose(flat(present[0]), flat(hv), rtol=1e-12, atol=1e-14):
                    raise Mismatch("a bare f_hvp value, but not exactly one differentiable parameter")
                hv = full
            if len(hv) != len(args):
                raise Mismatch(f"{len(hv)} entries for {len(args)} arguments")
            got = sum(inner(h, t) for h, t in zip(hv, w))
            if not _close(got, second, 100 * rtol, SECOND_ATOL):
                raise Mismatch(f"<w, H v> = {got!r} but differences give {second!r}")
    except Mismatch as exc:
        return Outcome("wrong", str(exc), "wrong")
    return Outcome("pass")


def default_generate_text(source: str, mode: str) -> str:
    from dpgen.header import Options
    from dpgen.pipeline import generate
    from dpgen.frontend.source import Source

    return generate(Source("model.py", source), Options(mode=mode)).text
