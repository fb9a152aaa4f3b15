"""Depth and size: how deep a source may nest, and a stack deep enough to compile it.

Every stage of dpgen recurses over trees: Python's `ast` (compiling the source, rendering
expressions), libcst (parsing, metadata), black, and dpgen's own passes. A chain like
``x + x + ... + x`` is a tree as deep as it is long, so with Python's default limit of
1,000 frames a 300-term sum used to end in a RecursionError (an internal error).

Two measures, as compilers do:

- `run_deep` runs generation in a thread with a large stack (`STACK_BYTES`) and a raised
  recursion limit (`RECURSION_LIMIT`), so every stage has room for the deepest input
  admitted below;
- `check_depth` refuses deeper input up front with a located error. The limit is set by
  time, not by the stack: libcst's parser is superlinear in nesting depth (measured by
  benchmarks/hostile_sizes.py: about 1.5 s for a 1,000-term chain, 9 s for 2,000, 240 s
  for 10,000; black adds as much again), so `MAX_EXPRESSION_DEPTH` keeps the deepest
  expression admitted to about 10 s, and refuses deeper ones in a fraction of a second.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Callable, TypeVar

from dpgen.errors import Diagnostic, SourceErrors, Span

MAX_EXPRESSION_DEPTH = 1000  #: nested operations in one expression (``a + b + c`` is 2 deep)
#: Nested blocks (each ``elif`` nests one deeper, as Python reads it). Every level becomes
#: one call deeper in the generated code (an arm's function calls the next one's), which
#: must run under Python's default limit of 1,000 frames.
MAX_BLOCK_DEPTH = 500
RECURSION_LIMIT = 200_000  #: frames, inside the generation thread only
STACK_BYTES = 512 * 1024 * 1024  #: the generation thread's stack (virtual memory: pages are used only when touched)

T = TypeVar("T")


def run_deep(function: Callable[..., T], *args) -> T:
    """Call ``function(*args)`` in a thread with a deep stack; return its result or raise its error."""
    outcome: dict[str, object] = {}

    def work() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, RECURSION_LIMIT))
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            outcome["error"] = exc
        finally:
            sys.setrecursionlimit(old)

    previous = threading.stack_size()
    try:
        threading.stack_size(STACK_BYTES)
        # A daemon: after Ctrl-C the process exits at once instead of waiting for the thread.
        thread = threading.Thread(target=work, name="dpgen-generate", daemon=True)
        thread.start()
    except (RuntimeError, ValueError, MemoryError):  # no room for such a stack (ulimit -v): run here
        thread = None
    finally:
        threading.stack_size(previous)  # only this one thread gets the big stack
    if thread is None:
        return function(*args)
    thread.join()
    if "error" in outcome:
        error = outcome["error"]
        raise error.with_traceback(None) if isinstance(error, RecursionError) else error
    return outcome["value"]  # type: ignore[return-value]


def check_depth(tree: ast.Module, path: str, text: str) -> None:
    """Refuse expressions and blocks nested deeper than the limits, at the first place that is.

    The walk keeps its own stack, so it cannot hit the recursion limit. Depth is counted
    the way libcst builds its tree: ``a and b and c`` is one `ast.BoolOp` but two nested
    operations there.
    """
    errors: list[tuple[ast.expr | ast.stmt, str]] = []
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 0)]
    while stack:
        node, blocks, expressions = stack.pop()
        if isinstance(node, ast.expr):
            expressions += len(node.values) - 1 if isinstance(node, ast.BoolOp) else 1
            if expressions > MAX_EXPRESSION_DEPTH:
                errors.append(
                    (
                        node,
                        f"expression nested too deeply (more than {MAX_EXPRESSION_DEPTH} levels of operations); split it into several assignments",
                    )
                )
                continue
        elif isinstance(node, ast.stmt):
            blocks, expressions = blocks + isinstance(getattr(node, "body", None), list), 0
            if blocks > MAX_BLOCK_DEPTH:
                errors.append(
                    (
                        node,
                        f"statements nested too deeply (more than {MAX_BLOCK_DEPTH} levels of blocks, each 'elif' one more: the generated code would nest as many calls); split the function",
                    )
                )
                continue
        stack.extend((child, blocks, expressions) for child in ast.iter_child_nodes(node))
    if errors:
        node, message = min(errors, key=lambda e: (e[0].lineno, e[0].col_offset))
        # One is enough: the rest of such a file is rarely informative. Columns count characters.
        line = text.split("\n")[node.lineno - 1] if node.lineno <= text.count("\n") + 1 else ""
        col = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore")) + 1
        raise SourceErrors([Diagnostic(path, Span(node.lineno, col), message)])
