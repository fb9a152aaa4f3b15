"""The `--checkpoint SPEC` option: its syntax, checked, and written back in one canonical form.

SPEC names what to checkpoint, as a `# dpgen: checkpoint` pragma on it would: a top-level
function's name (`--checkpoint simulate`) or the line a `def`, `for` or `while` statement starts
on (`--checkpoint 14`), optionally followed by the pragma's option (`14:snapshots=20`,
`14:snapshots=auto`). This module knows only the text; `dpgen.frontend.pragmas` finds the def or
loop a spec names and places it exactly like a pragma.

The header records the specs canonically, so one request always writes one header (and
`dpgen check` compares like with like): `:snapshots=auto` is left out (it is the default, as on
the pragma), line numbers come first in increasing order, then names in alphabetical order.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

#: What `--checkpoint` accepts, said once for every message that needs it.
SYNTAX = "a function name or a line number, optionally followed by :snapshots=N or :snapshots=auto"


@dataclass(frozen=True)
class CheckpointSpec:
    """One `--checkpoint` value: what it names and how many snapshots it asks for."""

    target: int | str  #: a 1-based line number, or the name of a top-level function
    snapshots: int | None  #: ``snapshots=N``; None for ``snapshots=auto`` or no option

    def __str__(self) -> str:
        """The canonical text (`14:snapshots=20`, `14`, `simulate`)."""
        return f"{self.target}" + (f":snapshots={self.snapshots}" if self.snapshots is not None else "")

    def order(self) -> tuple:
        """Sort key of the canonical order: lines in increasing order, then names."""
        return (0, self.target, "") if isinstance(self.target, int) else (1, 0, self.target)


def snapshots_value(value: str) -> int | None:
    """The number of snapshots `snapshots=VALUE` asks for (None for `auto`).

    Raises ValueError (with the message to show) unless VALUE is a positive integer or `auto`;
    the pragma reads its option through here too, so both accept exactly the same values."""
    if value == "auto":
        return None
    if re.fullmatch(r"[0-9]+", value) and int(value) > 0:
        return int(value)
    raise ValueError(f"'snapshots={value}' is not valid: the number of snapshots is a positive integer or 'auto'")


def parse_spec(text: str) -> CheckpointSpec:
    """A `--checkpoint` value read; ValueError (with the message to show) if it is malformed."""
    target, colon, option = text.partition(":")
    if re.fullmatch(r"[0-9]+", target):
        if int(target) < 1:
            raise ValueError(f"'{text}': line numbers start at 1")
        line_or_name: int | str = int(target)
    elif target.isidentifier() and target.isascii() and not keyword.iskeyword(target):
        line_or_name = target
    else:
        raise ValueError(f"'{text}' is not {SYNTAX}")
    if not colon:
        return CheckpointSpec(line_or_name, None)
    key, equals, value = option.partition("=")
    if key != "snapshots" or not equals:
        raise ValueError(f"'{text}': unknown option '{option}' (the option is snapshots=N or snapshots=auto)")
    try:
        return CheckpointSpec(line_or_name, snapshots_value(value))
    except ValueError as exc:
        raise ValueError(f"'{text}': {exc}") from None


def canonical(texts) -> tuple[str, ...]:
    """The specs in canonical form and order; ValueError if one is malformed or one target is
    given twice (`14` and `14:snapshots=3`: which one would be meant?)."""
    specs = sorted((parse_spec(text) for text in texts), key=CheckpointSpec.order)
    for first, second in zip(specs, specs[1:]):
        if first.target == second.target:
            raise ValueError(f"'{first.target}' is given twice ({first} and {second}); give it once")
    return tuple(str(spec) for spec in specs)
