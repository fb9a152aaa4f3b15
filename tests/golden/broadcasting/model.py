import numpy as np


def binary(x, row, col, s):
    a = x * row - col / (x + 3.0)
    b = row**2 + s * col
    return np.sum(a * b + np.maximum(x, row) - np.minimum(col, 0.5) + np.hypot(x, s))


def scalar_first(s, v):
    return np.sum(2.0 / (s + v**2) + s ** v[0] + np.arctan2(v, s))


def where_clip(x, y):
    z = np.where(x > 0, x * y, -y)
    return np.sum(np.clip(z, -0.5, None) + np.clip(x, -1.0, 1.0) * y)
