"""What the benchmark suite shares: loading a workload, comparing gradients, timing, memory.

A workload is a folder of benchmarks/workloads/:

    model.py       the plain NumPy model; `model.loss(*args)` is the forward pass
    model_grad.py  what `dpgen diff model.py -o model_grad.py` writes (committed)
    hand.py        `inputs(size, seed)`, the hand-written `grad(*args)` (returning what dpgen's
                   `loss_grad` returns), `WRT` (the positions of the differentiated arguments)
                   and `SIZES` ("full" for run.py, "small" for tests/test_benchmarks.py)
    peers.py       the same loss for autograd, JAX and PyTorch (see peerlib.py)

run.py and checkpoint.py use all of this; tests/test_benchmarks.py uses the loading and the comparison.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
WORKLOADS = HERE / "workloads"
#: The order of the table: dense layers first, then Python-heavy, then array-heavy.
NAMES = ("mlp", "rnn", "ode", "logsumexp_ce", "elementwise", "while_newton", "heat")


@dataclass(frozen=True)
class Workload:
    name: str
    model: ModuleType  #: the source dpgen differentiates; model.loss is the forward pass
    model_grad: ModuleType  #: dpgen's committed output; model_grad.loss_grad
    hand: ModuleType  #: hand-written gradient, inputs(), WRT, SIZES


def load_module(path: Path, name: str) -> ModuleType:
    """Import one file under a unique name: every workload has a `model.py`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # what dataclasses and pickling look modules up in
    spec.loader.exec_module(module)
    return module


def load_workload(name: str) -> Workload:
    folder = WORKLOADS / name
    return Workload(
        name,
        load_module(folder / "model.py", f"bench_{name}_model"),
        load_module(folder / "model_grad.py", f"bench_{name}_model_grad"),
        load_module(folder / "hand.py", f"bench_{name}_hand"),
    )


def load_peers(name: str) -> ModuleType:
    """The workload's peers.py; it imports `peerlib` from this folder."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return load_module(WORKLOADS / name / "peers.py", f"bench_{name}_peers")


def machine(threads: int) -> list[str]:
    """Two lines saying where the numbers come from: CPU and OS, Python, NumPy and its BLAS."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return [
        f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, NumPy {np.__version__} ({blas.get('name')} {blas.get('version')}), {threads} BLAS/XLA/torch thread(s)",
    ]


# ---------------------------------------------------------------------------------------------
# Comparing gradients


def selected(result, wrt: tuple[int, ...]) -> list:
    """The differentiated entries of a dpgen-style gradient (a bare value when there is one)."""
    return [result] if len(wrt) == 1 else [result[i] for i in wrt]


def to_numpy(value) -> np.ndarray:
    """A NumPy array from a NumPy, JAX or PyTorch value (or a Python float)."""
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def flatten(values) -> list[np.ndarray]:
    """Arrays in a fixed order from nested tuples, lists and dicts (dicts by sorted key)."""
    if isinstance(values, dict):
        return [a for key in sorted(values) for a in flatten(values[key])]
    if isinstance(values, (tuple, list)):
        return [a for v in values for a in flatten(v)]
    return [to_numpy(values)]


def relative_error(got, expected) -> float:
    """max |got - expected| / max |expected| over every array; inf when shapes differ."""
    got, expected = flatten(got), flatten(expected)
    if len(got) != len(expected) or any(g.shape != e.shape for g, e in zip(got, expected)):
        return float("inf")
    scale = max(float(np.max(np.abs(e), initial=0.0)) for e in expected) or 1.0
    return max(float(np.max(np.abs(g - e), initial=0.0)) for g, e in zip(got, expected)) / scale


# ---------------------------------------------------------------------------------------------
# Timing and memory


def median_seconds(
    fns: dict[str, Callable[[], object]],
    budget: float,
    first: dict[str, float],
    min_repeats: int = 5,
    max_repeats: int = 300,
    cap: float = 20.0,
) -> tuple[dict[str, float], dict[str, int]]:
    """Median wall time of each warm function, and how many calls it is the median of.

    `first` holds one timed call of each function (after its warm-up), which counts as a
    sample and tells how many more to take: about `budget` seconds of calls, at least
    `min_repeats` and at most `max_repeats`, but no more than `cap` seconds, so a tool that
    needs many seconds per call is timed once or twice. The calls are interleaved, round r
    running every function that still wants an r-th call, so that load on the machine during
    the run hits all of them alike.
    """
    times = {name: [first[name]] for name in fns}
    wanted = {
        name: max(1, int(min(max_repeats, max(min_repeats, budget / max(once, 1e-9)), cap / max(once, 1e-9))))
        for name, once in first.items()
    }
    for r in range(1, max(wanted.values())):
        for name, fn in fns.items():
            if r < wanted[name]:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, {name: len(t) for name, t in times.items()}


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak memory that `fn` allocates, as tracemalloc sees it (NumPy reports its arrays)."""
    fn()  # warm caches outside the measurement
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - before
