"""User names that look like generated ones must keep working."""

import numpy as np


def f_pullback(x, x_bar):
    out = x * x_bar
    out_bar = np.sin(out)
    h_add = out_bar + x
    return np.sum(h_add * out)


def f(x, x_bar, f_vjp):
    h = np.tanh(x)
    h = h * f_vjp + x_bar
    h_2 = h + 1.0
    return f_pullback(h_2, x_bar) + np.sum(h)
