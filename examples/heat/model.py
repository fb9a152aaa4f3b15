"""The 1-D heat equation stepped with an explicit scheme, and the misfit of its final state.

`simulate` advances u_t = u_xx with the forward-Euler / centred-difference scheme, updating the
interior of the state in place (`u[1:-1] = ...`) on a copy of the initial condition; the two end
values stay fixed (Dirichlet boundaries). `k` = dt / dx**2 must be at most 0.5 for stability.
`steps` is annotated `int`, so it is not differentiated.

`dpgen diff model.py -o model_grad.py` writes `objective_grad`, which `solve.py` uses to recover
the initial condition from the final state.
"""

import numpy as np


def simulate(u0, k, steps: int):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u


def misfit(u0, target, k, steps: int):
    u = simulate(u0, k, steps)
    return np.mean((u - target) ** 2)


def roughness(u0):
    return np.mean((u0[1:] - u0[:-1]) ** 2)


def objective(u0, target, k, steps: int, alpha):
    return misfit(u0, target, k, steps) + alpha * roughness(u0)
