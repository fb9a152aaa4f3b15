"""The peer AD tools, each imported only when installed (`pip install -e '.[bench]'`).

Every workload's peers.py takes `anp`, `jax`, `jnp`, `lax` and `torch` from here; a missing
tool is None, and its setup functions raise `NotInstalled`. Importing this module configures
the tools the same way for every workload: JAX in float64 on the CPU, PyTorch on
OMP_NUM_THREADS threads (run.py sets it, and limits BLAS and XLA alike, before anything is
imported; 1 by default).
"""

from __future__ import annotations

import os

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - depends on the environment
    autograd = anp = None

try:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, like NumPy; JAX defaults to float32
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # pragma: no cover
    jax = jnp = lax = None

try:
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # run.py sets it
except ImportError:  # pragma: no cover
    torch = None

#: The peers, in the table's order: the name in the table, and the module the peer needs.
PEERS = {"autograd": autograd, "jax eager": jax, "jax jit": jax, "torch": torch}


class NotInstalled(Exception):
    """The peer's package is not installed here."""


class Unsupported(Exception):
    """The peer cannot differentiate this workload (the message says why)."""


def require(module) -> None:
    if module is None:
        raise NotInstalled


def versions() -> dict[str, str]:
    """Installed peer versions, for the report."""
    found = {}
    if autograd is not None:
        from importlib.metadata import version

        found["autograd"] = version("autograd")
    if jax is not None:
        import jaxlib

        found["jax"] = jax.__version__
        found["jaxlib"] = jaxlib.__version__
    if torch is not None:
        found["torch"] = torch.__version__
    return found


def jax_grad(loss, args: tuple, wrt: tuple[int, ...], jit: bool):
    """A zero-argument call of jax.grad(loss) (optionally jitted), its inputs moved to JAX once.

    JAX dispatches asynchronously: block_until_ready makes the timing include the work.
    """
    require(jax)
    g = jax.grad(loss, argnums=wrt)
    if jit:
        # The non-differentiated arguments (integer step counts, labels) are static or plain.
        g = jax.jit(g, static_argnums=tuple(i for i, a in enumerate(args) if isinstance(a, int)))
    jargs = tuple(a if isinstance(a, (int, float)) else jax.tree_util.tree_map(jnp.asarray, a) for a in args)
    return lambda: jax.block_until_ready(g(*jargs))


def torch_grad(loss, args: tuple, wrt: tuple[int, ...]):
    """A zero-argument call of torch.autograd.grad(loss(...), differentiated inputs).

    Arrays become float64 tensors (integer arrays stay integer); the differentiated ones,
    Python floats included, become leaves that require grad. Dicts of arrays are handled
    key by key and their gradients come back as dicts.
    """
    require(torch)

    def tensor(a, leaf: bool):
        if isinstance(a, dict):
            return {k: tensor(v, leaf) for k, v in a.items()}
        if isinstance(a, int):
            return a
        # as_tensor would make a Python float float32 first: build 0-d float64 tensors directly.
        t = torch.tensor(a, dtype=torch.float64) if isinstance(a, float) else torch.as_tensor(a)
        if t.is_floating_point():
            t = t.to(torch.float64)
        return t.requires_grad_(leaf)

    targs = [tensor(a, i in wrt) for i, a in enumerate(args)]
    leaves = [targs[i] for i in wrt]
    flat = [t for leaf in leaves for t in (leaf.values() if isinstance(leaf, dict) else [leaf])]

    def run():
        grads = iter(torch.autograd.grad(loss(*targs), flat))
        return [{k: next(grads) for k in leaf} if isinstance(leaf, dict) else next(grads) for leaf in leaves]

    return run


def autograd_grad(loss, args: tuple, wrt: tuple[int, ...]):
    """A zero-argument call of autograd.grad(loss, argnum=wrt)."""
    require(autograd)
    g = autograd.grad(loss, argnum=wrt)
    return lambda: g(*args)
