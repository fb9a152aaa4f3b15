"""Overhead of dpgen's generated gradient on an RNN, against the forward pass and a hand-written backward.

Run: `python benchmarks/rnn_overhead.py` (from the repository root, or anywhere). The workload
is the tanh RNN of examples/rnn/model.py: T=50 steps, batch 32, input 16, hidden 128, scalar
output per step, float64. It times medians of

  (a) forward     model.loss, the plain model function;
  (b) generated   model_grad.loss_grad (forward sweep + pullback, every cotangent);
  (c) hand        a hand-written NumPy backpropagation-through-time of the same loss (forward +
                  backward, the same cotangents: xs, ys, h0 and every parameter), checked against
                  (b) to 1e-10 before timing;

and the peak memory (tracemalloc, which sees NumPy's array allocations) of (b) and (c).

BLAS runs on one thread: threadpoolctl limits it when installed; otherwise (and in any case,
before NumPy is imported) OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
VECLIB_MAXIMUM_THREADS and NUMEXPR_NUM_THREADS are set to 1. The output says which applied.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # must happen before NumPy (and its BLAS) is loaded

import contextlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "rnn"))

import model  # noqa: E402
import model_grad  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - depends on the environment
    threadpool_limits = None

T, BATCH, INPUTS, HIDDEN, OUTPUTS = 50, 32, 16, 128, 1


def workload(seed: int = 0):
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(T, BATCH, INPUTS))
    ys = rng.normal(size=(T, BATCH, OUTPUTS))
    h0 = np.zeros((BATCH, HIDDEN))
    p = {
        "Wx": rng.normal(size=(INPUTS, HIDDEN)) / np.sqrt(INPUTS),
        "Wh": rng.normal(size=(HIDDEN, HIDDEN)) * 0.9 / np.sqrt(HIDDEN),
        "b": 0.1 * rng.normal(size=HIDDEN),
        "Wo": rng.normal(size=(HIDDEN, OUTPUTS)) / np.sqrt(HIDDEN),
        "bo": 0.1 * rng.normal(size=OUTPUTS),
    }
    return xs, ys, h0, p


def hand_grad(xs, ys, h0, p):
    """Gradient of model.loss by hand: (xs_bar, ys_bar, h0_bar, p_bar), like model_grad.loss_grad.

    The per-step work in the backward loop is only what the recurrence needs (dh through tanh
    and Wh); the weight gradients, the readout and the input cotangents are single matmuls
    over all time steps at once.
    """
    Wx, Wh, b, Wo, bo = p["Wx"], p["Wh"], p["b"], p["Wo"], p["bo"]
    steps, batch, _ = xs.shape
    hidden = Wh.shape[0]
    # Forward, keeping every hidden state: hs[0] = h0, hs[t + 1] = h after step t.
    hs = np.empty((steps + 1, batch, hidden))
    hs[0] = h0
    xw = xs @ Wx + b  # the input projections of all steps in one matmul
    for t in range(steps):
        hs[t + 1] = np.tanh(xw[t] + hs[t] @ Wh)
    del xw  # not needed by the backward pass; frees its memory before the cotangents are made
    pred = hs[1:] @ Wo + bo
    # Backward of mean((pred - ys) ** 2).
    pred_bar = (2.0 / pred.size) * (pred - ys)
    ys_bar = -pred_bar
    Wo_bar = hs[1:].reshape(-1, hidden).T @ pred_bar.reshape(-1, Wo.shape[1])
    bo_bar = pred_bar.sum(axis=(0, 1))
    h_out_bar = pred_bar @ Wo.T  # what each step's h receives from the readout
    a_bar = np.empty_like(h_out_bar)  # cotangent of the pre-activation, per step
    h_bar = np.zeros((batch, hidden))
    WhT = Wh.T
    for t in range(steps - 1, -1, -1):
        h_bar += h_out_bar[t]
        a_bar[t] = h_bar * (1.0 - hs[t + 1] ** 2)
        h_bar = a_bar[t] @ WhT
    flat_a = a_bar.reshape(-1, hidden)
    p_bar = {
        "Wx": xs.reshape(-1, xs.shape[2]).T @ flat_a,
        "Wh": hs[:-1].reshape(-1, hidden).T @ flat_a,
        "b": flat_a.sum(axis=0),
        "Wo": Wo_bar,
        "bo": bo_bar,
    }
    xs_bar = a_bar @ Wx.T
    return xs_bar, ys_bar, h_bar, p_bar


def max_difference(generated, hand) -> float:
    (gx, gy, gh, gp), (hx, hy, hh, hp) = generated, hand
    pairs = [(gx, hx), (gy, hy), (gh, hh)] + [(gp[k], hp[k]) for k in hp]
    assert set(gp) == set(hp)
    for g, h in pairs:
        assert np.shape(g) == np.shape(h), (np.shape(g), np.shape(h))
    return max(float(np.max(np.abs(g - h))) for g, h in pairs)


def median_ms(fns, repeats: int = 60, warmup: int = 3) -> list[float]:
    """Median milliseconds of each function; the functions take turns, so load on the machine
    during the run affects them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [1e3 * statistics.median(bucket) for bucket in times]


def peak_mib(fn) -> float:
    fn()  # warm caches outside the measurement
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


def main() -> None:
    xs, ys, h0, p = workload()
    generated = model_grad.loss_grad(xs, ys, h0, p)
    hand = hand_grad(xs, ys, h0, p)
    diff = max_difference(generated, hand)
    if diff > 1e-10:
        raise SystemExit(f"hand-written gradient differs from the generated one by {diff:.3e}")
    value, _ = model_grad.loss_vjp(xs, ys, h0, p)
    assert value == model.loss(xs, ys, h0, p)

    limits = threadpool_limits(limits=1) if threadpool_limits is not None else contextlib.nullcontext()
    how = "threadpoolctl.threadpool_limits(1) + env vars" if threadpool_limits is not None else "env vars (OMP/OPENBLAS/MKL/VECLIB/NUMEXPR_NUM_THREADS=1); threadpoolctl not installed"
    with limits:
        forward, gen, hnd = median_ms(
            [
                lambda: model.loss(xs, ys, h0, p),
                lambda: model_grad.loss_grad(xs, ys, h0, p),
                lambda: hand_grad(xs, ys, h0, p),
            ]
        )
        gen_mem = peak_mib(lambda: model_grad.loss_grad(xs, ys, h0, p))
        hnd_mem = peak_mib(lambda: hand_grad(xs, ys, h0, p))

    print(f"RNN T={T} batch={BATCH} input={INPUTS} hidden={HIDDEN} output={OUTPUTS} float64; numpy {np.__version__}")
    print(f"BLAS threads: 1, via {how}")
    print(f"hand-written vs generated gradient: max |difference| = {diff:.2e}")
    print()
    rows = [
        ("(a) forward  model.loss", forward, ""),
        ("(b) generated loss_grad", gen, f"{gen_mem:7.2f}"),
        ("(c) hand-written grad", hnd, f"{hnd_mem:7.2f}"),
    ]
    print(f"{'':26}{'median ms':>10}  {'peak MiB':>8}")
    for name, ms, mem in rows:
        print(f"{name:26}{ms:10.3f}  {mem:>8}")
    print()
    print(f"generated / hand-written  time {gen / hnd:5.2f}x   peak memory {gen_mem / hnd_mem:5.2f}x")
    print(f"generated / forward       time {gen / forward:5.2f}x")


if __name__ == "__main__":
    main()
