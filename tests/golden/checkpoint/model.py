"""Checkpointing: a checkpointed def, a `for` loop under binomial checkpointing (Revolve), and a
`while` loop, whose trip count depends on the data, under online checkpointing."""

import numpy as np


# dpgen: checkpoint
def diffuse(u, kappa):
    """One explicit heat-equation step; the ends stay where they are."""
    v = u.copy()
    v[1:-1] = u[1:-1] + kappa * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return v


def simulate(u0, kappa, steps: int = 12):
    u = u0
    for _ in range(steps):  # dpgen: checkpoint
        u = diffuse(u, kappa)
    return np.sum(u * u)


def cube_root(a):
    x = np.maximum(a, 1.0)
    # Newton's iteration: the number of steps depends on a
    # dpgen: checkpoint snapshots=3
    while np.max(np.abs(x**3 - a)) > 1e-12:
        x = x - (x**3 - a) / (3.0 * x**2)
    return np.sum(x * x)
