"""The command line: `dpgen diff` writes a generated module, `dpgen check` proves one current.

Exit codes live in `dpgen.errors.ExitCode`. Output files are written to a temporary
file beside the target and renamed into place only when everything succeeded, so a
failed run never leaves a half-written or clobbered file.
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import click

from dpgen import __version__
from dpgen.errors import DpgenError, ExitCode, InputError, SourceErrors
from dpgen.header import Options, read_header, without_version


def _fail(exc: DpgenError) -> None:
    """Report a dpgen error (every diagnostic, then a count) and exit with its code."""
    click.echo(str(exc), err=True)
    if isinstance(exc, SourceErrors):
        n = len(exc.diagnostics)
        click.echo(f"{n} error{'s' if n != 1 else ''}; nothing written", err=True)
    sys.exit(int(exc.exit_code))


def _write_atomically(path: str, text: str, source: str) -> None:
    """Write `text` to `path` via a temporary file and a rename: all or nothing."""
    # A symlinked output is followed, so the link stays a link and its target is updated.
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise InputError(f"{path}: error: is a directory; give a file name for the output")
    if target.exists() and os.path.samefile(target, source):
        raise InputError(f"{path}: error: is the source file; refusing to overwrite it with generated code")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(f"{path}: error: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # mkstemp creates the file 0600; a generated module is an ordinary file, so give
            # it the mode a plain open() would have (or keep the one it had).
            os.chmod(tmp, _mode_for(target))
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: error: cannot write: {exc.strerror or exc}") from None
    except BaseException:  # Ctrl-C mid-write: still leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits for the output: the existing file's, or 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)  # the only way to read the umask is to set it
        os.umask(umask)
        return 0o666 & ~umask


def _backends():
    from dpgen.backend import BACKENDS

    return tuple(BACKENDS)


def _check_choice(allowed: Callable[[], tuple[str, ...]]):
    """A click callback for --mode/--backend; `allowed` is read lazily, so `--help` stays fast.

    A bad value is a usage error (exit 2) shown with the usage line, like any other option.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
        choices = allowed()
        if value not in choices:
            raise click.BadParameter(f"'{value}' is not one of {', '.join(repr(c) for c in choices)}")
        return value

    return callback


def _check_modes(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--mode: one mode or several joined by commas, put in canonical order for the header."""
    from dpgen.pipeline import MODES, parse_modes

    modes = parse_modes(value)
    if modes is None:
        raise click.BadParameter(f"'{value}' is not one of {', '.join(repr(c) for c in MODES)}, or several of them joined by commas")
    return ",".join(modes)


class _Group(click.Group):
    """Turns dpgen's own exceptions into messages and exit codes, never tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DpgenError as exc:
            _fail(exc)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug in dpgen: say so plainly, with what to report
            # One line, no traceback: the user needs to know it is not their fault, not where.
            try:
                detail = " ".join(str(exc).split())[:500]
            except Exception:  # str() of a huge or deeply nested object may itself fail (RecursionError)
                detail = "(no message)"
            click.echo(f"dpgen: internal error: {type(exc).__name__}: {detail} (please report this with the input file)", err=True)
            sys.exit(int(ExitCode.INTERNAL))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dpgen", message="%(prog)s %(version)s")
def main() -> None:
    """dpgen: differentiate NumPy modules into readable gradient code."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=True))
@click.option("-o", "--output", type=click.Path(), help="Where to write the generated module (default: stdout).")
@click.option(
    "--mode",
    default="reverse",
    show_default=True,
    callback=_check_modes,
    help="reverse (f_vjp, f_grad), forward (f_jvp), hvp (f_hvp), or several: reverse,forward.",
)
@click.option("--backend", default="numpy", show_default=True, callback=_check_choice(_backends), help="Array library of the generated code.")
@click.option("--dump-ir", is_flag=True, help="Print the lowered IR and each mode's IR instead of code.")
def diff(source: str, output: str | None, mode: str, backend: str, dump_ir: bool) -> None:
    """Differentiate SOURCE without importing or running it."""
    from dpgen.pipeline import generate
    from dpgen.source import read_source

    stages = generate(read_source(source), Options(mode=mode, backend=backend))
    if dump_ir:
        from dpgen.dump import dump

        click.echo(dump(stages), nl=False)
        return
    if output is None:
        click.echo(stages.text, nl=False)
    else:
        _write_atomically(output, stages.text, source)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff for each stale file.")
def check(files: tuple[str, ...], show_diff: bool) -> None:
    """Exit 0 if every generated file is current, 1 if any is stale.

    FILES are generated modules (their header names the source, looked up beside them),
    or pairs SOURCE GENERATED.
    """
    from dpgen.pipeline import generate
    from dpgen.source import read_source

    stale = []
    for source_path, generated_path in _pairs(files):
        generated = read_source(generated_path).text
        header = read_header(generated)
        if header is None:
            raise InputError(f"{generated_path}: error: not a file generated by dpgen (no header)")
        if source_path is None:
            source_path = str(Path(generated_path).parent / header.source)
        _check_header_options(header.options, generated_path)
        expected = generate(read_source(source_path), header.options).text
        if without_version(expected) != without_version(generated):
            stale.append(generated_path)
            click.echo(f"{generated_path}: stale (regenerate: dpgen diff {source_path} -o {generated_path})")
            if show_diff:
                click.echo(
                    "".join(difflib.unified_diff(generated.splitlines(True), expected.splitlines(True), generated_path, f"{generated_path} (expected)")),
                    nl=False,
                )
    if stale:
        sys.exit(int(ExitCode.STALE))


def _check_header_options(options: Options, generated_path: str) -> None:
    """A header naming a mode or backend this dpgen lacks is a bad input, reported with its file."""
    from dpgen.backend import BACKENDS
    from dpgen.pipeline import parse_modes

    if parse_modes(options.mode) is None or options.backend not in BACKENDS:
        raise InputError(f"{generated_path}: error: the header asks for options this dpgen does not have: {options.render()}")


def _pairs(files: tuple[str, ...]) -> list[tuple[str | None, str]]:
    """Split check's arguments into (source or None, generated) pairs."""
    from dpgen.source import read_source

    pairs: list[tuple[str | None, str]] = []
    i = 0
    while i < len(files):
        if read_header(read_source(files[i]).text) is not None:
            pairs.append((None, files[i]))
            i += 1
        elif i + 1 < len(files):
            pairs.append((files[i], files[i + 1]))
            i += 2
        else:
            raise InputError(f"{files[i]}: error: not a file generated by dpgen; give it as SOURCE GENERATED")
    return pairs
