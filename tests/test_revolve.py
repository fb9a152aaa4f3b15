"""The binomial checkpointing schedule `_revolve` (helpers.py.j2), simulated on an abstract loop.

A state is stood for by the step it comes before (0, ..., n - 1). The simulation follows the
protocol of `_revolve`'s docstring, checks that each step is reversed once, in the order
n - 1, ..., 0, with its state at hand, and that never more than `snapshots` states are stored
(the working state is not one of them), and counts the steps run plainly ("advance").

Counting convention (Griewank and Walther's, ACM TOMS 26(1), 2000): the steps run plainly are
counted, the first sweep included; a reverse runs its own step once more, with residuals, and
that run is not counted (it is n runs whatever the schedule). The optimum for (n, s) is then
t * n - binomial(s + t, t - 1), t the least integer with binomial(s + t, s) >= n. It is checked
here three ways: by an exhaustive search over every schedule (small n, s), by Griewank's
dynamic program over the first snapshot's position, and against what `_revolve` does.
"""

import functools
import heapq
import math

import pytest

from dpgen.backends import NUMPY, helper_sources

HELPERS = helper_sources(NUMPY, "model.py")


def _load(name):
    """The helper's source run in an empty namespace: it needs no NumPy and no dpgen."""
    namespace = {}
    exec(compile(HELPERS[name][0], f"<{name}>", "exec"), namespace)
    return namespace[name]


revolve = _load("_revolve")
snapshots_auto = _load("_snapshots_auto")


def simulate(steps, snapshots):
    """Run the schedule on an abstract loop; the number of steps run plainly (advances)."""
    working = 0  # the state before step 0
    stored = {}
    next_reversed = steps - 1
    advances = 0
    for action in revolve(steps, snapshots):
        kind, i = action[0], action[1]
        if kind == "advance":
            j = action[2]
            assert working == i and i < j <= next_reversed, (action, working, next_reversed)
            advances += j - i
            working = j
        elif kind == "takeshot":
            assert working == i and i not in stored, (action, working, stored)
            stored[i] = working
            assert len(stored) <= snapshots, (action, stored)
        elif kind == "restore":
            assert i in stored, (action, stored)
            working = stored[i]
        elif kind == "reverse":
            assert i == next_reversed, (action, next_reversed)
            assert working == i, (action, working)  # the state before step i is at hand
            stored.pop(i, None)
            working = None  # the reverse step consumed it
            next_reversed -= 1
        else:
            raise AssertionError(f"unknown action {action!r}")
    assert next_reversed == -1, f"steps {next_reversed}, ..., 0 were never reversed"
    assert not stored, f"snapshots left behind: {sorted(stored)}"
    return advances


def closed_form(steps, snapshots):
    """Griewank and Walther's minimum: t * n - beta(s + 1, t - 1), beta(s, t) = C(s + t, s)."""
    t = 0
    while math.comb(snapshots + t, snapshots) < steps:
        t += 1
    return t * steps - (math.comb(snapshots + t, t - 1) if t > 0 else 0)


@functools.lru_cache(maxsize=None)
def dynamic_program(steps, snapshots):
    """The optimum by the first snapshot's position m: run m steps from the stored first state,
    reverse the m..n-1 tail with one snapshot fewer (the state at m becomes its stored first
    state), then the first m steps from the first state again."""
    if steps <= 1:
        return 0
    if snapshots < 1:
        return math.inf
    return min(m + dynamic_program(steps - m, snapshots - 1) + dynamic_program(m, snapshots) for m in range(1, steps))


def exhaustive(steps, snapshots):
    """The optimum over every schedule: a shortest path (the cost is the steps run plainly)
    over (steps left to reverse, working state, stored states), where any stored state may be
    dropped or restored at any time and the working state may be stored while there is room."""
    start = (steps, 0, frozenset())  # (steps left, working state or -1, stored states)
    best = {start: 0}
    queue = [(0, start)]
    while queue:
        cost, node = heapq.heappop(queue)
        if cost > best[node]:
            continue
        left, working, stored = node
        if left == 0:
            return cost
        moves = []
        if 0 <= working < left - 1:
            moves.append((1, (left, working + 1, stored)))
        if working >= 0 and working not in stored and len(stored) < snapshots:
            moves.append((0, (left, working, stored | {working})))
        for q in stored:
            moves.append((0, (left, working, stored - {q})))
            moves.append((0, (left, q, stored)))
        if working == left - 1:
            moves.append((0, (left - 1, -1, stored - {left - 1})))  # -1: no working state
        for step_cost, after in moves:
            if cost + step_cost < best.get(after, math.inf):
                best[after] = cost + step_cost
                heapq.heappush(queue, (cost + step_cost, after))
    raise AssertionError("no schedule reverses the loop")


@pytest.mark.parametrize("steps", range(1, 9))
def test_the_closed_form_is_the_optimum_over_every_schedule(steps):
    for snapshots in range(1, 5):
        assert exhaustive(steps, snapshots) == closed_form(steps, snapshots), (steps, snapshots)


def test_the_dynamic_program_is_the_closed_form():
    for steps in range(1, 61):
        for snapshots in range(1, 9):
            assert dynamic_program(steps, snapshots) == closed_form(steps, snapshots), (steps, snapshots)


def test_revolve_is_optimal_on_a_grid():
    for steps in range(0, 61):
        for snapshots in range(1, 9):
            assert simulate(steps, snapshots) == closed_form(steps, snapshots), (steps, snapshots)


def test_no_step_runs_plainly_more_than_the_repetition_number():
    """t, the least integer with binomial(s + t, s) >= n, bounds how often any one step is
    advanced (Griewank's repetition number), and some step is advanced t times."""
    for steps in range(2, 61):
        for snapshots in range(1, 9):
            t = 0
            while math.comb(min(snapshots, steps - 1) + t, t) < steps:
                t += 1
            runs = [0] * steps
            for action in revolve(steps, snapshots):
                if action[0] == "advance":
                    for k in range(action[1], action[2]):
                        runs[k] += 1
            assert max(runs) == t, (steps, snapshots, runs)


@pytest.mark.parametrize("steps,snapshots", [(100, 3), (1000, 10), (1000, 2), (10_000, 14), (2_000, 2_000)])
def test_revolve_is_optimal_for_long_loops(steps, snapshots):
    """Long loops too; as many snapshots as steps needs no deep recursion."""
    assert simulate(steps, snapshots) == closed_form(steps, snapshots)


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 30])
def test_enough_snapshots_recompute_nothing(steps):
    """s >= n - 1: the first sweep runs each step once (n - 1 plainly, the last one reversed),
    and no step runs plainly twice; the reverse steps rerun each step with residuals."""
    for snapshots in (max(steps - 1, 1), steps, steps + 5):
        advanced = []
        for action in revolve(steps, snapshots):
            if action[0] == "advance":
                advanced += range(action[1], action[2])
        assert advanced == list(range(steps - 1))
        assert simulate(steps, snapshots) == steps - 1


@pytest.mark.parametrize("steps", [1, 2, 3, 10, 45])
def test_one_snapshot_replays_from_the_start(steps):
    """s = 1: each step k is reached from step 0 again: n(n - 1)/2 plain runs, n(n + 1)/2
    runs in all with the n reverse steps."""
    advances = simulate(steps, 1)
    assert advances == steps * (steps - 1) // 2
    assert advances + steps == steps * (steps + 1) // 2


def test_a_small_schedule_reads_as_expected():
    assert list(revolve(5, 2)) == [
        ("takeshot", 0),
        ("advance", 0, 2),
        ("takeshot", 2),
        ("advance", 2, 4),
        ("reverse", 4),
        ("restore", 2),
        ("advance", 2, 3),
        ("reverse", 3),
        ("restore", 2),
        ("reverse", 2),
        ("restore", 0),
        ("advance", 0, 1),
        ("reverse", 1),
        ("restore", 0),
        ("reverse", 0),
    ]


def test_edge_cases():
    assert list(revolve(0, 1)) == []
    assert list(revolve(1, 0)) == [("reverse", 0)]  # one step needs no snapshot
    with pytest.raises(ValueError, match="at least 1 snapshot"):
        list(revolve(2, 0))


def test_snapshots_auto_is_ceil_log2():
    for steps in range(2, 5000):
        assert snapshots_auto(steps) == max(1, math.ceil(math.log2(steps))), steps
    assert snapshots_auto(0) == snapshots_auto(1) == 1
    assert snapshots_auto(10_000) == 14


def test_the_schedule_helpers_use_plain_python():
    for name in ("_revolve", "_snapshots_auto"):
        text, called = HELPERS[name]
        assert "import" not in text and "np." not in text and "dpgen" not in text.replace("# dpgen:", "")
        assert not called
