"""The FFT rules state adjoints: checked with the dot-product test on complex values.

Every transform is linear, so its pullback must be its adjoint for the real inner product
``Re<u, v>`` of the complex convention: ``Re<F x, y> == Re<x, F^H y>`` for random complex x
and y, up to rounding. dpgen differentiates one module per transform whose functions cover
every norm, ``n=`` (or ``s=``) shorter and longer than the input, odd and even, and other
axes; the check runs each generated pullback. ``rfft`` takes real input, so its x is real
and the test pairs it with the real part of the cotangent; ``irfft``'s output is real, so
its y is. The rules' rows in `support/rule_cases.py` check the same rules against finite
differences on real input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dpgen.errors import SourceErrors
from support import differentiate, generated_text

NORMS = (None, "backward", "ortho", "forward")
#: (transform, input shape, the n= or s= values, the axis or axes values)
TRANSFORMS = {
    "fft": ((3, 6), (None, 4, 5, 9), (-1, 0)),
    "ifft": ((3, 6), (None, 3, 8), (-1, 0)),
    "rfft": ((3, 6), (None, 4, 5, 9), (-1, 0)),
    "irfft": ((3, 5), (None, 4, 7, 12), (-1, 0)),
    "fft2": ((2, 3, 4), (None, (2, 6), (5, 3)), ((-2, -1), (0, 2), (2, 0))),
    "ifft2": ((2, 3, 4), (None, (4, 2)), ((-2, -1), (1, 0))),
}
REAL_INPUT = {"rfft"}  # NumPy refuses complex input
REAL_OUTPUT = {"irfft"}


def _calls(name: str) -> list[str]:
    _, sizes, axes = TRANSFORMS[name]
    size, axis = ("s", "axes") if name.endswith("2") else ("n", "axis")
    calls = []
    for norm, n, ax in itertools.product(NORMS, sizes, axes):
        args = [f"{size}={n!r}"] if n is not None else []
        args.append(f"{axis}={ax!r}")
        if norm is not None:
            args.append(f"norm={norm!r}")
        calls.append(f"np.fft.{name}(a, {', '.join(args)})")
    return calls


def _module(name: str) -> str:
    """One function per call; `a` is declared complex unless the transform takes real input."""
    annotation = "" if name in REAL_INPUT else ": complex"
    functions = [f"def f{k}(a{annotation}):\n    return {call}\n" for k, call in enumerate(_calls(name))]
    return "import numpy as np\n\n\n" + "\n\n".join(functions)


def _random(shape, rng, real: bool):
    x = rng.normal(size=shape)
    return x if real else x + 1j * rng.normal(size=shape)


def _real_inner(u, v) -> float:
    return float(np.real(np.sum(np.conj(u) * v)))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_fft_pullback_is_the_adjoint(name):
    primal, generated = differentiate(_module(name))
    # The public entries check that unannotated parameters are real; `a: complex` is what
    # this test is about, so the check (the front end's business) is not in the way here.
    generated._check_real = lambda *args, **kwargs: None
    rng = np.random.default_rng(11)
    shape = TRANSFORMS[name][0]
    for k, call in enumerate(_calls(name)):
        x = _random(shape, rng, real=name in REAL_INPUT)
        out, pullback = getattr(generated, f"f{k}_vjp")(x)
        np.testing.assert_allclose(out, getattr(primal, f"f{k}")(x), rtol=1e-12, atol=1e-12, err_msg=call)
        y = _random(np.shape(out), rng, real=name in REAL_OUTPUT)
        (x_bar,) = pullback(y)
        assert np.shape(x_bar) == shape, call
        if name in REAL_INPUT:
            x_bar = np.real(x_bar)  # the cotangent of a real input is the adjoint's real part
        lhs, rhs = _real_inner(out, y), _real_inner(x, x_bar)
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs)), f"{call}: Re<F x, y> = {lhs}, Re<x, F^H y> = {rhs}"


def test_the_adjoint_reads_as_the_inverse_transform_with_the_dual_norm():
    source = "import numpy as np\n\n\ndef f(a):\n    return np.sum(np.real(np.fft.fft(a, norm='ortho')))\n"
    text = generated_text(source)
    assert 'np.fft.ifft(out_real_bar, norm="ortho")' in text, text
    source = "import numpy as np\n\n\ndef f(a):\n    return np.sum(np.real(np.fft.ifft(a, axis=0)))\n"
    assert 'np.fft.fft(out_real_bar, axis=0, norm="forward")' in generated_text(source)


def test_a_norm_that_is_not_a_literal_is_refused_where_it_is_written():
    source = "import numpy as np\n\n\ndef f(a, norm: str):\n    return np.sum(np.real(np.fft.fft(a, norm=norm)))\n"
    with pytest.raises(SourceErrors) as error:
        generated_text(source)
    assert "model.py:5:" in str(error.value) and "argument 'norm' of np.fft.fft() must be a literal" in str(error.value)
