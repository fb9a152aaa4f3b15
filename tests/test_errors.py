"""How dpgen fails: exit codes, `file:line:col: error:` messages, and files left untouched.

Everything runs through the real command line (click's CliRunner) in a temporary
directory, so paths in messages are exactly what the user typed.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpgen.cli import main
from dpgen.errors import Diagnostic, ExitCode, SourceErrors, Span

GOOD = """\
import numpy as np

def f(x, w):
    return np.sum(np.tanh(x * w))
"""

DIAGNOSTIC = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.+)$")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run every test inside its own temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def diagnostics(result) -> list[tuple[str, int, int, str]]:
    """The (path, line, col, message) of every diagnostic line; asserts the summary line."""
    lines = result.stderr.splitlines()
    assert lines, "no error output"
    n = len(lines) - 1
    assert lines[-1] == f"{n} error{'s' if n != 1 else ''}; nothing written"
    parsed = []
    for line in lines[:-1]:
        m = DIAGNOSTIC.match(line)
        assert m, f"not a file:line:col diagnostic: {line!r}"
        parsed.append((m["path"], int(m["line"]), int(m["col"]), m["message"]))
    return parsed


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def only_error(result, path: str) -> tuple[int, int, str]:
    assert result.exit_code == ExitCode.SOURCE, result.output
    assert result.stdout == ""
    assert_no_traceback(result)
    found = diagnostics(result)
    assert len(found) == 1, found
    got_path, line, col, message = found[0]
    assert got_path == path
    return line, col, message


# ------------------------------------------------------------------ exit codes


def test_exit_code_values_are_the_documented_ones():
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "STALE": 1,
        "USAGE": 2,
        "IO": 3,
        "SOURCE": 4,
        "INTERNAL": 70,
        "INTERRUPTED": 130,
    }
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"\n| {int(code)} | " in readme, f"exit code {int(code)} is missing from README's table"


def test_exit_0_on_success():
    write("model.py", GOOD)
    result = run("diff", "model.py")
    assert result.exit_code == ExitCode.OK
    assert result.stderr == ""


def test_exit_1_when_stale():
    write("model.py", GOOD)
    assert run("diff", "model.py", "-o", "g.py").exit_code == 0
    write("model.py", GOOD.replace("np.tanh", "np.sin"))
    assert run("check", "g.py").exit_code == ExitCode.STALE


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["diff"],
        ["diff", "model.py", "--no-such-option"],
        ["frobnicate"],
        ["check"],
        ["diff", "model.py", "--mode", "sideways"],
        ["diff", "model.py", "--backend", "jax"],
    ],
    ids=["no-command", "no-source", "unknown-option", "unknown-command", "check-no-files", "bad-mode", "bad-backend"],
)
def test_exit_2_on_usage_errors(args):
    write("model.py", GOOD)
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert_no_traceback(result)
    assert "Usage:" in result.output


def test_bad_mode_names_the_allowed_values():
    write("model.py", GOOD)
    result = run("diff", "model.py", "--mode", "sideways")
    assert "'sideways' is not one of 'reverse', 'forward', 'hvp', or several of them joined by commas" in result.stderr


def test_exit_3_on_missing_file():
    result = run("diff", "nope.py")
    assert result.exit_code == ExitCode.IO
    assert result.stderr == "nope.py: error: no such file\n"
    assert result.stdout == ""


def test_exit_3_on_directory_as_input():
    Path("pkg").mkdir()
    result = run("diff", "pkg")
    assert result.exit_code == ExitCode.IO
    assert result.stderr.startswith("pkg: error: is a directory")
    assert_no_traceback(result)


def test_exit_3_on_directory_as_output():
    write("model.py", GOOD)
    Path("out").mkdir()
    result = run("diff", "model.py", "-o", "out")
    assert result.exit_code == ExitCode.IO
    assert result.stderr.startswith("out: error: is a directory")
    assert list(Path("out").iterdir()) == []


def test_exit_3_on_non_utf8_input():
    Path("latin.py").write_bytes("def f(x):\n    # caf\xe9\n    return x\n".encode("latin-1"))
    result = run("diff", "latin.py")
    assert result.exit_code == ExitCode.IO
    assert result.stderr.startswith("latin.py: error: not UTF-8")
    assert_no_traceback(result)


def test_utf8_bom_and_crlf_are_accepted():
    Path("model.py").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    result = run("diff", "model.py")
    assert result.exit_code == 0, result.output


def test_exit_3_when_output_parent_is_a_file():
    write("model.py", GOOD)
    write("notadir", "x")
    result = run("diff", "model.py", "-o", "notadir/g.py")
    assert result.exit_code == ExitCode.IO
    assert result.stderr.startswith("notadir/g.py: error: cannot write")
    assert Path("notadir").read_text() == "x"


def test_exit_3_when_output_is_the_source():
    write("model.py", GOOD)
    before = Path("model.py").read_bytes()
    result = run("diff", "model.py", "-o", "./model.py")
    assert result.exit_code == ExitCode.IO
    assert "is the source file" in result.stderr
    assert Path("model.py").read_bytes() == before


def test_exit_4_on_source_errors():
    write("bad.py", "def f(x):\n    try:\n        x = x + 1\n    finally:\n        pass\n    return x\n")
    assert run("diff", "bad.py").exit_code == ExitCode.SOURCE


def test_exit_70_on_internal_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("dpgen.pipeline.reverse", broken)
    write("model.py", GOOD)
    result = run("diff", "model.py", "-o", "g.py")
    assert result.exit_code == ExitCode.INTERNAL
    assert_no_traceback(result)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("dpgen: internal error: RuntimeError: boom second line")
    assert not Path("g.py").exists()
    assert os.listdir(".") == ["model.py"]


# --------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    "text, line, col, message",
    [
        ("def f(x:\n    return x\n", 1, 6, "syntax error: '(' was never closed"),
        ("def f(x):\n    return x +\n", 2, 15, "syntax error: invalid syntax"),
        # Columns count characters, not bytes: the 'é' is two bytes in UTF-8.
        ('def f(x):\n    s = "é"; y = x $ 2\n', 2, 20, "syntax error: invalid syntax"),
        ("def f(x):\n    y = x\0\n    return y\n", 2, 10, "syntax error: a null byte in the source"),
        # libcst parses these; Python does not compile them, and neither may dpgen.
        ("def f(x, x):\n    return x\n", 1, 10, "syntax error: duplicate argument 'x' in function definition"),
        ("def f(é, é):\n    return é\n", 1, 10, "syntax error: duplicate argument 'é' in function definition"),
        ("import numpy as np\nreturn 3\n", 2, 1, "syntax error: 'return' outside function"),
    ],
    ids=[
        "unclosed-paren",
        "dangling-operator",
        "non-ascii-column",
        "null-byte",
        "duplicate-param",
        "duplicate-param-non-ascii",
        "return-outside",
    ],
)
def test_syntax_error_location(text, line, col, message):
    Path("bad.py").write_text(text, encoding="utf-8")
    assert only_error(run("diff", "bad.py"), "bad.py") == (line, col, message)


# ----------------------------------------------------- unsupported constructs

FENCED = [
    (
        "try",
        "def f(x):\n    try:\n        y = x\n    except ValueError:\n        y = x\n    return y\n",
        2,
        5,
        "'try' statement is not supported",
    ),
    (
        "with",
        "import contextlib\n\ndef f(x):\n    with contextlib.suppress(ValueError):\n        y = x\n    return y\n",
        4,
        5,
        "'with' statement is not supported",
    ),
    ("lambda", "def f(x):\n    g = lambda q: q * x\n    return x\n", 2, 9, "'lambda' is not supported"),
    (
        "genexp",
        "def f(x):\n    y = sum(a for a in x)\n    return y\n",
        2,
        13,
        "a generator expression is not supported",
    ),
    ("dictcomp", "def f(x):\n    y = {a: a for a in x}\n    return x\n", 2, 9, "a dict comprehension is not supported"),
    ("global", "counter = 0\n\ndef f(x):\n    global counter\n    return x\n", 4, 5, "'global' is not supported"),
    ("class", "def f(x):\n    class Box:\n        pass\n    return x\n", 2, 5, "a class is not supported"),
    (
        "nested-def",
        "def f(x):\n    y = x\n    def g(z):\n        return z\n    return y\n",
        3,
        5,
        "a nested function is not supported",
    ),
    ("yield", "def f(x):\n    yield x\n", 2, 5, "'yield' is not supported"),
    (
        "decorator",
        "import functools\n\n@functools.lru_cache\ndef f(x):\n    return x\n",
        3,
        1,
        "a decorator is not supported",
    ),
    ("star-args", "def f(x, *args):\n    return x\n", 1, 10, "a '*' or keyword-only parameter is not supported"),
    ("kwonly", "def f(x, *, y):\n    return x\n", 1, 13, "a '*' or keyword-only parameter is not supported"),
    ("star-kwargs", "def f(x, **kwargs):\n    return x\n", 1, 10, "a '**' parameter is not supported"),
    ("async", "async def f(x):\n    return x\n", 1, 1, "an async function is not supported"),
    ("raise", "def f(x):\n    raise ValueError(x)\n", 2, 5, "'raise' is not supported"),
    ("walrus", "def f(x):\n    y = (z := x)\n    return y\n", 2, 10, "':=' assignment is not supported"),
    ("import", "def f(x):\n    import math\n    return x\n", 2, 5, "an import inside a function is not supported"),
    ("assert", "def f(x):\n    assert x > 0\n    return x\n", 2, 5, "'assert' is not supported"),
    ("del", "def f(x):\n    y = x\n    del y\n    return x\n", 3, 5, "'del' is not supported"),
    (
        "match",
        "def f(x):\n    match x:\n        case 0:\n            y = x\n    return x\n",
        2,
        5,
        "'match' statement is not supported",
    ),
    ("dict", "def f(x):\n    y = {'a': x}\n    return x\n", 2, 9, "a dict is not supported"),
    ("set", "def f(x):\n    y = {x, 2 * x}\n    return x\n", 2, 9, "a set is not supported"),
    ("setcomp", "def f(x):\n    y = {a for a in x}\n    return x\n", 2, 9, "a set comprehension is not supported"),
    ("f-string", 'def f(x):\n    s = f"{x}"\n    return x\n', 2, 9, "an f-string is not supported"),
    ("starred", "def f(x):\n    y = (1.0, *x)\n    return y\n", 2, 15, "'*' unpacking is not supported"),
    # Control flow is supported, but what it contains is still checked.
    (
        "with-inside-if",
        "def f(x):\n    if x > 0:\n        with open(x) as fh:\n            x = x + 1\n    return x\n",
        3,
        9,
        "'with' statement is not supported",
    ),
    # The parts of loops dpgen does not differentiate yet (reported by lowering, not the fence).
    (
        "return-in-for",
        "def f(x):\n    for i in range(3):\n        return x\n    return x\n",
        3,
        9,
        "'return' inside a loop is not supported yet",
    ),
    (
        "return-in-while",
        "def f(x):\n    while x > 0:\n        if x > 1:\n            return x\n        x = x - 1\n    return x\n",
        4,
        13,
        "'return' inside a loop is not supported yet",
    ),
    (
        "for-else",
        "def f(x):\n    for i in range(3):\n        x = x + 1\n    else:\n        x = x - 1\n    return x\n",
        4,
        5,
        "an 'else' clause on a loop is not supported",
    ),
    (
        "while-else",
        "def f(x):\n    while x > 0:\n        x = x - 1\n    else:\n        x = x + 1\n    return x\n",
        4,
        5,
        "an 'else' clause on a loop is not supported",
    ),
]


@pytest.mark.parametrize("text, line, col, message", [c[1:] for c in FENCED], ids=[c[0] for c in FENCED])
def test_unsupported_construct_is_located(text, line, col, message):
    Path("bad.py").write_text(text, encoding="utf-8")
    got_line, got_col, got_message = only_error(run("diff", "bad.py"), "bad.py")
    assert (got_line, got_col) == (line, col)
    assert got_message.startswith(message)
    assert got_message.endswith(")"), "every fence message carries a hint in parentheses"


def test_module_level_code_dpgen_does_not_read_is_not_fenced():
    write(
        "model.py",
        """\
        import numpy as np

        class Helper:
            def method(self, x):
                if x:
                    return x

        def f(x):
            return np.sin(x)

        if __name__ == "__main__":
            for i in range(3):
                print(f(i))
        """,
    )
    result = run("diff", "model.py")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------ several errors, one run


def test_every_fence_error_is_reported_in_one_run_in_position_order():
    write(
        "bad.py",
        """\
        import contextlib

        @contextlib.contextmanager
        def f(x, *args):
            global counter
            if x:
                assert x
            for i in x:
                x = x + {i}
            g = lambda q: q
            return x

        def h(x):
            with contextlib.suppress(ValueError):
                y = [a for a in x]
            return x
        """,
    )
    result = run("diff", "bad.py")
    assert result.exit_code == ExitCode.SOURCE
    found = diagnostics(result)
    assert [(line, col) for _, line, col, _ in found] == [(3, 1), (4, 10), (5, 5), (7, 9), (9, 17), (10, 9), (14, 5)]
    assert all(path == "bad.py" for path, *_ in found)
    kinds = [message.split(" is not supported")[0] for *_, message in found]
    assert kinds == [
        "a decorator",
        "a '*' or keyword-only parameter",
        "'global'",
        "'assert'",
        "a set",
        "'lambda'",
        "'with' statement",
    ]


def test_errors_after_a_nested_def_are_still_reported():
    # A rejected nested def must not end the outer function's check early.
    write(
        "bad.py",
        """\
        def f(x):
            def g(z):
                return z
            w = lambda q: q
            while x:
                raise ValueError(x)
            return x
        """,
    )
    found = diagnostics(run("diff", "bad.py"))
    assert [(line, col) for _, line, col, _ in found] == [(2, 5), (4, 9), (6, 9)]


def test_every_lowering_error_is_reported_in_one_run():
    write(
        "bad.py",
        """\
        import numpy as np
        import scipy.special

        SCALE = np.ones(3)
        RATE = 0.5

        def f(x):
            y = scipy.special.expit(x) * RATE
            z = np.fft.hfft(y) + undefined_thing
            return z * SCALE

        def g(x):
            s = "é"; w = np.fft.hfft(x)
            return w
        """,
    )
    result = run("diff", "bad.py", "-o", "g.py")
    assert result.exit_code == ExitCode.SOURCE
    assert_no_traceback(result)
    assert result.stderr.splitlines() == [
        "bad.py:8:9: error: no derivative rule for 'scipy.special.expit' (see the supported functions in README.md)",
        "bad.py:9:9: error: no derivative rule for 'numpy.fft.hfft' (see the supported functions in README.md)",
        "bad.py:9:26: error: name 'undefined_thing' is not defined in the function",
        "bad.py:10:16: error: the module-level variable 'SCALE' is not supported (it is not a literal constant; pass it as a parameter)",
        # Columns count characters: 'é' is one column although it is two bytes.
        "bad.py:13:18: error: no derivative rule for 'numpy.fft.hfft' (see the supported functions in README.md)",
        "5 errors; nothing written",
    ]
    assert not Path("g.py").exists()


@pytest.mark.parametrize(
    "call, shown",
    [
        ("scipy.special.expit(x)", "scipy.special.expit"),
        ("np.fft.hfft(x)", "numpy.fft.hfft"),  # np.fft.fft has a rule since issue 11
        ("expit(x)", "scipy.special.expit"),  # resolved through the import, not by spelling
    ],
)
def test_no_derivative_rule_names_the_function_and_line(call, shown):
    write(
        "bad.py",
        f"""\
        import numpy as np
        import scipy.special
        from scipy.special import expit

        def f(x):
            y = np.sin(x)
            z = {call}
            return z + y
        """,
    )
    line, col, message = only_error(run("diff", "bad.py"), "bad.py")
    assert (line, col) == (7, 9)
    assert f"no derivative rule for '{shown}'" in message


def test_undefined_name():
    write("bad.py", "def f(x):\n    return x * y\n")
    assert only_error(run("diff", "bad.py"), "bad.py") == (2, 16, "name 'y' is not defined in the function")


def test_non_literal_module_variable_used_in_a_function():
    write("bad.py", "import numpy as np\n\nW = np.eye(3)\n\ndef f(x):\n    return x @ W\n")
    line, col, message = only_error(run("diff", "bad.py"), "bad.py")
    assert (line, col) == (6, 16)
    assert "module-level variable 'W'" in message


def test_literal_module_constant_is_fine():
    write("model.py", "RATE = 0.5\n\ndef f(x):\n    return x * RATE\n")
    assert run("diff", "model.py").exit_code == 0


def test_wrong_number_of_arguments_to_a_module_function():
    write("bad.py", "def g(x, y):\n    return x * y\n\ndef f(x):\n    return g(x)\n")
    line, col, message = only_error(run("diff", "bad.py"), "bad.py")
    assert (line, col) == (5, 12)
    assert "g()" in message


def test_fence_and_lowering_errors_in_one_run():
    write(
        "bad.py",
        """\
        import scipy.special

        def f(x):
            try:
                x = x + 1
            except ValueError:
                pass
            return x

        def g(x):
            return scipy.special.expit(x)
        """,
    )
    found = diagnostics(run("diff", "bad.py"))
    assert [(line, col) for _, line, col, _ in found] == [(4, 5), (11, 12)]


def test_source_errors_sorted_by_position():
    # Passes may find errors out of order; the report is always in file order.
    errors = SourceErrors(
        [Diagnostic("m.py", Span(9, 2), "c"), Diagnostic("m.py", Span(2, 7), "b"), Diagnostic("m.py", Span(2, 3), "a")]
    )
    assert str(errors).splitlines() == ["m.py:2:3: error: a", "m.py:2:7: error: b", "m.py:9:2: error: c"]
    assert errors.exit_code == ExitCode.SOURCE


# ------------------------------------------------------ the output is untouched


def old_output(path: str = "g.py") -> tuple[bytes, int]:
    """An existing output file with a known content and an old mtime."""
    Path(path).write_bytes(b"# previous contents\n")
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return Path(path).read_bytes(), Path(path).stat().st_mtime_ns


@pytest.mark.parametrize(
    "text",
    [
        "def f(x):\n    assert x > 0\n    return x\n",
        "def f(x):\n    for i in range(3):\n        return x\n    return x\n",
    ],
    ids=["fence-error", "lowering-error"],
)
def test_output_untouched_when_generation_fails(text):
    before = old_output()
    write("bad.py", text)
    result = run("diff", "bad.py", "-o", "g.py")
    assert result.exit_code == ExitCode.SOURCE
    assert (Path("g.py").read_bytes(), Path("g.py").stat().st_mtime_ns) == before
    assert sorted(os.listdir(".")) == ["bad.py", "g.py"], "no temporary file left behind"


def test_output_untouched_on_syntax_error_and_missing_input():
    before = old_output()
    write("bad.py", "def f(x:\n")
    assert run("diff", "bad.py", "-o", "g.py").exit_code == ExitCode.SOURCE
    assert run("diff", "missing.py", "-o", "g.py").exit_code == ExitCode.IO
    assert (Path("g.py").read_bytes(), Path("g.py").stat().st_mtime_ns) == before
    assert sorted(os.listdir(".")) == ["bad.py", "g.py"]


@pytest.mark.parametrize("failing", ["os.replace", "os.fdopen"])
def test_output_untouched_when_it_cannot_be_written(monkeypatch, failing):
    # Running as root makes chmod useless for this, so the OS call itself is made to fail.
    before = old_output()
    write("model.py", GOOD)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(failing, refuse)
    result = run("diff", "model.py", "-o", "g.py")
    assert result.exit_code == ExitCode.IO
    assert result.stderr == "g.py: error: cannot write: Permission denied\n"
    assert_no_traceback(result)
    assert (Path("g.py").read_bytes(), Path("g.py").stat().st_mtime_ns) == before
    assert sorted(os.listdir(".")) == ["g.py", "model.py"], "no temporary file left behind"


def test_interrupted_write_leaves_no_temporary_file(monkeypatch):
    before = old_output()
    write("model.py", GOOD)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupt)
    result = run("diff", "model.py", "-o", "g.py")
    assert result.exit_code != 0
    assert (Path("g.py").read_bytes(), Path("g.py").stat().st_mtime_ns) == before
    assert sorted(os.listdir(".")) == ["g.py", "model.py"]


def test_successful_write_leaves_no_temporary_file():
    old_output()
    write("model.py", GOOD)
    assert run("diff", "model.py", "-o", "g.py").exit_code == 0
    assert Path("g.py").read_text().startswith("# Code generated by dpgen from model.py.")
    assert sorted(os.listdir(".")) == ["g.py", "model.py"]


def test_an_error_both_modes_see_is_reported_once():
    write("model.py", 'import numpy as np\n\n\ndef f(x):\n    return np.einsum("ii->i", x)\n')
    result = run("diff", "model.py", "--mode", "reverse,forward")
    assert result.exit_code == ExitCode.SOURCE
    assert result.stderr.count("error: np.einsum() with a repeated index") == 1
    assert "1 error; nothing written" in result.stderr
