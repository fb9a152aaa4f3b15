"""Benchmark workload `elementwise`: one fused-looking elementwise expression and a sum.

sum(sin(x) * exp(-x**2) + log1p(x**2)) over 10**6 float64 elements (see hand.py): memory
traffic and temporaries, no Python overhead to speak of.
"""

import numpy as np


def loss(x):
    return np.sum(np.sin(x) * np.exp(-(x**2)) + np.log1p(x**2))
