"""Lotka–Volterra predator–prey dynamics, integrated with fixed-step RK4 and fitted to observations.

    dx/dt = a x - b x y      (prey: grows at rate a, eaten at rate b per predator)
    dy/dt = c x y - d y      (predators: grow at rate c per prey, die at rate d)

`loss` integrates several initial conditions at once (x0 and y0 are arrays, one entry per
trajectory) with the classical fourth-order Runge–Kutta method, `substeps` steps of size dt
between observations, and compares the state with the data at every observation time: the mean
squared error between the logarithms of the simulated and the observed populations. Populations
are positive, their noise is multiplicative, and they swing by a large factor, so a relative
(log) error weighs the troughs as much as the peaks. The parameters enter as their logarithms
(`log_params` = log [a, b, c, d]), which keeps them positive whatever step an optimizer takes.

The time loop carries a `# dpgen: checkpoint` pragma: the gradient keeps about log2(n) snapshots
of the loop state (prey, predators, running error) and recomputes the other steps, instead of
keeping every step's RK4 stages.

`dpgen diff model.py -o model_grad.py` writes `loss_vjp` and `loss_grad`; `train.py` uses `loss_vjp`
(the loss and its gradient from one run).
"""

import numpy as np


def rates(x, y, a, b, c, d):
    """The right-hand side: (dx/dt, dy/dt)."""
    return a * x - b * x * y, c * x * y - d * y


def rk4_step(x, y, dt, a, b, c, d):
    """One classical Runge–Kutta step of size dt."""
    k1x, k1y = rates(x, y, a, b, c, d)
    k2x, k2y = rates(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, a, b, c, d)
    k3x, k3y = rates(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, a, b, c, d)
    k4x, k4y = rates(x + dt * k3x, y + dt * k3y, a, b, c, d)
    x_next = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
    y_next = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
    return x_next, y_next


def loss(log_params, x0, y0, observed, dt, substeps):
    """Mean squared log error; observed[k] = (prey, predators) at time (k + 1) * substeps * dt,
    shape (observations, 2, trajectories)."""
    a = np.exp(log_params[0])
    b = np.exp(log_params[1])
    c = np.exp(log_params[2])
    d = np.exp(log_params[3])
    x = x0
    y = y0
    error = 0.0
    for k in range(observed.shape[0] * substeps):  # dpgen: checkpoint
        x, y = rk4_step(x, y, dt, a, b, c, d)
        if (k + 1) % substeps == 0:
            seen = observed[(k + 1) // substeps - 1]
            error = error + np.sum((np.log(x) - np.log(seen[0])) ** 2 + (np.log(y) - np.log(seen[1])) ** 2)
    return error / observed.size
