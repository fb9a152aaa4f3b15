"""`dpgen diff --checkpoint SPEC`: a `# dpgen: checkpoint` pragma given on the command line.

A spec becomes a placed pragma in the front end, so the IR (the same `Checkpoint` on the same
`Function` or `Loop`) and the generated text are those of the source with the pragma written on
that def or loop. Specs that name nothing that fits are located errors, exit 2, nothing written.
The header records the specs canonically and `dpgen check` regenerates with them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dpgen.checkpoint_spec import CheckpointSpec, canonical, parse_spec
from dpgen.cli import main
from dpgen.errors import ExitCode, OptionErrors, Span
from dpgen.frontend.pragmas import place_options
from dpgen.frontend.source import Source, parse
from dpgen.header import Options, read_header
from dpgen.ir import Checkpoint, Loop
from dpgen.pipeline import generate
from support.generate import load, load_source
from support.gradcheck import check_vjp

#: Line numbers matter here: the loops start on lines 9, 11 and 14, `simulate` on line 8.
PLAIN = """\
import numpy as np


def step(u, k):
    return u + 0.1 * k * np.sin(u)


def simulate(u, k, steps: int = 4):
    for _ in range(steps):
        u = step(u, k)
    while np.sum(u * u) > 50.0:
        u = u * 0.5
    if np.sum(u) > 0.0:
        for row in k:
            u = u + 0.1 * row
    return np.sum(u * u)
"""

#: PLAIN and places where no checkpoint may stand: a module-level loop (line 19), a nested def
#: (line 24). The fence refuses the nested def, but a spec is refused before the fence runs.
OTHERS = PLAIN + """

for i in range(2):
    pass


def outer(x):
    def inner(y):
        return y
    return np.sum(x)
"""


def with_pragma(line: int, pragma: str = "# dpgen: checkpoint") -> str:
    """PLAIN with `pragma` as the trailing comment of `line` (1-based)."""
    lines = PLAIN.split("\n")
    lines[line - 1] += f"  {pragma}"
    return "\n".join(lines)


def run(source: str, *checkpoints: str, mode: str = "reverse"):
    return generate(Source("model.py", source), Options(mode=mode, checkpoints=canonical(checkpoints)))


def body(text: str) -> str:
    """The generated text without its two header lines (the options and the source hash differ)."""
    return text.split("\n", 2)[2]


def columns_dropped(node):
    """The IR with the column of every checkpoint's span set to 0 (`Checkpoint`, and the nodes
    passes make from it): a spec's span is the def/loop keyword's, a pragma's the comment's;
    everything else must be equal."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        fields = {f.name: columns_dropped(getattr(node, f.name)) for f in dataclasses.fields(node)}
        if type(node).__name__.endswith("Checkpoint"):  # Checkpoint, and what passes derive from it
            fields["span"] = Span(node.span.line, 0)
        return type(node)(**fields)
    if isinstance(node, (tuple, list)):
        return type(node)(columns_dropped(item) for item in node)
    if isinstance(node, dict):
        return {key: columns_dropped(value) for key, value in node.items()}
    return node


def checkpoints_of(module) -> dict[str, Checkpoint]:
    """Where the lowered module records checkpoints: function name or 'loop@LINE' -> Checkpoint."""
    found = {}
    for fn in module.functions:
        if fn.checkpoint is not None:
            found[fn.name] = fn.checkpoint
        for stmt in fn.body:
            if isinstance(stmt, Loop) and stmt.checkpoint is not None:
                found[f"loop@{stmt.span.line}"] = stmt.checkpoint
    return found


# ----------------------------------------------------------------------- the spec's syntax


@pytest.mark.parametrize(
    "text, spec",
    [
        ("14", CheckpointSpec(14, None)),
        ("14:snapshots=20", CheckpointSpec(14, 20)),
        ("14:snapshots=auto", CheckpointSpec(14, None)),
        ("simulate", CheckpointSpec("simulate", None)),
        ("_f2:snapshots=1", CheckpointSpec("_f2", 1)),
    ],
)
def test_spec_parses(text, spec):
    assert parse_spec(text) == spec


@pytest.mark.parametrize(
    "text, message",
    [
        ("0", "line numbers start at 1"),
        ("", "is not a function name or a line number"),
        ("a.b", "is not a function name or a line number"),
        ("for", "is not a function name or a line number"),  # a keyword names no function
        ("14:", "unknown option"),
        ("14:snapshots", "unknown option"),
        ("14:depth=3", "unknown option"),
        ("14:snapshots=0", "'snapshots=0' is not valid"),
        ("14:snapshots=-2", "'snapshots=-2' is not valid"),
        ("14:snapshots=x", "'snapshots=x' is not valid"),
        ("14:snapshots=auto:3", "is not valid"),
    ],
)
def test_malformed_spec_is_refused(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_spec(text)


def test_canonical_form_and_order():
    given = ["simulate", "14:snapshots=auto", "9:snapshots=3", "b", "011"]
    assert canonical(given) == ("9:snapshots=3", "11", "14", "b", "simulate")
    assert canonical([]) == ()


@pytest.mark.parametrize("given", [["14", "14"], ["14", "14:snapshots=3"], ["f", "f:snapshots=auto"]])
def test_a_target_given_twice_is_refused(given):
    with pytest.raises(ValueError, match="given twice"):
        canonical(given)


# ----------------------------------------------------------------------- same IR, same text as the pragma


@pytest.mark.parametrize(
    "spec, line, pragma, mode",
    [
        ("9", 9, "# dpgen: checkpoint", "reverse"),
        ("9:snapshots=3", 9, "# dpgen: checkpoint snapshots=3", "reverse"),
        ("11:snapshots=auto", 11, "# dpgen: checkpoint snapshots=auto", "reverse"),
        ("14:snapshots=2", 14, "# dpgen: checkpoint snapshots=2", "reverse"),  # a loop inside an `if` arm
        ("simulate", 8, "# dpgen: checkpoint", "reverse"),
        ("8", 8, "# dpgen: checkpoint", "reverse"),  # a def by its line
        ("step", 4, "# dpgen: checkpoint", "reverse"),
        # Every stage of the other modes too (forward mode keeps no tape; hvp's inner reverse does).
        ("9:snapshots=3", 9, "# dpgen: checkpoint snapshots=3", "forward"),
        ("simulate", 8, "# dpgen: checkpoint", "forward"),
        ("9:snapshots=3", 9, "# dpgen: checkpoint snapshots=3", "hvp"),
        ("11", 11, "# dpgen: checkpoint", "hvp"),
        ("step", 4, "# dpgen: checkpoint", "hvp"),
    ],
)
def test_spec_gives_the_ir_and_text_of_the_pragma(spec, line, pragma, mode):
    by_option = run(PLAIN, spec, mode=mode)
    by_pragma = run(with_pragma(line, pragma), mode=mode)
    assert checkpoints_of(by_option.lowered), "the spec was not recorded"
    assert columns_dropped(by_option.lowered) == columns_dropped(by_pragma.lowered)
    for stage in by_pragma.after:
        assert columns_dropped(by_option.after[stage]) == columns_dropped(by_pragma.after[stage]), stage
    assert body(by_option.text) == body(by_pragma.text)


def test_spec_span_is_the_statement_it_names():
    found = checkpoints_of(run(PLAIN, "simulate", "9:snapshots=3", "11").lowered)
    assert found == {
        "simulate": Checkpoint(None, Span(8, 1)),
        "loop@9": Checkpoint(3, Span(9, 5)),
        "loop@11": Checkpoint(None, Span(11, 5)),
    }


def test_spec_and_pragmas_on_different_targets_merge():
    found = checkpoints_of(run(with_pragma(9, "# dpgen: checkpoint snapshots=2"), "11", "step").lowered)
    assert set(found) == {"step", "loop@9", "loop@11"}
    assert found["loop@9"].snapshots == 2


def test_spec_on_a_decorated_def_names_the_def_line():
    # (The fence refuses decorators; the spec is placed before it runs, as a pragma would be.)
    source = "import functools\nimport numpy as np\n\n\n@functools.cache\ndef f(x):\n    return np.sum(x)\n"
    placed = list(place_options(parse(Source("model.py", source)), ("6",)).values())
    assert [(p.checkpoint, p.function) for p in placed] == [(Checkpoint(None, Span(6, 1)), "f")]
    with pytest.raises(OptionErrors, match="no def, for or while statement starts on line 5"):
        run(source, "5")


def test_gradient_with_specs_is_correct():
    generated = load(run(PLAIN, "simulate", "9:snapshots=2", "11", "14:snapshots=1", "step").text)
    primal = load_source(PLAIN)
    rng = np.random.default_rng(0)
    check_vjp(primal.simulate, generated.simulate_vjp, [rng.normal(size=3), rng.normal(size=(2, 3)), 4], rng, {2})


# ----------------------------------------------------------------------- errors: located, exit 2, nothing written

ERRORS = [
    (["3"], "3:1: error: --checkpoint 3: no def, for or while statement starts on line 3"),
    (["10"], "10:1: error: --checkpoint 10: no def, for or while statement starts on line 10"),
    (["99"], "99:1: error: --checkpoint 99: model.py has 26 lines"),
    (
        ["simulat"],
        "1:1: error: --checkpoint simulat: model.py defines no top-level function 'simulat' (did you mean 'simulate'?)",
    ),
    (["inner"], "1:1: error: --checkpoint inner: model.py defines no top-level function 'inner'"),
    (["19"], "19:1: error: --checkpoint 19: cannot be placed here: a module-level 'for' loop is not differentiated"),
    (["24"], "24:5: error: --checkpoint 24: cannot be placed here: a nested function or a method"),
    (["simulate:snapshots=3"], "8:1: error: --checkpoint simulate:snapshots=3: 'snapshots=' applies to a loop"),
    (["8", "simulate"], "8:1: error: --checkpoint simulate and --checkpoint 8 name the same function; give one"),
]


@pytest.mark.parametrize("specs, expected", ERRORS)
def test_spec_naming_nothing_that_fits_is_a_located_usage_error(tmp_path, specs, expected):
    (tmp_path / "model.py").write_text(OTHERS)
    args = ["diff", "model.py", "-o", "out.py"] + [f"--checkpoint={spec}" for spec in specs]
    result = _invoke(tmp_path, args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.splitlines() == [
        f"model.py:{expected}" + _rest(result.stderr, expected),
        "1 error; nothing written",
    ]
    assert not (tmp_path / "out.py").exists()


def _rest(stderr: str, expected: str) -> str:
    """What follows the expected start of the first line (hints), so the comparison is of whole lines."""
    first = stderr.splitlines()[0]
    assert first.startswith(f"model.py:{expected}"), first
    return first[len(f"model.py:{expected}") :]


def test_every_bad_spec_is_reported_in_one_run():
    with pytest.raises(OptionErrors) as caught:
        run(PLAIN, "3", "simulat", "9")
    assert [d.span.line for d in caught.value.diagnostics] == [1, 3]
    assert caught.value.exit_code == ExitCode.USAGE


def test_spec_on_a_def_or_loop_with_a_pragma_is_a_conflict(tmp_path):
    (tmp_path / "model.py").write_text(with_pragma(9, "# dpgen: checkpoint snapshots=3"))
    result = _invoke(tmp_path, ["diff", "model.py", "--checkpoint", "9", "-o", "out.py"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.splitlines()[0] == (
        "model.py:9:5: error: --checkpoint 9: the for loop on line 9 already has a '# dpgen: checkpoint' pragma "
        "(line 9, column 29); give one of them"
    )
    assert not (tmp_path / "out.py").exists()
    # A pragma in the comment block above the def conflicts with the function's name as well.
    source = PLAIN.replace("def simulate", "# dpgen: checkpoint\ndef simulate")
    with pytest.raises(OptionErrors, match="the function on line 9 already has"):
        run(source, "simulate")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("0", "line numbers start at 1"),
        ("9:snapshots=0", "'snapshots=0' is not valid"),
        ("9:depth=2", "unknown option 'depth=2'"),
        ("f.g", "is not a function name or a line number"),
    ],
)
def test_malformed_spec_on_the_command_line_is_a_usage_error(tmp_path, spec, message):
    (tmp_path / "model.py").write_text(PLAIN)
    result = _invoke(tmp_path, ["diff", "model.py", f"--checkpoint={spec}", "-o", "out.py"])
    assert result.exit_code == ExitCode.USAGE
    assert "Invalid value for '--checkpoint'" in result.stderr and message in result.stderr
    assert not (tmp_path / "out.py").exists()


def test_the_same_target_twice_on_the_command_line_is_a_usage_error(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    result = _invoke(tmp_path, ["diff", "model.py", "--checkpoint", "9", "--checkpoint", "9:snapshots=4"])
    assert result.exit_code == ExitCode.USAGE and "given twice" in result.stderr


def test_spec_on_unreachable_code_is_a_source_error():
    source = PLAIN.replace(
        "    return np.sum(u * u)\n", "    return np.sum(u * u)\n    for j in range(2):\n        u = u\n"
    )
    with pytest.raises(Exception) as caught:
        run(source, "17")
    assert "model.py:17:5: error: --checkpoint 17 stands on code that dpgen does not differentiate" in str(caught.value)


def test_generate_refuses_a_malformed_spec_given_through_the_api():
    from dpgen.errors import InputError

    with pytest.raises(InputError, match="--checkpoint '9:snapshots=0'"):
        generate(Source("model.py", PLAIN), Options(checkpoints=("9:snapshots=0",)))


# ----------------------------------------------------------------------- header and `dpgen check`


def test_header_records_the_specs_in_canonical_order(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    args = ["diff", "model.py", "-o", "g.py", "--checkpoint", "simulate", "--checkpoint", "11:snapshots=auto"]
    result = _invoke(tmp_path, args + ["--checkpoint", "9:snapshots=3", "--mode", "reverse,hvp"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "g.py").read_text()
    options = "--mode reverse,hvp --backend numpy --checkpoint 9:snapshots=3 --checkpoint 11 --checkpoint simulate"
    assert text.split("\n")[1].split("; ")[2] == f"options: {options}"
    header = read_header(text)
    assert header.options == Options("reverse,hvp", "numpy", ("9:snapshots=3", "11", "simulate"))
    assert header.options.render() == options
    assert Options.parse(options) == header.options


def test_header_without_checkpoints_is_unchanged():
    assert Options().render() == "--mode reverse --backend numpy"
    assert Options.parse("--mode forward --backend numpy") == Options("forward", "numpy", ())
    assert run(PLAIN).text.split("\n")[1].split("; ")[2] == "options: --mode reverse --backend numpy"


def test_check_passes_on_a_file_generated_with_specs(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    args = ["diff", "model.py", "-o", "g.py", "--checkpoint", "9:snapshots=2", "--checkpoint", "step"]
    assert _invoke(tmp_path, args).exit_code == 0
    result = _invoke(tmp_path, ["check", "g.py"])
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_check_regenerates_with_the_header_specs(tmp_path):
    """`dpgen check` regenerates with the header's specs: the file is current exactly when its body
    is what those specs give (until the checkpoint pass lands, specs leave the body unchanged, so
    only the header's own text can differ), and a header in another order is stale."""
    (tmp_path / "model.py").write_text(PLAIN)
    assert _invoke(tmp_path, ["diff", "model.py", "-o", "g.py", "--checkpoint", "9:snapshots=2"]).exit_code == 0
    generated = (tmp_path / "g.py").read_text()
    given = "--mode reverse --backend numpy --checkpoint 9:snapshots=2"
    for edited in ("--checkpoint 9:snapshots=3", "--checkpoint 9 --checkpoint step", ""):
        (tmp_path / "g.py").write_text(generated.replace(given, f"--mode reverse --backend numpy {edited}".rstrip()))
        result = _invoke(tmp_path, ["check", "g.py"])
        specs = edited.replace("--checkpoint ", "").split()
        changed = body(run(PLAIN, *specs).text) != body(generated)
        assert result.exit_code == (ExitCode.STALE if changed else ExitCode.OK), (edited, result.output)
        hint = f"g.py: stale (regenerate: dpgen diff model.py {edited + ' ' if edited else ''}-o g.py)\n"
        assert result.stdout == (hint if changed else "")
    # Not in canonical order: dpgen never writes that header, so the file is not what it writes.
    (tmp_path / "g.py").write_text(generated.replace(given, given + " --checkpoint 11:snapshots=auto --checkpoint 4"))
    result = _invoke(tmp_path, ["check", "g.py"])
    assert result.exit_code == ExitCode.STALE
    assert result.stdout == (
        "g.py: stale (regenerate: dpgen diff model.py --checkpoint 9:snapshots=2 --checkpoint 11:snapshots=auto "
        "--checkpoint 4 -o g.py)\n"
    )
    # The header's specs meet the source: here one conflicts with a pragma written since.
    (tmp_path / "g.py").write_text(generated)
    (tmp_path / "model.py").write_text(with_pragma(9))
    result = _invoke(tmp_path, ["check", "g.py"])
    assert result.exit_code == ExitCode.STALE
    assert "model.py:9:5: error: --checkpoint 9:snapshots=2: the for loop on line 9 already has" in result.stderr


def test_check_is_stale_when_a_spec_no_longer_fits_the_source(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    assert _invoke(tmp_path, ["diff", "model.py", "-o", "g.py", "--checkpoint", "9"]).exit_code == 0
    (tmp_path / "model.py").write_text("\n\n" + PLAIN)  # line 9 is blank now
    result = _invoke(tmp_path, ["check", "g.py"])
    assert result.exit_code == ExitCode.STALE
    assert result.stdout == "g.py: stale (regenerate: dpgen diff model.py --checkpoint 9 -o g.py)\n"
    assert result.stderr.startswith(
        "model.py:9:1: error: --checkpoint 9: no def, for or while statement starts on line 9"
    )


def test_check_refuses_a_malformed_spec_in_the_header(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    assert _invoke(tmp_path, ["diff", "model.py", "-o", "g.py", "--checkpoint", "9"]).exit_code == 0
    text = (tmp_path / "g.py").read_text().replace("--checkpoint 9", "--checkpoint 9:snapshots=0")
    (tmp_path / "g.py").write_text(text)
    result = _invoke(tmp_path, ["check", "g.py"])
    assert result.exit_code == ExitCode.IO
    assert "the header asks for options this dpgen does not have" in result.stderr


def test_dump_after_lower_shows_the_spec(tmp_path):
    (tmp_path / "model.py").write_text(PLAIN)
    result = _invoke(tmp_path, ["diff", "model.py", "--dump-after", "lower", "--checkpoint", "9:snapshots=3"])
    assert result.exit_code == 0
    assert "[checkpoint snapshots=3, pragma at 9:5]" in result.stdout


def _invoke(cwd: Path, args: list[str]):
    """Run the CLI in `cwd` (messages name the files as given there)."""
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, args, prog_name="dpgen", catch_exceptions=False)
