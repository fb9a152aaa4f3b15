"""Benchmark workload `mlp`: a two-hidden-layer tanh MLP with a mean-squared-error loss.

Batch 256, widths 64 -> 256 -> 256 -> 1 (see hand.py). Written as a NumPy user writes it;
`dpgen diff model.py -o model_grad.py` writes the committed `loss_grad`.
"""

import numpy as np


def predict(x, W1, b1, W2, b2, W3, b3):
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    return h2 @ W3 + b3


def loss(x, y, W1, b1, W2, b2, W3, b3):
    pred = predict(x, W1, b1, W2, b2, W3, b3)
    return np.mean((pred - y) ** 2)
