"""Comment pragmas (`# dpgen: checkpoint`): read, placed on a def or loop, and validated.

A pragma is a comment `# dpgen: WORD [key=value ...]`; a comment that mentions dpgen without
`dpgen:` and a word (`# dpgen is nice`) is an ordinary comment. The one word known today is
`checkpoint`, with the option `snapshots=N` (N a positive integer) or `snapshots=auto`.

Placement: the pragma is the trailing comment of a `def`, `for` or `while` line (for a header
split over several lines, the line with the colon), or one of the comment lines directly above
it, with no blank line in between. For a decorated function, "above" is above the first
decorator or between the last decorator and the `def`. Any other place is an error, so a pragma
is never silently dropped: it must name a module-level function or a loop inside one, because
those are what the lowering turns into a `Function` or a `Loop`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import libcst as cst

from dpgen.errors import DiagnosticSink, Span
from dpgen.frontend.source import Parsed
from dpgen.ir import Checkpoint

#: `# dpgen:` followed by a word (anything else is a plain comment).
_PRAGMA = re.compile(r"#\s*dpgen:\s*([A-Za-z_]\w*)(.*)$")
_WORDS = ("checkpoint",)


@dataclass(frozen=True)
class Placed:
    """A valid checkpoint pragma and the user function it belongs to (to tell, after lowering,
    whether that function was lowered at all)."""

    checkpoint: Checkpoint
    function: str


def read_pragmas(parsed: Parsed, sink: DiagnosticSink) -> dict[int, Placed]:
    """Every pragma of the module, keyed by `id` of the `def`/`for`/`while` node it is placed on.

    Malformed and misplaced pragmas are reported into `sink` and left out."""
    comments = _Comments()
    parsed.module.visit(comments)
    valid: dict[int, tuple[cst.Comment, Checkpoint]] = {}
    for comment in comments.found:
        span = parsed.span(comment)
        checkpoint = _parse(comment.value, span, sink)
        if checkpoint is not None:
            valid[id(comment)] = (comment, checkpoint)
    placer = _Placer(parsed, sink, valid)
    placer.statements(parsed.module.body, parsed.module.header, None, "module")
    for comment_id, (comment, checkpoint) in valid.items():
        if comment_id not in placer.attached:
            sink.error(
                checkpoint.span,
                "'# dpgen: checkpoint' must be the trailing comment of a def, for or while line, "
                "or a comment line directly above one (no blank line in between)",
            )
    return placer.placed


class _Comments(cst.CSTVisitor):
    """Collects the comments that are pragmas, in source order."""

    def __init__(self):
        super().__init__()
        self.found: list[cst.Comment] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        if _PRAGMA.match(node.value):
            self.found.append(node)


def _parse(text: str, span: Span, sink: DiagnosticSink) -> Checkpoint | None:
    """The checkpoint a pragma comment asks for, or None after reporting what is wrong."""
    match = _PRAGMA.match(text)
    word = match[1]
    if word not in _WORDS:
        hint = " (did you mean 'checkpoint'?)" if _close(word, "checkpoint") else ""
        sink.error(span, f"unknown pragma '# dpgen: {word}'{hint}; the pragma dpgen knows is '# dpgen: checkpoint'")
        return None
    snapshots: int | None = None
    seen: set[str] = set()
    for option in re.finditer(r"\S+", match[2]):
        where = Span(span.line, span.col + match.start(2) + option.start())
        key, equals, value = option[0].partition("=")
        if not equals or key != "snapshots":
            sink.error(
                where,
                f"unknown option '{option[0]}' of '# dpgen: checkpoint' (the option is snapshots=N or snapshots=auto)",
            )
            return None
        if key in seen:
            sink.error(where, f"the option '{key}' of '# dpgen: checkpoint' is given twice")
            return None
        seen.add(key)
        if value == "auto":
            snapshots = None
        elif re.fullmatch(r"[0-9]+", value) and int(value) > 0:
            snapshots = int(value)
        else:
            sink.error(
                where,
                f"'snapshots={value}' is not valid: the number of snapshots is a positive integer or 'auto'",
            )
            return None
    return Checkpoint(snapshots, span)


def _close(word: str, known: str) -> bool:
    """A likely misspelling of `known` (for the hint only)."""
    return difflib.SequenceMatcher(None, word.lower(), known).ratio() >= 0.75


class _Placer:
    """Walks the statements, attaching each pragma to the def or loop it stands on."""

    def __init__(self, parsed: Parsed, sink: DiagnosticSink, valid: dict[int, tuple[cst.Comment, Checkpoint]]):
        self.parsed = parsed
        self.sink = sink
        self.valid = valid
        self.attached: set[int] = set()  # ids of the pragma comments found in a placement position
        self.placed: dict[int, Placed] = {}

    def statements(self, body, header_lines, function: str | None, where: str) -> None:
        """`where`: "module", "function" (a module-level function's body, at any depth), "nested"
        (inside a nested def or a class: not lowered). `header_lines` are the comment lines
        before the first statement that libcst keeps apart (the module's header)."""
        for k, stmt in enumerate(body):
            above = list(getattr(stmt, "leading_lines", ()))
            if k == 0 and header_lines:
                above = list(header_lines) + above
            if isinstance(stmt, cst.FunctionDef):
                own = _block_above(above) + _block_above(stmt.lines_after_decorators) + _trailing(stmt.body)
                if where == "module":
                    self.place(stmt, own, "function", stmt.name.value)
                    self.statements(_suite_body(stmt.body), (), stmt.name.value, "function")
                else:
                    self.refuse(own, "a nested function or a method is not differentiated on its own")
                    self.statements(_suite_body(stmt.body), (), None, "nested")
            elif isinstance(stmt, (cst.For, cst.While)):
                own = _block_above(above) + _trailing(stmt.body)
                kind = "for" if isinstance(stmt, cst.For) else "while"
                if where == "function":
                    self.place(stmt, own, f"{kind} loop", function)
                elif where == "module":
                    self.refuse(
                        own, f"a module-level '{kind}' loop is not differentiated (dpgen differentiates functions)"
                    )
                else:
                    self.refuse(own, f"a '{kind}' loop inside a nested function or a class is not differentiated")
                self.statements(_suite_body(stmt.body), (), function, where)
                if stmt.orelse is not None:
                    self.statements(_suite_body(stmt.orelse.body), (), function, where)
            elif isinstance(stmt, cst.ClassDef):
                self.statements(_suite_body(stmt.body), (), None, "nested")
            elif isinstance(stmt, cst.BaseCompoundStatement):
                # if/with/try: their blocks hold statements that may carry pragmas.
                for child in _blocks(stmt):
                    self.statements(_suite_body(child), (), function, where)

    def place(self, node, own: list[cst.Comment], what: str, function: str | None) -> None:
        first = True
        for comment in own:
            if id(comment) not in self.valid:
                continue
            self.attached.add(id(comment))
            _, checkpoint = self.valid[id(comment)]
            if not first:
                self.sink.error(checkpoint.span, f"a second '# dpgen: checkpoint' on the same {what}")
            elif what == "function" and checkpoint.snapshots is not None:
                self.sink.error(
                    checkpoint.span,
                    "'snapshots=' applies to a loop; a checkpointed function stores only its inputs "
                    "(write '# dpgen: checkpoint' on the def)",
                )
            else:
                self.placed[id(node)] = Placed(checkpoint, function or "")
            first = False

    def refuse(self, own: list[cst.Comment], why: str) -> None:
        for comment in own:
            if id(comment) in self.valid:
                self.attached.add(id(comment))
                self.sink.error(self.valid[id(comment)][1].span, f"'# dpgen: checkpoint' cannot be placed here: {why}")


def _block_above(lines) -> list[cst.Comment]:
    """The comments of the lines directly above a statement: the last run of comment lines."""
    block: list[cst.Comment] = []
    for line in reversed(list(lines)):
        if line.comment is None:
            break
        block.insert(0, line.comment)
    return block


def _trailing(body) -> list[cst.Comment]:
    """The trailing comment of a compound statement's header line (`def f(x):  # here`)."""
    if isinstance(body, cst.IndentedBlock):
        comment = body.header.comment
    else:  # `def f(x): return x  # here`: the suite's own trailing whitespace
        comment = body.trailing_whitespace.comment
    return [comment] if comment is not None else []


def _suite_body(body) -> list:
    """The statements of an indented block or a one-line suite."""
    return list(body.body)


def _blocks(stmt: cst.BaseCompoundStatement) -> list:
    """The blocks of an if/with/try statement (elif and else chains included)."""
    blocks = []
    if isinstance(stmt, cst.If):
        blocks.append(stmt.body)
        orelse = stmt.orelse
        while orelse is not None:
            if isinstance(orelse, cst.If):
                blocks.append(orelse.body)
                orelse = orelse.orelse
            else:
                blocks.append(orelse.body)
                orelse = None
    elif hasattr(stmt, "body"):
        blocks.append(stmt.body)
        for handler in getattr(stmt, "handlers", ()):
            blocks.append(handler.body)
        for extra in ("orelse", "finalbody"):
            part = getattr(stmt, extra, None)
            if part is not None:
                blocks.append(part.body)
    return blocks
