"""The MLP-shaped smoke test: the whole pipeline, checked against finite differences."""

import numpy as np

from support import check_vjp, differentiate

SOURCE = """
import numpy as np

def predict(x, W1, b1, W2, b2):
    h = np.tanh(x @ W1 + b1)
    return h @ W2 + b2

def loss(x, y, W1, b1, W2, b2):
    pred = predict(x, W1, b1, W2, b2)
    return np.mean((pred - y) ** 2)
"""


def test_mlp_loss_matches_finite_differences():
    primal, generated = differentiate(SOURCE)
    rng = np.random.default_rng(0)
    args = [rng.normal(size=s) for s in [(5, 3), (5, 1), (3, 4), (4,), (4, 1), (1,)]]
    check_vjp(primal.loss, generated.loss_vjp, args, rng)
    check_vjp(primal.predict, generated.predict_vjp, [args[0], *args[2:]], rng)
    grads = generated.loss_grad(*args)
    assert len(grads) == 6
