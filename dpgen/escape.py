"""The one place where text from the user becomes part of a generated module.

Source lines cited in comments, the source's file name in the header and the docstrings:
anything the user wrote reaches the output only through these functions, so no file
name or string in the source can end a comment or a docstring early and smuggle code
into a module that people import without reading.

- `comment_text`: one line, safe after ``#``. Line breaks of a multi-line statement are
  folded into spaces; every other character Python or black could read as the end of a
  line (``\\r``, form feed, U+2028, ...) or that is invisible is shown as an escape.
  Backslashes stay as they are: they mean nothing in a comment, and a cited
  ``"a\\n"`` should read as the source does.
- `docstring_text`: safe between ``\"\"\"`` quotes; the docstring's value is the text itself
  (backslashes, quotes and line breaks are escaped as in a Python string literal).
- `header_text` / `header_name`: the file name in the header, escaped reversibly so that
  `dpgen check` finds a source called ``a\\nb.py`` beside the generated file.

- `message_text`: a path or message for the terminal, on one line (error messages).
- `code_text`: a literal copied from the source (a constant, a default value) as code:
  verbatim when it is one plain line, else re-printed by `ast.unparse`, which writes
  strings through `repr` (so a string spread over lines or holding odd characters comes
  out as one line of escapes).

Everything else the renderer writes is either dpgen's own text, an identifier, or code
printed by `ast.unparse`.
"""

from __future__ import annotations

import ast
import re
import unicodedata

# Categories shown as escapes: controls, format characters (bidi overrides included),
# line and paragraph separators, surrogates (undecodable bytes in file names), unassigned.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_UNESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\\\"nr])")
_SHORT = {"\n": "\\n", "\r": "\\r"}
# What Python's tokenizer, black or str.splitlines could take for the end of a line.
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])[ \t]*")


def _unsafe(char: str) -> bool:
    if char == "\t":  # a tab ends nothing, and source lines may hold one
        return False
    return unicodedata.category(char) in _UNSAFE_CATEGORIES or len(f"a{char}b".splitlines()) > 1


def _code(char: str) -> str:
    """The Python escape sequence for one character: \\x0d, \\u2028, \\U000e0001."""
    if char in _SHORT:
        return _SHORT[char]
    n = ord(char)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def escape(text: str, quote: bool = False) -> str:
    """Escape backslashes (and double quotes if `quote`) and every unsafe character.

    The result is a single line of printable text that `unescape` turns back into
    `text`, and that reads as `text` inside a non-raw Python string literal.
    """
    out = []
    for char in text:
        if char == "\\" or (quote and char == '"'):
            out.append("\\" + char)
        elif _unsafe(char):
            out.append(_code(char))
        else:
            out.append(char)
    return "".join(out)


def unescape(text: str) -> str:
    """The inverse of `escape`."""

    def one(match: re.Match) -> str:
        code = match[1]
        if code in ("\\", '"'):
            return code
        return {"n": "\n", "r": "\r"}.get(code) or chr(int(code[1:], 16))

    return _UNESCAPE.sub(one, text)


def comment_text(text: str) -> str:
    """`text` as one line that is safe after ``#`` (line breaks folded into spaces)."""
    folded = _LINE_BREAK.sub(" ", text.strip())
    return "".join(_code(c) if _unsafe(c) else c for c in folded)


def message_text(text: str) -> str:
    """`text` for a one-line message on the terminal: unsafe characters escaped, nothing folded."""
    return "".join(_code(c) if _unsafe(c) else c for c in text)


def docstring_text(text: str) -> str:
    """`text` for use inside a ``\"\"\"`` docstring: its value there is `text` itself."""
    return escape(text, quote=True)


def header_text(name: str) -> str:
    """A file name for the header's comment line; `header_name` reads it back."""
    return escape(name)


def header_name(text: str) -> str:
    """The file name a header recorded with `header_text`."""
    return unescape(text)


def code_text(code: str) -> str:
    """A literal expression from the source as one line of equivalent code.

    Plain text (no comment, no line break, nothing invisible) is kept as written
    (``1e-3`` stays ``1e-3``); anything else is parsed and printed again. Raises
    SyntaxError if `code` is not an expression.
    """
    if "#" not in code and not any(_unsafe(c) for c in code):
        return code
    # The parentheses let an expression continue over lines (implicit string concatenation);
    # the newlines keep a trailing comment from swallowing the closing one.
    return ast.unparse(ast.parse(f"(\n{code}\n)", mode="eval"))
