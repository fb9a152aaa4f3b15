"""Benchmark workload `rnn`: a vanilla tanh RNN over a Python `for` loop, MSE at every step.

A copy of examples/rnn/model.py (kept separate so the example can change without moving the
benchmark): T=50 steps, batch 32, input 16, hidden 128, one output (see hand.py). `p` is a dict
of parameters; dpgen's gradient of `p` is a dict with the same keys.
"""

import numpy as np


def predict(xs, h0, p):
    h = h0
    outs = []
    for x in xs:
        h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
        outs.append(h @ p["Wo"] + p["bo"])
    return np.stack(outs)


def loss(xs, ys, h0, p):
    pred = predict(xs, h0, p)
    return np.mean((pred - ys) ** 2)
