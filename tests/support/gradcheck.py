"""The gradient checker: generated derivatives against central finite differences in float64.

Every tolerance the tests use lives here. A test may pass tighter ones (a case whose
derivative is known to be ill-conditioned says so in its table row), never looser defaults.

- `check_vjp`: every cotangent element by element, through dicts, lists and tuple outputs;
  the primal value; no argument mutated; which parameters get None.
- `check_jvp`: the tangent along a random direction, and the dot-product test against the
  pullback (<jvp(v), u> == <v, vjp(u)>).
- `check_hvp`: H v against central differences of the gradient along v, and symmetry
  (<u, H v> == <v, H u>).
- `check_derivative`: a holomorphic function's complex derivative f'(z) against central
  differences along the real axis and along the imaginary axis.

Complex values (the convention of DEVELOPERS.md and the README): a complex leaf z = x + iy is
a point of R^2 per element. Its expected cotangent for a real-valued loss L is dL/dx + i dL/dy,
from two central differences, one along the real part and one along the imaginary part. A
complex output w pairs with its cotangent u through the real inner product Re<u, w> =
sum(real(conj(u) * w)), which is also the inner product of every dot-product test. A REAL leaf
must get a REAL cotangent (and a real output a real tangent): "real stays real".
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from support.structures import (
    assert_close,
    assert_same,
    difference,
    get_leaf,
    inner,
    is_complex,
    leaf_paths,
    random_complex,
    random_tangent,
    shifted,
    with_leaf,
)

#: Step of first-order central differences (along one element or one direction).
EPS = 1e-6
#: Relative and absolute tolerance of first derivatives against central differences.
RTOL, ATOL = 1e-5, 1e-6
#: The generated code's primal value against the source's: the same operations, so rounding only.
VALUE_TOL = 1e-12
#: <jvp(v), u> == <v, vjp(u)>: both exact, so rounding only (relative to the larger side, or 1).
ADJOINT_TOL = 1e-9
#: A derivative along one direction (<grad, v>, jvp(v)) against one central difference: no
#: per-element cancellation, so tighter than element by element.
ALONG_RTOL, ALONG_ATOL = 1e-6, 1e-7
#: <u, H v> against one central difference of <u, grad> along v.
HVP_ALONG_RTOL, HVP_ALONG_ATOL = 1e-5, 1e-6
#: Step of central differences of the gradient (second derivatives).
EPS_HVP = 1e-5
#: H v against differences of the gradient along v.
HVP_RTOL, HVP_ATOL = 2e-5, 2e-6
#: <u, H v> == <v, H u>: both exact up to rounding.
SYMMETRY_TOL = 1e-8
#: Second directional derivatives <w, H v> from four points (the fuzzer's check of f_hvp,
#: `program_grammar`): step, and absolute tolerance (the relative one is 100 x RTOL).
EPS2 = 1e-4
SECOND_ATOL = 1e-4


def _pairing(cotangent, out) -> float:
    """<cotangent, out>, through tuples: the real inner product Re<u, w> where either is complex."""
    if isinstance(out, tuple):
        return sum(_pairing(c, o) for c, o in zip(cotangent, out))
    if is_complex(cotangent) or is_complex(out):
        return float(np.sum(np.real(np.conj(np.asarray(cotangent)) * np.asarray(out))))
    return float(np.sum(np.asarray(cotangent) * np.asarray(out)))


def central_difference(f, args: list, i: int, cotangent, eps: float = EPS, path: tuple = ()):
    """d<cotangent, f(args)>/d args[i][path], element by element (central, float64).

    For a complex leaf, dL/dx + i dL/dy: one central difference along the real part of each
    element and one along its imaginary part (the convention of the module docstring)."""
    leaf = get_leaf(args[i], path)
    kind = complex if is_complex(leaf) else float
    x = np.asarray(leaf, dtype=kind)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        for part in (1.0, 1j) if kind is complex else (1.0,):
            for sign in (+1, -1):
                moved = x.copy()
                moved[idx] += sign * eps * part
                trial = copy.deepcopy(list(args))
                trial[i] = with_leaf(trial[i], path, moved if np.ndim(leaf) else kind(moved))
                grad[idx] += part * sign * _pairing(cotangent, f(*trial))
    grad /= 2 * eps
    return grad if np.ndim(leaf) else kind(grad)


def directional_difference(f, args: list, direction: list, eps: float = EPS):
    """(f(args + eps v) - f(args - eps v)) / 2 eps, through the structure of f's result."""
    plus = f(*[shifted(a, t, eps) for a, t in zip(args, direction)])
    minus = f(*[shifted(a, t, -eps) for a, t in zip(args, direction)])
    return difference(plus, minus, eps)


def _seed(out, rng):
    """The output cotangent: 1.0 for a real scalar (the gradient itself), random otherwise
    (complex, both parts random, for a complex output)."""
    if isinstance(out, tuple):
        return tuple(_seed(o, rng) for o in out)
    if is_complex(out):
        return random_complex(np.shape(out), rng)
    return rng.normal(size=np.shape(out)) if np.ndim(out) else 1.0


def _assert_real_stays_real(got, value, what: str) -> None:
    """A derivative `got` belonging to a REAL `value` (argument or output) must be real: a
    complex dtype, even with a zero imaginary part, would turn real parameters complex."""
    if got is None or value is None:
        return
    if isinstance(value, dict):
        for key in value:
            _assert_real_stays_real(got[key], value[key], f"{what}[{key!r}]")
    elif isinstance(value, (list, tuple)) and isinstance(got, (list, tuple)):
        for k, (x, y) in enumerate(zip(got, value)):
            _assert_real_stays_real(x, y, f"{what}[{k}]")
    elif not is_complex(value) and not isinstance(value, (list, tuple)):
        assert not np.iscomplexobj(got), f"{what}: real stays real, but a real value got the complex {got!r}"


def check_vjp(primal, vjp, args, rng, nondiff=None, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Check every cotangent of `vjp` against central differences of `primal`.

    Also: the vjp leaves its arguments untouched and its primal output matches the source's.
    `nondiff=None` skips the parameters whose cotangent is None; a tuple of positions says
    exactly which parameters must get None (every other one must not).
    """
    before = copy.deepcopy(list(args))
    out, pullback = vjp(*args)
    assert_same(before, list(args), "the generated vjp mutated an argument")
    expected_out = primal(*copy.deepcopy(list(args)))
    if isinstance(expected_out, tuple):
        assert isinstance(out, tuple) and len(out) == len(expected_out)
        for got, want in zip(out, expected_out):
            np.testing.assert_allclose(got, want, rtol=VALUE_TOL, atol=VALUE_TOL)
    else:
        np.testing.assert_allclose(out, expected_out, rtol=VALUE_TOL, atol=VALUE_TOL)
    cotangent = _seed(out, rng)
    cotangents = pullback(cotangent)
    assert isinstance(cotangents, tuple) and len(cotangents) == len(args)
    for i, (arg, got) in enumerate(zip(args, cotangents)):
        if nondiff is not None and i in nondiff:
            assert got is None, f"cotangent {i} should be None (not differentiable), got {got!r}"
            continue
        if got is None:
            assert nondiff is None, f"cotangent {i} is None"
            continue
        if isinstance(arg, dict):
            assert isinstance(got, dict), f"cotangent {i}: a dict argument needs a dict cotangent, got {type(got)}"
            assert set(got) == set(arg), f"cotangent {i}: keys {sorted(got)} != {sorted(arg)}"
        for path in leaf_paths(arg):
            # A list argument's cotangent may come back stacked into one array.
            leaf_got = get_leaf(got, path) if isinstance(got, dict) else np.asarray(got)[path] if path else got
            expected = central_difference(primal, args, i, cotangent, path=path)
            where = f"cotangent of argument {i}{''.join(f'[{p!r}]' for p in path)}"
            shape = np.shape(get_leaf(arg, path))
            assert np.shape(leaf_got) == shape, f"{where}: shape {np.shape(leaf_got)} != {shape}"
            _assert_real_stays_real(leaf_got, get_leaf(arg, path), where)
            np.testing.assert_allclose(leaf_got, expected, rtol=rtol, atol=atol, err_msg=where)


def check_jvp(primal, jvp, vjp, args, rng, rtol: float = RTOL, atol: float = ATOL, eps: float = EPS) -> None:
    """The tangent of `jvp` along a random direction against central differences of `primal`,
    and (given `vjp`) the dot-product test <jvp(v), u> == <v, vjp(u)>."""
    tangents = [random_tangent(a, rng) for a in args]
    if vjp is not None:
        # No tangent where the function is not differentiable (a tolerance read only by a
        # loop test): shifting it would only change the trip count.
        out, pullback = vjp(*copy.deepcopy(args))
        u = random_tangent(out, rng) if not isinstance(out, (bool, np.bool_)) else None
        cotangents = pullback(u) if u is not None else [None] * len(args)
        tangents = [None if c is None and u is not None else t for t, c in zip(tangents, cotangents)]
    before = copy.deepcopy(args)
    # By keyword: with fewer arguments than parameters (defaults), positional tangents would
    # land on the defaulted primals.
    names = list(inspect.signature(jvp).parameters)
    tangent_names = names[len(names) // 2 :][: len(tangents)]
    out, dout = jvp(*copy.deepcopy(args), **dict(zip(tangent_names, copy.deepcopy(tangents))))
    expected_out = primal(*copy.deepcopy(args))
    assert_close(out, expected_out, VALUE_TOL, VALUE_TOL, "value")
    _assert_real_stays_real(dout, expected_out, "tangent of the output")
    for arg, kept in zip(args, before):
        assert_close(arg, kept, 0, 0, "an argument was mutated")
    expected = directional_difference(primal, args, tangents, eps)
    assert_close(dout, expected, rtol, atol, "tangent vs central difference")
    # The adjoint test: one random cotangent, both derivatives, exact up to rounding.
    if vjp is None or u is None:
        return
    lhs = inner(dout, u)
    rhs = sum(inner(t, c) for t, c in zip(tangents, cotangents))
    tol = ADJOINT_TOL * max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= tol, f"<jvp(v), u> = {lhs} but <v, vjp(u)> = {rhs}"


def entries(result, cotangents) -> list:
    """An `f_grad`/`f_hvp` result spread over the parameters: a bare value is the entry of
    the one parameter with a cotangent."""
    if isinstance(result, tuple) and len(result) == len(cotangents):
        return list(result)
    present = [k for k, c in enumerate(cotangents) if c is not None]
    assert len(present) == 1, f"a bare result, but {len(present)} parameters have a cotangent"
    return [result if k == present[0] else None for k in range(len(cotangents))]


def check_hvp(hvp, vjp, args, rng, rtol: float = HVP_RTOL, atol: float = HVP_ATOL, eps: float = EPS_HVP) -> None:
    """`hvp(*args, *v)` (H v, for a real-scalar function) against central differences of the
    gradient `vjp` gives along v, and the symmetry <u, H v> == <v, H u>."""
    out, pullback = vjp(*copy.deepcopy(args))
    assert np.ndim(out) == 0 and not isinstance(out, tuple), "a Hessian needs a real-scalar function"
    assert not is_complex(out), "a Hessian needs a real-scalar function, the output is complex"
    cotangents = pullback(1.0)
    v = [None if c is None else random_tangent(a, rng) for a, c in zip(args, cotangents)]
    u = [None if c is None else random_tangent(a, rng) for a, c in zip(args, cotangents)]
    hv = entries(hvp(*copy.deepcopy(args), *copy.deepcopy(v)), cotangents)
    hu = entries(hvp(*copy.deepcopy(args), *copy.deepcopy(u)), cotangents)

    def gradient(*point):
        return vjp(*point)[1](1.0)

    # For a complex z = x + iy, the gradient is dL/dx + i dL/dy and H v packs the R^2 Hessian
    # applied to (Re v, Im v) the same way: the difference of the gradient along v gives it.
    expected = directional_difference(gradient, args, v, eps)
    for k, got in enumerate(hv):
        if got is not None:
            _assert_real_stays_real(got, args[k], f"H v, parameter {k}")
            assert_close(got, expected[k], rtol, atol, f"H v, parameter {k}")
    lhs, rhs = inner(u, hv), inner(v, hu)
    assert abs(lhs - rhs) <= SYMMETRY_TOL * max(1.0, abs(lhs)), f"<u, Hv> = {lhs} but <v, Hu> = {rhs}"


def check_derivative(f, f_derivative, *args, which=None, rtol: float = RTOL, atol: float = ATOL, eps: float = EPS):
    """`f_derivative(*args)`, the complex derivative f'(z) of a holomorphic scalar function,
    against (f(z + h) - f(z - h)) / 2h AND (f(z + ih) - f(z - ih)) / 2ih, element by element of
    each complex parameter z (for an array z, f'(z) is the array of partial derivatives).

    Both differences must agree with f'(z): a function that is not holomorphic (|z|^2, conj z)
    fails one of them whatever the derivative says. The result is a tuple with one entry per
    parameter (None for the real ones) or, bare, the entry of the one parameter `which` (by
    default the one argument with a complex value).
    """
    result = f_derivative(*copy.deepcopy(list(args)))
    holds_complex = [any(is_complex(get_leaf(a, path)) for path in leaf_paths(a)) for a in args]
    if isinstance(result, tuple) and len(result) == len(args):
        derivatives = list(result)
    else:
        if which is None:
            complex_args = [k for k, c in enumerate(holds_complex) if c]
            assert len(complex_args) == 1, f"a bare f_derivative, but {len(complex_args)} arguments are complex"
            which = complex_args[0]
        derivatives = [result if k == which else None for k in range(len(args))]
    for k, complex_ in enumerate(holds_complex):
        if complex_:
            assert derivatives[k] is not None, f"no derivative for the complex argument {k}"
    for k, derivative in enumerate(derivatives):
        if derivative is None:
            continue
        for path in leaf_paths(args[k]):  # a dict or list of parameters: leaf by leaf
            where = f"argument {k}{''.join(f'[{p!r}]' for p in path)}"
            _check_derivative_leaf(f, args, k, path, get_leaf(derivative, path), where, rtol, atol, eps)


def _check_derivative_leaf(f, args, k, path, derivative, where, rtol, atol, eps) -> None:
    """f'(z) for the leaf at `path` of argument k, against differences along 1 and along i."""
    leaf = get_leaf(args[k], path)
    z = np.asarray(leaf, dtype=complex)
    assert np.shape(derivative) == z.shape, f"derivative of {where}: shape {np.shape(derivative)} != {z.shape}"
    for direction in (1.0, 1j):
        expected = np.zeros(z.shape, dtype=complex)
        for idx in np.ndindex(z.shape):
            ends = []
            for sign in (+1, -1):
                moved = z.copy()
                moved[idx] += sign * eps * direction
                trial = copy.deepcopy(list(args))
                trial[k] = with_leaf(trial[k], path, moved if np.ndim(leaf) else complex(moved))
                value = f(*trial)
                assert np.ndim(value) == 0 and not isinstance(value, tuple), "f'(z) needs a scalar function"
                ends.append(complex(value))
            expected[idx] = (ends[0] - ends[1]) / (2 * eps * direction)
        along = "the real axis" if direction == 1.0 else "the imaginary axis"
        np.testing.assert_allclose(
            derivative,
            expected if z.shape else expected[()],
            rtol=rtol,
            atol=atol,
            err_msg=f"f'(z) of {where} against central differences along {along}",
        )
