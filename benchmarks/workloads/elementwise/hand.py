"""Workload `elementwise`: a seeded vector of 10**6 and the hand-written derivative.

d/dx [sin(x) exp(-x**2) + log1p(x**2)] = exp(-x**2) (cos(x) - 2 x sin(x)) + 2 x / (1 + x**2),
with x**2 and exp(-x**2) computed once.
"""

import numpy as np

SIZES = {"full": {"n": 10**6}, "small": {"n": 1000}}
WRT = (0,)


def inputs(size: str = "full", seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=SIZES[size]["n"]),)


def grad(x):
    x2 = x * x
    return np.exp(-x2) * (np.cos(x) - 2.0 * x * np.sin(x)) + 2.0 * x / (1.0 + x2)
