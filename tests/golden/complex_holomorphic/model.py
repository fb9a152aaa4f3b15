"""A complex parameter z: holomorphic chains (dpgen writes their complex derivative f'(z)),
and real losses of them (|.|^2 is not holomorphic: a comment names the line)."""

import numpy as np
import numpy.typing as npt


def poly(z: complex):
    return z**3 - 2j * z + np.exp(0.5 * z)


def ratio(z: complex, c: complex):
    u = poly(z) / (z * z + c)
    return np.sin(u) * np.cosh(z)


def series(z: npt.NDArray[np.complex128]):
    return np.sum(np.exp(-(z**2)) / (2.0 + z))


def intensity(z: complex, target: complex):
    return np.abs(poly(z) - target) ** 2
