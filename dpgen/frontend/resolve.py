"""What a dotted name in the source refers to (``np.sin`` -> ``numpy.sin``), in linear time.

This replaces libcst's QualifiedNameProvider, whose scope analysis is quadratic in the
number of bindings of one name (every access is matched against every assignment): a
function that rebinds ``y`` 10,000 times took minutes. dpgen only asks what a name or a
dotted name (``np.linalg.inv``, ``sin``, ``la.inv``, ``abs``, ``x.T``) refers to, and the
answers keep libcst's spelling, which the rules and the lowering read:

- an import: the imported module path (``import numpy.linalg as la``: ``la.inv`` ->
  ``numpy.linalg.inv``; ``from math import sqrt as s``: ``s`` -> ``math.sqrt``; relative
  imports keep their dots, ``from . import m``: ``m`` -> ``.m``); ``import *`` binds nothing;
- any other module-level binding (a function, a constant): the name itself (``g``);
- a builtin not bound at module level: ``builtins.abs`` (``builtins.range`` for ``range.x``
  too, as libcst);
- a name bound in the enclosing function (a parameter, an assignment or loop target):
  ``f.<locals>.x.T``; in a comprehension, ``f.<locals>.<comprehension>.i``;
- an undefined name: nothing.

A name bound at module level several times gets every answer (``import numpy as np`` and
``np = 2`` give ``{"numpy", "np"}``). Unlike libcst, a function-local binding counts
wherever it is in the function (Python's rule: using it earlier is an UnboundLocalError,
so it never refers to the module's name), and the leftmost name decides
(``numpy.linalg.inv`` with a local ``numpy`` is a local value even under
``import numpy.linalg``).
"""

from __future__ import annotations

import builtins
from collections import defaultdict

import libcst as cst
from libcst.helpers import get_full_name_for_node


class _Scope:
    """A function, class, lambda or comprehension: the names it binds and its prefix."""

    __slots__ = ("prefix", "parent", "bound", "kind")

    def __init__(self, prefix: str, parent: _Scope | None, kind: str) -> None:
        self.prefix = prefix
        self.parent = parent
        self.bound: set[str] = set()
        self.kind = kind  # "function", "class", "comprehension"


class NameResolver(cst.CSTVisitor):
    """One pass over a module: module-level bindings, and each node's enclosing scope."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.module_bindings: dict[str, list] = defaultdict(list)  # name -> [Import(From) node or None]
        self.scope_of: dict[cst.CSTNode, _Scope | None] = {}
        self.scope: _Scope | None = None  # None: module level
        module.visit(self)

    # -- answers ---------------------------------------------------------------------

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        if node not in self.scope_of:
            return set()
        full = get_full_name_for_node(node)
        if full is None:
            return set()
        first = full.split(".", 1)[0]
        scope = self.scope_of[node]
        while scope is not None:
            if scope.kind != "class" or scope is self.scope_of[node]:  # class bodies are not visible from methods
                if first in scope.bound:
                    return {f"{scope.prefix}.{full}"}
            scope = scope.parent
        return self._module_level(full)

    def _module_level(self, full: str) -> set[str]:
        prefix = full
        while prefix:
            if prefix in self.module_bindings:
                results = set()
                for binding in self.module_bindings[prefix]:
                    results |= _import_names(binding, full) if binding is not None else {full}
                return results
            if hasattr(builtins, prefix):
                return {f"builtins.{prefix}"}
            prefix = prefix.rpartition(".")[0]
        return set()

    # -- bindings --------------------------------------------------------------------

    def _bind(self, name: str, node: cst.CSTNode | None = None) -> None:
        if self.scope is None:
            self.module_bindings[name].append(node)
        else:
            self.scope.bound.add(name)

    def _bind_target(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Name, cst.Attribute)):
            self.scope_of[node] = self.scope
        return super().on_visit(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # the attribute's own name (``sin`` of ``np.sin``) refers to nothing alone
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        scope = self.scope
        while scope is not None and scope.kind == "comprehension":  # := binds in the enclosing function
            scope = scope.parent
        if isinstance(node.target, cst.Name):
            if scope is None:
                self.module_bindings[node.target.value].append(None)
            else:
                scope.bound.add(node.target.value)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.module_bindings.setdefault(item.name.value, [])  # keeps the name module-level

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self._bind(alias.asname.name.value, node)
            else:
                parts = (get_full_name_for_node(alias.name) or "").split(".")
                for i in range(len(parts), 0, -1):  # `import a.b` binds `a.b` and `a`
                    self._bind(".".join(parts[:i]), node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return  # binds nothing dpgen can see
        for alias in node.names:
            name = alias.asname.name if alias.asname is not None else alias.name
            self._bind(get_full_name_for_node(name) or "", node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._bind(node.name.value)
        self.scope_of[node.name] = self.scope
        # Decorators, defaults and annotations are evaluated where the function is defined.
        for part in (*node.decorators, node.returns):
            if part is not None:
                part.visit(self)
        params = node.params
        all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
        all_params += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        for param in all_params:
            for part in (param.default, param.annotation):
                if part is not None:
                    part.visit(self)
        outer = self.scope
        self.scope = _Scope(
            ".".join(filter(None, [outer.prefix if outer else "", node.name.value, "<locals>"])), outer, "function"
        )
        for param in all_params:
            self.scope.bound.add(param.name.value)
            self.scope_of[param.name] = self.scope
        node.body.visit(self)
        self.scope = outer
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        params = node.params
        all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
        all_params += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        for param in all_params:
            if param.default is not None:
                param.default.visit(self)
        outer = self.scope
        self.scope = _Scope(".".join(filter(None, [outer.prefix if outer else "", "<locals>"])), outer, "function")
        for param in all_params:
            self.scope.bound.add(param.name.value)
            self.scope_of[param.name] = self.scope
        node.body.visit(self)
        self.scope = outer
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._bind(node.name.value)
        self.scope_of[node.name] = self.scope
        for part in (*node.decorators, *node.bases, *node.keywords):
            part.visit(self)
        outer = self.scope
        self.scope = _Scope(".".join(filter(None, [outer.prefix if outer else "", node.name.value])), outer, "class")
        node.body.visit(self)
        self.scope = outer
        return False

    def _comprehension(self, node, elements) -> bool:
        # The first iterable is evaluated outside the comprehension, the rest inside.
        node.for_in.iter.visit(self)
        outer = self.scope
        self.scope = _Scope(
            ".".join(filter(None, [outer.prefix if outer else "", "<comprehension>"])), outer, "comprehension"
        )
        for_in = node.for_in
        first = True
        while for_in is not None:
            self._bind_target(for_in.target)
            for_in.target.visit(self)
            if not first:
                for_in.iter.visit(self)
            for condition in for_in.ifs:
                condition.visit(self)
            first = False
            for_in = for_in.inner_for_in
        for element in elements:
            element.visit(self)
        self.scope = outer
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._comprehension(node, [node.elt])

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._comprehension(node, [node.key, node.value])


def _import_names(node: cst.Import | cst.ImportFrom, full: str) -> set[str]:
    """What `full` (``la.inv``) names through one import statement (as libcst spells it)."""
    module = ""
    if isinstance(node, cst.ImportFrom):
        if node.module is not None:
            module = get_full_name_for_node(node.module) or ""
        if node.relative:
            module = "." * len(node.relative) + module
    results = set()
    for alias in node.names:
        real = get_full_name_for_node(alias.name)
        if not real:
            continue
        parts = real.split(".")
        for i in range(len(parts), 0, -1):
            as_name = ".".join(parts[:i])
            real_name = f"{module}{as_name}" if module.endswith(".") else f"{module}.{as_name}" if module else as_name
            if alias.asname is not None:
                as_name = get_full_name_for_node(alias.asname.name) or as_name
            if full == as_name or full.startswith(as_name + "."):
                rest = full[len(as_name) :].lstrip(".")
                results.add(f"{real_name}.{rest}" if rest else real_name)
                break
    return results
