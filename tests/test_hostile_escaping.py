"""Hostile text in the source and in its file name never becomes code in the generated module.

Each case puts a payload that would set a flag in `builtins` if it ever ran inside strings,
comments and file names, next to characters that could end a comment or a docstring
(quotes, triple quotes, newlines, carriage returns, backslashes, ``\\N{...}``, Unicode line
separators). The generated module, in every mode, is imported; it must define only what
dpgen generates, its docstring must name the file exactly, the payload must not have run,
and the gradient must still be right.
"""

from __future__ import annotations

import builtins
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dpgen.cli import main
from dpgen.escape import comment_text, docstring_text, escape, unescape
from dpgen.header import Header, Options, read_header
from support import ALONG_RTOL, EPS, directional_difference, generated_text, load, load_source

FLAG = "DPGEN_HOSTILE_PAYLOAD_RAN"
PAYLOAD = f"__import__('builtins').__setattr__('{FLAG}', 1)"
MODES = ("reverse", "forward", "hvp")
# Characters str.splitlines (and so possibly black or an editor) reads as line breaks.
SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


def source(triple: str, single: str, comment: str) -> str:
    """A model whose triple-quoted string holds `triple`, whose strings hold `single` and
    whose comments (one inside a statement dpgen cites) hold `comment`."""
    return textwrap.dedent('''\
        import numpy as np

        S = "{single}"
        T = ("a"  # {comment}
             "b\\N{{BULLET}}\\\\")


        def f(x, s="{single}"):
            y = x * len("""{triple}""")
            z = np.maximum(x,  # {comment}
                           y)
            w = z * len("{single}\\\\") + len(s)
            return np.sum(w)
        ''').format(triple=triple, single=single, comment=comment)


CASES = {
    "triple quotes and newlines": source(f'\n\\"""\n{PAYLOAD}\n\\"""\n', f'\\"\\"\\"{PAYLOAD}', f'""" {PAYLOAD}'),
    "carriage returns": source(f"a\r{PAYLOAD}\r", f"a\\r{PAYLOAD}", f"\\r {PAYLOAD}"),
    "backslashes": source(f"\\\\\\N{{BULLET}}\\\n{PAYLOAD}\\\\", f"\\\\{PAYLOAD}\\\\", f"\\ {PAYLOAD} \\"),
    **{f"separator {ord(c):#x}": source(f"a{c}{PAYLOAD}{c}", f"a{c}{PAYLOAD}", f"{c}{PAYLOAD}") for c in SEPARATORS},
}

FILE_NAMES = [
    f'a"""\n{PAYLOAD}\n""".py',
    "b\\N.py",
    "c\\",
    f"d\r{PAYLOAD}.py",
    f"e\u2028{PAYLOAD}\u2029.py",
    "f\x0c\x0b\x1c\x1d\x1e\x85.py",
    "g\udcff.py",  # an undecodable byte in the name, as os.listdir gives it
    "h: 1. DO NOT EDIT.py",
    'i"',
]


@pytest.fixture(autouse=True)
def no_payload():
    assert not hasattr(builtins, FLAG)
    yield
    ran = hasattr(builtins, FLAG)
    if ran:
        delattr(builtins, FLAG)
    assert not ran, "the payload ran"


def check_module(text: str, name: str, mode: str) -> None:
    """Import the generated text; only dpgen's definitions may appear."""
    module = load(text)
    assert not hasattr(builtins, FLAG)
    header = read_header(text)
    assert header is not None and header.source == name
    assert name in module.__doc__, "the docstring names the file exactly"
    defined = {k for k in vars(module) if not k.startswith("__")}
    expected = {"np", "S", "T"} | {n for n in defined if n.startswith("_")}
    expected |= {"f_vjp", "f_grad"} if mode == "reverse" else {"f_jvp"} if mode == "forward" else {"f_hvp", "f_jvp_vjp"}
    assert defined == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_strings_and_comments(case, mode):
    text = CASES[case]
    generated = generated_text(text, options=Options(mode=mode))
    check_module(generated, "model.py", mode)
    module, primal = load(generated), load_source(text)
    x = np.array([0.5, -1.0, 2.0])
    assert module.S == primal.S and module.T == primal.T, "constants keep their values"
    if mode == "reverse":
        differences = [directional_difference(primal.f, [x], [e]) for e in np.eye(3)]
        np.testing.assert_allclose(module.f_grad(x), differences, rtol=ALONG_RTOL)
    elif mode == "forward":
        v = np.array([1.0, 0.0, 0.0])
        out, dout = module.f_jvp(x, dx=v)
        assert out == pytest.approx(primal.f(x))
        assert dout == pytest.approx(directional_difference(primal.f, [x], [v]), rel=ALONG_RTOL)
    else:
        assert np.allclose(module.f_hvp(x, vx=np.ones(3)), 0.0)  # piecewise linear: no curvature


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FILE_NAMES, ids=repr)
def test_hostile_file_names(name, mode):
    generated = generated_text(CASES["backslashes"], name=name, options=Options(mode=mode))
    assert generated.split("\n")[2].startswith('"""'), "the header stays two lines"
    check_module(generated, name, mode)


@pytest.mark.parametrize("name", FILE_NAMES, ids=repr)
def test_check_finds_a_source_with_a_hostile_name(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        Path(name).write_text(CASES["carriage returns"], encoding="utf-8", newline="")
    except (OSError, UnicodeEncodeError):  # a file system that cannot hold the name
        pytest.skip("cannot create the file name here")
    runner = CliRunner()
    result = runner.invoke(main, ["diff", name, "--mode", "reverse,forward", "-o", "out.py"])
    assert result.exit_code == 0, result.output
    check = runner.invoke(main, ["check", "out.py"])
    assert check.exit_code == 0, check.output
    Path(name).write_text(CASES["backslashes"], encoding="utf-8")
    stale = runner.invoke(main, ["check", "out.py"])
    assert stale.exit_code == 1, stale.output


text_with_hostile_characters = st.text(
    st.sampled_from(['"', "'", "\\", "\n", "\r", "\t", "N", "{", "#", "a", "\0", "\udcff", *SEPARATORS])
    | st.characters(),
    min_size=1,
)


@settings(max_examples=300, deadline=None)
@given(text_with_hostile_characters)
def test_escaping_round_trips_and_stays_inert(text):
    assert unescape(escape(text)) == text
    assert "\n" not in escape(text) and len(escape(text).splitlines()) <= 1
    assert eval(f'"""{docstring_text(text)}"""') == text  # the docstring's value is the text
    header = Header(text, "1", "1", Options(), "0" * 64).render()
    assert read_header(header + "\n").source == text
    code = f"# {comment_text(text)}\n# {escape(text)}\n"
    assert len(code.splitlines()) == 2
    assert compile(code, "<comment>", "exec").co_names == ()  # nothing but comments


MULTI_LINE = (
    'import numpy as np\n\nK = ("a"\n     "b")\n\n\n'
    'def f(x, w, s=("c"  # a comment inside the default\n              "d")):\n'
    '    y = x * len("a"\n                "b") * len(K)\n'
    "    z = np.maximum(x,\n                   w)\n"
    "    return np.sum(y * z) * len(s)\n"
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_statements_and_literals_over_several_lines(newline, mode, tmp_path):
    """Implicit string concatenation over lines and calls split over lines (once internal
    errors), with any line ending, a lone carriage return included."""
    path = tmp_path / "model.py"
    path.write_bytes(MULTI_LINE.replace("\n", newline).encode())
    from dpgen.pipeline import generate
    from dpgen.frontend.source import read_source

    generated = generate(read_source(str(path)), Options(mode=mode)).text
    module, primal = load(generated), load_source(MULTI_LINE)
    assert module.K == "ab"
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, -3.0])
    if mode == "reverse":
        gx, gw, gs = module.f_grad(x, w)
        assert gs is None
        for i, (arg, got) in enumerate([(x, gx), (w, gw)]):
            for e in np.eye(3):
                args = [x, w]
                plus, minus = list(args), list(args)
                plus[i], minus[i] = arg + EPS * e, arg - EPS * e
                assert got @ e == pytest.approx((primal.f(*plus) - primal.f(*minus)) / (2 * EPS), rel=ALONG_RTOL)
    elif mode == "forward":
        out, dout = module.f_jvp(x, w, dx=np.ones(3), dw=np.ones(3))
        assert out == pytest.approx(primal.f(x, w))
        assert dout == pytest.approx(directional_difference(primal.f, [x, w], [np.ones(3), np.ones(3)]), rel=ALONG_RTOL)
    else:
        module.f_hvp(x, w, vx=np.ones(3), vw=np.ones(3))
