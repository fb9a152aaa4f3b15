"""Fitting a first-order low-pass filter to a measured frequency response.

The parameters (gain, time constant) are real; the transfer function H(w) = gain / (1 + i w tau)
is complex, and the loss, the mean squared distance to the measured response, is real again.
Real stays real: gain and tau get real gradients.
"""

import numpy as np
import numpy.typing as npt


def response(gain, tau, w):
    return gain / (1 + 1j * w * tau)


def loss(gain, tau, w, data: npt.NDArray[np.complex128]):
    h = response(gain, tau, w)
    return np.mean(np.abs(h - data) ** 2)


def phase_error(gain, tau, w, data: npt.NDArray[np.complex128]):
    h = response(gain, tau, w)
    return np.sum((np.angle(h) - np.angle(data)) ** 2) + np.sum(np.real(h * np.conj(data)))
