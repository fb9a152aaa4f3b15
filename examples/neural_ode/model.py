"""A neural ODE: a small MLP is the right-hand side dy/dt = f(y; p) of a 2-D system, integrated
with an adaptive Dormand-Prince (RK45) solver written in NumPy, and fitted to a spiral.

The solver is the textbook one: each step takes the 5th-order solution and estimates its error
with the embedded 4th-order one; a step whose scaled error norm is at most 1 is accepted, and the
next step size is the current one times `0.9 * err**(-1/5)`, clamped to [0.2, 5]. It steps
exactly onto every observation time (the step is shortened to land there), so the states it
records are the solution at those times, with no interpolation.

dpgen differentiates the solver as written (the discrete adjoint: the derivative of the very
computation that ran, step-size control included), through the `while` loop whose trip count
depends on the parameters. The loop carries a `# dpgen: checkpoint` pragma, so the gradient keeps
about log2(steps) snapshots of the solver state instead of every step's intermediate values.
`rk4_loss` is the same fit with fixed-step RK4 (a `for` loop, checkpointed too), for comparison.

`dpgen diff model.py -o model_grad.py` writes `loss_grad` and `rk4_loss_grad`, which `train.py` uses.
"""

import numpy as np


def rhs(y, p):
    """f(y; p) = W2 tanh(W1 y^3 + b1) + b2: a 2 -> 32 -> 2 tanh MLP of the cubed state (the
    DiffEqFlux spiral example's network). `p` is a dict of parameters."""
    h = np.tanh(p["W1"] @ y**3 + p["b1"])
    return p["W2"] @ h + p["b2"]


def dopri5_step(y, h, p):
    """One Dormand-Prince step of size h from y: the 5th-order solution and the difference to the
    embedded 4th-order one (the local error estimate). Seven evaluations of f (no FSAL reuse:
    every step stands alone, which keeps the solver loop's state small)."""
    k1 = rhs(y, p)
    k2 = rhs(y + h * (1 / 5 * k1), p)
    k3 = rhs(y + h * (3 / 40 * k1 + 9 / 40 * k2), p)
    k4 = rhs(y + h * (44 / 45 * k1 - 56 / 15 * k2 + 32 / 9 * k3), p)
    k5 = rhs(y + h * (19372 / 6561 * k1 - 25360 / 2187 * k2 + 64448 / 6561 * k3 - 212 / 729 * k4), p)
    k6 = rhs(y + h * (9017 / 3168 * k1 - 355 / 33 * k2 + 46732 / 5247 * k3 + 49 / 176 * k4 - 5103 / 18656 * k5), p)
    y5 = y + h * (35 / 384 * k1 + 500 / 1113 * k3 + 125 / 192 * k4 - 2187 / 6784 * k5 + 11 / 84 * k6)
    k7 = rhs(y5, p)
    error = h * (
        71 / 57600 * k1
        - 71 / 16695 * k3
        + 71 / 1920 * k4
        - 17253 / 339200 * k5
        + 22 / 525 * k6
        - 1 / 40 * k7
    )
    return y5, error


def solve(y0, ts, p, rtol, atol):
    """The states at the observation times ts (ts[0] is the initial time, where the state is y0),
    shape (len(ts), 2)."""
    ys = np.zeros((ts.shape[0], 2))
    ys[0] = y0
    y = y0
    t = ts[0]
    h = 0.01 * (ts[1] - ts[0])
    i = 1
    while i < ts.shape[0]:  # dpgen: checkpoint
        # Shorten the step to land exactly on the next observation time.
        lands = t + h >= ts[i]
        if lands:
            h = ts[i] - t
        y5, error = dopri5_step(y, h, p)
        scale = atol + rtol * np.maximum(np.abs(y), np.abs(y5))
        # The squared RMS norm of the scaled error: the norm itself (a square root) would have an
        # infinite derivative where the error vanishes, as it does when f hardly changes over a step.
        err_sq = np.mean((error / scale) ** 2)
        if err_sq <= 1.0:
            y = y5
            if lands:
                t = ts[i]
                ys[i] = y
                i = i + 1
            else:
                t = t + h
        h = h * min(max(0.9 * max(err_sq, 1e-20) ** -0.1, 0.2), 5.0)  # 0.9 err^(-1/5), clamped
    return ys


def loss(y0, ts, data, p, rtol, atol):
    """Mean squared distance between the solved trajectory and the data at the observation times."""
    return np.mean((solve(y0, ts, p, rtol, atol) - data) ** 2)


def rk4_solve(y0, ts, p, substeps):
    """The same trajectory with classic RK4, `substeps` equal steps between observation times."""
    ys = np.zeros((ts.shape[0], 2))
    ys[0] = y0
    y = y0
    for i in range(1, ts.shape[0]):  # dpgen: checkpoint
        h = (ts[i] - ts[i - 1]) / substeps
        for _ in range(substeps):
            k1 = rhs(y, p)
            k2 = rhs(y + h / 2 * k1, p)
            k3 = rhs(y + h / 2 * k2, p)
            k4 = rhs(y + h * k3, p)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ys[i] = y
    return ys


def rk4_loss(y0, ts, data, p, substeps):
    return np.mean((rk4_solve(y0, ts, p, substeps) - data) ** 2)
