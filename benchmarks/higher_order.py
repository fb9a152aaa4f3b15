"""Forward mode and Hessian-vector products on the benchmark workloads (issue 4's ratios).

Run from anywhere: `python benchmarks/higher_order.py`. For every workload it generates
`--mode reverse,forward,hvp` in memory from benchmarks/workloads/<name>/model.py, checks the
JVP against a central difference of the forward pass and H·v against a central difference
of the gradient (both along a random direction), then times, interleaved, medians of

    forward      model.loss
    f_jvp        loss_jvp along the direction     (goal: <= 2x forward)
    f_grad       loss_grad
    f_hvp        loss_hvp along the direction     (goal: <= 3x f_grad)

BLAS runs on one thread, as in run.py.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads its BLAS

import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import NAMES, WORKLOADS, flatten, load_workload, median_seconds, relative_error  # noqa: E402

from dpgen.errors import SourceErrors  # noqa: E402
from dpgen.header import Options  # noqa: E402
from dpgen.pipeline import generate  # noqa: E402
from dpgen.frontend.source import Source  # noqa: E402


def _module(name: str, mode: str) -> types.ModuleType:
    source = (WORKLOADS / name / "model.py").read_text(encoding="utf-8")
    module = types.ModuleType(f"{name}_derivatives")
    text = generate(Source("model.py", source), Options(mode=mode)).text
    exec(compile(text, f"<{name} derivatives>", "exec"), module.__dict__)
    return module


def _random_like(value, rng):
    if isinstance(value, dict):
        return {key: _random_like(item, rng) for key, item in value.items()}
    return rng.normal(size=np.shape(value)) if np.ndim(value) else float(rng.normal())


def _direction(args, wrt, rng):
    return [_random_like(a, rng) if k in wrt else None for k, a in enumerate(args)]


def _step(value, t, eps):
    if isinstance(value, dict):
        return {key: _step(value[key], t[key], eps) for key in value}
    return value + eps * t


def _difference(plus, minus, eps):
    """(plus - minus) / (2 eps), entry by entry for dicts."""
    if isinstance(plus, dict):
        return {key: _difference(plus[key], minus[key], eps) for key in plus}
    return (plus - minus) / (2 * eps)


def _along(args, v, eps):
    return [a if t is None else _step(a, t, eps) for a, t in zip(args, v)]


def _hvp_error(module, args, v, wrt) -> float:
    """Relative error of H v against a central difference of the gradient along v."""
    hv = module.loss_hvp(*args, *v)
    hv = hv if isinstance(hv, tuple) else (hv,) * len(args)
    plus, minus = module.loss_grad(*_along(args, v, 1e-5)), module.loss_grad(*_along(args, v, -1e-5))
    plus, minus = (plus, minus) if isinstance(plus, tuple) else ((plus,), (minus,))
    got = [h for k, h in enumerate(hv) if k in wrt]
    want = [_difference(p, m, 1e-5) for k, (p, m) in enumerate(zip(plus, minus)) if k in wrt]
    return relative_error(flatten(got), flatten(want))


def main() -> None:
    rows = []
    for name in NAMES:
        work = load_workload(name)
        try:
            module = _module(name, "reverse,forward,hvp")
            missing = None
        except SourceErrors as exc:  # reported in the table, not hidden; the JVP is still timed
            module = _module(name, "reverse,forward")
            missing = str(exc).split("error: ", 1)[-1]
        args = list(work.hand.inputs("full"))
        wrt = tuple(work.hand.WRT)
        v = _direction(args, wrt, np.random.default_rng(0))
        eps = 1e-6
        # Checks before timing: the JVP against the forward pass, H v against the gradient.
        _, tangent = module.loss_jvp(*args, *v)
        expected = (work.model.loss(*_along(args, v, eps)) - work.model.loss(*_along(args, v, -eps))) / (2 * eps)
        jvp_error = abs(tangent - expected) / max(abs(expected), 1e-12)
        fns = {
            "forward": lambda: work.model.loss(*args),
            "jvp": lambda: module.loss_jvp(*args, *v),
            "grad": lambda: module.loss_grad(*args),
        }
        hvp_error = None
        if missing is None:
            hvp_error = _hvp_error(module, args, v, wrt)
            fns["hvp"] = lambda: module.loss_hvp(*args, *v)
        first = {}
        for key, fn in fns.items():
            fn()
            start = time.perf_counter()
            fn()
            first[key] = time.perf_counter() - start
        medians, _ = median_seconds(fns, 1.5, first)
        rows.append((name, medians, jvp_error, hvp_error, missing))
    print(
        "| workload | forward | f_jvp | f_jvp / forward | f_grad | f_hvp | f_hvp / f_grad | checks (rel. error jvp, hvp) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, t, jvp_error, hvp_error, missing in rows:
        ms = {k: f"{1e3 * s:.3g} ms" for k, s in t.items()}
        hvp = (
            f"{ms['hvp']} | {t['hvp'] / t['grad']:.2f}× | {jvp_error:.0e}, {hvp_error:.0e}"
            if missing is None
            else f"n/a | n/a | {jvp_error:.0e}; hvp: {missing}"
        )
        print(f"| `{name}` | {ms['forward']} | {ms['jvp']} | {t['jvp'] / t['forward']:.2f}× | {ms['grad']} | {hvp} |")


if __name__ == "__main__":
    main()
