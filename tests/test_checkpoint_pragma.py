"""The `# dpgen: checkpoint` pragma (issue 12): read, recorded in the IR, validated, applied.

`dpgen.passes.checkpoint` applies a valid pragma in reverse and hvp mode (tapes of states,
recorded vjps; the gradients themselves are tested in test_checkpoint_gradients.py); forward mode
keeps no tape, so there the generated code is exactly what it is without the pragma. No warning is
printed any more, except "nothing to checkpoint" for a loop the pullback does not go back through.
Malformed or misplaced pragmas are located errors and nothing is written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dpgen.cli import main
from dpgen.errors import ExitCode, SourceErrors
from dpgen.frontend.source import Source
from dpgen.header import Options
from dpgen.ir import Checkpoint, Loop
from dpgen.pipeline import generate
from support.generate import load, load_source
from support.gradcheck import check_vjp

NOTHING = (
    "warning: nothing to checkpoint: the pullback does not go back through this loop "
    "(nothing it computes is differentiated), so it keeps no tape"
)

#: Every accepted placement; `# note` comments stand where the plain twin has no pragma, so
#: both files have the same lines and the generated text must be byte-identical.
PRAGMAS = """\
import numpy as np


# dpgen: checkpoint
def f(x, n: int = 3):
    for i in range(n):  # dpgen: checkpoint snapshots=4
        x = np.sin(x)
    # a comment about the loop
    # dpgen: checkpoint snapshots=auto
    while np.sum(x * x) > 1.0:
        x = x * 0.5
    if np.sum(x) > 0.0:
        for row in x:  # dpgen: checkpoint
            x = x + 0.1 * row
    return np.sum(x * x)


def g(
    x,
):  # dpgen: checkpoint
    return np.sum(np.cos(x))


def h(x):  # dpgen: checkpoint
    return g(x) * 2.0
"""

PLAIN = "\n".join(
    line.split("  # dpgen:")[0] if "  # dpgen:" in line else ("# note" if line.strip().startswith("# dpgen:") else line)
    for line in PRAGMAS.split("\n")
)


def lowered(source: str, mode: str = "reverse"):
    return generate(Source("model.py", textwrap.dedent(source)), Options(mode=mode))


def loops(fn_name: str, module) -> list[Loop]:
    """The loops of a function and of the internal functions outlined from it, in source order."""
    found = []
    for fn in module.functions:
        if fn.name == fn_name or fn.name.startswith(f"_{fn_name}_"):
            found += [s for s in fn.body if isinstance(s, Loop)]
            # loops inside an `if` are lowered into the branch arms (internal functions)
    return sorted(found, key=lambda loop: (loop.span.line, loop.span.col))


def errors(source: str) -> list[str]:
    with pytest.raises(SourceErrors) as caught:
        lowered(source)
    return [str(d) for d in caught.value.diagnostics]


# ----------------------------------------------------------------------- the IR


def test_ir_records_every_placement_with_span():
    module = lowered(PRAGMAS).lowered
    by_name = {fn.name: fn for fn in module.functions}
    assert by_name["f"].checkpoint == Checkpoint(None, _span(4, 1))  # the line above the def
    assert by_name["g"].checkpoint == Checkpoint(None, _span(20, 5))  # a header over several lines: the colon's line
    assert by_name["h"].checkpoint == Checkpoint(None, _span(24, 12))  # trailing on the def line
    found = {loop.span.line: loop.checkpoint for loop in loops("f", module)}
    assert found == {
        6: Checkpoint(4, _span(6, 25)),  # trailing, explicit number
        10: Checkpoint(None, _span(9, 5)),  # in the comment block directly above, auto
        13: Checkpoint(None, _span(13, 24)),  # a loop inside an `if` arm
    }


def test_ir_without_pragma_has_none():
    module = lowered(PLAIN).lowered
    assert all(fn.checkpoint is None for fn in module.functions)
    assert all(loop.checkpoint is None for loop in loops("f", module))


def _span(line: int, col: int):
    from dpgen.errors import Span

    return Span(line, col)


def test_forward_mode_text_identical_with_and_without_pragma():
    # Forward mode keeps no tape: the pragma changes nothing there.
    with_pragma = lowered(PRAGMAS, "forward").text.split("\n")
    without = lowered(PLAIN, "forward").text.split("\n")
    # Only the header's source hash may differ (the source text differs).
    assert [line for line in with_pragma if "sha256" not in line] == [line for line in without if "sha256" not in line]
    assert len(with_pragma) == len(without)


@pytest.mark.parametrize("mode", ["reverse", "hvp", "reverse,forward"])
def test_pragma_is_applied(mode):
    """Every pragma changes the reverse-mode code: the loops run on tapes of states, the defs keep
    only their inputs and rerun their recorded vjp; the plain twin has none of it."""
    result = lowered(PRAGMAS, mode)
    text, plain = result.text, lowered(PLAIN, mode).text
    inner = "_jvp" if mode == "hvp" else ""
    assert text.count("_RevolveTape(") >= 2 and "_OnlineTape(None)" in text  # two for loops, one while
    assert "_RevolveTape(len(range(n)), 4)" in text  # snapshots=4 on the for loop
    for name in ("f", "g", "h"):
        assert f"def _{name}{inner}_vjp_recorded(" in text
    for word in ("_RevolveTape", "_OnlineTape", "_recorded", "loop_tape"):
        assert word not in plain
    assert result.warnings == ()


def test_plain_twin_really_has_no_pragma():
    assert "dpgen:" not in PLAIN and PLAIN.count("\n") == PRAGMAS.count("\n")


def test_gradient_with_pragma_is_correct():
    generated = load(lowered(PRAGMAS).text)
    primal = load_source(PRAGMAS)
    rng = np.random.default_rng(0)
    check_vjp(primal.f, generated.f_vjp, [rng.normal(size=(2, 2)) * 0.3, 3], rng, nondiff={1})
    check_vjp(primal.h, generated.h_vjp, [rng.normal(size=3)], rng)


# ----------------------------------------------------------------------- errors

BAD = """\
import numpy as np

# dpgen is nice
# dpgen: chekpoint
def f(x):  # dpgen: checkpoint snapshots=0
    y = x * 2.0  # dpgen: checkpoint
    for i in range(3):  # dpgen: checkpoint snapshots=x
        y = y + 1.0
    while np.sum(y) > 1.0:  # dpgen: checkpoint depth=3
        y = y * 0.5

    # dpgen: checkpoint
    if np.sum(y) > 0.0:  # dpgen: checkpoint
        y = y * 2.0
    for j in range(2):  # dpgen: checkpoint snapshots
        y = y * 1.0
    for j in range(2):  # dpgen: checkpoint snapshots=3 snapshots=4
        y = y * 1.0
    for j in range(2):  # dpgen: checkpoint snapshots=-1
        y = y * 1.0
    return np.sum(y)


def g(x):  # dpgen: checkpoint snapshots=3
    # dpgen: checkpoint
    # dpgen: checkpoint
    for i in range(2):
        x = x + 1.0
    return np.sum(x)


for k in range(3):  # dpgen: checkpoint
    pass
"""

EXPECTED = [
    "4:1: error: unknown pragma '# dpgen: chekpoint' (did you mean 'checkpoint'?)",
    "5:32: error: 'snapshots=0' is not valid",
    "6:18: error: '# dpgen: checkpoint' must be the trailing comment of a def, for or while line",
    "7:45: error: 'snapshots=x' is not valid",
    "9:49: error: unknown option 'depth=3'",
    "12:5: error: '# dpgen: checkpoint' must be the trailing comment",  # a blank line, then an `if`
    "13:26: error: '# dpgen: checkpoint' must be the trailing comment",  # on an `if` line
    "15:45: error: unknown option 'snapshots'",
    "17:57: error: the option 'snapshots' of '# dpgen: checkpoint' is given twice",
    "19:45: error: 'snapshots=-1' is not valid",
    "24:12: error: 'snapshots=' applies to a loop",
    "26:5: error: a second '# dpgen: checkpoint' on the same for loop",
    "32:21: error: '# dpgen: checkpoint' cannot be placed here: a module-level 'for' loop",
]


def test_every_malformed_or_misplaced_pragma_is_a_located_error():
    got = errors(BAD)
    assert len(got) == len(EXPECTED), "\n".join(got)
    for message, expected in zip(got, EXPECTED):
        assert message.startswith("model.py:" + expected), message


@pytest.mark.parametrize(
    "source, expected",
    [
        (  # a nested def is not lowered on its own
            """\
            import numpy as np


            def f(x):
                def g(y):  # dpgen: checkpoint
                    return y
                return np.sum(x)
            """,
            "model.py:5:16: error: '# dpgen: checkpoint' cannot be placed here: a nested function",
        ),
        (  # a method
            """\
            import numpy as np


            class A:
                # dpgen: checkpoint
                def m(self, x):
                    return x
            """,
            "model.py:5:5: error: '# dpgen: checkpoint' cannot be placed here: a nested function or a method",
        ),
        (  # code after `return` is not lowered: the pragma would be dropped without a word
            """\
            import numpy as np


            def f(x):
                return np.sum(x)
                for i in range(2):  # dpgen: checkpoint
                    x = x + 1.0
            """,
            "model.py:6:25: error: '# dpgen: checkpoint' stands on code that dpgen does not differentiate",
        ),
        (  # between a decorator and the def: placed, so only the decorator is refused
            """\
            import numpy as np


            @staticmethod
            # dpgen: checkpoint
            def f(x):
                return np.sum(x)
            """,
            "model.py:4:1: error: a decorator is not supported",
        ),
        (  # a pragma separated from its def by a blank line stands on nothing
            """\
            import numpy as np

            # dpgen: checkpoint

            def f(x):
                return np.sum(x)
            """,
            "model.py:3:1: error: '# dpgen: checkpoint' must be the trailing comment",
        ),
        (  # the else clause of a loop is not the loop's line
            """\
            import numpy as np


            def f(x):
                for i in range(2):
                    x = x + 1.0
                else:  # dpgen: checkpoint
                    x = x * 2.0
                return np.sum(x)
            """,
            "model.py:7:12: error: '# dpgen: checkpoint' must be the trailing comment",
        ),
    ],
)
def test_placements_lowering_cannot_use(source, expected):
    got = errors(source)
    assert any(message.startswith(expected) for message in got), got
    # One pragma, at most one error about it.
    assert sum("'# dpgen: checkpoint'" in message for message in got) <= 1, got


@pytest.mark.parametrize("comment", ["# dpgen is nice", "# dpgen:", "# dpgen: 3 things", "# see dpgen: checkpoint"])
def test_comments_that_are_not_pragmas(comment):
    source = f"import numpy as np\n\n\ndef f(x):  {comment}\n    return np.sum(x)\n"
    result = lowered(source)
    assert result.warnings == () and result.lowered.functions[0].checkpoint is None


def test_pragma_inside_a_string_is_not_a_comment():
    source = 'import numpy as np\n\n\ndef f(x):\n    """# dpgen: chekpoint"""\n    return np.sum(x)\n'
    assert lowered(source).warnings == ()


# ----------------------------------------------------------------------- CLI


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.py").write_text(PRAGMAS, encoding="utf-8")
    Path("bad.py").write_text(BAD, encoding="utf-8")
    Path("plain").mkdir()
    Path("plain/model.py").write_text(PLAIN, encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="dpgen")


def test_cli_applies_the_pragmas_without_a_word(in_tmp):
    result = run("diff", "model.py", "-o", "g.py")
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("", "")
    plain = run("diff", "plain/model.py", "-o", "plain/g.py")
    assert (plain.exit_code, plain.stderr) == (0, "")
    assert "loop_tape.pullbacks()" in Path("g.py").read_text()
    assert "loop_tape" not in Path("plain/g.py").read_text()


def test_cli_forward_mode_unchanged(in_tmp):
    result = run("diff", "model.py", "--mode", "forward")
    assert (result.exit_code, result.stderr) == (0, "")
    plain = run("diff", "plain/model.py", "--mode", "forward")
    assert result.stdout.split("\n")[2:] == plain.stdout.split("\n")[2:]


NOTHING_TO_CHECKPOINT = """\
import numpy as np


def f(x, n: int):
    k = 0
    for i in range(n):  # dpgen: checkpoint
        k = k + i
    j = 0
    for i in range(n):  # dpgen: checkpoint snapshots=2
        j = j + i
    return np.sum(x * x) * k
"""


def test_nothing_to_checkpoint_is_a_located_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.py").write_text(NOTHING_TO_CHECKPOINT, encoding="utf-8")
    result = run("diff", "model.py", "-o", "g.py")
    assert result.exit_code == 0, result.output
    # the first loop stays in the forward sweep (k is read), the second is dropped (j is not)
    assert result.stderr.splitlines() == [f"model.py:6:25: {NOTHING}", f"model.py:9:25: {NOTHING}"]
    assert "loop_tape" not in Path("g.py").read_text()  # the loop is left as it is


def test_cli_errors_write_nothing(in_tmp):
    result = run("diff", "bad.py", "-o", "out.py")
    assert result.exit_code == ExitCode.SOURCE
    assert not Path("out.py").exists()
    lines = result.stderr.splitlines()
    assert lines[-1] == f"{len(EXPECTED)} errors; nothing written"
    assert all(line.startswith("bad.py:") and ": error: " in line for line in lines[:-1])


def test_dump_ir_shows_the_pragma(in_tmp):
    result = run("diff", "model.py", "--dump-ir")
    assert result.exit_code == 0
    out = result.stdout
    assert "def f(x, n=3 [nondiff] [scalar]):  [checkpoint snapshots=auto, pragma at 4:1]" in out
    assert "for i in range(n)  [checkpoint snapshots=4, pragma at 6:25]" in out
    assert "  [checkpoint snapshots=auto, pragma at 9:5]" in out
    assert "def h(x):  [checkpoint snapshots=auto, pragma at 24:12]" in out
    plain = run("diff", "plain/model.py", "--dump-ir").stdout
    assert "checkpoint" not in plain


def test_dump_after_lower_shows_the_pragma(in_tmp):
    result = run("diff", "model.py", "--dump-after", "lower")
    assert result.exit_code == 0
    assert "[checkpoint snapshots=4, pragma at 6:25]" in result.stdout


def test_dump_after_checkpoint_shows_the_tapes(in_tmp):
    result = run("diff", "model.py", "--dump-after", "checkpoint")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "-> step on loop_tape  [revolve tape, snapshots=4]" in out  # for i in range(n), snapshots=4
    assert "-> step on loop_tape_2  [online tape, snapshots=auto]" in out  # the while loop, the second tape of f
    assert "for step, step_pullback in loop_tape.pullbacks():" in out
    assert "[checkpointed: keeps its inputs, reruns _h_vjp_recorded]" in out
    # simplify's IR, one stage earlier, has no tape yet
    assert "loop_tape" not in run("diff", "model.py", "--dump-after", "simplify").stdout
