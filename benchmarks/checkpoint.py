"""Checkpointing (issue 12): peak memory and time of checkpointed gradients, as ratios to the
same gradient without checkpointing, measured in one run.

Run from anywhere: `python benchmarks/checkpoint.py [--size small] [--budget SECONDS]`. For each
case below it writes the workload's model.py into a temporary folder once plainly and once per
snapshot budget with the pragma on its loop (`# dpgen: checkpoint` for auto, `# dpgen: checkpoint
snapshots=N`), generates each with `dpgen diff` (this checkout's dpgen, in-process), and then

1. checks every checkpointed gradient against the plain one (relative 1e-12; the same
   operations run on the same states, so they agree to rounding) before timing it, and counts
   the calls of the loop body's `_vjp` (a counting wrapper put in its place: the tape calls the
   function object it is handed), printed beside the closed form of the schedule;
2. measures the peak memory of one `loss_grad` call (tracemalloc, started just before it);
3. times every variant of the case, interleaved (see harness.median_seconds), and prints
   medians and ratios to the plain gradient as one Markdown table per case.

The cases: `heat` (the heat workload with 10,000 steps x 1,000 points, `for` over `range`:
Revolve, the whole curve over the snapshot budget s), `heat-while` (the same stepper as a
`while` loop: the online tape), `rnn` (a `for` over the rows of an array) and `ode` (RK4 over
`range`, Python floats), `while_newton` (a data-dependent `while`). One BLAS thread.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# One BLAS thread, as run.py's default: set before harness imports NumPy, which starts its pool.
if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        os.environ[_var] = "1"

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # this checkout's dpgen, not whichever one is installed

import harness  # noqa: E402

AGREE = 1e-12  # checkpointed against plain: the same floating-point operations, recomputed
AUTO = None  # the snapshot budget of a bare `# dpgen: checkpoint`: ceil(log2 n)

#: The heat equation written as a `while` loop: the same steps, a trip count the tape cannot
#: know on entry, so it is checkpointed online.
HEAT_WHILE = '''"""The heat workload's stepper as a `while` loop (benchmarks/checkpoint.py)."""

import numpy as np


def simulate(u0, k, steps: int):
    u = u0.copy()
    i = 0
    while i < steps:
        u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
        i = i + 1
    return u


def loss(u0, target, k, steps: int):
    u = simulate(u0, k, steps)
    return np.mean((u - target) ** 2)
'''


@dataclass(frozen=True)
class Case:
    name: str
    workload: str  #: the folder of benchmarks/workloads/ whose hand.inputs() gives the arguments
    loop: str  #: the loop's line in the source, stripped, where the pragma goes
    schedule: str  #: "revolve" (trip count known on entry) or "online"
    snapshots: dict[str, tuple[int | None, ...]]  #: budgets per size; AUTO = the pragma without snapshots=
    steps: dict[str, int] | None = None  #: a trip count replacing the workload's (its last argument)
    source: str | None = None  #: the model's text, when it is not the workload's model.py


CASES = (
    Case(
        "heat",
        "heat",
        "for _ in range(steps):",
        "revolve",
        {"full": (4, 8, AUTO, 20, 40, 100, 1000), "small": (1, 2, AUTO, 20, 100)},
        steps={"full": 10_000, "small": 100},
    ),
    Case(
        "heat-while",
        "heat",
        "while i < steps:",
        "online",
        {"full": (8, AUTO, 40), "small": (1, 2, AUTO, 20)},
        steps={"full": 10_000, "small": 100},
        source=HEAT_WHILE,
    ),
    Case("rnn", "rnn", "for x in xs:", "revolve", {"full": (2, AUTO), "small": (1, AUTO)}),
    Case("ode", "ode", "for _ in range(steps):", "revolve", {"full": (AUTO, 20), "small": (1, AUTO)}),
    Case(
        "while_newton",
        "while_newton",
        "while np.max(np.abs(step)) > 1e-12:",
        "online",
        {s: (AUTO,) for s in ("full", "small")},
    ),
)


# ---------------------------------------------------------------------------------------------
# Closed forms (the schedules' documented costs)


def snapshots_auto(steps: int) -> int:
    """What `# dpgen: checkpoint` means on a loop of `steps` steps: ceil(log2 steps), at least 1."""
    return max(1, (steps - 1).bit_length())


def revolve_advances(steps: int, snapshots: int) -> int:
    """Griewank and Walther's minimum number of steps run plainly to reverse `steps` steps with
    `snapshots` stored states (the first sweep included, the reversed steps' own runs not):
    t * n - binomial(s + t, t - 1), t the least integer with binomial(s + t, s) >= n."""
    t = 0
    while math.comb(snapshots + t, snapshots) < steps:
        t += 1
    return t * steps - (math.comb(snapshots + t, t - 1) if t > 0 else 0)


def revolve_calls(steps: int, snapshots: int) -> int:
    """Calls of the body's _vjp under `_RevolveTape`: the forward sweep runs all n steps (the
    schedule's first advances, n - 1 steps, and the last step, whose pullback is kept), the
    remaining advances run R(n, s) - (n - 1) steps, and every step but the last is run once
    more to get its pullback: n + R(n, s) - (n - 1) + (n - 1) = n + R(n, s)."""
    return steps + revolve_advances(steps, snapshots) if steps else 0


def online_budget(steps: int, snapshots: int | None) -> int:
    """`_OnlineTape`'s s after `steps` steps: the given one, or (auto) max(4, ceil(log2 steps))."""
    return max(4, snapshots_auto(steps)) if snapshots is None else snapshots


def online_kept(steps: int, snapshots: int | None) -> tuple[list[int], int]:
    """The steps before which `_OnlineTape`'s doubling scheme holds a state after the forward
    sweep, and the spacing d: every d-th step (d = 1 at first); when a state is due and s are
    held already, d doubles and the states off the new spacing are dropped."""
    spacing, kept = 1, []
    for i in range(steps):
        if i % spacing == 0 and len(kept) >= online_budget(i + 1, snapshots):
            spacing *= 2
            kept = [k for k in kept if k % spacing == 0]
        if i % spacing == 0:
            kept.append(i)
    return kept, spacing


def online_calls(steps: int, snapshots: int | None) -> tuple[int, int]:
    """Calls of the body's _vjp under `_OnlineTape` (its docstring's count) and its stated bound.

    Exactly 2n - 1 + the sum of R(L, s) over the segments between held states (each reversed by
    Revolve with s snapshots; the last segment stops before the last step, whose pullback the
    forward sweep kept), and at most (t + 2) n, t the least integer with binomial(s + t, s) >= d.
    """
    if steps == 0:
        return 0, 0
    (kept, spacing), s = online_kept(steps, snapshots), online_budget(steps, snapshots)
    ends = [*kept[1:], steps - 1]
    exact = 2 * steps - 1 + sum(revolve_advances(end - start, s) for start, end in zip(kept, ends))
    t = 0
    while math.comb(s + t, s) < spacing:
        t += 1
    return exact, (t + 2) * steps


# ---------------------------------------------------------------------------------------------
# Variants: the model with a pragma, generated by dpgen


def with_pragma(source: str, loop: str, snapshots: int | None | str) -> str:
    """`source` with the checkpoint pragma trailing the line `loop` ("plain": unchanged)."""
    if snapshots == "plain":
        return source
    lines = source.split("\n")
    (index,) = [i for i, line in enumerate(lines) if line.strip() == loop]
    pragma = "# dpgen: checkpoint" if snapshots is AUTO else f"# dpgen: checkpoint snapshots={snapshots}"
    lines[index] += "  " + pragma
    return "\n".join(lines)


def generate(source: str, folder: Path, module_name: str):
    """Write `source` as folder/model.py, run `dpgen diff` on it, import the result.

    In-process through dpgen's own command line (click's runner), so this checkout's dpgen is
    what runs; its warnings (e.g. a pragma not applied) are returned for the report.
    """
    from click.testing import CliRunner

    from dpgen.cli import main

    folder.mkdir(parents=True)
    (folder / "model.py").write_text(source)
    result = CliRunner().invoke(main, ["diff", str(folder / "model.py"), "-o", str(folder / "model_grad.py")])
    if result.exit_code != 0:
        raise SystemExit(f"dpgen diff failed on {folder / 'model.py'}:\n{result.output}")
    text = (folder / "model_grad.py").read_text()
    return harness.load_module(folder / "model_grad.py", module_name), text, result.stderr.strip()


def body_vjp_name(text: str, source: str, loop: str) -> str:
    """The generated `_vjp` of the loop body at `loop`'s line (e.g. `_simulate_line14_for_vjp`)."""
    line = 1 + [line.strip() for line in source.split("\n")].index(loop)
    (name,) = set(re.findall(rf"^def (_\w*_line{line}_(?:for|while)\w*_vjp)\(", text, re.MULTILINE))
    return name


def counted(module, name: str, call: Callable[[], object]) -> tuple[object, int]:
    """Run `call` with module.<name> replaced by a wrapper counting its calls."""
    original = getattr(module, name)
    calls = 0

    def counting(*args):
        nonlocal calls
        calls += 1
        return original(*args)

    setattr(module, name, counting)
    try:
        return call(), calls
    finally:
        setattr(module, name, original)


def peak_bytes(call: Callable[[], object]) -> int:
    """Peak memory of one call as tracemalloc sees it (NumPy reports its arrays to it)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - before


class Disagrees(Exception):
    """A variant's gradient is not the plain one's: it is reported, never timed."""


@dataclass
class Variant:
    label: str
    snapshots: int | None | str  #: "plain", "hand" (the hand-written gradient), AUTO or a number
    call: Callable[[], object]  #: one gradient
    calls: int = 0  #: calls of the loop body's _vjp in one gradient
    warning: str = ""  #: what dpgen printed generating it
    memory: int = 0
    gradient: list | None = None  #: the differentiated entries


def prepare(case: Case, size: str, root: Path) -> tuple[list[Variant], int]:
    """Generate every variant of `case` under `root` and check it; the loop's trip count.

    The variants are the plain gradient, the hand-written one (the workload's hand.py: a
    reference, checked to 1e-8 as run.py does) and one per snapshot budget, each checked
    against the plain gradient to AGREE. The trip count is the plain run's body-vjp calls.
    """
    source = case.source or (harness.WORKLOADS / case.workload / "model.py").read_text()
    hand = harness.load_module(harness.WORKLOADS / case.workload / "hand.py", f"ckpt_{case.workload}_hand")
    args = hand.inputs(size)
    if case.steps:
        args = (*args[:-1], case.steps[size])
    variants = []
    for snapshots in ("plain", *case.snapshots[size]):
        label = "plain" if snapshots == "plain" else "auto" if snapshots is AUTO else f"s={snapshots}"
        text = with_pragma(source, case.loop, snapshots)
        module, generated, warning = generate(
            text, root / case.name / label.replace("=", ""), f"ckpt_{case.name}_{label}"
        )
        variant = Variant(label, snapshots, lambda m=module: m.loss_grad(*args), warning=warning)
        gradient, variant.calls = counted(module, body_vjp_name(generated, source, case.loop), variant.call)
        variant.gradient = harness.selected(gradient, hand.WRT)
        variants.append(variant)
    variants.insert(1, Variant("hand-written", "hand", lambda: hand.grad(*args)))
    variants[1].gradient = harness.selected(variants[1].call(), hand.WRT)
    plain = variants[0].gradient
    for v in variants[1:]:
        error = harness.relative_error(v.gradient, plain)
        if not error <= (1e-8 if v.snapshots == "hand" else AGREE):
            raise Disagrees(
                f"{case.name}, {v.label}: the gradient differs from the plain one by {error:.1e} (relative)"
            )
    return variants, variants[0].calls


def expected_calls(case: Case, variant: Variant, steps: int) -> int | None:
    """How many times the schedule's closed form says the body's _vjp runs in one gradient."""
    if variant.snapshots == "plain":
        return steps
    if variant.snapshots == "hand":
        return None
    if case.schedule == "revolve":
        return revolve_calls(steps, snapshots_auto(steps) if variant.snapshots is AUTO else variant.snapshots)
    return online_calls(steps, variant.snapshots)[0]


def calls_cell(case: Case, variant: Variant, steps: int) -> str:
    """The closed form (and for the online tape its stated bound), as a table cell."""
    expected = expected_calls(case, variant, steps)
    if expected is None:
        return "–"
    if case.schedule == "online" and variant.snapshots != "plain":
        return f"{expected:,} (≤ {online_calls(steps, variant.snapshots)[1]:,})"
    return f"{expected:,}"


# ---------------------------------------------------------------------------------------------
# The report


def fmt_time(seconds: float) -> str:
    ms = seconds * 1e3
    return (
        f"{seconds:.2f} s"
        if ms >= 1000
        else f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"
    )


def fmt_bytes(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def fmt_ratio(r: float) -> str:
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def fmt_percent(r: float) -> str:
    return f"{100 * r:.1f} %" if r >= 0.01 else f"{100 * r:.2f} %"


def budget_cell(case: Case, variant: Variant, steps: int) -> str:
    """The snapshot budget s of a variant, as the tape sees it."""
    if variant.snapshots in ("plain", "hand"):
        return "–"
    if variant.snapshots is not AUTO:
        return str(variant.snapshots)
    if case.schedule == "revolve":
        return str(snapshots_auto(steps))
    return f"auto ({online_budget(steps, None)})"


def run_case(case: Case, size: str, budget: float, root: Path) -> dict:
    variants, steps = prepare(case, size, root)
    for variant in variants:
        variant.memory = peak_bytes(variant.call)
        variant.gradient = None  # the gradients are not needed any more: free them before timing
    first = {}
    for variant in variants:
        start = time.perf_counter()
        variant.call()
        first[variant.label] = time.perf_counter() - start
    times, counts = harness.median_seconds({v.label: v.call for v in variants}, budget, first, cap=60.0)
    plain = variants[0]
    print(f"### `{case.name}`: {case.schedule}, n = {steps:,} steps\n")
    print("| variant | s | time | time / plain | peak memory | memory / plain | body-vjp calls | closed form |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for v in variants:
        few = "†" if counts[v.label] < 3 else ""
        print(
            f"| {v.label} | {budget_cell(case, v, steps)} | {fmt_time(times[v.label])}{few} "
            f"| {fmt_ratio(times[v.label] / times[plain.label])} | {fmt_bytes(v.memory)} "
            f"| {fmt_percent(v.memory / plain.memory)} | {f'{v.calls:,}' if v.calls else '–'} "
            f"| {calls_cell(case, v, steps)} |"
        )
    print()
    for v in variants:
        if v.warning:  # e.g. a pragma this checkout's dpgen does not apply yet
            print(f"{v.label}: dpgen said: {v.warning.replace(str(root) + os.sep, '')}")
    if any(v.warning for v in variants):
        print()
    return {v.label: (times[v.label] / times[plain.label], v.memory / plain.memory) for v in variants}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", choices=("full", "small"), default="full", help="input sizes (small: a quick smoke run)"
    )
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per cell (default 2)")
    parser.add_argument(
        "--only", nargs="+", metavar="CASE", choices=[c.name for c in CASES], help="run these cases only"
    )
    args = parser.parse_args(argv)
    print("Machine: " + "\n         ".join(harness.machine(1)))
    print(
        f"Sizes:   {args.size}; medians of interleaved calls, about {args.budget:g} s of calls per cell\n", flush=True
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="dpgen-checkpoint-") as tmp:
        for case in CASES:
            if args.only and case.name not in args.only:
                continue
            started = time.perf_counter()
            try:
                results[case.name] = run_case(case, args.size, args.budget, Path(tmp))
            except Disagrees as exc:
                raise SystemExit(f"error: {exc}; nothing timed") from None
            print(f"  {case.name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print("Each row: median time and peak memory (tracemalloc) of one loss_grad call; ratios to the plain")
    print("gradient of the same run. s: the snapshot budget. † timed fewer than 3 times.")
    if "heat" in results and args.size == "full":
        time_ratio, memory_ratio = results["heat"]["auto"]
        print()
        print("Goals for heat at snapshots=auto:")
        print(
            f"  memory <= 5 % of the plain gradient: {fmt_percent(memory_ratio)}, {'met' if memory_ratio <= 0.05 else 'missed'}"
        )
        print(f"  time <= 3x the plain gradient: {fmt_ratio(time_ratio)}, {'met' if time_ratio <= 3 else 'missed'}")


if __name__ == "__main__":
    main()
