"""Generated code that crashed (issue 9): user names equal to the names generated code uses,
multiple-target assignment, and tuples used both unpacked and indexed.

Every case is generated in reverse, forward and hvp mode, imported, and every entry point
(`f_vjp`, `f_grad`, `f_jvp`, `f_hvp`) is called and checked against central differences in
float64: the gradient and the JVP along a random direction against differences of `f`, the
Hessian-vector product against differences of the gradient.
"""

from __future__ import annotations

import copy
import textwrap

import numpy as np
import pytest

from dpgen.errors import SourceErrors
from dpgen.header import Options
from support import (
    ALONG_ATOL,
    ALONG_RTOL,
    EPS_HVP,
    HVP_ALONG_ATOL,
    HVP_ALONG_RTOL,
    VALUE_TOL,
    check_vjp,
    directional_difference,
    entries,
    generated_text,
    inner,
    load,
    load_source,
    random_tangent,
)

HEADER = "import numpy as np\nimport math\n\n"
X = [0.3, -0.7, 1.1]
Y = [0.5, 0.2, -0.4]


def _vec(values):
    return np.array(values, dtype=float)


def _xy():
    return [_vec(X), _vec(Y)]


#: (id, source, entry, arguments): each source names something the way generated code does.
NAMES = [
    # helpers the output copies in, as locals and as parameters
    ("local _unbroadcast", "def f(x, y):\n    _unbroadcast = x * y\n    return np.sum(_unbroadcast * x)\n", _xy),
    ("local _unreduce", "def f(x, y):\n    _unreduce = x * y\n    return np.sum(_unreduce * x)\n", _xy),
    ("local _zero_tangent", "def f(x, y):\n    _zero_tangent = x * y\n    return np.sum(_zero_tangent * x)\n", _xy),
    ("local _keepdims", "def f(x, y):\n    _keepdims = np.sum(x * y)\n    return _keepdims * np.sum(x)\n", _xy),
    ("param _unbroadcast", "def f(x, _unbroadcast):\n    return np.sum(_unbroadcast * x * x)\n", _xy),
    ("param _zero_tangent", "def f(x, _zero_tangent):\n    return np.sum(_zero_tangent * np.sin(x))\n", _xy),
    (
        "param _check_real",
        "def f(x, _check_real):\n    return np.sum(_check_real * np.sin(x))\n",
        _xy,
    ),  # found in review
    (
        "param _unbroadcast in a branch",
        "def f(x, _unbroadcast):\n    if x[0] > 0:\n        s = x * _unbroadcast\n    else:\n        s = x\n    return np.sum(s * s)\n",
        _xy,
    ),
    # names the generated code uses itself
    ("local _", "def f(x, y):\n    _ = x * y\n    return np.sum(_ * x)\n", _xy),
    (
        "loop counter _",
        "def f(x, y):\n    s = x\n    for _ in range(2):\n        s = np.sin(s) * y\n    return np.sum(s)\n",
        _xy,
    ),
    ("local out", "def f(x, y):\n    out = x * y\n    return np.sum(out * x)\n", _xy),
    ("param out", "def f(x, out):\n    return np.sum(out * x * x)\n", _xy),
    ("local math", "def f(x, y):\n    math = x * y\n    return np.sum(math * x)\n", _xy),
    ("local np", "def f(x, y):\n    np = 2.0\n    return math.sin(np) * x[0] * y[1]\n", _xy),
    (
        "loop locals",
        "def f(x, y):\n    loop_pullbacks = x * 1.0\n    step = y * 2.0\n    step_pullback = 3.0\n    s = x\n    for i in range(3):\n        s = s * y + loop_pullbacks * step\n    return np.sum(s) * step_pullback\n",
        _xy,
    ),
    (
        "loop body locals",
        "def f(x, y):\n    s = x\n    for i in range(3):\n        loop_pullbacks = s * y\n        step = loop_pullbacks + 1.0\n        s = step * 0.5\n    return np.sum(s)\n",
        _xy,
    ),
    (
        "branch_pullback local",
        "def f(x, y):\n    branch_pullback = x * y\n    if x[0] > 0:\n        s = branch_pullback * 2.0\n    else:\n        s = branch_pullback\n    return np.sum(s * x)\n",
        _xy,
    ),
    (
        "local len and range",
        "def f(x, y):\n    range = x[0] * 1.0\n    len = y * 2.0\n    s = x\n    for v in [x[1], x[2]]:\n        s = s * y + v\n    return np.sum(s * len) * range\n",
        _xy,
    ),
    (
        "param len",
        "def f(x, len):\n    s = x\n    for i in range(2):\n        s = np.sin(s) * len\n    return np.sum(s)\n",
        _xy,
    ),
    (
        "param reversed",
        "def f(x, reversed):\n    s = x\n    for i in range(3):\n        s = np.sin(s) * reversed\n    return np.sum(s)\n",
        _xy,
    ),
    ("param slice", "def f(x, slice):\n    z = x * slice\n    return np.sum(z[1:] * z[:2])\n", _xy),
    (
        "dict adjoint, local key",
        "def f(p, y):\n    key = y * 2.0\n    s = y\n    for i in range(2):\n        s = s * p['a'] + p['b']\n    return np.sum(s * key)\n",
        lambda: [{"a": _vec(X), "b": _vec(Y)}, _vec(Y)],
    ),
    (
        "dict adjoint, param key",
        "def f(p, key):\n    s = key\n    for i in range(2):\n        s = s * p['a'] + p['b']\n    return np.sum(s * key)\n",
        lambda: [{"a": _vec(X), "b": _vec(Y)}, _vec(Y)],
    ),
    (
        "dict adjoint, param value",
        "def f(p, value):\n    s = value\n    for i in range(2):\n        s = s * p['a'] + p['b'] * value\n    return np.sum(s)\n",
        lambda: [{"a": _vec(X), "b": _vec(Y)}, _vec(Y)],
    ),
    # contract names: module constants, parameters, locals, a callee's generated names
    ("constant f_vjp", "f_vjp = 2.0\n\ndef f(x, y):\n    return np.sum(x * y) * f_vjp\n", _xy),
    ("constant f_grad", "f_grad = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * f_grad\n", _xy),
    ("constant f_jvp", "f_jvp = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * f_jvp\n", _xy),
    ("constant f_hvp", "f_hvp = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * f_hvp\n", _xy),
    ("constant f_pullback", "f_pullback = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * f_pullback\n", _xy),
    ("constants f_vjp = K", "f_vjp = K = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * f_vjp * K\n", _xy),
    ("constant _unbroadcast", "_unbroadcast = 2.0\n\ndef f(x, y):\n    return np.sum(x * y * x) * _unbroadcast\n", _xy),
    ("param f_vjp", "def f(x, y, f_vjp):\n    return np.sum(x * y * f_vjp * x)\n", lambda: [*_xy(), _vec(X) + 1]),
    ("param f_grad", "def f(x, y, f_grad):\n    return np.sum(x * y * f_grad * x)\n", lambda: [*_xy(), _vec(X) + 1]),
    ("param f_jvp", "def f(x, y, f_jvp):\n    return np.sum(x * y * f_jvp * x)\n", lambda: [*_xy(), _vec(X) + 1]),
    (
        "param f_jvp_vjp",
        "def f(x, y, f_jvp_vjp):\n    return np.sum(x * y * f_jvp_vjp * x)\n",
        lambda: [*_xy(), _vec(X) + 1],
    ),
    (
        "recursion, param f_vjp",
        "def f(x, n: int, f_vjp):\n    if n <= 0:\n        return np.sum(x * f_vjp * x)\n    return f(x * 0.9, n - 1, f_vjp)\n",
        lambda: [_vec(X), 2, _vec(Y)],
    ),
    ("param g_vjp", "def g(x):\n    return x * 2.0\n\ndef f(x, g_vjp):\n    return np.sum(g(x) * g_vjp * x)\n", _xy),
    ("param g_jvp", "def g(x):\n    return x * 2.0\n\ndef f(x, g_jvp):\n    return np.sum(g(x) * g_jvp * x)\n", _xy),
    (
        "local g_vjp",
        "def g(x):\n    return x * 2.0\n\ndef f(x, y):\n    g_vjp = y * 3.0\n    return np.sum(g(x) * g_vjp * x)\n",
        _xy,
    ),
    (
        "local g_jvp",
        "def g(x):\n    return x * 2.0\n\ndef f(x, y):\n    g_jvp = y * 3.0\n    return np.sum(g(x) * g_jvp * x)\n",
        _xy,
    ),
    (
        "loop-carried param g_vjp",
        "def g(x):\n    return x * 2.0\n\ndef f(x, g_vjp):\n    s = x\n    for i in range(2):\n        s = g(s) * g_vjp\n    return np.sum(s * s)\n",
        _xy,
    ),
    (
        "function f_vjp beside f",
        "def f_vjp(x):\n    return x * 2.0\n\ndef f(x, y):\n    return np.sum(f_vjp(x) * y * x)\n",
        _xy,
    ),
    (
        "local named like an internal function",
        "def f(x, y):\n    _f_line6_for = y * 2.0\n    s = x\n    for i in range(2):\n        s = np.sin(s) * _f_line6_for\n    return np.sum(s)\n",
        _xy,
    ),
    # names the pullbacks, reverse loops and tangent code use inside generated scopes
    (
        "params named like the pullback's locals",
        "def f(x, step, loop_pullbacks, branch_pullback, out_bar):\n    s = x\n    for i in range(2):\n"
        "        s = np.sin(s) * step + loop_pullbacks\n    if s[0] > 0:\n        s = s * branch_pullback\n"
        "    return np.sum(s * out_bar)\n",
        lambda: [_vec(X), 0.7, _vec(Y), 1.3, _vec(Y) + 0.5],
    ),
    (
        "locals named like the pullback's locals",
        "def f(x, y):\n    step = y * 0.7\n    loop_pullbacks = y + 1.0\n    s = x\n    for i in range(2):\n"
        "        s = np.sin(s) * step + loop_pullbacks\n    branch_pullback = s * 2.0\n    if s[0] > 0:\n"
        "        s = s * branch_pullback\n    out_bar = s + y\n    return np.sum(s * out_bar)\n",
        _xy,
    ),
    (
        "params named like tangents and cotangents",
        "def f(x, dx, x_bar, ds):\n    s = x * dx\n    for i in range(2):\n        s = np.sin(s) * x_bar + ds\n"
        "    return np.sum(s)\n",
        lambda: [_vec(X), _vec(Y), _vec(Y) + 0.5, 0.3],
    ),
    (
        "param named like an internal function",
        "def f(x, _f_line5_for_vjp):\n    s = x\n    for i in range(2):\n        s = np.sin(s) * _f_line5_for_vjp\n    return np.sum(s)\n",
        _xy,
    ),
]

#: Multiple targets and tuples: both names (or the tuple and its items) used afterwards.
ASSIGNMENTS = [
    ("a = b = x * y", "def f(x, y):\n    a = b = x * y\n    return np.sum(a * b + a)\n", _xy),
    (
        "a = b = g(x)",
        "def g(x):\n    return x * 2.0\n\ndef f(x, y):\n    a = b = g(x * y)\n    return np.sum(a * b + a)\n",
        _xy,
    ),
    ("a = b = x (a parameter)", "def f(x, y):\n    a = b = x\n    return np.sum(a * b + a * y)\n", _xy),
    (
        "a = b = ... in a loop",
        "def f(x, y):\n    s = x\n    for i in range(2):\n        a = b = s * y\n        s = a + np.sin(b)\n    return np.sum(s)\n",
        _xy,
    ),
    # A name freed by one statement's rename is reused by the next: only a statement's own
    # renames apply to its later targets (a random program lost the second tanh).
    (
        "a = tanh(a) twice in a loop",
        "def f(x, y):\n    a = x * y\n    for i in range(1):\n        a = np.tanh(a)\n        a = np.tanh(a)\n    return np.sum(a * a)\n",
        _xy,
    ),
    (
        "a = b = ..., then a rebound",
        "def f(x, y):\n    a = b = x * y\n    a = a + 1.0\n    return np.sum(a * b)\n",
        _xy,
    ),
    # Aliasing: both names are one array, so the write must show through b too.
    (
        "a = b = np.zeros(3); a[0] = x",
        "def f(x, y):\n    a = b = np.zeros(3)\n    a[0] = x[1]\n    return np.sum(b * y) + np.sum(a * x)\n",
        _xy,
    ),
    (
        "a = b = x * y; a[0] = x",
        "def f(x, y):\n    a = b = x * y\n    a[0] = x[1]\n    return np.sum(b * y) + np.sum(a * x)\n",
        _xy,
    ),
    (
        "a, b = c = tuple display",
        "def f(x, y):\n    a, b = c = x * 2, y + 1\n    return np.sum(a * c[1] + b * c[0])\n",
        _xy,
    ),
    (
        "a, b = c = g(x)",
        "def g(x):\n    return x * 2, x + 1\n\ndef f(x, y):\n    a, b = c = g(x)\n    return np.sum(a * c[1] * y + b)\n",
        _xy,
    ),
    (
        "c = a, b = g(x)",
        "def g(x):\n    return x * 2, x + 1\n\ndef f(x, y):\n    c = a, b = g(x)\n    return np.sum(a * c[1] * y + b)\n",
        _xy,
    ),
    (
        "tuple display unpacked and indexed",
        "def f(x, y):\n    t = (x * 2, y + 1)\n    a, b = t\n    return np.sum(a * t[1])\n",
        _xy,
    ),
    (
        "tuple display, negative index",
        "def f(x, y):\n    t = (x * 2, y + 1)\n    a, b = t\n    return np.sum(a * t[-1] * b)\n",
        _xy,
    ),
    (
        "tuple display unpacked twice",
        "def f(x, y):\n    t = (x * 2, y + 1)\n    a, b = t\n    c, d = t\n    return np.sum(a * d + b * c)\n",
        _xy,
    ),
    (
        "tuple display through an alias",
        "def f(x, y):\n    t = (x * 2, y + 1)\n    u = t\n    a, b = u\n    return np.sum(a * u[1] * t[0] * b)\n",
        _xy,
    ),
    (
        "call tuple unpacked and indexed",
        "def g(x):\n    return x * 2, x + 1\n\ndef f(x, y):\n    t = g(x)\n    a, b = t\n    return np.sum(a * t[0] * y + b)\n",
        _xy,
    ),
    (
        "call tuple unpacked twice",
        "def g(x):\n    return x * 2, x + 1\n\ndef f(x, y):\n    t = g(x)\n    a, b = t\n    c, d = t\n    return np.sum(a * d * y + c * b)\n",
        _xy,
    ),
    (
        "call tuple in a loop",
        "def g(x):\n    return x * 2, np.sin(x)\n\ndef f(x, y):\n    s = x\n    for i in range(2):\n        t = g(s)\n        a, b = t\n        s = a * t[1] * y + b\n    return np.sum(s)\n",
        _xy,
    ),
]

CASES = NAMES + ASSIGNMENTS
MODES = ["reverse", "forward", "hvp"]


def _check(source: str, args: list, mode: str) -> None:
    source = HEADER + source
    primal = load_source(source).f
    generated = load(generated_text(source, options=Options(mode=mode)))
    rng = np.random.default_rng(7)
    v = [random_tangent(a, rng) for a in args]
    value = primal(*copy.deepcopy(args))
    if mode == "reverse":
        out, pullback = generated.f_vjp(*copy.deepcopy(args))
        np.testing.assert_allclose(out, value, rtol=VALUE_TOL)
        cotangents = pullback(1.0)
        expected = directional_difference(primal, args, v)
        got = inner(list(v), list(cotangents))
        assert got == pytest.approx(expected, rel=ALONG_RTOL, abs=ALONG_ATOL), "<grad, v> vs central differences"
        grad = generated.f_grad(*copy.deepcopy(args))
        assert inner(entries(grad, cotangents), list(cotangents)) == pytest.approx(
            inner(list(cotangents), list(cotangents)), rel=VALUE_TOL
        )
    elif mode == "forward":
        out, dout = generated.f_jvp(*copy.deepcopy(args), *copy.deepcopy(v))
        np.testing.assert_allclose(out, value, rtol=VALUE_TOL)
        expected = directional_difference(primal, args, v)
        assert dout == pytest.approx(expected, rel=ALONG_RTOL, abs=ALONG_ATOL), "JVP vs central differences"
    else:
        reverse = load(generated_text(source, options=Options(mode="reverse")))
        u = [random_tangent(a, rng) for a in args]
        hv = generated.f_hvp(*copy.deepcopy(args), *copy.deepcopy(v))
        cotangents = reverse.f_vjp(*copy.deepcopy(args))[1](1.0)

        def u_dot_grad(*point):
            return inner(list(u), list(reverse.f_vjp(*point)[1](1.0)))

        expected = directional_difference(u_dot_grad, args, v, EPS_HVP)
        assert inner(list(u), entries(hv, cotangents)) == pytest.approx(
            expected, rel=HVP_ALONG_RTOL, abs=HVP_ALONG_ATOL
        ), "<u, H v> vs differences of the gradient"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source, args", [pytest.param(s, a, id=i) for i, s, a in CASES])
def test_generated_code_runs_and_is_right(source, args, mode):
    _check(source, args(), mode)


def test_golden_name_collisions_grad_reaches_the_vjp():
    """The golden case `f(x, x_bar, f_vjp)`: `f_grad` called the parameter, not the function."""
    source = (__import__("pathlib").Path(__file__).parent / "golden" / "name_collisions" / "model.py").read_text()
    generated = load(generated_text(source))
    x, x_bar, w = _vec(X), _vec(Y), _vec(X) + 1
    grad = generated.f_grad(x, x_bar, w)
    expected = generated.f_vjp(x, x_bar, w)[1](1.0)
    for g, e in zip(grad, expected):
        np.testing.assert_allclose(g, e)


@pytest.mark.parametrize(
    "source, mode, message",
    [
        pytest.param(
            "def f(x, _):\n    return np.sum(_ * np.sin(x))\n",
            "reverse",
            "model.py:4:10: error: a parameter named '_' is not supported",
            id="param _",
        ),
        pytest.param(
            "def g(x):\n    return x * 2.0\n\ndef g_jvp(x):\n    return x * 3.0\n\ndef f(x, y):\n    return np.sum(g(x) * g_jvp(y))\n",
            "reverse,hvp",
            "model.py:7:1: error: the generated function 'g_jvp_vjp' would be defined twice, for 'g' and for 'g_jvp' (rename 'g_jvp')",
            id="g and g_jvp with hvp",
        ),
    ],
)
def test_unavoidable_collisions_are_located_errors(source, mode, message):
    with pytest.raises(SourceErrors) as error:
        generated_text(HEADER + source, options=Options(mode=mode))
    assert message in str(error.value)


@pytest.mark.parametrize("mode", ["reverse", "forward", "hvp"])
def test_g_and_g_jvp_without_a_clash_still_work(mode):
    """The clash above needs both g's inner f_jvp_vjp and g_jvp's vjp: other modes are fine."""
    source = "def g(x):\n    return x * 2.0\n\ndef g_jvp(x):\n    return x * 3.0\n\ndef f(x, y):\n    return np.sum(g(x) * g_jvp(y) * x)\n"
    _check(source, _xy(), mode)


def test_unpacking_a_tuple_parameter_stays_a_located_error():
    """Not a crash: a tuple whose length dpgen cannot see is refused where it is unpacked."""
    with pytest.raises(SourceErrors, match=r"model.py:5:12: error: unpacking this value is not supported"):
        generated_text(HEADER + "def f(t, y):\n    a, b = t\n    return np.sum(a * t[1] * y)\n")


def test_renamed_names_read_well():
    """A user variable named like a helper takes a numbered name; a parameter keeps its name
    (callers pass it by keyword) and the module reaches the hidden function through an alias."""
    text = generated_text(HEADER + textwrap.dedent("""
        def g(x):
            return x * 2.0

        def f(x, g_vjp):
            _unbroadcast = x * g_vjp
            return np.sum(g(_unbroadcast))
        """))
    assert "def f_vjp(x, g_vjp):" in text
    assert "_unbroadcast_2 = x * g_vjp" in text
    assert "= _g_vjp(_unbroadcast_2)" in text
    assert text.rstrip().endswith("_g_vjp = g_vjp")


def test_a_parameter_named_like_a_builtin_a_rule_calls():
    """`sum([a, b])`'s rule calls `len` in the pullback; a parameter named `len` must not hide
    it (found in review: TypeError, 'float' object is not callable)."""
    source = "import numpy as np\n\ndef f(a, b, len):\n    return sum([a, b]) * len\n"
    primal = load_source(source).f
    for mode in ("reverse", "reverse,forward,hvp"):
        generated = load(generated_text(source, options=Options(mode=mode)))
        check_vjp(primal, generated.f_vjp, [1.0, 2.0, 3.0], np.random.default_rng(0))
