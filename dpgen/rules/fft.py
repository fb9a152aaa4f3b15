"""Discrete Fourier transforms: ``np.fft.fft``, ``ifft``, ``rfft``, ``irfft``, ``fft2``, ``ifft2``.

Each is linear, so forward mode applies it to the tangent, and each cotangent below is its
ADJOINT (conjugate transpose) for the real inner product ``Re<u, v>`` that the complex
convention uses (DEVELOPERS.md, "Complex numbers"): the reverse pass does not conjugate a
linear rule, so the rule states the conjugation itself. ``tests/test_fft_rules.py`` checks
every adjoint with the dot-product test ``Re<F x, y> == Re<x, F^H y>``.

What ``norm=`` does. NumPy scales the forward transform by 1 (``"backward"``, the default),
``1/sqrt(n)`` (``"ortho"``) or ``1/n`` (``"forward"``), and the inverse by the complement so
``ifft(fft(x)) == x``. The adjoint of the unnormalized DFT is ``n`` times its inverse, so the
adjoint of a transform is the inverse transform with the DUAL norm: ``"backward"`` <->
``"forward"``, ``"ortho"`` <-> ``"ortho"`` (an orthonormal transform's adjoint is its
inverse). ``norm`` must be written as a literal (``norm="ortho"``); a variable is refused
with a located error, since the dual is chosen when the code is generated.

``n=`` / ``s=`` crop or zero-pad the input before transforming; the adjoint of that is
zero-padding or cropping the cotangent back to the input's length (the ``resize`` helper).

``fft``, ``ifft``, ``fft2`` and ``ifft2`` are complex-linear, hence holomorphic: the same
rule serves real and complex input, and a real input's cotangent is the real part (the
reverse pass takes it). ``rfft`` and ``irfft`` are only real-linear:

- ``rfft`` takes real input (NumPy raises TypeError for a complex one), so it is marked not
  holomorphic with no complex rule: a complex argument is refused when the code is generated.
  Its adjoint is the full inverse transform of the half spectrum zero-padded to ``n``; the
  reverse pass keeps its real part, the input being real.
- ``irfft`` reads a half spectrum and ignores the imaginary parts of its DC bin (and, for
  even ``n``, its Nyquist bin), so it is not holomorphic; its adjoint, ``rfft`` of the
  cotangent weighted 1 on those bins and 2 on the others (each stands for itself and its
  mirror image), is its complex rule; on a real spectrum the rule takes its real part, since
  nothing else in such a call is complex for the reverse pass to take it.
"""

from dpgen.ir import Apply, Const, Hole, Lit
from dpgen.rules import Bound, RuleError, deflinear

#: The norm whose transform is the adjoint of one with this norm (None is "backward").
_DUAL = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _dual_norm(bound: Bound) -> Lit:
    norm = bound.constant("norm")
    if norm not in _DUAL:
        raise RuleError(f"{bound.rule.short_name}(norm={norm!r}): norm must be None, 'backward', 'ortho' or 'forward'")
    return Lit(_DUAL[norm])


def _axis_keyword(bound: Bound, name: str, default: str) -> tuple:
    """``axis=...`` for the adjoint's call, left out where it is NumPy's default."""
    return () if bound[name] == Const(default) else ((name, Hole(name)),)


def _adjoint(inverse: str, size: str, axis: str, default: str):
    """The cotangent of a complex transform: `inverse` with the dual norm, resized back to
    the input's shape along `axis` when `size` (``n``/``s``) cropped or padded it."""

    def build(bound: Bound):
        kwargs = _axis_keyword(bound, axis, default) + (("norm", _dual_norm(bound)),)
        transformed = Apply(inverse, (Hole("g"),), kwargs)
        if bound[size] == Const("None"):
            return transformed
        return Apply("dpgen.helpers._resize", (transformed, Hole("a"), Hole(axis)))

    return build


def _rfft_adjoint(bound: Bound):
    """ifft of the half spectrum zero-padded to the transform's length, back to the input's."""
    kwargs = _axis_keyword(bound, "axis", "-1") + (("norm", _dual_norm(bound)),)
    if bound["n"] == Const("None"):  # the length is the input's: no resize
        length = Apply("dpgen.getitem", (Apply("numpy.shape", (Hole("a"),)), Hole("axis")))
        return Apply("numpy.fft.ifft", (Hole("g"), length), kwargs)
    transformed = Apply("numpy.fft.ifft", (Hole("g"), Hole("n")), kwargs)
    return Apply("dpgen.helpers._resize", (transformed, Hole("a"), Hole("axis")))


def _irfft_tangent(bound: Bound):
    """irfft applied to the tangent, with the call's own arguments (its complex rule: the
    transform is real-linear, so the tangent of a complex input is the transform of it)."""
    kwargs = tuple(
        (name, Hole(name)) for name in ("n", "axis", "norm") if bound[name] != Const(bound.rule.defaults[name])
    )
    return Apply("numpy.fft.irfft", (Hole("t"),), kwargs)


def _irfft_adjoint(bound: Bound):
    """The half spectrum's cotangent (complex rule: a complex spectrum's)."""
    _dual_norm(bound)  # only to refuse a norm that is not a literal, as the other transforms do
    return Apply("dpgen.helpers._irfft_vjp", (Hole("g"), Hole("a"), Hole("axis"), Hole("norm")))


def _irfft_real_adjoint(bound: Bound):
    """A real spectrum's cotangent: the real part of the adjoint. The reverse pass takes no
    real part itself here, as nothing else in the call is complex."""
    return Apply("numpy.real", (_irfft_adjoint(bound),))


for _name, _inverse in (("fft", "ifft"), ("ifft", "fft")):
    deflinear(
        f"numpy.fft.{_name}(a, n=None, axis=-1, norm=None, out=None)",
        a=_adjoint(f"numpy.fft.{_inverse}", "n", "axis", "-1"),
        out_dtype="complex",
    )
for _name, _inverse in (("fft2", "ifft2"), ("ifft2", "fft2")):
    deflinear(
        f"numpy.fft.{_name}(a, s=None, axes=(-2, -1), norm=None, out=None)",
        a=_adjoint(f"numpy.fft.{_inverse}", "s", "axes", "(-2, -1)"),
        out_dtype="complex",
    )
deflinear(
    "numpy.fft.rfft(a, n=None, axis=-1, norm=None, out=None)",
    a=_rfft_adjoint,
    holomorphic=False,
    out_dtype="complex",
)
deflinear(
    "numpy.fft.irfft(a, n=None, axis=-1, norm=None, out=None)",
    a=_irfft_real_adjoint,
    complex_vjp={"a": _irfft_adjoint},
    complex_jvp={"a": _irfft_tangent},
    holomorphic=False,
    out_dtype="real",
)
