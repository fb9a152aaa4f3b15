"""Benchmark workload `ode`: classic RK4 on the Lotka-Volterra equations, all Python floats.

    x' = alpha x - beta x y        (prey)
    y' = delta x y - gamma y       (predators)

`loss` integrates `steps` RK4 steps of size DT from (X0, Y0) and returns the squared distance
of the final state from (1, 1); its gradient is taken with respect to the four parameters.
Every operation is on a Python float, so interpreter overhead, not arithmetic, sets the cost:
the hardest case for every AD tool. The parameters are annotated `float`, which lets dpgen
treat them as scalars (no broadcasting reductions in the pullback).
"""

X0 = 1.0
Y0 = 0.5
DT = 0.01


def field(x: float, y: float, alpha: float, beta: float, gamma: float, delta: float):
    return alpha * x - beta * x * y, delta * x * y - gamma * y


def rk4_step(x: float, y: float, alpha: float, beta: float, gamma: float, delta: float):
    k1x, k1y = field(x, y, alpha, beta, gamma, delta)
    k2x, k2y = field(x + 0.5 * DT * k1x, y + 0.5 * DT * k1y, alpha, beta, gamma, delta)
    k3x, k3y = field(x + 0.5 * DT * k2x, y + 0.5 * DT * k2y, alpha, beta, gamma, delta)
    k4x, k4y = field(x + DT * k3x, y + DT * k3y, alpha, beta, gamma, delta)
    x_next = x + DT / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
    y_next = y + DT / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
    return x_next, y_next


def loss(alpha: float, beta: float, gamma: float, delta: float, steps: int):
    x = X0
    y = Y0
    for _ in range(steps):
        x, y = rk4_step(x, y, alpha, beta, gamma, delta)
    return (x - 1.0) ** 2 + (y - 1.0) ** 2
