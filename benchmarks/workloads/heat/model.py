"""Benchmark workload `heat`: the 1-D heat equation, explicit scheme, state updated in place.

A copy of examples/heat/model.py's stepper and misfit: 200 forward-Euler steps of
u_t = u_xx on 1,000 points (see hand.py), the interior written with a slice assignment
(`u[1:-1] = ...`) on a copy of the initial condition; `k` = dt / dx**2 (at most 0.5 for
stability). `steps` is annotated `int`, so it is not differentiated.
"""

import numpy as np


def simulate(u0, k, steps: int):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u


def loss(u0, target, k, steps: int):
    u = simulate(u0, k, steps)
    return np.mean((u - target) ** 2)
