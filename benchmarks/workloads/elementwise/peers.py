"""Workload `elementwise` for the peers: model.loss as an autograd, JAX and PyTorch user writes it."""

from functools import partial

from peerlib import anp, autograd_grad, jax_grad, jnp, torch, torch_grad

NOTES: dict[str, str] = {}


def loss(np, x):
    return np.sum(np.sin(x) * np.exp(-(x**2)) + np.log1p(x**2))


def loss_torch(x):
    return torch.sum(torch.sin(x) * torch.exp(-(x**2)) + torch.log1p(x**2))


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(partial(loss, anp), args, wrt),
    "jax eager": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
