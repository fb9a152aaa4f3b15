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
from dpgen.errors import DpgenError, ExitCode, InputError, OptionErrors, SourceErrors
from dpgen.escape import message_text
from dpgen.header import Options, read_header, without_version


def _fail(exc: DpgenError) -> None:
    """Report a dpgen error (every diagnostic, then a count) and exit with its code."""
    click.echo(str(exc), err=True)
    if isinstance(exc, SourceErrors):
        n = len(exc.diagnostics)
        click.echo(f"{n} error{'s' if n != 1 else ''}; nothing written", err=True)
    sys.exit(int(exc.exit_code))


def _write_atomically(path: str, text: str, source: str) -> None:
    """Write `text` to `path` via a temporary file and a rename: all or nothing.

    Only a regular file (or a name that does not exist yet) is ever replaced: a FIFO or a
    device given as the output (`-o /dev/null`) is refused, since the rename would replace
    the node itself. A symlinked output is followed, so the link stays a link and its
    target is updated (the target must be a regular file too).
    """
    from dpgen.frontend.source import file_kind, os_error_text

    if "\0" in path:
        raise InputError(f"{path}: error: the file name holds a null byte")
    if path.endswith("/"):  # realpath would drop the slash and write 'out.py' for 'out.py/'
        raise InputError(f"{path}: error: ends with '/', which names a directory; give a file name for the output")
    try:
        target = Path(os.path.realpath(path))
        try:
            kind = file_kind(os.stat(target).st_mode)
        except FileNotFoundError:
            kind = None
        if kind == "a directory":
            raise InputError(f"{path}: error: is a directory; give a file name for the output")
        if kind is not None:
            raise InputError(
                f"{path}: error: is {kind}, not a regular file; refusing to replace it (leave out -o to write to stdout)"
            )
        if target.exists() and os.path.samefile(target, source):
            raise InputError(f"{path}: error: is the source file; refusing to overwrite it with generated code")
    except OSError as exc:
        raise InputError(f"{path}: error: {os_error_text(exc, 'write')}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(f"{path}: error: {os_error_text(exc, 'write')}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # mkstemp creates the file 0600; a generated module is an ordinary file, so give
            # it the mode a plain open() would have (or keep the one it had).
            os.chmod(tmp, _mode_for(target))
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: error: {os_error_text(exc, 'write')}") from None
    except BaseException:  # Ctrl-C mid-write: still leave no temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _to_stdout(text: str) -> None:
    """Print the output; a closed pipe (`dpgen diff m.py | head -1`) or a full disk is exit 3."""
    try:
        click.echo(text, nl=False)
    except OSError as exc:
        raise InputError(f"<stdout>: error: cannot write: {exc.strerror or exc}") from None


def _mode_for(target: Path) -> int:
    """The permission bits for the output: the existing file's, or 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)  # the only way to read the umask is to set it
        os.umask(umask)
        return 0o666 & ~umask


class _PathType(click.Path):
    """click.Path that leaves every check of the file to dpgen (exit 3, one line).

    click's own checks exit 2 as usage errors, and a null byte in the name escapes them as
    a ValueError; dpgen's readers report both as I/O problems.
    """

    def __init__(self, **kwargs):
        super().__init__(readable=False, **kwargs)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except ValueError:  # "embedded null byte" from os.stat
            return value


def _backends():
    from dpgen.backends import BACKENDS

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
        raise click.BadParameter(
            f"'{value}' is not one of {', '.join(repr(c) for c in MODES)}, or several of them joined by commas"
        )
    return ",".join(modes)


def _check_stage(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--dump-after: a stage of `dpgen.pipeline.STAGES`; anything else is a usage error (exit 2) listing them."""
    if value is None:
        return None
    from dpgen.pipeline import STAGES

    if value not in STAGES:
        raise click.BadParameter(f"'{value}' is not a stage; the stages are {', '.join(STAGES)}")
    return value


def _check_checkpoints(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--checkpoint: each SPEC well formed, no target twice; canonical form and order, for the header.

    Whether a spec names a def or loop of the source is known only once it is parsed: that is a
    located error from `dpgen.frontend.pragmas.place_options` (exit 2 as well)."""
    from dpgen.checkpoint_spec import canonical

    try:
        return canonical(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class _Group(click.Group):
    """Turns dpgen's own exceptions into messages and exit codes, never tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DpgenError as exc:
            _fail(exc)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1, which means "stale"
            click.echo("dpgen: interrupted; nothing written", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except Exception as exc:  # a bug in dpgen (RecursionError, MemoryError included)
            _internal_error(exc)


def _internal_error(exc: BaseException) -> None:
    """Say plainly that dpgen failed, on one line, and exit 70; this itself must never fail.

    No traceback: the user needs to know it is not their fault, not where. The message is
    cut short and escaped, and a failure while formatting it (a recursive __str__, no
    memory left) falls back to a fixed text.
    """
    try:
        detail = str(exc)[:300]
        message = f"dpgen: internal error: {type(exc).__name__}: {message_text(' '.join(detail.split()))}"
    except BaseException:  # noqa: BLE001 - formatting the message must not raise
        message = f"dpgen: internal error: {type(exc).__name__}: (no message)"
    try:
        click.echo(f"{message} (please report this with the input file)", err=True)
    except BaseException:  # noqa: BLE001 - stderr itself is broken: try the raw descriptor
        try:
            os.write(2, b"dpgen: internal error (please report this with the input file)\n")
        except OSError:
            pass
    sys.exit(int(ExitCode.INTERNAL))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dpgen", message="%(prog)s %(version)s")
def main() -> None:
    """dpgen: differentiate NumPy modules into readable gradient code."""


@main.command()
@click.argument("source", type=_PathType(dir_okay=True))
@click.option("-o", "--output", type=_PathType(), help="Where to write the generated module (default: stdout).")
@click.option(
    "--mode",
    default="reverse",
    show_default=True,
    callback=_check_modes,
    help="reverse (f_vjp, f_grad), forward (f_jvp), hvp (f_hvp), or several: reverse,forward.",
)
@click.option(
    "--backend",
    default="numpy",
    show_default=True,
    callback=_check_choice(_backends),
    help="Array library of the generated code.",
)
@click.option("--dump-ir", is_flag=True, help="Print the lowered IR and each mode's IR instead of code.")
@click.option(
    "--dump-after",
    metavar="STAGE",
    callback=_check_stage,
    help="Print the IR after STAGE instead of code: lower, reverse, simplify, forward, prune or hvp.",
)
@click.option(
    "--checkpoint",
    "checkpoints",
    metavar="SPEC",
    multiple=True,
    callback=_check_checkpoints,
    help="Checkpoint a def or loop as '# dpgen: checkpoint' on it would: SPEC is a top-level function's name "
    "or the line a def/for/while starts on, optionally with :snapshots=N or :snapshots=auto. Repeatable.",
)
def diff(
    source: str,
    output: str | None,
    mode: str,
    backend: str,
    dump_ir: bool,
    dump_after: str | None,
    checkpoints: tuple[str, ...],
) -> None:
    """Differentiate SOURCE without importing or running it."""
    from dpgen.pipeline import generate
    from dpgen.frontend.source import read_source

    if dump_after is not None:
        from dpgen.ir.printer import listing
        from dpgen.pipeline import STAGE_MODES, ir_after, parse_modes

        # Checked here, not in the option's callback: click may not have read --mode yet there.
        if not set(parse_modes(mode) or ()) & set(STAGE_MODES[dump_after]):
            raise click.BadParameter(
                f"the stage '{dump_after}' does not run with --mode {mode} (add --mode {STAGE_MODES[dump_after][0]})",
                param_hint="'--dump-after'",
            )

        _to_stdout(listing(ir_after(read_source(source), Options(mode, backend, checkpoints), dump_after)))
        return
    stages = generate(read_source(source), Options(mode, backend, checkpoints))
    for warning in stages.warnings:  # stderr only: the output and the exit code do not depend on them
        click.echo(str(warning), err=True)
    if dump_ir:
        from dpgen.ir.printer import dump

        _to_stdout(dump(stages))
        return
    if output is None:
        _to_stdout(stages.text)
    else:
        _write_atomically(output, stages.text, source)


@main.command()
@click.argument("files", nargs=-1, required=True, type=_PathType(dir_okay=True))
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff for each stale file.")
def check(files: tuple[str, ...], show_diff: bool) -> None:
    """Exit 0 if every generated file is current, 1 if any is stale.

    FILES are generated modules (their header names the source, looked up beside them),
    or pairs SOURCE GENERATED.
    """
    from dpgen.pipeline import generate
    from dpgen.frontend.source import read_source

    stale = []
    for source_path, generated_path in _pairs(files):
        generated = read_source(generated_path).text
        header = read_header(generated)
        if header is None:
            raise InputError(f"{generated_path}: error: not a file generated by dpgen (no header)")
        if source_path is None:
            if "/" in header.source or header.source in (".", ".."):  # dpgen writes a bare file name
                raise InputError(
                    f"{generated_path}: error: the header names {header.source!r}, not a file name; give SOURCE GENERATED"
                )
            source_path = str(Path(generated_path).parent / header.source)
        _check_header_options(header.options, generated_path)
        try:
            expected = generate(read_source(source_path), header.options).text
        except OptionErrors as exc:
            # The source changed under a `--checkpoint LINE` of the header (no loop starts there
            # now): the file cannot be current. Say why, then list it as stale.
            click.echo(str(exc), err=True)
            expected = None
        if expected is None or without_version(expected) != without_version(generated):
            stale.append(generated_path)
            command = " ".join(["dpgen diff", source_path, *_options_given(header.options), "-o", generated_path])
            click.echo(message_text(f"{generated_path}: stale (regenerate: {command})"))
            if show_diff and expected is not None:
                click.echo(
                    "".join(
                        difflib.unified_diff(
                            generated.splitlines(True),
                            expected.splitlines(True),
                            message_text(generated_path),
                            f"{message_text(generated_path)} (expected)",
                        )
                    ),
                    nl=False,
                )
    if stale:
        sys.exit(int(ExitCode.STALE))


def _options_given(options: Options) -> list[str]:
    """The options to give `dpgen diff` to regenerate a file: those that are not the defaults."""
    given = [] if options.mode == "reverse" else ["--mode", options.mode]
    given += [] if options.backend == "numpy" else ["--backend", options.backend]
    return given + [f"--checkpoint {spec}" for spec in options.checkpoints]


def _check_header_options(options: Options, generated_path: str) -> None:
    """A header naming a mode or backend this dpgen lacks, or a malformed `--checkpoint`, is a
    bad input, reported with its file."""
    from dpgen.backends import BACKENDS
    from dpgen.checkpoint_spec import canonical
    from dpgen.pipeline import parse_modes

    try:
        canonical(options.checkpoints)
    except ValueError:
        malformed = True
    else:
        malformed = False
    if malformed or parse_modes(options.mode) is None or options.backend not in BACKENDS:
        raise InputError(
            f"{generated_path}: error: the header asks for options this dpgen does not have: {options.render()}"
        )


def _pairs(files: tuple[str, ...]) -> list[tuple[str | None, str]]:
    """Split check's arguments into (source or None, generated) pairs."""
    from dpgen.frontend.source import read_source

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
