"""Workload `ode`: seeded parameters and the hand-written adjoint of the RK4 integration.

`grad` returns what dpgen's `loss_grad` returns: (alpha_bar, beta_bar, gamma_bar, delta_bar,
None), `steps` being an integer. The forward sweep is written out inline (no function calls)
and keeps the four stage points of every step; the backward sweep runs the RK4 stages in
reverse, using the vector field's partial derivatives written by hand.
"""

import numpy as np

X0, Y0, DT = 1.0, 0.5, 0.01  # must match model.py
SIZES = {"full": {"steps": 500}, "small": {"steps": 20}}
WRT = (0, 1, 2, 3)


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(alpha, beta, gamma, delta, steps): the textbook parameters (2/3, 4/3, 1, 1), +-10%."""
    rng = np.random.default_rng(seed)
    base = (2 / 3, 4 / 3, 1.0, 1.0)
    alpha, beta, gamma, delta = (float(v * (1 + 0.1 * rng.uniform(-1, 1))) for v in base)
    return alpha, beta, gamma, delta, SIZES[size]["steps"]


def grad(alpha, beta, gamma, delta, steps):
    h = DT
    x, y = X0, Y0
    tape = []
    for _ in range(steps):
        k1x, k1y = alpha * x - beta * x * y, delta * x * y - gamma * y
        x2, y2 = x + 0.5 * h * k1x, y + 0.5 * h * k1y
        k2x, k2y = alpha * x2 - beta * x2 * y2, delta * x2 * y2 - gamma * y2
        x3, y3 = x + 0.5 * h * k2x, y + 0.5 * h * k2y
        k3x, k3y = alpha * x3 - beta * x3 * y3, delta * x3 * y3 - gamma * y3
        x4, y4 = x + h * k3x, y + h * k3y
        k4x, k4y = alpha * x4 - beta * x4 * y4, delta * x4 * y4 - gamma * y4
        tape.append((x, y, x2, y2, x3, y3, x4, y4))
        x = x + h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        y = y + h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
    xb, yb = 2 * (x - 1.0), 2 * (y - 1.0)
    ab = bb = gb = db = 0.0
    c = h / 6
    for x, y, x2, y2, x3, y3, x4, y4 in reversed(tape):
        # x_next = x + c (k1 + 2 k2 + 2 k3 + k4). Each stage k = f(s) is pulled back at its
        # point s with the field's partials (fx = alpha sx - beta sx sy, fy = delta sx sy -
        # gamma sy); every stage point is x + (a multiple of the previous k), so its cotangent
        # (px, py) goes to x and, scaled, to the previous stage's k. Written out: no calls.
        # k4 at (x4, y4) = (x, y) + h k3
        ux, uy = c * xb, c * yb
        ab += ux * x4
        bb -= ux * x4 * y4
        db += uy * x4 * y4
        gb -= uy * y4
        px = ux * (alpha - beta * y4) + uy * delta * y4
        py = uy * (delta * x4 - gamma) - ux * beta * x4
        xb_new, yb_new = xb + px, yb + py
        # k3 at (x3, y3) = (x, y) + h/2 k2
        ux, uy = 2 * c * xb + h * px, 2 * c * yb + h * py
        ab += ux * x3
        bb -= ux * x3 * y3
        db += uy * x3 * y3
        gb -= uy * y3
        px = ux * (alpha - beta * y3) + uy * delta * y3
        py = uy * (delta * x3 - gamma) - ux * beta * x3
        xb_new += px
        yb_new += py
        # k2 at (x2, y2) = (x, y) + h/2 k1
        ux, uy = 2 * c * xb + 0.5 * h * px, 2 * c * yb + 0.5 * h * py
        ab += ux * x2
        bb -= ux * x2 * y2
        db += uy * x2 * y2
        gb -= uy * y2
        px = ux * (alpha - beta * y2) + uy * delta * y2
        py = uy * (delta * x2 - gamma) - ux * beta * x2
        xb_new += px
        yb_new += py
        # k1 at (x, y)
        ux, uy = c * xb + 0.5 * h * px, c * yb + 0.5 * h * py
        ab += ux * x
        bb -= ux * x * y
        db += uy * x * y
        gb -= uy * y
        px = ux * (alpha - beta * y) + uy * delta * y
        py = uy * (delta * x - gamma) - ux * beta * x
        xb, yb = xb_new + px, yb_new + py
    return ab, bb, gb, db, None
