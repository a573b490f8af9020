"""The layout's rules, checked on the source: no import cycle between the project's modules
(function-level and TYPE_CHECKING imports included), the dependency direction of DESIGN.md, and
no source file over its size limit. Each rule names what broke it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level packages and modules of the service (tests/ and bench/ are not part of it).
PACKAGES = ("app", "cli", "core", "domain", "gateways", "infra", "models", "resolvers")
PACKAGES += ("schema", "services", "settings", "workers")
MAX_LINES = 500
MAX_SANDBOX_LINES = 700


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> Iterator[Path]:
    for name in PACKAGES:
        single = ROOT / f"{name}.py"
        if single.exists():
            yield single
        folder = ROOT / name
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


FILES = {_module_name(path): path for path in _source_files()}


def _resolve(imported: str) -> str | None:
    """The project module an import names (the longest known prefix), or None for libraries."""
    parts = imported.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in FILES:
            return candidate
        parts.pop()
    return None


def _imports(module: str) -> set[str]:
    """Every project module `module` imports, at any depth of its code."""
    path = FILES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import name`: a submodule when one is called so, else a name in pkg.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in FILES else base
                for alias in node.names
            ]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module) for module in FILES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return cycles


def _top(module: str) -> str:
    return module.split(".")[0]


def _violations(sources: str, forbidden: set[str], *, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Imports from modules under `sources` into any module under a `forbidden` prefix."""
    found = []
    for module, targets in GRAPH.items():
        if module != sources and not module.startswith(sources + "."):
            continue
        for target in sorted(targets):
            hit = any(target == f or target.startswith(f + ".") for f in forbidden)
            if hit and target not in allowed:
                found.append(f"{module} -> {target}")
    return found


def test_the_graph_sees_the_project():
    # Guards the checks below against reading nothing: known edges must be found.
    assert "core" in GRAPH["app"]
    assert "services.payments" in GRAPH["core"] or any(
        t.startswith("services.payments") for t in GRAPH["core"]
    )


def test_no_import_cycles():
    assert _cycles() == []


ENTRY_POINTS = {"app", "cli", "workers"}


@pytest.mark.parametrize(
    ("sources", "forbidden"),
    [
        # The entry points share the composition root and never import each other.
        ("app", ENTRY_POINTS - {"app"}),
        ("cli", ENTRY_POINTS - {"cli"}),
        ("workers", ENTRY_POINTS - {"workers"}),
        # The GraphQL contract does no I/O and knows no service.
        ("schema", {"services", "resolvers", "workers", "core", "app", "cli", "infra"}),
        # Domain documents know no gateway adapter and no service.
        (
            "models",
            {"gateways", "services", "resolvers", "schema", "workers", "core", "app", "cli"},
        ),
        # Outbound adapters speak their own DTOs only.
        (
            "gateways",
            {"models", "services", "resolvers", "schema", "workers", "core", "app", "cli"},
        ),
        ("domain", {name for name in PACKAGES if name != "domain"}),
        # Services are called by the edges; they never call back into them.
        ("services", {"resolvers", "schema", "workers", "core", "app", "cli"}),
        ("resolvers", {"workers", "core", "app", "cli"}),
    ],
)
def test_dependency_direction(sources, forbidden):
    assert _violations(sources, forbidden) == []


def test_only_the_composition_root_builds_adapters_and_sandboxes():
    concrete = ("gateways.razorpay", "gateways.paypal", "gateways.sandbox")
    importers = {
        module
        for module, targets in GRAPH.items()
        if any(t.startswith(concrete) for t in targets) and not module.startswith(concrete)
    }
    # cli's `sandbox` command serves the sandboxes on their own.
    assert importers <= {"core", "cli", "cli.serve", "cli.sandbox"}, importers


def test_the_sandboxes_are_imported_only_when_served():
    lazy = []
    for module in ("core",):
        tree = ast.parse(FILES[module].read_text())
        for node in tree.body:  # module level only
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "gateways.sandbox"
            ):
                lazy.append(f"{module} imports {node.module} at module level")
    assert lazy == []


def test_no_source_file_over_its_limit():
    too_long = []
    for module, path in FILES.items():
        limit = MAX_SANDBOX_LINES if module.startswith("gateways.sandbox") else MAX_LINES
        lines = len(path.read_text().splitlines())
        if lines > limit:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} > {limit}")
    assert too_long == []
