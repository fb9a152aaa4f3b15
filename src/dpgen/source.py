"""Reading a source file and parsing it once: text, hash, libcst tree and its metadata.

Metadata (positions and qualified names) is resolved once per file here and shared by
the fence and the lowering, so no pass re-parses or re-resolves anything.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

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
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        # libcst prefixes its own location ("parser error: error at 2:2: "); ours is in front.
        message = re.sub(r"^(parser error: )?(error at \d+:\d+: )?", "", str(exc.message)).rstrip(".")
        raise SourceErrors([Diagnostic(source.path, Span(exc.raw_line, exc.raw_column + 1), f"syntax error: {message}")]) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    resolved = wrapper.resolve_many([PositionProvider, QualifiedNameProvider])
    return Parsed(source, wrapper.module, resolved[PositionProvider], resolved[QualifiedNameProvider])
