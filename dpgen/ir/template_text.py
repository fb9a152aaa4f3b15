"""Questions about the Python text a `Template` still carries (a rule's derivative expression).

`Template.text` is the one place the IR holds source text. These helpers were moved here as they
were, from the reverse pass (`without_unbroadcast`) and from simplify (`template_names`), so that
the walker (`dpgen.ir.walk`) and both AD passes can share them without importing each other.
They go away when rule templates become IR trees (branch rule-ir).
"""

from __future__ import annotations

import ast
import functools


@functools.lru_cache(maxsize=None)
def template_names(text: str) -> frozenset[str]:
    return frozenset(node.id for node in ast.walk(ast.parse(text, mode="eval")) if isinstance(node, ast.Name))


def without_unbroadcast(text: str, param: str) -> str:
    """``unbroadcast(E, x)`` -> ``E``, for an operand `x` broadcasting cannot have grown."""

    class Strip(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            node = self.generic_visit(node)
            if (
                isinstance(node.func, ast.Name)
                and node.func.id == "unbroadcast"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Name)
                and node.args[1].id == param
            ):
                return node.args[0]
            return node

    return ast.unparse(Strip().visit(ast.parse(text, mode="eval")))
