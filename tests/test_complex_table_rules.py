"""The rules issue 11 added or made complex-correct, on complex input, in every mode.

FFTs (fft, ifft, rfft, irfft, fft2, ifft2 with n=/s=, axes and every norm), vdot, linalg.norm,
var and std (real-valued on complex input), cumsum and flip, and the holomorphic reductions,
products and linalg rules whose primal reads the reverse pass conjugates (sum, mean, prod,
dot, matmul, einsum, inner, outer, trace, inv, solve, det): each case's pullback goes through
support's `check_vjp` (central differences along the real and the imaginary part of every
complex element; a real argument must get a real cotangent) and its `f_jvp` through
`check_jvp` (a complex direction, and the dot-product test against the pullback in the real
inner product); a few real losses also go through `--mode hvp` (`check_hvp`).
`tests/test_fft_rules.py` checks the FFT adjoints with the dot-product test
alone; `support/rule_cases.py` has every rule's rows on real input.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dpgen.errors import SourceErrors
from dpgen.header import Options
from support import check_derivative, check_hvp, check_jvp, check_vjp, generated_text, load, load_source

C = "NDArray[np.complex128]"
#: id -> (the function's body over its parameters, parameters with "c" (complex) or "r"
#: (real) and a shape). Complex outputs reach the checker as they are: it pairs them with a
#: complex cotangent through Re<u, w>.
CASES = {
    "fft": ("np.fft.fft(z)", {"z": ("c", (5,))}),
    "fft-n-longer-ortho": ("np.fft.fft(z, 8, norm='ortho')", {"z": ("c", (2, 5))}),
    "fft-n-shorter-axis0-forward": ("np.fft.fft(z, n=3, axis=0, norm='forward')", {"z": ("c", (5, 2))}),
    "ifft": ("np.fft.ifft(z)", {"z": ("c", (4,))}),
    "ifft-n-backward": ("np.fft.ifft(z, 7, norm='backward')", {"z": ("c", (4,))}),
    "fft2": ("np.fft.fft2(z)", {"z": ("c", (3, 4))}),
    "fft2-s-axes-ortho": ("np.fft.fft2(z, s=(2, 5), axes=(0, 2), norm='ortho')", {"z": ("c", (3, 2, 4))}),
    "ifft2-s-forward": ("np.fft.ifft2(z, (4, 2), norm='forward')", {"z": ("c", (3, 3))}),
    "irfft": ("np.fft.irfft(z)", {"z": ("c", (5,))}),
    "irfft-n-odd": ("np.fft.irfft(z, 7)", {"z": ("c", (4,))}),
    "irfft-n-shorter-ortho": ("np.fft.irfft(z, n=4, norm='ortho')", {"z": ("c", (6,))}),
    "irfft-n-longer-axis0-forward": ("np.fft.irfft(z, 9, axis=0, norm='forward')", {"z": ("c", (4, 2))}),
    "rfft-of-a-real-part": ("np.fft.rfft(np.real(z) * x, n=6)", {"z": ("c", (5,)), "x": ("r", (5,))}),
    "fft-of-a-real-times-complex": ("np.fft.fft(x * z)", {"x": ("r", (4,)), "z": ("c", (4,))}),
    "phase-retrieval-loss": (
        "np.sum((np.abs(np.fft.fft(z * np.exp(1j * x))) - 1.0) ** 2)",
        {"z": ("c", (6,)), "x": ("r", (6,))},
    ),
    "vdot": ("np.vdot(z, w)", {"z": ("c", (2, 3)), "w": ("c", (6,))}),
    "vdot-same": ("np.vdot(z, z).real", {"z": ("c", (4,))}),
    "vdot-real-first": ("np.vdot(x, w)", {"x": ("r", (3,)), "w": ("c", (3,))}),
    "vdot-real-second": ("np.vdot(z, x)", {"z": ("c", (3,)), "x": ("r", (3,))}),
    "norm": ("np.linalg.norm(z)", {"z": ("c", (4,))}),
    "norm-matrix-axis": ("np.linalg.norm(z, axis=0, keepdims=True)", {"z": ("c", (3, 2))}),
    "norm-frobenius": ("np.linalg.norm(z, 'fro') * x", {"z": ("c", (2, 3)), "x": ("r", ())}),
    "var": ("np.var(z)", {"z": ("c", (2, 3))}),
    "var-axis-ddof": ("np.var(z, axis=1, ddof=1)", {"z": ("c", (2, 4))}),
    "std": ("np.std(z, axis=0, keepdims=True)", {"z": ("c", (3, 2))}),
    "cumsum": ("np.cumsum(z)", {"z": ("c", (2, 3))}),
    "cumsum-axis": ("np.cumsum(z * x, axis=0)", {"z": ("c", (3, 2)), "x": ("r", (2,))}),
    "flip": ("np.flip(z, 1)", {"z": ("c", (2, 3))}),
    # Holomorphic rules the reverse pass conjugates generically (the primal holes they read).
    "sum-axis": ("np.sum(z * x, axis=0)", {"z": ("c", (2, 3)), "x": ("r", (2, 3))}),
    "mean-keepdims": ("np.mean(z, axis=1, keepdims=True)", {"z": ("c", (2, 3))}),
    "prod": ("np.prod(z, axis=0)", {"z": ("c", (3, 2))}),
    "dot": ("np.dot(z, w)", {"z": ("c", (2, 3)), "w": ("c", (3,))}),
    "matmul-real-and-complex": ("x @ z", {"x": ("r", (2, 3)), "z": ("c", (3, 2))}),
    "einsum": ("np.einsum('ij,jk->ik', z, w)", {"z": ("c", (2, 3)), "w": ("c", (3, 2))}),
    "inner": ("np.inner(z, w)", {"z": ("c", (2, 3)), "w": ("c", (4, 3))}),
    "outer": ("np.outer(z, x)", {"z": ("c", (3,)), "x": ("r", (2,))}),
    "trace": ("np.trace(z)", {"z": ("c", (3, 3))}),
    "inv": ("np.linalg.inv(z + 3.0 * np.eye(3))", {"z": ("c", (3, 3))}),
    "solve": ("np.linalg.solve(z + 3.0 * np.eye(3), w)", {"z": ("c", (3, 3)), "w": ("c", (3, 2))}),
    "det": ("np.linalg.det(z + 3.0 * np.eye(3))", {"z": ("c", (3, 3))}),
}


def _source(case_id: str) -> str:
    body, params = CASES[case_id]
    signature = ", ".join(f"{name}: {C}" if kind == "c" else name for name, (kind, _) in params.items())
    return "import numpy as np\nfrom numpy.typing import NDArray\n\n\n" f"def f({signature}):\n    return {body}\n"


def _args(case_id: str, rng: np.random.Generator) -> list:
    args = []
    for kind, shape in CASES[case_id][1].values():
        x = rng.normal(size=shape) + (1j * rng.normal(size=shape) if kind == "c" else 0)
        args.append(x if shape else complex(x) if kind == "c" else float(x))
    return args


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_reverse_mode_on_complex_input(case_id):
    source = _source(case_id)
    primal, generated = load_source(source), load(generated_text(source))
    rng = np.random.default_rng(len(case_id))
    check_vjp(primal.f, generated.f_vjp, _args(case_id, rng), rng)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_forward_mode_on_complex_input(case_id):
    source = _source(case_id)
    primal = load_source(source)
    forward = load(generated_text(source, options=Options(mode="forward")))
    reverse = load(generated_text(source))
    rng = np.random.default_rng(len(case_id))
    check_jvp(primal.f, forward.f_jvp, reverse.f_vjp, _args(case_id, rng), rng)


def test_fft_loss_is_holomorphic_and_its_derivative_is_checked():
    source = _source("fft").replace("return np.fft.fft(z)", "return np.sum(np.fft.fft(z, 8, norm='ortho') * w)")
    source = source.replace("def f(z: NDArray[np.complex128])", "def f(z: NDArray[np.complex128], w: complex)")
    primal, generated = load_source(source), load(generated_text(source))
    rng = np.random.default_rng(3)
    z = rng.normal(size=5) + 1j * rng.normal(size=5)
    check_derivative(primal.f, generated.f_derivative, z, 0.5 - 0.25j)


@pytest.mark.parametrize(
    "body, culprit",
    [
        ("np.sum(np.fft.irfft(z))", "np.sum(np.fft.irfft(z))"),
        ("np.vdot(z, z)", "np.vdot(z, z)"),
        ("np.linalg.norm(z)", "np.linalg.norm(z)"),
    ],
)
def test_real_linear_and_conjugating_rules_break_holomorphy(body, culprit):
    source = _source("fft").replace("return np.fft.fft(z)", f"return {body}")
    text = generated_text(source)
    assert "def f_derivative" not in text
    assert f"# f_derivative is not written: f is not holomorphic in z (model.py:6: return {culprit})" in text, text


def test_rfft_of_a_complex_value_is_refused_where_it_is_written():
    source = _source("fft").replace("np.fft.fft(z)", "np.fft.rfft(z)")
    with pytest.raises(SourceErrors) as error:
        generated_text(source)
    assert "model.py:6:" in str(error.value) and "np.fft.rfft has no derivative for complex values" in str(error.value)


@pytest.mark.parametrize("body", ["np.maximum(z, 0.0)", "np.clip(z, -1, 1)", "np.hypot(z, 1.0)", "np.arctan2(z, 1.0)"])
def test_real_only_rules_refuse_complex_input(body):
    source = textwrap.dedent(_source("fft").replace("np.fft.fft(z)", body))
    with pytest.raises(SourceErrors) as error:
        generated_text(source)
    assert "model.py:6:" in str(error.value) and "may be complex here" in str(error.value), str(error.value)


#: Real losses of complex values for --mode hvp (reverse over forward, so the forward rules'
#: helpers are differentiated again, `_norm_jvp` among them).
HVP_CASES = {
    "fft": "np.sum(np.abs(np.fft.fft(z, 6, norm='ortho')) ** 2 * np.arange(6))",
    "irfft": "np.sum(np.fft.irfft(z, 7) ** 3)",
    "ifft2": "np.sum(np.abs(np.fft.ifft2(z, s=(3, 3))) ** 3)",
    "vdot": "np.real(np.vdot(z, np.sin(z)) ** 2)",
    "cumsum": "np.sum(np.abs(np.cumsum(z)) ** 3)",
    "norm": "np.linalg.norm(z) ** 3",
    "var-std": "np.var(z) ** 2 + np.std(z, axis=0)[0]",
}


@pytest.mark.parametrize("case_id", sorted(HVP_CASES))
def test_hvp_mode_on_complex_input(case_id):
    source = (
        "import numpy as np\nfrom numpy.typing import NDArray\n\n\n"
        f"def f(z: NDArray[np.complex128]):\n    return {HVP_CASES[case_id]}\n"
    )
    hvp = load(generated_text(source, options=Options(mode="hvp")))
    reverse = load(generated_text(source))
    rng = np.random.default_rng(len(case_id))
    shape = (2, 4) if case_id in ("ifft2", "var-std") else (4,)
    check_hvp(hvp.f_hvp, reverse.f_vjp, [rng.normal(size=shape) + 1j * rng.normal(size=shape)], rng)
