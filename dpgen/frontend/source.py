"""Reading a source file and parsing it once: text, hash, libcst tree and its metadata.

Metadata (positions, and what names refer to, by `dpgen.frontend.resolve`) is resolved once
per file here and shared by the fence and the lowering, so no pass re-parses or
re-resolves anything. Python's own compiler checks the syntax first (compiling, never
running), for its exact locations.
"""

from __future__ import annotations

import ast
import bisect
import errno
import hashlib
import keyword
import io
import os
import re
import stat
import tokenize
import unicodedata
import warnings
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from dpgen.deep import MAX_EXPRESSION_DEPTH, check_depth
from dpgen.errors import Diagnostic, InputError, SourceErrors, Span
from dpgen.frontend.resolve import NameResolver


@dataclass(frozen=True)
class Source:
    """A source file's text and identity."""

    path: str  #: as the user gave it, for messages
    text: str

    @property
    def name(self) -> str:
        """The file name without directories: what the header and comments show."""
        return os.path.basename(self.path)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def read_source(path: str) -> Source:
    """Read a UTF-8 Python file, turning every failure into one clear InputError (exit 3).

    Only regular files are read: the kind is checked with stat before opening, so a FIFO
    (which would block forever), a device (/dev/zero never ends) or a directory is refused
    at once; the opened file is checked again in case it was swapped in between.
    """
    data = _read_regular_file(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: error: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    # Python reads a lone carriage return as a line break too (even inside a string); making
    # it one here keeps libcst, black and every line cited in a comment in step with Python.
    return Source(path, text.replace("\r\n", "\n").replace("\r", "\n"))


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, for messages ("a FIFO"); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def os_error_text(exc: OSError, verb: str = "read") -> str:
    """An OSError as a short reason: 'no such file', 'cannot read: File name too long', ..."""
    if exc.errno == errno.ENOENT and verb == "read":
        return "no such file"
    if exc.errno == errno.ENOTDIR:
        return f"cannot {verb}: a part of the path is not a directory"
    return f"cannot {verb}: {exc.strerror or exc}"


def _read_regular_file(path: str) -> bytes:
    if "\0" in path:
        raise InputError(f"{path}: error: the file name holds a null byte")
    try:
        kind = file_kind(os.stat(path).st_mode)
        if kind is None:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            try:
                kind = file_kind(os.fstat(fd).st_mode)
                if kind is None:
                    with open(fd, "rb", closefd=False) as f:
                        return f.read()
            finally:
                os.close(fd)
    except OSError as exc:
        raise InputError(f"{path}: error: {os_error_text(exc)}") from None
    except ValueError as exc:  # what os functions raise for what no file system holds
        raise InputError(f"{path}: error: cannot read: {exc}") from None
    if kind == "a directory":
        raise InputError(f"{path}: error: is a directory, not a Python file")
    raise InputError(f"{path}: error: is {kind}, not a regular file; dpgen reads only regular files")


@dataclass(frozen=True)
class Parsed:
    """A parsed module with the metadata every later pass reads."""

    source: Source
    module: cst.Module
    positions: object  #: node -> CodeRange
    names: NameResolver  #: what dotted names refer to

    def span(self, node: cst.CSTNode) -> Span:
        start = self.positions[node].start
        return Span(start.line, start.column + 1)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """What a name or attribute refers to, e.g. ``{"numpy.sin"}`` for ``np.sin``."""
        return self.names.qualified_names(node)


def parse(source: Source) -> Parsed:
    """Parse with libcst; a syntax error becomes a located diagnostic."""
    check_syntax(source)
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        # Only for syntax Python accepts and libcst does not (newer grammar). libcst prefixes
        # its own location ("parser error: error at 2:2: "); ours is in front.
        message = re.sub(r"^((parser|tokenizer) error: )?(error at \d+:\d+: )?", "", str(exc.message)).rstrip(".")
        raise SourceErrors(
            [Diagnostic(source.path, Span(exc.raw_line, exc.raw_column + 1), f"syntax error: {message}")]
        ) from None
    if not source.text.isascii():
        module = module.visit(_NormalizeIdentifiers())
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    resolved = wrapper.resolve_many([PositionProvider])
    # Names are resolved by dpgen itself: libcst's QualifiedNameProvider is quadratic in the
    # bindings of one name (minutes for a function that rebinds `y` 10,000 times).
    return Parsed(source, wrapper.module, resolved[PositionProvider], NameResolver(wrapper.module))


class _NormalizeIdentifiers(cst.CSTTransformer):
    """Spell every identifier as Python reads it: NFKC-normalized (PEP 3131), so `𝐱`, `ｘ`
    and `x` are one variable, and the ohm sign one name with omega. Every name dpgen reads
    (variables, parameters, attributes, keywords, imports) is a `cst.Name`, so this is the
    one place; the generated code uses the normalized spelling. A normalization that
    changes an identifier's length (`ﬁ` -> `fi`) moves later columns of its line."""

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        value = unicodedata.normalize("NFKC", updated.value)
        if value == updated.value or keyword.iskeyword(value):
            # `𝐢𝐟` is an identifier to Python, but spelled `if` it would not be: keep it as written.
            return updated
        return updated.with_changes(value=value)


def check_syntax(source: Source) -> None:
    """Raise SourceErrors for anything Python itself would refuse to compile.

    Python's parser points at the exact place with the messages users know (libcst's
    tokenizer errors all point at 1:1), and compiling the tree also catches what libcst
    accepts but Python does not (a duplicate parameter, 'return' outside a function),
    which would otherwise turn into invalid generated code. Compiling runs nothing.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings are about the user's code, not ours to print
        try:
            tree = ast.parse(source.text, filename=source.path)
        except (SyntaxError, ValueError) as exc:  # ValueError: null bytes, before Python 3.12
            raise SourceErrors([_syntax_diagnostic(source, exc, offset_in_bytes=False)]) from None
        except (MemoryError, RecursionError):  # Python's parser gives up on deep nesting, without a location
            raise SourceErrors(
                [
                    Diagnostic(
                        source.path,
                        Span(1, 1),
                        f"the source is nested too deeply for Python's parser (dpgen's limit: {MAX_EXPRESSION_DEPTH} levels)",
                    )
                ]
            ) from None
        check_depth(tree, source.path, source.text)  # before compile() and libcst, which recurse
        try:
            compile(tree, source.path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # from the symbol table or the compiler: offsets count UTF-8 bytes
            raise SourceErrors([_syntax_diagnostic(source, exc, offset_in_bytes=True)]) from None
        except ValueError as exc:  # e.g. an identifier that NFKC-normalizes to None/True/False
            raise SourceErrors([_syntax_diagnostic(source, exc, offset_in_bytes=True)]) from None
    if "\f" in source.text:
        check_form_feeds(source)


def check_form_feeds(source: Source) -> None:
    """Refuse a form feed between tokens inside a line (exit 4, located).

    Python skips one there like a space, and a form feed in indentation resets the column
    ("undefined effect" in the language reference); tools that read the file again
    (libcst, black, editors) need not agree. A page break on its own line or at the very
    start of a line, and one inside a string or a comment, are fine.
    """
    inert = []  # (start, end) of strings and comments, in order: a form feed there is text
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.text).readline):
            if token.type in (tokenize.STRING, tokenize.COMMENT):
                inert.append((token.start, token.end))
    except (tokenize.TokenError, SyntaxError):
        pass  # then no form feed counts as text: refusing is the safe side
    starts = [start for start, _ in inert]
    errors = []
    for number, line in enumerate(source.text.split("\n"), start=1):
        for col in (i for i, c in enumerate(line) if c == "\f"):
            if line[: col + 1] == "\f" * (col + 1):
                continue  # leading page break
            i = bisect.bisect_right(starts, (number, col)) - 1
            if i >= 0 and (number, col) < inert[i][1]:
                continue
            errors.append(
                Diagnostic(
                    source.path,
                    Span(number, col + 1),
                    "a form feed inside a line is not supported (use spaces; a form feed may only start a line)",
                )
            )
            break  # one error per line is enough
    if errors:
        raise SourceErrors(errors)


def _syntax_diagnostic(source: Source, exc: Exception, offset_in_bytes: bool) -> Diagnostic:
    """A located diagnostic for a SyntaxError, with the column counted in characters."""
    if "\0" in source.text and not getattr(exc, "lineno", None):
        index = source.text.index("\0")  # Python gives no location for a null byte
        line = source.text.count("\n", 0, index) + 1
        return Diagnostic(
            source.path,
            Span(line, index - source.text.rfind("\n", 0, index)),
            "syntax error: a null byte in the source",
        )
    line = getattr(exc, "lineno", None) or 1
    col = max(getattr(exc, "offset", None) or 1, 1)
    lines = source.text.split("\n")
    if offset_in_bytes and line <= len(lines):
        col = len(lines[line - 1].encode("utf-8")[: col - 1].decode("utf-8", errors="ignore")) + 1
    message = getattr(exc, "msg", None) or str(exc)
    return Diagnostic(source.path, Span(line, col), f"syntax error: {message}")
