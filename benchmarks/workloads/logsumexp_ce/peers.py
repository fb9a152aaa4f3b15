"""Workload `logsumexp_ce` for the peers: model.loss as an autograd, JAX and PyTorch user writes it.

The same stable logsumexp everywhere (no library cross-entropy: the point is to differentiate
the user's formula). The labels stay integer arrays and are not differentiated.
"""

from functools import partial

from peerlib import anp, autograd_grad, jax_grad, jnp, torch, torch_grad

NOTES: dict[str, str] = {}


def loss(np, logits, labels):
    m = np.max(logits, axis=1, keepdims=True)
    shifted = logits - m
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    picked = shifted[np.arange(logits.shape[0]), labels]
    return np.mean(lse - picked)


def loss_torch(logits, labels):
    m = torch.amax(logits, dim=1, keepdim=True)
    shifted = logits - m
    lse = torch.log(torch.sum(torch.exp(shifted), dim=1))
    picked = shifted[torch.arange(logits.shape[0]), labels]
    return torch.mean(lse - picked)


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(partial(loss, anp), args, wrt),
    "jax eager": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
