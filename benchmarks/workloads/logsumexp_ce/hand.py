"""Workload `logsumexp_ce`: seeded logits and labels, and the hand-written gradient.

The gradient of mean cross-entropy in the logits is (softmax - one_hot(labels)) / rows: one
exp, one row sum, one division and a scatter of -1 (the row maximum's own contribution is zero
and is not computed).
"""

import numpy as np

SIZES = {"full": {"rows": 512, "classes": 1000}, "small": {"rows": 8, "classes": 10}}
WRT = (0,)  # labels are integers used as an index: not differentiated


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(logits, labels): logits ~ N(0, 3**2), labels uniform over the classes."""
    s = SIZES[size]
    rng = np.random.default_rng(seed)
    logits = 3.0 * rng.normal(size=(s["rows"], s["classes"]))
    labels = rng.integers(0, s["classes"], size=s["rows"])
    return logits, labels


def grad(logits, labels):
    rows = logits.shape[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    g = e / e.sum(axis=1, keepdims=True)  # softmax; g is a fresh array, updated in place below
    g[np.arange(rows), labels] -= 1.0
    g *= 1.0 / rows
    return g
