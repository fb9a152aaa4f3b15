"""Workload `mlp`: seeded inputs and the hand-written NumPy gradient of model.loss.

`grad` returns what dpgen's `loss_grad` returns: one cotangent per parameter, inputs and
targets included (dpgen differentiates in every float argument, and so does every peer).
"""

import numpy as np

SIZES = {
    "full": {"batch": 256, "widths": (64, 256, 256, 1)},
    "small": {"batch": 8, "widths": (5, 7, 6, 1)},
}
WRT = (0, 1, 2, 3, 4, 5, 6, 7)  # positions of the arguments the gradient is taken in


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(x, y, W1, b1, W2, b2, W3, b3), float64, Glorot-scaled weights."""
    batch, (n0, n1, n2, n3) = SIZES[size]["batch"], SIZES[size]["widths"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, n0))
    y = rng.normal(size=(batch, n3))
    W1 = rng.normal(size=(n0, n1)) / np.sqrt(n0)
    W2 = rng.normal(size=(n1, n2)) / np.sqrt(n1)
    W3 = rng.normal(size=(n2, n3)) / np.sqrt(n2)
    b1, b2, b3 = (0.1 * rng.normal(size=n) for n in (n1, n2, n3))
    return x, y, W1, b1, W2, b2, W3, b3


def grad(x, y, W1, b1, W2, b2, W3, b3):
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    pred = h2 @ W3 + b3
    pred_bar = (2.0 / pred.size) * (pred - y)  # d mean((pred - y)**2)
    a2_bar = (pred_bar @ W3.T) * (1.0 - h2 * h2)  # tanh' from its output
    a1_bar = (a2_bar @ W2.T) * (1.0 - h1 * h1)
    return (
        a1_bar @ W1.T,
        -pred_bar,
        x.T @ a1_bar,
        a1_bar.sum(axis=0),
        h1.T @ a2_bar,
        a2_bar.sum(axis=0),
        h2.T @ pred_bar,
        pred_bar.sum(axis=0),
    )
