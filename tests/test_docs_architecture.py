"""docs/architecture.md against the code: every GraphQL root field, every worker job and every
module of the service has its line, and every path, function and method the map names exists.
Reads files only: no server, no database, no Redis."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from graphql import build_schema

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
# What the layout must list, one line per module (a package by its folder, `name/`).
SOURCE = ("app.py", "core.py", "settings.py", "cli", "domain", "gateways", "infra", "models")
SOURCE += ("resolvers", "schema", "services", "workers")

CODE = re.compile(r"`([^`\n]+)`")
# A code span naming a file or folder of the repository (routes start with "/", so never match).
PATH = re.compile(r"[A-Za-z_][\w.-]*(?:/[\w.-]+)*/?")
SYMBOL = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
METHOD = re.compile(r"[A-Z]\w*\.[a-z_]\w*")
# `path` `symbol`: a symbol named right after the file that defines it.
PAIR = re.compile(r"`([^`\n]+)`\s+`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _is_path(span: str) -> bool:
    if not PATH.fullmatch(span):
        return False
    return "/" in span or span.endswith((".py", ".graphql", ".md"))


def _sections(text: str) -> dict[str, str]:
    """Each heading's title -> its text up to the next heading of any level."""
    found: dict[str, str] = {}
    title = ""
    lines: list[str] = []
    for line in text.splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            found[title] = "\n".join(lines)
            title, lines = heading.group(1).strip(), []
        else:
            lines.append(line)
    found[title] = "\n".join(lines)
    return found


def _first_column(body: str) -> set[str]:
    """The first code span of each table row's first cell (header and rule excluded)."""
    names = set()
    for line in body.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        first = line.split("|")[1]
        spans = CODE.findall(first)
        if spans:
            names.add(spans[0])
    return names


@cache
def _doc() -> str:
    return DOC.read_text()


@cache
def _section(title: str) -> str:
    sections = _sections(_doc())
    assert title in sections, f"docs/architecture.md has no '{title}' heading"
    return sections[title]


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _source_files() -> Iterator[Path]:
    for name in SOURCE:
        path = ROOT / name
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        else:
            yield path


def _defines(tree: ast.AST, name: str) -> bool:
    """`name` is a function, class or assigned name somewhere in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def _defines_symbol(tree: ast.Module, symbol: str) -> bool:
    owner, _, member = symbol.rpartition(".")
    if not owner:
        return _defines(tree, member)
    return any(
        isinstance(node, ast.ClassDef) and node.name == owner and _defines(node, member)
        for node in ast.walk(tree)
    )


def _module_file(path: str) -> Path:
    target = ROOT / path
    return target / "__init__.py" if target.is_dir() else target


# -- what must be in the map -------------------------------------------------------------------


@pytest.mark.parametrize("root", ["Query", "Mutation", "Subscription"])
def test_every_root_field_has_one_row(root):
    schema = build_schema((ROOT / "schema.graphql").read_text())
    root_type = schema.get_type(root)
    fields = set(getattr(root_type, "fields", {}))
    rows = _first_column(_section(root))
    missing, stale = sorted(fields - rows), sorted(rows - fields)
    assert missing == [], f"fields of {root} without a row in docs/architecture.md: {missing}"
    assert stale == [], f"rows of {root} that schema.graphql does not have: {stale}"


def _job_name(entry: object) -> str:
    """A job's function name, whether arq was handed the coroutine, a `func()` or a `cron()`."""
    coroutine = getattr(entry, "coroutine", entry)
    name: str = coroutine.__name__  # type: ignore[attr-defined]
    return name


def _registered_jobs() -> set[str]:
    from settings import AppEnv, Settings
    from workers.settings import build_worker_settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_env=AppEnv.TEST,
        redis_url="redis://127.0.0.1:6379/0",  # parsed, never connected
    )
    options = build_worker_settings(settings)
    return {_job_name(entry) for entry in [*options["functions"], *options["cron_jobs"]]}


def _enqueued_jobs() -> set[str]:
    """Job names the queue enqueues by name (the refund lane's jobs and any other lane's)."""
    names = set()
    for path in sorted((ROOT / "workers").rglob("*.py")):
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "enqueue_job"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


def test_every_job_has_a_row():
    registered = _registered_jobs()
    assert "process_webhook" in registered  # guards against reading nothing
    jobs = registered | _enqueued_jobs()
    rows = _first_column(_section("Jobs"))
    missing = sorted(jobs - rows)
    assert missing == [], f"jobs without a row in docs/architecture.md: {missing}"
    defined = {
        name
        for name in rows
        if any(_defines(_tree(path), name) for path in sorted((ROOT / "workers").rglob("*.py")))
    }
    stale = sorted(rows - defined)
    assert stale == [], f"job rows naming no function of workers/: {stale}"


def _modules() -> Iterator[str]:
    for path in _source_files():
        relative = path.relative_to(ROOT)
        if path.name == "__init__.py":
            yield f"{relative.parent.as_posix()}/"
        else:
            yield relative.as_posix()


def test_every_module_has_a_layout_line():
    named = set(CODE.findall(_sections(_doc()).get("Layout", "")))
    missing = [module for module in _modules() if module not in named]
    assert missing == [], f"modules without a line in docs/architecture.md's Layout: {missing}"


# -- what the map names must exist ---------------------------------------------------------------


def _architecture_section_of_readme() -> str:
    return _sections(README.read_text())["Architecture"]


@pytest.mark.parametrize(
    ("name", "text", "base"),
    [
        ("docs/architecture.md", _doc, DOC.parent),
        ("README.md's Architecture", _architecture_section_of_readme, ROOT),
    ],
)
def test_every_named_path_exists(name, text, base):
    body = text()
    spans = {span for span in CODE.findall(body) if _is_path(span)}
    missing = sorted(span for span in spans if not (ROOT / span).exists())
    assert missing == [], f"paths named in {name} that do not exist: {missing}"
    links = sorted(link for link in LINK.findall(body) if "://" not in link)
    broken = [link for link in links if not (base / link).exists()]
    assert broken == [], f"links in {name} that lead nowhere: {broken}"


def test_the_readme_points_at_the_map():
    assert "(docs/architecture.md)" in _architecture_section_of_readme()


def test_every_symbol_is_defined_where_the_map_says():
    pairs = [(p, s) for p, s in PAIR.findall(_doc()) if _is_path(p) and SYMBOL.fullmatch(s)]
    assert len(pairs) > 40  # guards against reading nothing
    wrong = [
        f"{path} {symbol}"
        for path, symbol in pairs
        if path.endswith((".py", "/")) and not _defines_symbol(_tree(_module_file(path)), symbol)
    ]
    assert wrong == [], f"`path` `symbol` pairs where the file lacks the symbol: {wrong}"


def test_every_named_method_exists():
    classes: dict[str, list[ast.ClassDef]] = {}
    for path in _source_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(node)
    methods = {span for span in CODE.findall(_doc()) if METHOD.fullmatch(span)}
    assert len(methods) > 20  # guards against reading nothing
    wrong = []
    for span in sorted(methods):
        owner, member = span.split(".")
        if not any(_defines(node, member) for node in classes.get(owner, [])):
            wrong.append(span)
    assert wrong == [], f"Class.method spans in docs/architecture.md the code lacks: {wrong}"
