"""Workload `while_newton` for the peers: model.py's Newton `while` loop as each user writes it.

autograd, jax.grad (eager) and PyTorch run the Python `while` as it is: the trip count is read
from concrete values. Under jax.jit the test is a tracer, so the loop must become
lax.while_loop, and JAX cannot reverse-differentiate lax.while_loop (its trip count is not
known when the backward pass is built): `jax.jit(jax.grad(...))` cannot differentiate this
workload as written. (A JAX user would hand-write a custom_vjp with the implicit function
theorem, which is hand.py's gradient, not automatic differentiation.)
"""

from functools import partial

from peerlib import Unsupported, anp, autograd_grad, jax_grad, jnp, torch, torch_grad

NOTES = {"jax jit": "not differentiable: a data-dependent `while` needs `lax.while_loop` under jit, which reverse mode does not support"}


def solve(np, M, e):
    E = M + e * np.sin(M)
    step = np.ones_like(M)
    while np.max(np.abs(step)) > 1e-12:
        step = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - step
    return E


def loss(np, M, e):
    E = solve(np, M, e)
    x = np.cos(E) - e
    y = np.sqrt(1 - e**2) * np.sin(E)
    return np.sum(x + y)


def loss_torch(M, e):
    E = M + e * torch.sin(M)
    step = torch.ones_like(M)
    while torch.max(torch.abs(step)) > 1e-12:
        step = (E - e * torch.sin(E) - M) / (1 - e * torch.cos(E))
        E = E - step
    x = torch.cos(E) - e
    y = torch.sqrt(1 - e**2) * torch.sin(E)
    return torch.sum(x + y)


def jax_jit(args, wrt):
    raise Unsupported(NOTES["jax jit"])


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(partial(loss, anp), args, wrt),
    "jax eager": lambda args, wrt: jax_grad(partial(loss, jnp), args, wrt, jit=False),
    "jax jit": jax_jit,
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
