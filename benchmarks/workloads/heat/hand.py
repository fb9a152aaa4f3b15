"""Workload `heat`: a seeded initial state and target, and the hand-written adjoint stepper.

The forward sweep updates the interior in place and keeps each step's discrete Laplacian
(all the backward sweep needs: the step is linear in u, and k's cotangent is the Laplacian
weighted by the interior cotangent). The backward sweep applies the transposed stencil in
place on one cotangent array.
"""

import numpy as np

SIZES = {"full": {"points": 1000, "steps": 200}, "small": {"points": 20, "steps": 10}}
WRT = (0, 1, 2)  # steps is an int


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(u0, target, k, steps): random initial state and target, k in [0.2, 0.45] (stable)."""
    s = SIZES[size]
    rng = np.random.default_rng(seed)
    u0 = rng.normal(size=s["points"])
    target = rng.normal(size=s["points"])
    k = float(rng.uniform(0.2, 0.45))
    return u0, target, k, s["steps"]


def grad(u0, target, k, steps):
    u = u0.copy()
    laps = np.empty((steps, u.size - 2))
    for t in range(steps):
        lap = laps[t]
        np.subtract(u[2:], 2 * u[1:-1], out=lap)
        lap += u[:-2]
        u[1:-1] += k * lap
    u_bar = (2.0 / u.size) * (u - target)
    target_bar = -u_bar
    k_bar = 0.0
    for t in range(steps - 1, -1, -1):
        inner = k * u_bar[1:-1]  # a new array: the updates below must read the old cotangent
        k_bar += u_bar[1:-1] @ laps[t]
        u_bar[1:-1] -= 2 * inner
        u_bar[2:] += inner
        u_bar[:-2] += inner
    return u_bar, target_bar, k_bar, None
