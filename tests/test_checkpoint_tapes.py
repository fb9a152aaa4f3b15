"""The run-time tapes of checkpointed loops, `_RevolveTape` and `_OnlineTape` (helpers.py.j2).

They are driven here by plain-Python loops shaped as the generated code drives them: the
forward sweep calls `tape.step(body_vjp, targets, state, invariants)` once per iteration, the
pullback walks `tape.pullbacks()`. The toy body is a real step with a real derivative (carried
state: a small array and a float; an invariant; optionally a row of an array as the loop
variable), so the gradient through a tape is compared with the un-checkpointed chain of
pullbacks (the same floating-point operations: equal to the last bit) and with central
differences. A counting body checks the number of step evaluations against the Revolve
optimum and the number of states the tape holds against its budget.

Counting convention: R(n, s) is the Revolve optimum of test_revolve.py (steps run plainly,
first sweep included). A tape runs the n steps once forward, keeping the last step's pullback,
so its reverse sweep runs R(n, s) - (n - 1) steps plainly and n - 1 steps with residuals:
R(n, s) evaluations, n + R(n, s) in all.
"""

import math

import numpy as np
import pytest

from dpgen.backends import NUMPY, helper_sources
from dpgen.render.expressions import ExpressionPrinter
from support.gradcheck import check_vjp

HELPERS = helper_sources(NUMPY, "model.py")


def _load(*names):
    """The helpers and the helpers they call, run in one namespace, in the order a generated
    module copies them (file order)."""
    needed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += HELPERS[name][1]
    namespace = {}
    for name, (text, _) in HELPERS.items():
        if name in needed:
            exec(compile(text, f"<{name}>", "exec"), namespace)
    return namespace


_TAPES = _load("_RevolveTape", "_OnlineTape")
RevolveTape, OnlineTape = _TAPES["_RevolveTape"], _TAPES["_OnlineTape"]


def optimum(steps, snapshots):
    """R(n, s): t * n - binomial(s + t, t - 1), t the least integer with binomial(s + t, s) >= n
    (test_revolve.py proves `_revolve` reaches it)."""
    t = 0
    while math.comb(snapshots + t, snapshots) < steps:
        t += 1
    return t * steps - (math.comb(snapshots + t, t - 1) if t > 0 else 0)


def repetitions(steps, snapshots):
    """t, the least integer with binomial(s + t, s) >= n."""
    t = 0
    while math.comb(snapshots + t, snapshots) < steps:
        t += 1
    return t


class Body:
    """A loop body's vjp as dpgen generates it: `body(*targets, x, y, a)` returns ((x', y'),
    pullback) with x' = sin(x) * a (+ row), y' = y + a * sum(x**2); the pullback takes the
    carried cotangents and returns one cotangent per parameter (targets, carried, invariants).
    `stop_above` adds a break flag (y' > stop_above) to the outputs, as a body with `break` has.

    Counts its calls, per phase, and records the most states the tape held at a call: the tape's
    stored states and the state being run (the working one), told apart by identity."""

    def __init__(self, stop_above=None):
        self.stop_above = stop_above
        self.tape = None
        self.phase = "forward"
        self.calls = {"forward": 0, "reverse": 0}
        self.stored = {"forward": 0, "reverse": 0}  # the most states in the tape's dicts
        self.held = {"forward": 0, "reverse": 0}  # the same, with the working state

    def __call__(self, *args):
        *targets, x, y, a = args
        self.calls[self.phase] += 1
        if self.tape is not None:
            dicts = [self.tape.stored] + ([self.tape.kept] if hasattr(self.tape, "kept") else [])
            states = {id(state[0]) for d in dicts for state in d.values()}
            self.stored[self.phase] = max(self.stored[self.phase], sum(len(d) for d in dicts))
            self.held[self.phase] = max(self.held[self.phase], len(states | {id(x)}))
        x_next = np.sin(x) * a + (targets[0] if targets else 0.0)
        y_next = y + a * np.sum(x * x)

        def pullback(cotangents):
            x_bar, y_bar = cotangents
            a_bar = np.sum(x_bar * np.sin(x)) + y_bar * np.sum(x * x)
            rest = (x_bar * np.cos(x) * a + y_bar * a * 2 * x, y_bar, a_bar)
            return (x_bar, *rest) if targets else (None, *rest)

        if self.stop_above is None:
            return (x_next, y_next), pullback
        return (x_next, y_next, bool(y_next > self.stop_above)), pullback


def run_loop(tape, body, x, y, a, rows=None, steps=0):
    """The forward sweep of `for row in rows` (or `for _ in range(steps)`) through the tape, with
    `if flag: break` when the body has a break flag."""
    body.tape = tape
    for row in rows if rows is not None else range(steps):
        outputs = tape.step(body, (row,) if rows is not None else (), (x, y), (a,))
        x, y = outputs[:2]
        if body.stop_above is not None and outputs[2]:
            break
    return x, y


def reverse_loop(tape, body, x_bar, y_bar, rows=None):
    """The pullback's replay: carried cotangents threaded back, the invariant's and the rows'
    cotangents added up (`rows_bar[step] += ...`, as generated code does)."""
    body.phase = "reverse"
    a_bar, rows_bar, order = 0.0, None if rows is None else np.zeros_like(rows), []
    for step, step_pullback in tape.pullbacks():
        row_bar, x_bar, y_bar, a_bar_part = step_pullback((x_bar, y_bar))
        a_bar += a_bar_part
        if rows is not None:
            rows_bar[step] += row_bar
        order.append(step)
    return (x_bar, y_bar, a_bar, rows_bar), order


class Unchecked:
    """Today's tape (a list of every step's pullback), with the tapes' interface: the reference."""

    def __init__(self):
        self.loop_pullbacks = []
        self.stored = {}  # no snapshots: every pullback is kept instead

    def step(self, step_vjp, targets, state, invariants):
        outputs, pullback = step_vjp(*targets, *state, *invariants)
        self.loop_pullbacks.append(pullback)
        return outputs

    def pullbacks(self):
        for step in reversed(range(len(self.loop_pullbacks))):
            yield step, self.loop_pullbacks[step]


def gradient(tape, steps=0, rows=None, stop_above=None, sweeps=1):
    """(final state, cotangents of (x0, y0, a, rows), order of the steps reversed, body) of
    the toy loop through `tape`, reversing it `sweeps` times (the same result each time)."""
    body = Body(stop_above)
    x0, a = np.array([0.3, -0.8, 1.1]), 1.3
    out = run_loop(tape, body, x0, 0.5, a, rows, steps)
    seeds = (np.array([0.7, -0.2, 0.4]), 0.9)
    first, order = reverse_loop(tape, body, *seeds, rows)
    for _ in range(sweeps - 1):
        again, order_again = reverse_loop(tape, body, *seeds, rows)
        assert order_again == order
        for got, want in zip(again, first):
            np.testing.assert_array_equal(got, want)
    return out, first, order, body


def assert_same_gradient(tape, steps=0, rows=None, stop_above=None, sweeps=1):
    """The tape's gradient is the un-checkpointed one, bit for bit (the recomputed states are
    the same floating-point values), each step reversed once, from the last."""
    out, got, order, body = gradient(tape, steps, rows, stop_above, sweeps)
    want_out, want, want_order, _ = gradient(Unchecked(), steps, rows, stop_above)
    assert order == want_order == list(reversed(range(len(want_order))))
    for g, w in zip(out + got, want_out + want):
        np.testing.assert_array_equal(g, w)
    return body


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("snapshots", [1, 2, 3, None, 20])
def test_revolve_tape_gives_the_unchecked_gradient(steps, snapshots):
    body = assert_same_gradient(RevolveTape(steps, snapshots), steps=steps)
    assert body.calls["forward"] == steps


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5, 8, 13, 40])
@pytest.mark.parametrize("snapshots", [1, 2, 3, None, 20])
def test_online_tape_gives_the_unchecked_gradient(steps, snapshots):
    body = assert_same_gradient(OnlineTape(snapshots), steps=steps)
    assert body.calls["forward"] == steps


@pytest.mark.parametrize("make", [lambda n: RevolveTape(n, 2), lambda n: OnlineTape(2)])
def test_targets_rows_of_an_array_are_replayed(make):
    """`for row in rows`: each rerun step gets its own row back, and `rows_bar[step]` its cotangent."""
    rows = np.linspace(-1.0, 1.0, 27).reshape(9, 3)
    assert_same_gradient(make(len(rows)), rows=rows)


@pytest.mark.parametrize("snapshots", [1, 2, None])
def test_online_tape_with_a_break_flag(snapshots):
    """`for row in rows: ...; if flag: break`: the outputs carry the flag after the state."""
    rows = np.linspace(-1.0, 1.0, 60).reshape(20, 3)
    _, _, order, _ = gradient(Unchecked(), rows=rows, stop_above=100.0)
    assert len(order) == 11, "the loop breaks half way"
    assert_same_gradient(OnlineTape(snapshots), rows=rows, stop_above=100.0)


@pytest.mark.parametrize("make", [lambda n: RevolveTape(n, 3), lambda n: OnlineTape(3)])
@pytest.mark.parametrize("steps", [1, 2, 11])
def test_the_pullback_may_be_called_again(make, steps):
    """A second reverse sweep (a pullback called twice) recomputes what the first one dropped."""
    assert_same_gradient(make(steps), steps=steps, sweeps=3)


@pytest.mark.parametrize("make", [lambda n: RevolveTape(n, None), lambda n: OnlineTape(1)])
def test_against_central_differences(make):
    """The whole loop's vjp through a tape, against central differences in float64."""

    def primal(x, y, a, rows):
        return run_loop(Unchecked(), Body(), x, y, a, rows)

    def vjp(x, y, a, rows):
        tape = make(len(rows))
        out = run_loop(tape, Body(), x, y, a, rows)

        def pullback(cotangents):
            return reverse_loop(tape, Body(), *cotangents, rows)[0]

        return out, pullback

    rng = np.random.default_rng(12)
    args = [rng.normal(size=3), 0.4, 0.9, rng.normal(size=(7, 3))]
    check_vjp(primal, vjp, args, rng)


# ------------------------------------------------------------------ counts and memory
class Counter:
    """A body that only counts (its state: one fresh object per step, told apart by identity),
    recording as `Body` does the most states the tape held at a call; cheap for long loops."""

    def __init__(self, tape):
        self.tape = tape
        self.phase = "forward"
        self.calls = {"forward": 0, "reverse": 0}
        self.stored = {"forward": 0, "reverse": 0}
        self.held = {"forward": 0, "reverse": 0}
        self.dicts = [tape.stored] + ([tape.kept] if hasattr(tape, "kept") else [])

    def __call__(self, x):
        phase = self.phase
        self.calls[phase] += 1
        # The dicts may have been replaced (the online tape thins its kept states into a new one).
        dicts = [self.tape.stored] + ([self.tape.kept] if hasattr(self.tape, "kept") else [])
        self.stored[phase] = max(self.stored[phase], sum(map(len, dicts)))
        held = {id(state[0]) for d in dicts for state in d.values()}
        held.add(id(x))
        self.held[phase] = max(self.held[phase], len(held))
        return (object(),), None


def counts(tape, steps):
    """The counting body's record after a forward sweep of `steps` steps and a reverse sweep."""
    body = Counter(tape)
    x = object()
    for _ in range(steps):
        (x,) = tape.step(body, (), (x,), ())
    body.phase = "reverse"
    assert [i for i, _ in tape.pullbacks()] == list(reversed(range(steps)))
    return body


def revolve_counts(steps, snapshots):
    return counts(RevolveTape(steps, snapshots), steps)


def test_revolve_tape_runs_the_optimum_number_of_steps():
    """n + R(n, s) step evaluations, R(n, s) of them in the reverse sweep; never more than s
    snapshots, nor s + 1 states with the working one; s >= n and s = 1 included."""
    for steps in range(0, 41):
        for snapshots in [*range(1, 9), steps, steps + 3]:
            if snapshots < 1:
                continue
            body = revolve_counts(steps, snapshots)
            assert body.calls == {"forward": steps, "reverse": optimum(steps, snapshots)}, (steps, snapshots)
            assert max(body.stored.values()) <= snapshots, (steps, snapshots)
            assert max(body.held.values()) <= snapshots + 1, (steps, snapshots)


@pytest.mark.parametrize("steps,snapshots", [(200, 3), (1000, 10), (1000, None), (500, 1)])
def test_revolve_tape_counts_on_longer_loops(steps, snapshots):
    body = revolve_counts(steps, snapshots)
    s = math.ceil(math.log2(steps)) if snapshots is None else snapshots
    assert body.calls == {"forward": steps, "reverse": optimum(steps, s)}
    assert max(body.stored.values()) <= s


def test_revolve_tape_without_recomputation_and_with_one_snapshot():
    """s >= n - 1: every step runs twice (forward, then with residuals), the last once: 2n - 1.
    s = 1: step k runs plainly from step 0 again: n(n - 1)/2 plain runs in all."""
    for steps in range(1, 30):
        assert sum(revolve_counts(steps, steps - 1 or 1).calls.values()) == 2 * steps - 1
        assert revolve_counts(steps, 1).calls["reverse"] == steps * (steps - 1) // 2  # R(n, 1)


def test_a_second_reverse_sweep_costs_what_the_docstrings_say():
    """Revolve: the schedule from the start, n + R(n, s) runs. Online: the same segments, the
    last one now with the last step: n + sum of R(L, s) runs."""
    for steps in range(1, 60):
        for snapshots in (1, 2, 5):
            tape = RevolveTape(steps, snapshots)
            body = counts(tape, steps)
            first = body.calls["reverse"]
            assert [i for i, _ in tape.pullbacks()] == list(reversed(range(steps)))
            assert body.calls["reverse"] - first == steps + optimum(steps, snapshots), (steps, snapshots)
            assert max(body.held.values()) <= snapshots + 1

            tape = OnlineTape(snapshots)
            body = counts(tape, steps)
            first = body.calls["reverse"]
            assert [i for i, _ in tape.pullbacks()] == list(reversed(range(steps)))
            d, last = tape.spacing, max(tape.kept)
            segments = [d] * (last // d) + [steps - last]
            assert body.calls["reverse"] - first == steps + sum(optimum(n, snapshots) for n in segments)
            assert max(body.held.values()) <= 2 * snapshots


def online_counts(steps, snapshots):
    tape = OnlineTape(snapshots)
    return tape, counts(tape, steps)


#: Every n up to 80, then a sample up to 2000 with the lengths around powers of two.
ONLINE_STEPS = sorted({*range(1, 81), *range(80, 2001, 151), 255, 256, 257, 1023, 1024, 1025, 2000})


@pytest.mark.parametrize("snapshots", [1, 2, 3, 5, 8, None])
def test_online_tape_bounds(snapshots):
    """The bounds `_OnlineTape`'s docstring states, for n = 1..2000: states kept <= s in the
    forward sweep, states held <= 2s in the reverse one, the spacing d <= 2(n - 1)/s, and
    exactly 2n - 1 + sum of R(L, s) over the segments' lengths L step evaluations, at most
    (t + 2) n, t the repetition number of (d, s)."""
    for steps in ONLINE_STEPS:
        if snapshots is not None and snapshots < 3 and steps > 300:
            continue  # one or two snapshots recompute quadratically: slow, and no different
        tape, body = online_counts(steps, snapshots)
        s = tape.budget(steps)
        assert s == (max(4, math.ceil(math.log2(steps))) if snapshots is None else snapshots)
        d = tape.spacing
        assert d & (d - 1) == 0 and sorted(tape.kept) == list(range(0, steps, d)), (steps, snapshots)
        assert d == 1 or d <= 2 * (steps - 1) / s, (steps, snapshots, d)
        segments = [d] * (max(tape.kept) // d) + [steps - 1 - max(tape.kept)]
        assert sum(body.calls.values()) == 2 * steps - 1 + sum(optimum(n, s) for n in segments), (steps, snapshots)
        assert sum(body.calls.values()) <= (repetitions(d, s) + 2) * steps, (steps, snapshots)
        assert body.stored["forward"] <= s and body.held["forward"] <= s + 1, (steps, snapshots)
        assert body.held["reverse"] <= 2 * s, (steps, snapshots)


def test_online_tape_auto_stays_logarithmic():
    """snapshots=auto: memory like log2 n (at most 2 max(4, ceil(log2 n)) states), recomputation
    a small multiple of n."""
    for steps in (10, 100, 1000, 5000):
        tape, body = online_counts(steps, None)
        bound = 2 * max(4, math.ceil(math.log2(steps)))
        assert max(body.held.values()) <= bound
        assert sum(body.calls.values()) <= 7 * steps, (steps, body.calls)


# ------------------------------------------------------------------ errors
def test_a_loop_that_runs_more_steps_than_on_entry_is_an_error():
    tape = RevolveTape(3, None)
    with pytest.raises(RuntimeError, match="ran more steps than the 3 it had on entry; its trip count changed"):
        run_loop(tape, Body(), 0.3, 0.5, 1.1, steps=4)


def test_a_loop_that_runs_fewer_steps_than_on_entry_is_an_error():
    tape = RevolveTape(5, 2)
    run_loop(tape, Body(), 0.3, 0.5, 1.1, steps=2)
    with pytest.raises(RuntimeError, match="ran fewer steps than the 5 it had on entry"):
        next(tape.pullbacks())


def test_online_tape_needs_a_snapshot():
    with pytest.raises(ValueError, match="at least 1 snapshot"):
        OnlineTape(0)


def test_the_tapes_use_plain_python():
    """No NumPy, no dpgen: the tapes call whatever function the loop gives them."""
    for name in ("_RevolveTape", "_OnlineTape", "_revolve_sweep"):
        text, called = HELPERS[name]
        assert "import" not in text and "np." not in text and "dpgen" not in text
        assert called <= {"_revolve", "_snapshots_auto", "_revolve_sweep", "_LoopTargets"}


@pytest.mark.parametrize("tape", ["_RevolveTape", "_OnlineTape"])
def test_a_tape_brings_the_helpers_it_calls(tape):
    """A module that uses a tape gets the schedule helpers with it (`use_helper`), and they run
    on their own in the order the module copies them."""
    printer = ExpressionPrinter(NUMPY, "model.py")
    printer.use_helper(tape)
    assert printer.used_helpers == {tape, "_revolve", "_revolve_sweep", "_snapshots_auto", "_LoopTargets"}
    namespace = {}
    exec("\n\n".join(text for name, (text, _) in HELPERS.items() if name in printer.used_helpers), namespace)
    assert_same_gradient(namespace[tape](*((5, 2) if tape == "_RevolveTape" else (2,))), steps=5)


# ------------------------------------------------------------------ loop variables
LoopTargets = _load("_LoopTargets")["_LoopTargets"]


@pytest.mark.parametrize(
    "targets",
    [
        [(i,) for i in range(40)],  # range(40)
        [(i,) for i in range(7, 100, 3)],  # range(7, 100, 3)
        [(i,) for i in range(10, -5, -2)],  # a negative stride
        [(4,)] * 5,  # the same int every step
        [(0,), (1,), (2,), (7,), (8,)],  # a progression that breaks
        [(3,), (2.5,), (1,)],  # not all ints
        [(0, "a"), (1, "b")],  # enumerate's pairs
        [(np.int64(0),), (np.int64(1),)],  # NumPy ints are kept as they are
        [(True,), (False,)],  # bools are not ints here
        [(5,)],
    ],
)
def test_loop_targets_give_back_every_step(targets):
    kept = LoopTargets()
    for t in targets:
        kept.append(t)
    assert [kept[i] for i in range(len(targets))] == targets
    assert all(type(kept[i][0]) is type(t[0]) for i, t in enumerate(targets))


def test_a_range_loop_keeps_no_memory_per_step():
    """The whole point: 10^6 steps of `range(n)` keep two ints, not a million tuples."""
    kept = LoopTargets()
    for i in range(3, 3 + 2 * 10**6, 2):
        kept.append((i,))
    assert kept.listed is None and kept[999_999] == (3 + 2 * 999_999,)


@pytest.mark.parametrize("make", [lambda n: RevolveTape(n, 2), lambda n: OnlineTape(2)])
def test_a_rerun_step_gets_its_own_loop_variable(make):
    """`for i in range(5, 41, 3)`: every step the pullbacks rerun sees the i it had forward
    (the state before step k is the sum of the first k items, so it says which step runs)."""
    seen = []

    def step_vjp(i, x):
        seen.append((i, x))
        return (x + i,), lambda x_bar: (None, x_bar)

    items = range(5, 41, 3)
    tape, x = make(len(items)), 0
    for i in items:
        (x,) = tape.step(step_vjp, (i,), (x,), ())
    assert [i for i, _ in seen] == list(items)
    seen.clear()
    assert [step for step, _ in tape.pullbacks()] == list(reversed(range(len(items))))
    assert len(seen) > len(items)  # steps were rerun from the snapshots
    for i, x in seen:
        assert x == sum(items[: items.index(i)]), (i, x)
    assert tape._targets.listed is None
