"""Calls between functions: keywords, defaults, tuple results, unpacking and rebinding."""

import numpy as np
from numpy import multiply

EPS = 1e-3


def affine(x, w, b=0.0, scale=1.0):
    return scale * (x @ w) + b


def moments(x):
    mean = x.mean(axis=0)
    spread = ((x - mean) ** 2).mean(axis=0)
    return mean, spread


def normalize(x, w, steps: int = 2):
    y = affine(x, w, scale=2.0)
    mu, var = moments(y)
    y = (y - mu) / np.sqrt(var + EPS)
    y *= 0.5
    a, b = y, multiply(y, y)
    a, b = b, a
    return np.sum(a * b) + np.sum(y) * steps
