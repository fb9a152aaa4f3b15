"""Workload `rnn`: seeded inputs and a hand-written NumPy backpropagation through time.

`grad` returns what dpgen's `loss_grad` returns: (xs_bar, ys_bar, h0_bar, p_bar) with p_bar a
dict. The per-step work of the backward loop is only what the recurrence needs (the cotangent
of h through tanh and Wh); the weight gradients, the readout and the input cotangents are one
matmul each over all time steps at once: what a careful person writes by hand.
"""

import numpy as np

SIZES = {
    "full": {"steps": 50, "batch": 32, "inputs": 16, "hidden": 128, "outputs": 1},
    "small": {"steps": 5, "batch": 3, "inputs": 4, "hidden": 6, "outputs": 1},
}
WRT = (0, 1, 2, 3)


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(xs, ys, h0, p): sequences (T, batch, input), targets (T, batch, output), a zero state."""
    s = SIZES[size]
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(s["steps"], s["batch"], s["inputs"]))
    ys = rng.normal(size=(s["steps"], s["batch"], s["outputs"]))
    h0 = np.zeros((s["batch"], s["hidden"]))
    p = {
        "Wx": rng.normal(size=(s["inputs"], s["hidden"])) / np.sqrt(s["inputs"]),
        "Wh": rng.normal(size=(s["hidden"], s["hidden"])) * 0.9 / np.sqrt(s["hidden"]),
        "b": 0.1 * rng.normal(size=s["hidden"]),
        "Wo": rng.normal(size=(s["hidden"], s["outputs"])) / np.sqrt(s["hidden"]),
        "bo": 0.1 * rng.normal(size=s["outputs"]),
    }
    return xs, ys, h0, p


def grad(xs, ys, h0, p):
    Wx, Wh, b, Wo, bo = p["Wx"], p["Wh"], p["b"], p["Wo"], p["bo"]
    steps, batch, _ = xs.shape
    hidden = Wh.shape[0]
    # Forward, keeping every hidden state: hs[0] = h0, hs[t + 1] = h after step t.
    hs = np.empty((steps + 1, batch, hidden))
    hs[0] = h0
    xw = xs @ Wx + b  # the input projections of all steps in one matmul
    for t in range(steps):
        hs[t + 1] = np.tanh(xw[t] + hs[t] @ Wh)
    del xw  # the backward pass does not need it: free it before the cotangents are made
    pred = hs[1:] @ Wo + bo
    # Backward of mean((pred - ys) ** 2).
    pred_bar = (2.0 / pred.size) * (pred - ys)
    Wo_bar = hs[1:].reshape(-1, hidden).T @ pred_bar.reshape(-1, Wo.shape[1])
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
        "bo": pred_bar.sum(axis=(0, 1)),
    }
    return a_bar @ Wx.T, -pred_bar, h_bar, p_bar
