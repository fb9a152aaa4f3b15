"""Complex numbers in the front end and at the public entries (issue 11).

What the front end accepts (complex constants, `complex(a, b)`, complex casts, every
`dtype=` spelling of a complex type, complex annotations and defaults), what it refuses with a
located error (`np.real_if_close`, writes into `z.real`/`z.imag`), and what the generated
entries do at run time: refuse a complex value for a parameter the source declares real,
give a real cotangent to a complex-typed parameter whose value is real, and refuse `f_grad`
of a complex output. The derivatives themselves are checked in tests/test_complex*.py.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from dpgen.analysis.dtypes import complex_types
from dpgen.cli import main
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.pipeline import generate
from support import central_difference, generated_text, load, load_source


def lowered(source: str):
    return generate(Source("model.py", textwrap.dedent(source))).lowered


def function(source: str, name: str = "f"):
    return next(f for f in lowered(source).functions if f.name == name)


def may_be_complex(source: str, name: str = "f") -> frozenset[str]:
    """The variables of `name` that analysis.dtypes types complex."""
    return complex_types(lowered(source))[0][name]


def diff_errors(tmp_path, source: str) -> str:
    """`dpgen diff` on a file: asserts it fails without writing, returns its error output."""
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(path), "-o", str(tmp_path / "model_grad.py")])
    assert result.exit_code != 0, result.output
    assert not (tmp_path / "model_grad.py").exists()
    return result.stderr


# ------------------------------------------------------------------ module constants
def test_module_constants_bound_to_complex_values_are_copied_and_typed_complex():
    source = """
    import numpy as np

    J = 1j
    Z0 = 50 + 10j
    R = 2.0

    def f(x):
        y = x * R
        z = x * J + Z0
        return np.sum(np.real(z * np.conj(z))) + np.sum(y)
    """
    module = lowered(source)
    assert module.prelude == ("J = 1j", "Z0 = 50 + 10j", "R = 2.0")
    found = complex_types(module)[0]["f"]
    assert "z" in found and "y" not in found
    text = generated_text(textwrap.dedent(source))
    assert "J = 1j" in text and "Z0 = 50 + 10j" in text
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(load(text).f_vjp(x)[0], load_source(source).f(x))


# ------------------------------------------------------------ making complex values
def test_complex_and_the_complex_casts_lower_to_their_rules():
    source = """
    import numpy as np

    def f(x, y):
        a = complex(x, y)
        b = np.complex128(x) + np.cdouble(y)
        c = np.complex64(x) + np.csingle(y)
        return a, b, c
    """
    ops = [eqn.op for eqn in function(source).body]
    assert ops[:2] == ["builtins.complex", "numpy.complex128"] and ops.count("numpy.complex64") == 2
    assert {"a", "b", "c"} <= may_be_complex(source)
    generated = load(generated_text(textwrap.dedent(source)))
    out, _ = generated.f_vjp(0.5, -2.0)
    expected = load_source(source).f(0.5, -2.0)
    for got, want in zip(out, expected):
        assert np.iscomplexobj(got)
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_complex_of_real_parts_has_the_real_gradients():
    # |complex(x, y)|^2 written as a product with the conjugate: gradient (2x, 2y), real.
    source = """
    import numpy as np

    def f(x, y):
        return np.real(complex(x, y) * complex(x, -y))
    """
    generated = load(generated_text(textwrap.dedent(source)))
    primal = load_source(source).f
    gx, gy = generated.f_grad(0.5, -2.0)  # (real types for real x and y: the reverse pass's "real stays real")
    for k, got in enumerate((gx, gy)):
        np.testing.assert_allclose(got, central_difference(primal, [0.5, -2.0], k, 1.0), rtol=1e-6)


# ------------------------------------------------------------------------ dtypes
DTYPES = [
    pytest.param("np.zeros(3, dtype=complex)", id="complex"),
    pytest.param("np.zeros(3, complex)", id="positional"),
    pytest.param("np.zeros(3, dtype='complex128')", id="string"),
    pytest.param("np.zeros(3, dtype='c16')", id="string-code"),
    pytest.param("np.zeros(3, dtype='<c8')", id="string-byte-order"),
    pytest.param("np.ones(3, dtype=np.complex64)", id="np-complex64"),
    pytest.param("np.ones(3, dtype=np.complex128)", id="np-complex128"),
    pytest.param("np.ones(3, dtype=np.cdouble)", id="np-cdouble"),
    pytest.param("np.array(x, dtype=complex)", id="array"),
    pytest.param("np.full(3, 2.0, dtype=np.csingle)", id="full"),
]


@pytest.mark.parametrize("made", DTYPES)
def test_every_complex_dtype_spelling_lowers_and_is_typed_complex(made):
    source = f"import numpy as np\n\n\ndef f(x):\n    c = {made}\n    return np.sum(np.real(c * x))\n"
    assert "c" in may_be_complex(source)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(load(generated_text(source)).f_vjp(x)[0], load_source(source).f(x))


@pytest.mark.parametrize(
    "made", ["np.array(z, dtype=float)", "np.zeros(3, dtype='float64')", "np.zeros_like(z, dtype=np.float32)"]
)
def test_a_real_dtype_makes_a_real_value_whatever_the_argument(made):
    source = f"import numpy as np\n\n\ndef f(z: complex):\n    r = {made}\n    return r\n"
    assert "r" not in may_be_complex(source)


# ---------------------------------------------------------------------- refusals
def test_real_if_close_is_refused_with_what_to_write(tmp_path):
    errors = diff_errors(
        tmp_path,
        """
        import numpy as np

        def f(z: complex):
            return np.sum(np.real_if_close(z))
        """,
    )
    assert "model.py:5:19: error: np.real_if_close is not differentiated" in errors
    assert "real or complex depending on the values" in errors and "write np.real(z)" in errors


WRITES = [
    pytest.param("w.real = x", 6, 5, "w.real", id="real"),
    pytest.param("w.imag = x", 6, 5, "w.imag", id="imag"),
    pytest.param("w.imag[0] = 2.0", 6, 5, "w.imag", id="imag-item"),
    pytest.param("w.real[1:][0] = 2.0", 6, 5, "w.real", id="nested-item"),
    pytest.param("w.real += x", 6, 5, "w.real", id="augmented"),
    pytest.param("w.imag[0] *= 2.0", 6, 5, "w.imag", id="augmented-item"),
    pytest.param("a, w.real = x, x", 6, 8, "w.real", id="in-a-tuple"),
]


@pytest.mark.parametrize("write, line, col, part", WRITES)
def test_writes_into_the_parts_of_a_complex_value_are_refused(tmp_path, write, line, col, part):
    source = (
        f"import numpy as np\n\n\ndef f(z: complex, x):\n    w = z * x\n    {write}\n    return np.sum(np.abs(w))\n"
    )
    errors = diff_errors(tmp_path, source)
    assert f"model.py:{line}:{col}: error: writing into '{part}' is not supported: NumPy writes through it" in errors
    assert errors.count("error:") == 1, errors


# ------------------------------------------------------------------- annotations
ANNOTATIONS = [
    pytest.param("z: complex", True, id="complex"),
    pytest.param("z: np.complex128", True, id="np-complex128"),
    pytest.param("z: np.complex64", True, id="np-complex64"),
    pytest.param("z: npt.NDArray[np.complex128]", True, id="ndarray-complex128"),
    pytest.param("z: npt.NDArray[np.complexfloating]", True, id="ndarray-complexfloating"),
    pytest.param('z: "complex"', True, id="string"),
    pytest.param("z: Optional[complex] = None", True, id="optional"),
    pytest.param("z: complex | None = None", True, id="union"),
    pytest.param("z=1j", True, id="complex-default"),
    pytest.param("z=1.0 + 2j", True, id="complex-expression-default"),
    pytest.param("z: complex = 0.0", True, id="annotated-with-real-default"),
    pytest.param("z", False, id="unannotated"),
    pytest.param("z: float", False, id="float"),
    pytest.param("z: np.ndarray", False, id="ndarray"),
    pytest.param("z: npt.NDArray[np.float64]", False, id="ndarray-float64"),
]


@pytest.mark.parametrize("param, is_complex", ANNOTATIONS)
def test_annotations_and_defaults_say_which_parameters_are_complex(param, is_complex):
    source = (
        "from typing import Optional\n\nimport numpy as np\nimport numpy.typing as npt\n\n\n"
        f"def f(x, {param}):\n    return np.sum(np.abs(x * z) ** 2)\n"
    )
    (z,) = [p for p in function(source).params if p.name == "z"]
    assert z.complex is is_complex
    assert z.differentiable
    text = generated_text(source)
    # The entry checks the real parameters only; the pullback projects the complex one.
    checked = '_check_real("f_vjp", x=x)' if is_complex or z.scalar else '_check_real("f_vjp", x=x, z=z)'
    assert checked in text
    assert ("_real_if_real(z_bar, z)" in text) is is_complex


def test_a_complex_default_makes_the_parameter_complex_and_stays_the_default():
    source = """
    import numpy as np

    def f(x, z=1j):
        return np.real(np.sum(x * z))
    """
    _, z = function(source).params
    assert z.complex and z.default.text == "1j"
    text = generated_text(textwrap.dedent(source), options=Options(mode="reverse,forward"))
    assert "def f_vjp(x, z=1j):" in text and '_check_real("f_vjp", x=x)' in text
    generated = load(text)
    x = np.array([1.0, 2.0])
    assert generated.f_vjp(x)[0] == 0.0  # Re(1j * 3)
    assert generated.f_jvp(x, dx=np.ones(2))[0] == 0.0


# ------------------------------------------------------------- run-time entries
def test_a_complex_value_for_a_real_parameter_names_the_source_and_the_annotation():
    source = """
    import numpy as np

    def f(x, z: complex):
        return np.sum(np.abs(x * z))
    """
    for name in ("filter.py", 'odd "name" {x}\\.py'):
        generated = load(generated_text(textwrap.dedent(source), name=name, options=Options(mode="reverse,forward")))
        # f_grad calls f_vjp, whose check names itself.
        for entry, call in (
            ("f_vjp", generated.f_vjp),
            ("f_vjp", generated.f_grad),
            ("f_jvp", lambda x, z: generated.f_jvp(x, z, None, None)),
        ):
            with pytest.raises(TypeError) as info:
                call(np.array([1.0 + 2.0j, 0.5]), 1.0 + 1.0j)
            assert str(info.value) == (
                f"{entry}: argument 'x' is complex, but {name} declares it real; "
                "annotate it (x: complex) to differentiate complex values"
            )
        generated.f_vjp(np.array([1.0, 0.5]), 1.0 + 1.0j)  # z may be complex: no error


def test_a_complex_typed_parameter_given_a_real_value_gets_a_real_cotangent():
    # Re(z^2 (1 + i)) is x^2 on the real line: the cotangent there is 2x, a real number,
    # although the computation goes through complex values.
    source = """
    import numpy as np
    import numpy.typing as npt

    def f(z: complex):
        return np.real(z * z * (1 + 1j))

    def g(z: npt.NDArray[np.complex128], w):
        return np.sum(np.real(z * z * (1 + 1j)) * w)
    """
    generated = load(generated_text(textwrap.dedent(source)))
    primal = load_source(source)
    grad = generated.f_grad(1.5)
    assert not np.iscomplexobj(grad)
    np.testing.assert_allclose(grad, central_difference(primal.f, [1.5], 0, 1.0), rtol=1e-6)
    z, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -0.5])
    z_bar, w_bar = generated.g_grad(z, w)
    assert z_bar.dtype == np.float64 and w_bar.dtype == np.float64
    np.testing.assert_allclose(z_bar, central_difference(primal.g, [z, w], 0, 1.0), rtol=1e-6)
    np.testing.assert_allclose(w_bar, central_difference(primal.g, [z, w], 1, 1.0), rtol=1e-6)
    # A complex value keeps its complex cotangent (its value is checked in tests/test_complex*.py).
    assert np.iscomplexobj(generated.f_grad(1.5 + 0.5j))


def test_f_grad_refuses_a_complex_output_at_run_time():
    source = """
    import numpy as np

    def f(z: complex):
        return z * z

    def g(z: complex):
        return np.abs(z) ** 2
    """
    text = generated_text(textwrap.dedent(source))
    generated = load(text)
    with pytest.raises(ValueError, match=r"^f has a complex output; f_grad needs a real scalar: use f_vjp"):
        generated.f_grad(1.0 + 2.0j)
    assert generated.f_grad(2.0) == 4.0  # real at run time: a real derivative
    assert text.count("iscomplexobj(out)") == 1  # g's output is real: no check in g_grad


def test_a_module_without_complex_values_has_no_complex_helpers():
    text = generated_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sin(x))\n")
    assert "_real_if_real" not in text and "iscomplexobj(out)" not in text
    assert '_check_real("f_vjp", x=x)' in text
