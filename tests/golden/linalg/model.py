"""Linear algebra and contractions."""

import numpy as np


def quadratic(A, b, x):
    y = np.linalg.solve(A, b)
    return x @ A @ x + np.dot(y, y) + np.linalg.det(A) + np.trace(np.linalg.inv(A))


def contractions(a, b, c):
    t = np.einsum("ij,jk->ik", a, b)
    u = np.tensordot(t, c, axes=1)
    return np.linalg.norm(u) + np.sum(np.outer(a[0], c)) + np.sum(np.inner(a, a))


def layout(x):
    y = np.concatenate([x, 2 * x], axis=1)
    z = np.stack([x, x**2])
    w = np.transpose(z, (1, 2, 0)).reshape(-1)
    return np.sum(y**2) + np.sum(np.sin(w)) + np.sum(np.expand_dims(x, 0).squeeze() * x.ravel().reshape(x.shape))
