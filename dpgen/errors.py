"""Diagnostics and exit codes: the one place that says how dpgen reports failure.

Every problem in the user's source becomes a `Diagnostic` with a file:line:col location;
passes collect them and raise one `SourceErrors` at the end of the pass, so a single run
reports every error in the file. The CLI turns exceptions into exit codes (see `ExitCode`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dpgen.escape import message_text


class ExitCode(enum.IntEnum):
    OK = 0  #: success; `check`: every file is current
    STALE = 1  #: `check`: at least one generated file is out of date
    USAGE = 2  #: bad command-line usage (click's own code)
    IO = 3  #: an input cannot be read or an output cannot be written
    SOURCE = 4  #: the source has syntax errors or uses something dpgen cannot differentiate
    INTERNAL = 70  #: a bug in dpgen itself (EX_SOFTWARE)
    INTERRUPTED = 130  #: Ctrl-C (128 + SIGINT, as shells report it); nothing was written


@dataclass(frozen=True)
class Span:
    """A position in the source, 1-based line and column, as editors show them."""

    line: int  #: 1-based line
    col: int  #: 1-based column


@dataclass(frozen=True)
class Diagnostic:
    """One compiler-style message: `path:line:col: error: message` (or `warning:`)."""

    path: str  #: the path as the user gave it
    span: Span  #: where in the file
    message: str  #: what is wrong, and a hint when there is one
    severity: str = "error"  #: "error" stops the run; "warning" is printed and changes nothing

    def __str__(self) -> str:
        # One line each, whatever the file name or the quoted source holds.
        where = f"{message_text(self.path)}:{self.span.line}:{self.span.col}"
        return f"{where}: {self.severity}: {message_text(self.message)}"


class DpgenError(Exception):
    """Base class for failures that the CLI reports without a traceback."""

    exit_code = ExitCode.INTERNAL


class InputError(DpgenError):
    """A file cannot be read or written (missing, a directory, wrong encoding, ...).

    The message is one line (`path: error: ...`); odd characters of the path are escaped.
    """

    exit_code = ExitCode.IO

    def __init__(self, message: str):
        super().__init__(message_text(message))


class SourceErrors(DpgenError):
    """The source cannot be differentiated; carries every diagnostic found."""

    exit_code = ExitCode.SOURCE

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.span.line, d.span.col))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class OptionErrors(SourceErrors):
    """A command-line option that names a place in the source names none that fits (`--checkpoint 14`
    where no loop starts on line 14): located like a source error, but the command line is what is
    wrong, so it exits as a usage error."""

    exit_code = ExitCode.USAGE


class DiagnosticSink:
    """Collects diagnostics for one file; `raise_if_any` ends a pass that found errors.

    Warnings are kept apart: they never stop a run, and the CLI prints them to stderr only
    (the output and the exit code are the same with or without them)."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    def warning(self, span: Span, message: str) -> None:
        diagnostic = Diagnostic(self.path, span, message, "warning")
        if diagnostic not in self.warnings:  # a loop copied into both arms of an `if` is lowered twice
            self.warnings.append(diagnostic)

    def error(self, span: Span, message: str) -> None:
        diagnostic = Diagnostic(self.path, span, message)
        if diagnostic not in self.diagnostics:  # the reverse and forward passes may both see it
            self.diagnostics.append(diagnostic)

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise SourceErrors(self.diagnostics)
