"""`dpgen diff --dump-ir`: the lowered IR and the reverse- and forward-mode IR as readable text."""

from __future__ import annotations

import dataclasses


def _lines(value: object, indent: int = 0) -> list[str]:
    pad = "  " * indent
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        simple = all(not isinstance(getattr(value, f.name), tuple) or len(getattr(value, f.name)) < 4 for f in fields)
        if simple and len(repr(value)) < 100:
            return [pad + repr(value)]
        out = [pad + type(value).__name__ + ":"]
        for f in fields:
            item = getattr(value, f.name)
            if isinstance(item, tuple) and item and dataclasses.is_dataclass(item[0]):
                out.append(f"{pad}  {f.name}:")
                for element in item:
                    out.extend(_lines(element, indent + 2))
            elif dataclasses.is_dataclass(item):
                out.append(f"{pad}  {f.name}:")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{pad}  {f.name}: {item!r}")
        return out
    return [pad + repr(value)]


def dump(stages) -> str:
    """The lowered IR and the IR of each mode generated, one equation per line."""
    parts = ["# lowered", *_lines(stages.lowered)]
    if stages.reversed is not None:
        parts += ["", "# reverse", *_lines(stages.reversed)]
    if stages.forward is not None:
        parts += ["", "# forward", *_lines(stages.forward)]
    return "\n".join(parts) + "\n"
