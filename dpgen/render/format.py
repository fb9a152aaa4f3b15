"""The last stage: black with a fixed mode, whatever the user's own black configuration says.

Output must be byte-identical on every machine, so the mode is spelled out here and no
project file (pyproject.toml) is consulted.
"""

from __future__ import annotations

import black

MODE = black.Mode(
    target_versions={black.TargetVersion.PY310},
    line_length=88,
    string_normalization=True,
    magic_trailing_comma=True,
)


def format_code(text: str) -> str:
    """Format generated code; a failure here is a dpgen bug, so it is not caught."""
    return black.format_str(text, mode=MODE)
