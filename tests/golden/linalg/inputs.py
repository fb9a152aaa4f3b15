import numpy as np


def cases(rng):
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    return {
        "quadratic": [A, rng.normal(size=3), rng.normal(size=3)],
        "contractions": [rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)],
        "layout": [rng.normal(size=(2, 3))],
    }
