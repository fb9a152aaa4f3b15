"""Benchmark workload `while_newton`: Kepler's equation solved by Newton's method in a `while`.

For mean anomalies `M` and eccentricities `e` (arrays of 100,000, see hand.py), `solve` finds
the eccentric anomaly E with E - e sin(E) = M, iterating until the largest Newton step is below
1e-12: the trip count depends on the data. `loss` sums the position on the unit-axis orbit,
x = cos(E) - e and y = sqrt(1 - e**2) sin(E). dpgen differentiates through the iterations
(unrolled); the hand-written gradient uses the implicit function theorem instead.
"""

import numpy as np


def solve(M, e):
    E = M + e * np.sin(M)
    step = np.ones_like(M)
    while np.max(np.abs(step)) > 1e-12:
        step = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - step
    return E


def loss(M, e):
    E = solve(M, e)
    x = np.cos(E) - e
    y = np.sqrt(1 - e**2) * np.sin(E)
    return np.sum(x + y)
