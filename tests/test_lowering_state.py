"""The lowering's state lives in one place: `Lowering.__init__` sets every attribute the
lowering package's methods assign, so no method creates state of its own (checked with `ast`)."""

from __future__ import annotations

import ast
from pathlib import Path

import dpgen

LOWERING = Path(dpgen.__file__).parent / "frontend" / "lowering"


def assigned_attributes(tree: ast.AST) -> dict[str, set[str]]:
    """Method name -> the ``self.x`` attributes it assigns (plain, annotated or augmented)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.args and node.args.args[0].arg == "self":
            for inner in ast.walk(node):
                targets = []
                if isinstance(inner, ast.Assign):
                    targets = inner.targets
                elif isinstance(inner, (ast.AnnAssign, ast.AugAssign)):
                    targets = [inner.target]
                for target in targets:
                    for t in ast.walk(target):
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                            found.setdefault(node.name, set()).add(t.attr)
    return found


def test_every_attribute_is_initialized_in_init():
    by_method: dict[str, set[str]] = {}
    for path in sorted(LOWERING.glob("*.py")):
        for method, attributes in assigned_attributes(ast.parse(path.read_text())).items():
            by_method.setdefault(method, set()).update(attributes)
    initialized = by_method.pop("__init__", set())
    assert {"parsed", "sink", "internal", "current"} <= initialized, "the scan found too little"
    later = {f"{m}: self.{a}" for m, attributes in by_method.items() for a in attributes - initialized}
    assert not later, f"set outside Lowering.__init__: {sorted(later)}"


def test_the_check_sees_an_attribute_created_late():
    code = "class L:\n    def __init__(self):\n        self.a = 1\n    def m(self):\n        self.b = 2\n"
    assert assigned_attributes(ast.parse(code)) == {"__init__": {"a"}, "m": {"b"}}
