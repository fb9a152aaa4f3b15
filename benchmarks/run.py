"""The benchmark table: dpgen's generated gradients against the forward pass, a hand-written
gradient and the peer AD tools, on the workloads of benchmarks/workloads/.

Run from anywhere: `python benchmarks/run.py` (peers need `pip install -e '.[bench]'`; those not
installed are left out). For every workload it

1. checks the dpgen gradient and each peer's against the hand-written one (relative 1e-8)
   before timing it: a gradient that fails is reported as wrong and not timed;
2. times the forward pass (model.loss), the hand-written gradient, dpgen's loss_grad and each
   peer, interleaved (see harness.median_seconds), and prints medians and ratios to the forward
   pass as one Markdown table;
3. reports the peak memory (tracemalloc) of dpgen's and the hand-written gradient for the
   workloads that keep a tape over a loop (rnn, heat).

Every library gets the same number of threads (`--threads`, 1 by default): the BLAS variables
and XLA's flags are set here, before NumPy, JAX or PyTorch is imported. The timings of code
generation are benchmarks/generation.py (`--generation` runs it after the table); checkpointed
gradients' memory and time against plain ones are benchmarks/checkpoint.py.
"""

from __future__ import annotations

import argparse
import os
import sys

PARSER = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
PARSER.add_argument("--only", nargs="+", metavar="WORKLOAD", help="run these workloads only")
PARSER.add_argument("--no-peers", action="store_true", help="time forward, hand-written and dpgen only")
PARSER.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per cell (default 2)")
PARSER.add_argument("--size", choices=("full", "small"), default="full", help="input sizes (small: a quick smoke run)")
PARSER.add_argument("--threads", type=int, default=1, help="BLAS / XLA / torch threads for everyone (default 1)")
PARSER.add_argument("--generation", action="store_true", help="also run benchmarks/generation.py")
ARGS = PARSER.parse_args()

# Must happen before NumPy, JAX or PyTorch loads its thread pool.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = str(ARGS.threads)
os.environ["XLA_FLAGS"] = (
    f"--xla_cpu_multi_thread_eigen={'true' if ARGS.threads > 1 else 'false'} intra_op_parallelism_threads={ARGS.threads}"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

RTOL = 1e-8  # gradients agree to ~1e-15 in practice; 1e-8 leaves room for summation order
MEMORY = ("rnn", "heat")  # loops whose tape (dpgen) or stored states (hand) dominate memory
CORE = ("forward", "hand-written", "dpgen")
peerlib = None  # benchmarks/peerlib.py, imported by main() unless --no-peers


def fmt_time(seconds: float) -> str:
    ms = seconds * 1e3
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def fmt_ratio(r: float) -> str:
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, peers: list[str]) -> dict:
    """One workload: {"cells": {column: text}, "notes": {column: note}, "times": {...}}."""
    w = harness.load_workload(name)
    args = w.hand.inputs(ARGS.size)
    wrt = w.hand.WRT
    expected = harness.selected(w.hand.grad(*args), wrt)
    fns = {
        "forward": lambda: w.model.loss(*args),
        "hand-written": lambda: w.hand.grad(*args),
        "dpgen": lambda: w.model_grad.loss_grad(*args),
    }
    cells, notes = {}, {}
    fns["forward"]()  # warm-up; the others are warmed by the checks below
    error = harness.relative_error(harness.selected(w.model_grad.loss_grad(*args), wrt), expected)
    if error > RTOL:
        cells["dpgen"] = f"wrong ({error:.0e})"
        del fns["dpgen"]
    if peers:
        module = harness.load_peers(name)
        notes = dict(getattr(module, "NOTES", {}))
        for peer in peers:
            try:
                run = module.SETUP[peer](args, wrt)
                error = harness.relative_error(run(), expected)  # also the warm-up (JIT compiles)
            except peerlib.NotInstalled:
                cells[peer] = "not installed"
                continue
            except peerlib.Unsupported:
                cells[peer] = "n/a"
                continue
            except Exception as exc:  # a peer that crashes is reported, not fatal
                cells[peer] = f"fails: {type(exc).__name__}"
                notes[peer] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                continue
            if error > RTOL:
                cells[peer] = f"wrong ({error:.0e})"
                continue
            fns[peer] = run
    # One timed call each, which counts as a sample and tells how many more to take.
    times, counts = harness.median_seconds(fns, ARGS.budget, first={column: timed(fn) for column, fn in fns.items()})
    forward = times["forward"]
    for column, seconds in times.items():
        few = "†" if counts[column] < 3 else ""
        cells[column] = (
            fmt_time(seconds) + few
            if column == "forward"
            else f"{fmt_time(seconds)}{few} ({fmt_ratio(seconds / forward)})"
        )
    memory = None
    if name in MEMORY and "dpgen" in fns:
        memory = (
            harness.peak_bytes(fns["dpgen"]),
            harness.peak_bytes(fns["hand-written"]),
            harness.peak_bytes(fns["forward"]),
        )
    return {"cells": cells, "notes": notes, "times": times, "memory": memory}


def main() -> None:
    global peerlib
    names = ARGS.only or list(harness.NAMES)
    peers = []
    if not ARGS.no_peers:
        import peerlib  # only now: importing JAX and PyTorch takes seconds

        peers = [peer for peer, module in peerlib.PEERS.items() if module is not None]
    print("Machine: " + "\n         ".join(harness.machine(ARGS.threads)))
    versions = peerlib.versions() if peers else {}
    if peers:
        print("Peers:   " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(
        f"Sizes:   {ARGS.size}; medians of interleaved calls, about {ARGS.budget:g} s of calls per cell\n", flush=True
    )
    results = {}
    for name in names:
        started = time.perf_counter()
        results[name] = bench(name, peers)
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    columns = [*CORE, *peers]
    header = ["workload", *columns[:3], "dpgen / hand", *columns[3:]]
    rows, footnotes = [], []
    for name in names:
        result = results[name]
        t = result["times"]
        ratio = fmt_ratio(t["dpgen"] / t["hand-written"]) if "dpgen" in t else "–"
        cells = []
        for column in columns:
            text = result["cells"].get(column, "–")
            note = result["notes"].get(column)
            if note:
                footnotes.append(f"{name}, {column}: {note}")
                text += f" [{len(footnotes)}]"
            cells.append(text)
        rows.append([f"`{name}`", *cells[:3], ratio, *cells[3:]])
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(
        "Each cell: median time (ratio to the forward pass). † timed fewer than 3 times (one call takes many seconds)."
    )
    for i, note in enumerate(footnotes, 1):
        print(f"[{i}] {note}")

    measured = [n for n in names if "dpgen" in results[n]["times"]]
    if measured:
        print()
        print("Targets (dpgen <= 1.15x hand-written, <= 3x forward, faster than autograd / jax eager / torch):")
        for n in measured:
            t = results[n]["times"]
            slower = [p for p in ("autograd", "jax eager", "torch") if p in t and t[p] <= t["dpgen"]]
            missed = [
                label
                for label, ok in (
                    ("vs hand", t["dpgen"] <= 1.15 * t["hand-written"]),
                    ("vs forward", t["dpgen"] <= 3 * t["forward"]),
                )
                if not ok
            ]
            missed += [f"slower than {p}" for p in slower]
            print(f"  {n}: " + ("met" if not missed else "missed " + ", ".join(missed)))

    mem = [(n, results[n]["memory"]) for n in names if results[n]["memory"]]
    if mem:
        print()
        print("Peak memory (tracemalloc) of one gradient call:")
        print()
        print("| workload | forward | hand-written | dpgen | dpgen / hand |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for n, (gen, hand, fwd) in mem:
            print(
                f"| `{n}` | {fwd / 2**20:.2f} MiB | {hand / 2**20:.2f} MiB | {gen / 2**20:.2f} MiB | {fmt_ratio(gen / hand)} |"
            )

    if ARGS.generation:
        import generation

        print()
        generation.main()
    else:
        print("\nCode-generation timings: python benchmarks/generation.py")


if __name__ == "__main__":
    main()
