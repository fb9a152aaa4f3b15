"""Reading a source file and parsing it once: text, hash, libcst tree and its metadata.

Metadata (positions and qualified names) is resolved once per file here and shared by
the fence and the lowering, so no pass re-parses or re-resolves anything. Python's own
compiler checks the syntax first (compiling, never running), for its exact locations.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from dpgen.deep import MAX_EXPRESSION_DEPTH, check_depth
from dpgen.errors import Diagnostic, InputError, SourceErrors, Span


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
    """Read a UTF-8 Python file, turning every failure into one clear InputError."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: error: is a directory, not a Python file")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: error: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: error: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: error: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    return Source(path, text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class Parsed:
    """A parsed module with the metadata every later pass reads."""

    source: Source
    module: cst.Module
    positions: object  #: node -> CodeRange
    qualified: object  #: node -> set of QualifiedName (possibly lazy)

    def span(self, node: cst.CSTNode) -> Span:
        start = self.positions[node].start
        return Span(start.line, start.column + 1)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """What a name or attribute refers to, e.g. ``{"numpy.sin"}`` for ``np.sin``."""
        value = self.qualified.get(node, set())
        if callable(value):  # libcst resolves qualified names lazily
            value = value()
        return {q.name for q in value}


def parse(source: Source) -> Parsed:
    """Parse with libcst; a syntax error becomes a located diagnostic."""
    check_syntax(source)
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        # Only for syntax Python accepts and libcst does not (newer grammar). libcst prefixes
        # its own location ("parser error: error at 2:2: "); ours is in front.
        message = re.sub(r"^((parser|tokenizer) error: )?(error at \d+:\d+: )?", "", str(exc.message)).rstrip(".")
        raise SourceErrors([Diagnostic(source.path, Span(exc.raw_line, exc.raw_column + 1), f"syntax error: {message}")]) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    resolved = wrapper.resolve_many([PositionProvider, QualifiedNameProvider])
    return Parsed(source, wrapper.module, resolved[PositionProvider], resolved[QualifiedNameProvider])


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
            raise SourceErrors([Diagnostic(source.path, Span(1, 1), f"the source is nested too deeply for Python's parser (dpgen's limit: {MAX_EXPRESSION_DEPTH} levels)")]) from None
        check_depth(tree, source.path, source.text)  # before compile() and libcst, which recurse
        try:
            compile(tree, source.path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # from the symbol table or the compiler: offsets count UTF-8 bytes
            raise SourceErrors([_syntax_diagnostic(source, exc, offset_in_bytes=True)]) from None


def _syntax_diagnostic(source: Source, exc: Exception, offset_in_bytes: bool) -> Diagnostic:
    """A located diagnostic for a SyntaxError, with the column counted in characters."""
    if "\0" in source.text and not getattr(exc, "lineno", None):
        index = source.text.index("\0")  # Python gives no location for a null byte
        line = source.text.count("\n", 0, index) + 1
        return Diagnostic(source.path, Span(line, index - source.text.rfind("\n", 0, index)), "syntax error: a null byte in the source")
    line = getattr(exc, "lineno", None) or 1
    col = max(getattr(exc, "offset", None) or 1, 1)
    lines = source.text.split("\n")
    if offset_in_bytes and line <= len(lines):
        col = len(lines[line - 1].encode("utf-8")[: col - 1].decode("utf-8", errors="ignore")) + 1
    message = getattr(exc, "msg", None) or str(exc)
    return Diagnostic(source.path, Span(line, col), f"syntax error: {message}")
