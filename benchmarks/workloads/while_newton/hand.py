"""Workload `while_newton`: seeded anomalies and eccentricities, and the hand-written gradient.

The forward sweep is model.solve's Newton iteration. The backward sweep does not go through
the iterations: at the solution, E - e sin(E) - M = 0, so by the implicit function theorem
dE/dM = 1 / (1 - e cos E) and dE/de = sin(E) / (1 - e cos E). dpgen differentiates the
iterations themselves; the two agree to about 1e-12 because the loop stops only after a step
below 1e-12 (Newton's derivative error shrinks with the residual the last step starts from).
"""

import numpy as np

SIZES = {"full": {"n": 100_000}, "small": {"n": 50}}
WRT = (0, 1)


def inputs(size: str = "full", seed: int = 0) -> tuple:
    """(M, e): mean anomalies uniform in [0, 2 pi), eccentricities uniform in [0, 0.9)."""
    n = SIZES[size]["n"]
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 2 * np.pi, size=n), rng.uniform(0.0, 0.9, size=n)


def grad(M, e):
    E = M + e * np.sin(M)
    step = np.ones_like(M)
    while np.max(np.abs(step)) > 1e-12:
        step = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - step
    sin_E, cos_E = np.sin(E), np.cos(E)
    root = np.sqrt(1 - e * e)
    # loss = sum(cos E - e + root sin E)
    E_bar = root * cos_E - sin_E
    M_bar = E_bar / (1 - e * cos_E)
    return M_bar, M_bar * sin_E - 1.0 - e / root * sin_E
