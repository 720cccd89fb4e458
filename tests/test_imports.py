"""The layers point one way: no import cycle between project modules, and the domain never imports the API.

Every import counts, at module level or inside a function (an import moved into a function to dodge a
cycle is still a cycle); only imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["config", "consumers", "geo", "incidents", "messaging", "moderation", "ogc", "trust", "watch"]

# The domain: it may be used by the API, never the reverse.
DOMAIN = [
    "incidents.services",
    "incidents.selectors",
    "incidents.events",
    "incidents.route",
    "incidents.tasks",
    "incidents.abuse",
    "incidents.models",
    "incidents.queue",
    "incidents.keys",
    "incidents.mapversion",
    "incidents.apps",
    "incidents.conf",
    "incidents.errors",
    "incidents.photos",
    "incidents.public",  # the package and everything in it
    "moderation.services",
    "moderation.selectors",
    "watch.services",
    "watch.selectors",
    "watch.tasks",
    "watch.models",
    "trust.services",
    "trust.selectors",
    "trust.models",
    "trust.keys",
    "trust.conf",
    "messaging.understand",
    "messaging.services",
    "messaging.conf",
]
API = "incidents.api"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(path): path for app in APPS for path in sorted((ROOT / app).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module that `name` (a module, or a name inside one) comes from, if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


class _Imports(ast.NodeVisitor):
    """The project modules one module imports, with the lines, function-level imports included."""

    def __init__(self, module: str, is_package: bool, modules: dict[str, Path]):
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.found: dict[str, list[int]] = defaultdict(list)

    def _add(self, name: str, line: int) -> None:
        target = _resolve(name, self.modules)
        if target is not None and target != self.module:
            self.found[target].append(line)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")[: len(self.package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            # `from a import b` imports the module a.b when there is one, else the name b from a.
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.modules else base, node.lineno)


def import_graph() -> dict[str, dict[str, list[int]]]:
    """module -> the project modules it imports -> the lines of those imports."""
    modules = project_modules()
    graph = {}
    for module, path in modules.items():
        visitor = _Imports(module, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        graph[module] = dict(visitor.found)
    return graph


def strongly_connected(graph: dict[str, dict[str, list[int]]]) -> list[list[str]]:
    """Tarjan's components with more than one module, each sorted, the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def _path(module: str) -> str:
    return str(project_modules()[module].relative_to(ROOT))


def _describe(component: list[str], graph: dict[str, dict[str, list[int]]]) -> str:
    members = set(component)
    edges = [
        f"    {module} -> {target} ({_path(module)}:{', '.join(map(str, lines))})"
        for module in component
        for target, lines in sorted(graph[module].items())
        if target in members
    ]
    return " ⇄ ".join(component) + "\n" + "\n".join(edges)


def _is_domain(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in DOMAIN)


def test_no_import_cycle_between_project_modules():
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(_describe(component, graph) for component in cycles)


def test_the_domain_never_imports_the_api():
    graph = import_graph()
    offences = [
        f"{_path(module)}:{', '.join(map(str, lines))} imports {target}"
        for module in sorted(graph)
        if _is_domain(module)
        for target, lines in sorted(graph[module].items())
        if target == API or target.startswith(f"{API}.")
    ]
    assert not offences, "the domain imports the API:\n" + "\n".join(offences)


def test_incidents_never_imports_watch():
    # watch follows the public events through a signal (incidents.events.public_events_committed).
    graph = import_graph()
    offences = [
        f"{_path(module)}:{', '.join(map(str, lines))} imports {target}"
        for module in sorted(graph)
        if module.split(".")[0] == "incidents"
        for target, lines in sorted(graph[module].items())
        if target.split(".")[0] == "watch"
    ]
    assert not offences, "incidents imports watch:\n" + "\n".join(offences)


def _imports_of(source: str, *, module: str = "incidents.views") -> dict[str, list[int]]:
    visitor = _Imports(module, False, project_modules())
    visitor.visit(ast.parse(source))
    return dict(visitor.found)


def test_the_walk_counts_function_level_and_relative_imports_and_skips_type_checking_only():
    source = """
from typing import TYPE_CHECKING
import incidents.models
from incidents import services, conf as c
from .errors import DomainError
from . import selectors
if TYPE_CHECKING:
    from watch import models
else:
    from geo import area
def f():
    from moderation.services import incident_verify
    import ogc.views
class C:
    def m(self):
        from incidents.api.etag import compute
"""
    assert _imports_of(source) == {
        "incidents.models": [3],
        "incidents.services": [4],
        "incidents.conf": [4],
        "incidents.errors": [5],
        "incidents.selectors": [6],
        "geo.area": [10],
        "moderation.services": [12],
        "ogc.views": [13],
        "incidents.api.etag": [16],
    }


def test_a_name_imported_from_a_package_resolves_to_the_package():
    assert _imports_of("from config import celery_app\nfrom django.db import models\n") == {"config": [1]}


def test_cycles_are_found_however_long():
    graph = {"a": {"b": [1]}, "b": {"c": [1]}, "c": {"a": [1]}, "d": {"a": [1], "e": [1]}, "e": {"d": [1]}, "f": {}}
    assert strongly_connected(graph) == [["a", "b", "c"], ["d", "e"]]
