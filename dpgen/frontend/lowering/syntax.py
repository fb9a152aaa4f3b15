"""Questions about libcst nodes the lowering asks before it builds IR (literal? complex? a parameter's
annotation?): pure functions, no lowering state."""

from __future__ import annotations

import ast
import re

import libcst as cst

from dpgen.escape import code_text
from dpgen.frontend.lowering.tables import NONDIFFERENTIABLE_ANNOTATIONS


def is_dotted(node: cst.BaseExpression) -> bool:
    """Whether an expression is a dotted name (``np``, ``np.linalg.inv``), not a value's attribute."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def is_literal(node: cst.BaseExpression) -> bool:
    try:
        ast.literal_eval(code_text(cst.Module([]).code_for_node(node)))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def is_complex(node: cst.BaseExpression) -> bool:
    """Whether an expression holds a complex literal (``1j``, ``2 + 3j``, ``(1.0, 2j)``)."""
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Imaginary(self, n: cst.Imaginary) -> None:
            found.append(n)

    node.visit(_Find())
    return bool(found)


def annotation_name(param: cst.Param) -> str | None:
    """A parameter's annotation when it is a plain name (``float``), else None."""
    if param.annotation is not None and isinstance(param.annotation.annotation, cst.Name):
        return param.annotation.annotation.value
    return None


#: Annotations that declare complex values: ``complex``, ``np.complex128``, ``NDArray[np.complexfloating]``.
_COMPLEX_ANNOTATION = re.compile(r"\b(complex(64|128|256|floating)?|c(double|single|longdouble))\b")


def is_complex_parameter(param: cst.Param) -> bool:
    """Whether a parameter may hold complex values: annotated so, or with a complex default."""
    if param.annotation is not None:
        text = cst.Module([]).code_for_node(param.annotation.annotation)
        if _COMPLEX_ANNOTATION.search(text):
            return True
    return param.default is not None and is_complex(param.default)


def complex_part(target: cst.BaseExpression) -> cst.Attribute | None:
    """The ``z.real`` or ``z.imag`` an assignment target writes into (``z.imag[0] = v``), if any."""
    while isinstance(target, cst.Subscript):
        target = target.value
    if isinstance(target, cst.Attribute) and target.attr.value in ("real", "imag"):
        return target
    return None


def is_differentiable(param: cst.Param) -> bool:
    if annotation_name(param) in NONDIFFERENTIABLE_ANNOTATIONS:
        return False
    if param.default is not None and isinstance(param.default, (cst.Integer, cst.SimpleString, cst.ConcatenatedString)):
        return False
    if isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
        return False
    return True


def target_hint(target: cst.BaseExpression) -> str:
    """The name temporaries of an assignment are named after."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, (cst.Tuple, cst.List)) and target.elements and isinstance(target.elements[0].value, cst.Name):
        return "_".join(e.value.value for e in target.elements if isinstance(e.value, cst.Name))
    return "tmp"
