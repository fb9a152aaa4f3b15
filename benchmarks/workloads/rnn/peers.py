"""Workload `rnn` for the peers: model.loss as an autograd, JAX and PyTorch user writes it.

The same Python `for` loop over the time steps everywhere: autograd records it on its tape,
jax.grad traces it eagerly, and jax.jit unrolls its 50 steps into one compiled program.
"""

from functools import partial

from peerlib import anp, autograd_grad, jax_grad, jnp, torch, torch_grad

NOTES: dict[str, str] = {}


def loss(np, xs, ys, h0, p):
    h = h0
    outs = []
    for x in xs:
        h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
        outs.append(h @ p["Wo"] + p["bo"])
    pred = np.stack(outs)
    return np.mean((pred - ys) ** 2)


def loss_torch(xs, ys, h0, p):
    h = h0
    outs = []
    for x in xs:
        h = torch.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
        outs.append(h @ p["Wo"] + p["bo"])
    pred = torch.stack(outs)
    return torch.mean((pred - ys) ** 2)


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(partial(loss, anp), args, wrt),
    "jax eager": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
