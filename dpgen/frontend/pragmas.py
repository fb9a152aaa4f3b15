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

`--checkpoint SPEC` on the command line (`dpgen.checkpoint_spec`) is placed here too, by
`place_options`: the def or loop it names gets the same `Placed` a pragma on it would, so the
rest of dpgen cannot tell them apart. A spec that names no def or loop, one where a pragma could
not stand, or one whose def or loop already has a pragma is a located error (exit 2: the command
line is wrong, not the source).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import libcst as cst

from dpgen.checkpoint_spec import CheckpointSpec, parse_spec, snapshots_value
from dpgen.errors import DiagnosticSink, OptionErrors, Span
from dpgen.frontend.source import Parsed
from dpgen.ir import Checkpoint

#: `# dpgen:` followed by a word (anything else is a plain comment).
_PRAGMA = re.compile(r"#\s*dpgen:\s*([A-Za-z_]\w*)(.*)$")
_WORDS = ("checkpoint",)


@dataclass(frozen=True)
class Placed:
    """A valid checkpoint pragma (in the source, or given as `--checkpoint`) and the user function
    it belongs to (to tell, after lowering, whether that function was lowered at all)."""

    checkpoint: Checkpoint
    function: str
    origin: str = "'# dpgen: checkpoint'"  #: how the user asked, for messages: the pragma or `--checkpoint SPEC`


def read_pragmas(parsed: Parsed, sink: DiagnosticSink) -> dict[int, Placed]:
    """Every pragma of the module, keyed by `id` of the `def`/`for`/`while` node it is placed on.

    Malformed and misplaced pragmas are reported into `sink` and left out."""
    return _place(parsed, sink).placed


def place_options(parsed: Parsed, specs: tuple[str, ...]) -> dict[int, Placed]:
    """Each `--checkpoint SPEC`, placed on the def or loop it names, keyed like `read_pragmas`.

    Raises `OptionErrors` (every problem, located at the line the spec names, or line 1 for a
    name) when a spec names nothing that fits, or the def or loop of a pragma or of another spec.
    The source's own pragma errors are left to the lowering, which reads them again."""
    placer = _place(parsed, DiagnosticSink(parsed.source.path))
    sink = DiagnosticSink(parsed.source.path)
    placed: dict[int, Placed] = {}
    given: dict[int, str] = {}  # id of a def/loop node -> the spec that named it first
    for text in specs:
        spec = parse_spec(text)  # the CLI and `dpgen check` have refused malformed specs already
        option = f"--checkpoint {text}"
        site = _site_named(placer, spec, option, parsed, sink)
        if site is None:
            continue
        where = parsed.span(site.node)
        if site.refused is not None:
            sink.error(where, f"{option}: cannot be placed here: {site.refused}")
        elif id(site.node) in given:
            sink.error(where, f"{option} and --checkpoint {given[id(site.node)]} name the same {site.what}; give one")
        elif id(site.node) in placer.placed:
            pragma = placer.placed[id(site.node)].checkpoint.span
            sink.error(
                where,
                f"{option}: the {site.what} on line {where.line} already has a '# dpgen: checkpoint' pragma "
                f"(line {pragma.line}, column {pragma.col}); give one of them",
            )
        elif site.what == "function" and spec.snapshots is not None:
            sink.error(
                where,
                f"{option}: 'snapshots=' applies to a loop; a checkpointed function stores only its inputs "
                f"(give --checkpoint {spec.target})",
            )
        else:
            given[id(site.node)] = text
            placed[id(site.node)] = Placed(Checkpoint(spec.snapshots, where), site.function or "", option)
    if sink.diagnostics:
        raise OptionErrors(sink.diagnostics)
    return placed


def _site_named(placer: "_Placer", spec: CheckpointSpec, option: str, parsed: Parsed, sink: DiagnosticSink):
    """The def or loop `spec` names, or None after reporting that it names none."""
    if isinstance(spec.target, str):
        site = placer.functions.get(spec.target)
        if site is None:
            close = difflib.get_close_matches(spec.target, sorted(placer.functions), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            sink.error(
                Span(1, 1), f"{option}: {parsed.source.name} defines no top-level function '{spec.target}'{hint}"
            )
        return site
    site = placer.sites.get(spec.target)
    if site is None:
        text = parsed.source.text
        lines = text.count("\n") + (not text.endswith("\n"))  # as editors count them (splitlines counts \f)
        if spec.target > lines:
            why = f"{parsed.source.name} has {lines} line{'s' if lines != 1 else ''}"
        else:
            why = f"no def, for or while statement starts on line {spec.target}"
        before = [line for line in placer.sites if line < spec.target]
        after = [line for line in placer.sites if line > spec.target]
        near = ([max(before)] if before else []) + ([min(after)] if after else [])
        hint = ""
        if len(near) == 2:
            hint = f" (the nearest def, for or while statements start on lines {near[0]} and {near[1]})"
        elif near:
            hint = f" (the nearest def, for or while statement starts on line {near[0]})"
        sink.error(Span(spec.target, 1), f"{option}: {why}{hint}")
    return site


def _place(parsed: Parsed, sink: DiagnosticSink) -> "_Placer":
    """Read every pragma comment and place the valid ones (see `read_pragmas`)."""
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
    return placer


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
        try:
            snapshots = snapshots_value(value)
        except ValueError as exc:
            sink.error(where, str(exc))
            return None
    return Checkpoint(snapshots, span)


def _close(word: str, known: str) -> bool:
    """A likely misspelling of `known` (for the hint only)."""
    return difflib.SequenceMatcher(None, word.lower(), known).ratio() >= 0.75


@dataclass(frozen=True)
class _Site:
    """A def or loop a pragma or `--checkpoint` may name."""

    node: cst.FunctionDef | cst.For | cst.While
    what: str  #: "function", "for loop" or "while loop"
    function: str | None  #: the module-level function it is in (or is)
    refused: str | None  #: why nothing may be checkpointed there, or None


class _Placer:
    """Walks the statements, attaching each pragma to the def or loop it stands on, and indexing
    every def and loop by the line it starts on (and module-level functions by name)."""

    def __init__(self, parsed: Parsed, sink: DiagnosticSink, valid: dict[int, tuple[cst.Comment, Checkpoint]]):
        self.parsed = parsed
        self.sink = sink
        self.valid = valid
        self.attached: set[int] = set()  # ids of the pragma comments found in a placement position
        self.placed: dict[int, Placed] = {}
        self.sites: dict[int, _Site] = {}  # line a def/for/while statement starts on -> the site
        self.functions: dict[str, _Site] = {}  # module-level functions by name

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
                    self.site(stmt, own, _Site(stmt, "function", stmt.name.value, None))
                    self.functions[stmt.name.value] = self.sites[self.parsed.span(stmt).line]
                    self.statements(_suite_body(stmt.body), (), stmt.name.value, "function")
                else:
                    why = "a nested function or a method is not differentiated on its own"
                    self.site(stmt, own, _Site(stmt, "function", None, why))
                    self.statements(_suite_body(stmt.body), (), None, "nested")
            elif isinstance(stmt, (cst.For, cst.While)):
                own = _block_above(above) + _trailing(stmt.body)
                kind = "for" if isinstance(stmt, cst.For) else "while"
                why = None
                if where == "module":
                    why = f"a module-level '{kind}' loop is not differentiated (dpgen differentiates functions)"
                elif where == "nested":
                    why = f"a '{kind}' loop inside a nested function or a class is not differentiated"
                self.site(stmt, own, _Site(stmt, f"{kind} loop", function, why))
                self.statements(_suite_body(stmt.body), (), function, where)
                if stmt.orelse is not None:
                    self.statements(_suite_body(stmt.orelse.body), (), function, where)
            elif isinstance(stmt, cst.ClassDef):
                self.statements(_suite_body(stmt.body), (), None, "nested")
            elif isinstance(stmt, cst.BaseCompoundStatement):
                # if/with/try: their blocks hold statements that may carry pragmas.
                for child in _blocks(stmt):
                    self.statements(_suite_body(child), (), function, where)

    def site(self, node, own: list[cst.Comment], site: _Site) -> None:
        """Index the def or loop `node`, then place the pragmas of `own` on it or refuse them."""
        self.sites[self.parsed.span(node).line] = site
        if site.refused is None:
            self.place(node, own, site.what, site.function)
        else:
            self.refuse(own, site.refused)

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
