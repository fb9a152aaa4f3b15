"""The test support package: test modules import shared code only from it, and its one
gradient checker fails on wrong derivatives (a checker that cannot fail proves nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from support import central_difference, check_derivative, check_hvp, check_jvp, check_vjp

TESTS = Path(__file__).parent


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")) + sorted((TESTS / "support").glob("*.py")), ids=str)
def test_modules_import_shared_code_only_from_support(path):
    """No test module imports another (`from test_forward import ...`) or a helper beside it."""
    local = {p.stem for p in TESTS.glob("*.py")}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            assert (
                name.split(".")[0] not in local
            ), f"{path.name}:{node.lineno} imports {name}; move it to tests/support"


def _f(x, y):
    return np.sum(np.sin(x) * y)


def _vjp(x, y, wrong=False):
    def pullback(g):
        return (g * np.cos(x) * y * (1.001 if wrong else 1.0), g * np.sin(x))

    return _f(x, y), pullback


def _jvp(x, y, dx, dy, wrong=False):
    return _f(x, y), np.sum(np.cos(x) * y * dx * (1.001 if wrong else 1.0) + np.sin(x) * dy)


def _hvp(x, y, vx, vy, wrong=False):
    hx = -np.sin(x) * y * vx + np.cos(x) * vy
    return (hx * (1.001 if wrong else 1.0), np.cos(x) * vx)


ARGS = [np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])]


def test_checker_accepts_right_derivatives():
    rng = np.random.default_rng(0)
    check_vjp(_f, _vjp, ARGS, rng)
    check_jvp(_f, _jvp, _vjp, ARGS, rng)
    check_hvp(_hvp, _vjp, ARGS, rng)


def test_checker_rejects_a_derivative_off_by_a_tenth_of_a_percent():
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError):
        check_vjp(_f, lambda x, y: _vjp(x, y, wrong=True), ARGS, rng)
    with pytest.raises(AssertionError):
        check_jvp(_f, lambda x, y, dx, dy: _jvp(x, y, dx, dy, wrong=True), None, ARGS, rng)
    with pytest.raises(AssertionError):
        check_hvp(lambda x, y, vx, vy: _hvp(x, y, vx, vy, wrong=True), _vjp, ARGS, rng)


def test_checker_rejects_a_none_cotangent_where_one_is_required():
    def vjp(x, y):
        return _f(x, y), lambda g: (g * np.cos(x) * y, None)

    check_vjp(_f, vjp, ARGS, np.random.default_rng(0))  # None is skipped by default
    with pytest.raises(AssertionError, match="cotangent 1 is None"):
        check_vjp(_f, vjp, ARGS, np.random.default_rng(0), nondiff=())


# ------------------------------------------------------------------- complex values
# z = x + iy is a point of R^2: the expected cotangent of a real loss is dL/dx + i dL/dy. Each
# checker must accept the right complex derivative and reject the three classic mistakes: a
# missing or extra conjugation, a wrong imaginary part, and a real parameter whose cotangent
# (or a real output whose tangent) comes back complex ("real stays real").
Z = np.array([0.4 + 1.1j, -0.8 + 0.3j, 1.2 - 0.6j])
W = np.array([0.7, -0.2, 1.3])


def test_central_difference_follows_the_convention():
    """|z|^2 at 1+2i: dL/dx + i dL/dy = 2 + 4i (as PyTorch and Zygote; JAX gives the conjugate)."""
    got = central_difference(lambda z: abs(z) ** 2, [1 + 2j], 0, 1.0)
    assert isinstance(got, complex)
    assert got == pytest.approx(2 + 4j, abs=1e-8)


def _loss(z, w):
    """A real loss of a complex and a real parameter: sum(w |z|^2 + Re z^3)."""
    return float(np.sum(w * np.abs(z) ** 2 + np.real(z**3)))


def _loss_vjp(z, w, mistake=None):
    def pullback(g):
        z_bar = g * (2 * w * z + 3 * np.conj(z) ** 2)
        w_bar = g * np.real(z * np.conj(z))
        if mistake == "conjugation":
            z_bar = g * (2 * w * z + 3 * z**2)
        elif mistake == "imaginary part":
            z_bar = z_bar.real + 1.001j * z_bar.imag
        elif mistake == "real projection":
            w_bar = g * z * np.conj(z)  # the right values, but a complex array
        return z_bar, w_bar

    return _loss(z, w), pullback


def _loss_jvp(z, w, dz, dw, mistake=None):
    dout = np.sum(dw * np.abs(z) ** 2 + 2 * w * np.real(np.conj(z) * dz) + np.real(3 * z**2 * dz))
    if mistake == "conjugation":
        dout = np.sum(dw * np.abs(z) ** 2 + 2 * w * np.real(z * dz) + np.real(3 * z**2 * dz))
    elif mistake == "imaginary part":
        dout = np.sum(dw * np.abs(z) ** 2 + 2 * w * np.real(np.conj(z) * dz.real) + np.real(3 * z**2 * dz))
    elif mistake == "real projection":
        dout = np.sum(dw * np.abs(z) ** 2 + w * (np.conj(z) * dz + z * np.conj(dz)) + np.real(3 * z**2 * dz))
    return _loss(z, w), dout


def _loss_hvp(z, w, vz, vw, mistake=None):
    hz = 2 * w * vz + 2 * vw * z + 6 * np.conj(z) * np.conj(vz)
    hw = 2 * np.real(np.conj(z) * vz)
    if mistake == "conjugation":
        hz = 2 * w * vz + 2 * vw * z + 6 * z * vz
    elif mistake == "imaginary part":
        hz = hz.real + 1.001j * hz.imag
    elif mistake == "real projection":
        hw = np.conj(z) * vz + z * np.conj(vz)
    return hz, hw


MISTAKES = ["conjugation", "imaginary part", "real projection"]


def test_checkers_accept_right_complex_derivatives():
    rng = np.random.default_rng(0)
    check_vjp(_loss, _loss_vjp, [Z, W], rng, nondiff=())
    check_jvp(_loss, _loss_jvp, _loss_vjp, [Z, W], rng)
    check_hvp(_loss_hvp, _loss_vjp, [Z, W], rng)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_check_vjp_rejects_a_complex_mistake(mistake):
    with pytest.raises(AssertionError, match="real stays real" if mistake == "real projection" else None):
        check_vjp(_loss, lambda z, w: _loss_vjp(z, w, mistake), [Z, W], np.random.default_rng(0))


@pytest.mark.parametrize("mistake", MISTAKES)
def test_check_jvp_rejects_a_complex_mistake(mistake):
    with pytest.raises(AssertionError, match="real stays real" if mistake == "real projection" else None):
        check_jvp(_loss, lambda z, w, dz, dw: _loss_jvp(z, w, dz, dw, mistake), None, [Z, W], np.random.default_rng(0))


@pytest.mark.parametrize("mistake", MISTAKES)
def test_check_hvp_rejects_a_complex_mistake(mistake):
    with pytest.raises(AssertionError, match="real stays real" if mistake == "real projection" else None):
        check_hvp(lambda z, w, vz, vw: _loss_hvp(z, w, vz, vw, mistake), _loss_vjp, [Z, W], np.random.default_rng(0))


def test_the_dot_product_test_uses_the_real_inner_product():
    """A pullback conjugated wrongly fails the adjoint test even where the tangent is right."""
    rng = np.random.default_rng(1)
    with pytest.raises(AssertionError, match="<jvp"):
        check_jvp(_loss, _loss_jvp, lambda z, w: _loss_vjp(z, w, "conjugation"), [Z, W], rng)


def _poly(z, a):
    """A complex output (an array, holomorphic in z) of a complex and a real parameter."""
    return a * z**2 + 1j * a


def _poly_vjp(z, a, mistake=None):
    def pullback(g):
        z_bar = g * np.conj(2 * a * z) if mistake != "conjugation" else g * 2 * a * z
        a_bar = np.sum(np.real(g * np.conj(z**2 + 1j)))
        if mistake == "imaginary part":
            z_bar = np.conj(z_bar)
        elif mistake == "real projection":
            a_bar = np.sum(g * np.conj(z**2 + 1j))  # keeps the imaginary part a real a cannot have
        return z_bar, a_bar

    return _poly(z, a), pullback


def _poly_jvp(z, a, dz, da, mistake=None):
    dout = 2 * a * z * dz + (z**2 + 1j) * da
    if mistake == "conjugation":
        dout = 2 * a * np.conj(z) * dz + (z**2 + 1j) * da
    elif mistake == "imaginary part":
        dout = 2 * a * z * dz + (z**2 - 1j) * da
    return _poly(z, a), dout


def test_checkers_accept_a_complex_output():
    rng = np.random.default_rng(2)
    check_vjp(_poly, _poly_vjp, [Z, 0.7], rng, nondiff=())
    check_jvp(_poly, _poly_jvp, _poly_vjp, [Z, 0.7], rng)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_check_vjp_rejects_a_mistake_on_a_complex_output(mistake):
    with pytest.raises(AssertionError):
        check_vjp(_poly, lambda z, a: _poly_vjp(z, a, mistake), [Z, 0.7], np.random.default_rng(2))


@pytest.mark.parametrize("mistake", ["conjugation", "imaginary part"])
def test_check_jvp_rejects_a_mistake_on_a_complex_output(mistake):
    with pytest.raises(AssertionError):
        check_jvp(
            _poly, lambda z, a, dz, da: _poly_jvp(z, a, dz, da, mistake), None, [Z, 0.7], np.random.default_rng(2)
        )


def _entire(z):
    return z**3 + np.exp(z)


def test_check_derivative_accepts_the_complex_derivative():
    check_derivative(_entire, lambda z: 3 * z**2 + np.exp(z), 0.3 - 0.8j)
    # An array parameter and a real one: one entry per parameter, None for the real one.
    check_derivative(lambda z, a: np.sum(a * z**2), lambda z, a: (2 * a * z, None), Z, 1.5)
    check_derivative(lambda z, a: np.sum(a * z**2), lambda z, a: 2 * a * z, Z, 1.5)


def test_check_derivative_rejects_a_wrong_derivative():
    z = 0.3 - 0.8j
    with pytest.raises(AssertionError, match="real axis"):
        check_derivative(_entire, lambda z: np.conj(3 * z**2 + np.exp(z)), z)  # the cotangent, not f'(z)
    with pytest.raises(AssertionError):
        check_derivative(_entire, lambda z: complex(3 * z**2 + np.exp(z)).real, z)  # no imaginary part
    with pytest.raises(AssertionError, match="no derivative for the complex argument 0"):
        check_derivative(lambda z, a: np.sum(a * z**2), lambda z, a: (None, None), Z, 1.5)


def test_check_derivative_rejects_a_function_that_is_not_holomorphic():
    """|z|^2 has no complex derivative: whatever is claimed, one axis disagrees (here the
    imaginary one, for the value that matches the real axis)."""
    z = 0.3 - 0.8j
    with pytest.raises(AssertionError, match="imaginary axis"):
        check_derivative(lambda z: abs(z) ** 2, lambda z: 2 * z.real, z)


def test_check_derivative_goes_through_a_dict_of_parameters():
    p = {"a": 0.3 + 0.2j, "b": Z}

    def f(p):
        return p["a"] ** 2 * np.sum(p["b"] ** 3)

    def derivative(p, wrong=False):
        return {
            "a": 2 * p["a"] * np.sum(p["b"] ** 3),
            "b": 3 * p["a"] ** 2 * (np.conj(p["b"]) if wrong else p["b"]) ** 2,
        }

    check_derivative(f, derivative, p)
    with pytest.raises(AssertionError, match=r"argument 0\['b'\]"):
        check_derivative(f, lambda p: derivative(p, wrong=True), p)
