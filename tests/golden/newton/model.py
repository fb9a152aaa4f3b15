"""Newton's method with a data-dependent number of iterations, and a loss through it."""

import numpy as np


def cube_root(a, tol=1e-12):
    x = np.maximum(a, 1.0)
    step = 1.0
    while np.max(np.abs(step)) > tol:
        step = (x**3 - a) / (3 * x**2)
        x = x - step
    return x


def loss(a, w):
    r = cube_root(a)
    if np.sum(r) > 2.0:
        return np.sum(w * r**2)
    return np.sum(w * r)
