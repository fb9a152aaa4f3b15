"""Workload `ode` for the peers: model.py's own functions, which use only Python arithmetic.

autograd, jax.grad and PyTorch (with 0-d float64 tensors for the parameters) all run model.py
unchanged: every `*` and `+` becomes one operation of the tool, which is what makes this
workload slow for all of them. Under jax.jit the Python loop would be unrolled into 500 RK4
steps (measured: 50 steps take 15 s to trace and compile, 500 did not finish in 6 minutes), so
the jit version is written with lax.fori_loop, as a JAX user would.
"""

from pathlib import Path

from harness import load_module
from peerlib import autograd_grad, jax_grad, lax, torch_grad

model = load_module(Path(__file__).with_name("model.py"), "bench_ode_model_for_peers")

NOTES = {"jax jit": "the Python `for` loop rewritten as `lax.fori_loop` (unrolled, 50 RK4 steps take 15 s to compile; 500 did not finish in 6 minutes)"}


def loss_fori(alpha, beta, gamma, delta, steps):
    def body(_, state):
        return model.rk4_step(*state, alpha, beta, gamma, delta)

    x, y = lax.fori_loop(0, steps, body, (model.X0, model.Y0))
    return (x - 1.0) ** 2 + (y - 1.0) ** 2


SETUP = {
    "autograd": lambda args, wrt: autograd_grad(model.loss, args, wrt),
    "jax eager": lambda args, wrt: jax_grad(model.loss, args, wrt, jit=False),
    "jax jit": lambda args, wrt: jax_grad(loss_fori, args, wrt, jit=True),
    "torch": lambda args, wrt: torch_grad(model.loss, args, wrt),
}
