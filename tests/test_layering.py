"""Who may import whom inside dpgen, checked statically (imports read with `ast`, nothing imported).

The rules (see ../shared/DESIGN.md, "Who may import whom"):
- no import cycles among dpgen's modules;
- only `dpgen.frontend` imports libcst;
- `dpgen.ir` imports nothing from dpgen but `dpgen.errors` (and itself);
- `dpgen.passes` and `dpgen.analysis` never import the front end, rendering or the templates
  (nor jinja2, which reads them); `dpgen.analysis` never imports a pass either;
- `dpgen.rules` never imports the front end, the passes or rendering;
- `dpgen.render` never imports the front end or the passes (node types come from `dpgen.ir`).

Every import counts, also one inside a function: a lazy import still ties the layers together.
The checker is tested on small fake packages too, so a rule that can never fail shows up.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dpgen"


# (layer, layers it must not import, why). Prefixes are relative to the package name.
FORBIDDEN = (
    ("passes", ("frontend", "render", "templates"), "a pass maps IR to IR"),
    ("analysis", ("frontend", "render", "templates", "passes"), "analyses read IR and rules only"),
    ("rules", ("frontend", "passes", "render"), "the rule table is data the passes read"),
    ("render", ("frontend", "passes"), "rendering reads IR node types from ir"),
)
# Third-party libraries tied to one layer: only that layer (and the ones listed) may import them.
OWNED_LIBRARIES = (
    ("libcst", ("frontend",)),
    ("jinja2", ("render", "backends")),
)


# ------------------------------------------------------------------------------- the checker


def modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package (a package is its __init__)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name the module imports: ``from a.b import c`` gives ``a.b`` and ``a.b.c``
    (c may be a submodule); relative imports are made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative).

    A package importing its own submodules (``rules/__init__`` registering ``rules.elementwise``,
    which imports the package's `defelementwise`) is how Python packages are built, not a cycle
    between layers: edges from a package to its own children are left out."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    edges = {v: sorted(w for w in ws if not w.startswith(v + ".")) for v, ws in graph.items()}
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            recurse = False
            for k in range(i, len(edges[v])):
                w = edges[v][k]
                if w not in index:
                    work.append((v, k + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return found


def layering_problems(package_dir: Path, allowed: frozenset = frozenset()) -> list[str]:
    """One line per broken rule. `allowed` holds (importer module, forbidden prefix) pairs to let pass."""
    root = package_dir.name
    mods = modules(package_dir)
    problems = []
    graph = {}
    for module, path in mods.items():
        names = imported_names(path, module)
        graph[module] = {n for n in names if n in mods and n != module}
        layer = module.split(".")[1] if "." in module else ""
        for library, owners in OWNED_LIBRARIES:
            if any(_within(n, library) for n in names) and layer not in owners:
                problems.append(f"{module} imports {library} (only {', '.join(owners)} may)")
        if layer == "ir":
            bad = sorted(n for n in graph[module] if not (_within(n, f"{root}.ir") or _within(n, f"{root}.errors")))
            if bad:
                problems.append(f"{module} (IR) imports {bad}: the IR imports only errors")
        for importer, forbidden, why in FORBIDDEN:
            if layer != importer:
                continue
            for prefix in (f"{root}.{f}" for f in forbidden):
                # Names imported from a module (`lower` of `frontend.lower`) add nothing to the message.
                bad = sorted(n for n in names if _within(n, prefix) and (n in mods or n.rpartition(".")[0] not in mods))
                if bad and (module, prefix) not in allowed:
                    problems.append(f"{module} imports {bad} ({why})")
    for cycle in import_cycles(graph):
        problems.append("import cycle among " + ", ".join(cycle))
    return problems


# ------------------------------------------------------------------------------ dpgen itself


def test_dpgen_layering():
    assert layering_problems(PACKAGE, frozenset()) == []  # no exceptions: --mode hvp composes in the IR


def test_checker_reads_the_real_package():
    """Guards the test itself: it sees dpgen's layers and their imports."""
    mods = modules(PACKAGE)
    for layer in ("frontend", "ir", "analysis", "passes", "rules", "render", "backends"):
        assert f"dpgen.{layer}" in mods
    assert "dpgen.ir.walk" in imported_names(mods["dpgen.passes.simplify"], "dpgen.passes.simplify")
    assert "libcst" in {n.split(".")[0] for n in imported_names(mods["dpgen.frontend.source"], "dpgen.frontend.source")}


# ----------------------------------------------------------------- the checker on fake packages


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A fake `dpgen` package with the layers as subpackages, plus `files` (path -> source)."""
    root = tmp_path / "dpgen"
    for sub in ("", "frontend", "ir", "analysis", "passes", "rules", "render", "backends"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub / "__init__.py").write_text('"""fake"""\n')
    (root / "errors.py").write_text("class Span: ...\n")
    (root / "ir" / "core.py").write_text("from dpgen.errors import Span\n")
    (root / "frontend" / "lower.py").write_text("import libcst\nfrom dpgen.ir.core import Span\n")
    (root / "passes" / "reverse.py").write_text("from dpgen.ir import core\nfrom dpgen import rules\n")
    (root / "render" / "renderer.py").write_text("import jinja2\nfrom dpgen.ir.core import Span\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_clean_fake_package_passes(tmp_path):
    assert layering_problems(_package(tmp_path, {})) == []


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"passes/hvp.py": "from dpgen.frontend.lower import lower\n"}, "dpgen.passes.hvp imports"),
        ({"passes/hvp.py": "from ..frontend import lower\n"}, "['dpgen.frontend', 'dpgen.frontend.lower']"),
        ({"passes/late.py": "def f():\n    import dpgen.render.renderer\n"}, "dpgen.passes.late imports"),
        ({"analysis/act.py": "from dpgen.passes import reverse\n"}, "dpgen.analysis.act imports"),
        ({"rules/table.py": "import dpgen.frontend\n"}, "dpgen.rules.table imports"),
        ({"render/expr.py": "from dpgen.passes.reverse import x\n"}, "dpgen.render.expr imports"),
        ({"ir/walk.py": "from dpgen.rules import lookup\n"}, "dpgen.ir.walk (IR) imports ['dpgen.rules']"),
        ({"passes/parse.py": "import libcst as cst\n"}, "dpgen.passes.parse imports libcst"),
        ({"analysis/load.py": "from jinja2 import Environment\n"}, "dpgen.analysis.load imports jinja2"),
        ({"a.py": "from dpgen import b\n", "b.py": "import dpgen.c\n", "c.py": "from . import a\n"}, "import cycle"),
    ],
)
def test_checker_finds_each_broken_rule(tmp_path, files, expected):
    problems = layering_problems(_package(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_cycle_lists_its_modules_only(tmp_path):
    files = {"a.py": "import dpgen.b\n", "b.py": "import dpgen.a\n", "c.py": "import dpgen.a\n"}
    cycles = [p for p in layering_problems(_package(tmp_path, files)) if "cycle" in p]
    assert cycles == ["import cycle among dpgen.a, dpgen.b"]


def test_package_importing_its_children_is_no_cycle(tmp_path):
    files = {
        "rules/__init__.py": "def defvjp(): ...\nfrom dpgen.rules import table\n",
        "rules/table.py": "from dpgen.rules import defvjp\n",
    }
    assert layering_problems(_package(tmp_path, files)) == []


def test_allow_list_lets_exactly_its_pair_pass(tmp_path):
    files = {
        "passes/hvp.py": "from dpgen.frontend import lower\n",
        "passes/other.py": "from dpgen.frontend import lower\n",
    }
    problems = layering_problems(_package(tmp_path, files), frozenset({("dpgen.passes.hvp", "dpgen.frontend")}))
    assert len(problems) == 1 and problems[0].startswith("dpgen.passes.other imports"), problems


def test_deep_import_chain_has_no_recursion_limit(tmp_path):
    """The cycle search is iterative: a long chain of modules does not hit Python's stack."""
    count = sys.getrecursionlimit() + 100
    graph = {f"m{k}": {f"m{k + 1}"} for k in range(count)} | {f"m{count}": {"m0"}}
    (cycle,) = import_cycles(graph)
    assert len(cycle) == count + 1
