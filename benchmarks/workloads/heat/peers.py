"""Workload `heat` for the peers: the in-place stepper as each user must write it.

- autograd cannot differentiate assignment into an array (`u[1:-1] = ...` fails on its
  ArrayBox), so the step rebuilds the state with np.concatenate.
- JAX arrays are immutable: the step is `u = u.at[1:-1].set(...)`. Eagerly the Python loop
  runs as it is; under jit the 200 steps are a lax.fori_loop, as a JAX user writes a long
  time loop (unrolled, it compiles one copy of the step per iteration).
- PyTorch runs model.py's in-place slice assignment unchanged (its autograd tracks in-place
  writes into a cloned tensor).
"""

from peerlib import anp, autograd_grad, jax_grad, jnp, lax, torch, torch_grad

NOTES = {
    "autograd": "slice assignment rewritten with `np.concatenate` (autograd cannot differentiate item assignment)",
    "jax eager": "slice assignment rewritten as `u = u.at[1:-1].set(...)` (JAX arrays are immutable)",
    "jax jit": "`.at[1:-1].set(...)`, and the loop as `lax.fori_loop`",
}


def loss_autograd(u0, target, k, steps):
    u = u0
    for _ in range(steps):
        inner = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
        u = anp.concatenate([u[:1], inner, u[-1:]])
    return anp.mean((u - target) ** 2)


def step_jax(u, k):
    return u.at[1:-1].set(u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2]))


def loss_jax(u0, target, k, steps):
    u = u0
    for _ in range(steps):
        u = step_jax(u, k)
    return jnp.mean((u - target) ** 2)


def loss_jax_fori(u0, target, k, steps):
    u = lax.fori_loop(0, steps, lambda _, u: step_jax(u, k), u0)
    return jnp.mean((u - target) ** 2)


def loss_torch(u0, target, k, steps):
    u = u0.clone()
    for _ in range(steps):
        u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return torch.mean((u - target) ** 2)


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(loss_autograd, args, wrt),
    "jax eager": lambda args, wrt: jax_grad(loss_jax, args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(loss_jax_fori, args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(loss_torch, args, wrt),
}
