"""What dotted names refer to (dpgen.frontend.resolve), on the tricky cases.

dpgen resolves names itself (libcst's QualifiedNameProvider is quadratic in the bindings of
one name); these answers are the ones libcst gave, which the rules and the lowering read,
except where a local binding comes later in the function (Python's rule: then it is local).
"""

from __future__ import annotations

import textwrap

import libcst as cst
import numpy as np
import pytest

from support import check_vjp, differentiate, generated_text
from dpgen.errors import SourceErrors
from dpgen.frontend.source import Source, parse

MODULE = """
import numpy as np
import numpy.linalg as la
import numpy.linalg
import math
from math import sqrt as s, exp
from . import rel
from .pkg import thing
from numpy import *

K = 2.0
np2 = np
twice = 1
twice = np


def g(x):
    return np.sin(x)


def f(x, math):
    y = la.inv(x) + numpy.linalg.det(x) + numpy.sin(x) + s(x) + exp(x)
    z = abs(y) + max(y) + float(y) + range(y) + len(y) + g(x) + K + np.outer(x, x).T + x[0].T
    w = math.exp(x) + rel.a + thing.b + np2.cos(x) + sin(x) + undefined + twice
    v = [i * x for i in range(3) if i > w] + [abs for abs in y]
    u = late.T
    for late in range(2):
        pass
    return np.sum(x) + y.T
"""


def answers(source: str) -> dict[str, set[str]]:
    """code of each name or attribute read in `f` -> what it refers to (the first occurrence)."""
    parsed = parse(Source("m.py", textwrap.dedent(source)))
    function = next(s for s in parsed.module.body if isinstance(s, cst.FunctionDef) and s.name.value == "f")
    found: dict[str, set[str]] = {}

    class Visit(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.Name, cst.Attribute)):
                found.setdefault(parsed.module.code_for_node(node), parsed.qualified_names(node))
            return True

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            found.setdefault(parsed.module.code_for_node(node), parsed.qualified_names(node))
            node.value.visit(self)
            return False

    function.body.visit(Visit())
    return found


@pytest.mark.parametrize(
    "code, expected",
    [
        ("la.inv", {"numpy.linalg.inv"}),  # import numpy.linalg as la
        ("numpy.linalg.det", {"numpy.linalg.det"}),  # import numpy.linalg
        ("numpy.sin", {"numpy.sin"}),  # `import numpy.linalg` binds `numpy` too
        ("s", {"math.sqrt"}),  # from math import sqrt as s
        ("exp", {"math.exp"}),
        ("abs", {"builtins.abs"}),
        ("max", {"builtins.max"}),
        ("float", {"builtins.float"}),
        ("range", {"builtins.range"}),
        ("len", {"builtins.len"}),
        ("g", {"g"}),  # a module-level function
        ("K", {"K"}),  # a module constant
        ("np.outer(x, x).T", {"numpy.outer.T"}),  # as libcst spells it (_is_module refuses it as a call)
        ("np.outer", {"numpy.outer"}),
        ("x[0].T", {"f.<locals>.x.T"}),
        ("x", {"f.<locals>.x"}),  # a parameter
        ("math.exp", {"f.<locals>.math.exp"}),  # a parameter named like a module shadows it
        ("math", {"f.<locals>.math"}),
        ("rel.a", {".rel.a"}),  # relative imports keep their dots
        ("thing.b", {".pkg.thing.b"}),
        ("np2.cos", {"np2.cos"}),  # a module bound to another name: a module variable
        ("sin", set()),  # `from numpy import *` binds nothing dpgen can see
        ("undefined", set()),
        ("twice", {"twice"}),  # bound twice at module level: every binding
        ("i", {"f.<locals>.<comprehension>.i"}),
        ("late.T", {"f.<locals>.late.T"}),  # bound later in the function: local (Python's rule)
        ("np.sum", {"numpy.sum"}),
        ("y.T", {"f.<locals>.y.T"}),
    ],
)
def test_resolution(code, expected):
    assert answers(MODULE)[code] == expected


def test_module_name_rebound_and_shadowed():
    found = answers("""
        import numpy as np
        np = np

        def f(x, abs):
            y = abs(x)
            return np.sin(y)
        """)
    assert found["np.sin"] == {"numpy.sin", "np.sin"}
    assert found["abs"] == {"f.<locals>.abs"}


def test_shadowed_np_is_a_value():
    """A local `np` is a value, not numpy: `np.sin` is then not numpy's sine."""
    with pytest.raises(SourceErrors, match=r"6:19: error: the method .\.sin\(\). is not supported"):
        generated_text("""
            import numpy as np

            def f(x):
                np = x
                return np.sum(np.sin(x))
            """)


def test_aliases_differentiate():
    """Aliased imports and a parameter named like an imported function give the right gradient."""
    source = """
        import math
        import numpy as np
        import numpy.linalg as la
        from math import sqrt as root, exp
        from numpy import sin as s, sum as total

        def f(x, y, exp):
            m = np.outer(x, x) + np.eye(2)
            return total(s(x)) * root(y) + la.det(m) + exp * math.exp(y)
        """
    model, grad = differentiate(source)
    args = [np.array([0.3, -0.2]), 0.4, 1.5]
    check_vjp(model.f, grad.f_vjp, args, np.random.default_rng(0))
