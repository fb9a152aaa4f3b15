"""A second-order resonator (a driven, damped oscillator) fitted to a measured frequency response.

The transfer function is written in the Laplace variable s, as in a textbook, and evaluated on
the imaginary axis s = 1j * w. Its parameters (gain k, natural frequency w0, quality factor q) are
real; everything between them and the real loss is complex. Parameters that may be complex say
so in their annotation (`complex` for a scalar, like `float`; an NDArray of a complex type for an
array): dpgen reads unannotated parameters as real.

`dpgen diff model.py -o model_grad.py` writes `loss_grad` (real gradients for k, w0, q),
`transfer_derivative` (the complex derivative dH/ds: `transfer` is holomorphic in s) and
`pole_loss_grad` (complex gradients for a residue r and a pole p), which `train.py` uses.
"""

import numpy as np
import numpy.typing as npt


def transfer(s: npt.NDArray[np.complex128], k, w0, q):
    """H(s) = k / (s^2 + s w0 / q + w0^2): unit gain at DC when k = w0^2, a peak of height q there."""
    return k / (s**2 + s * w0 / q + w0**2)


def loss(w, h_measured: npt.NDArray[np.complex128], k, w0, q):
    """Mean squared distance in the complex plane between the model's response and the data."""
    h = transfer(1j * w, k, w0, q)
    return np.mean(np.abs(h - h_measured) ** 2)


def pole_pair(s: npt.NDArray[np.complex128], r: complex, p: complex):
    """The same resonator in pole-residue form: a pole p, its residue r, and their conjugates
    (a real system's poles come in conjugate pairs). conj makes it not holomorphic in r and p."""
    return r / (s - p) + np.conj(r) / (s - np.conj(p))


def pole_loss(w, h_measured: npt.NDArray[np.complex128], r: complex, p: complex):
    """`loss` for the pole-residue form: its gradients for r and p are complex."""
    h = pole_pair(1j * w, r, p)
    return np.mean(np.abs(h - h_measured) ** 2)
