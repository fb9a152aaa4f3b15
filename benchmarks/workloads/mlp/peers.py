"""Workload `mlp` for the peers: model.loss as an autograd, JAX and PyTorch user writes it.

autograd and JAX run model.py's code unchanged but for the NumPy module (`np` is a parameter
here: autograd.numpy or jax.numpy); PyTorch spells the same operations with torch.
"""

from functools import partial

from peerlib import anp, autograd_grad, jax_grad, jnp, torch, torch_grad

NOTES: dict[str, str] = {}


def loss(np, x, y, W1, b1, W2, b2, W3, b3):
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    pred = h2 @ W3 + b3
    return np.mean((pred - y) ** 2)


def loss_torch(x, y, W1, b1, W2, b2, W3, b3):
    h1 = torch.tanh(x @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    pred = h2 @ W3 + b3
    return torch.mean((pred - y) ** 2)


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(partial(loss, anp), args, wrt),
    "jax eager": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
