"""The React package in web/ (@paygraph/react), through its own npm scripts: install from the
committed lockfile, typecheck, lint, codegen drift against schema.graphql, build, the Vitest browser
tests and the Playwright end-to-end tests of the example shop (each starts `paygraph dev` from this
virtualenv on free ports). Needs Node 20+ and Debian's /usr/bin/chromium; skipped without them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
CHROMIUM = Path(os.environ.get("PAYGRAPH_CHROMIUM", "/usr/bin/chromium"))
LOCK_STAMP = WEB / "node_modules" / ".paygraph-lock-sha256"


def _skip_reason() -> str | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are needed for the web tests (Node 20+)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    major = int(version.stdout.strip().lstrip("v").split(".")[0] or 0)
    if major < 20:
        return f"the web tests need Node 20+, found {version.stdout.strip()}"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
            "PAYGRAPH_PYTHON": sys.executable,
            "PAYGRAPH_CHROMIUM": str(CHROMIUM),
            "CI": "1",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
        }
    )
    return env


def _run(*args: str, timeout: float) -> str:
    done = subprocess.run(
        ["npm", *args],
        cwd=WEB,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"npm {' '.join(args)} exited {done.returncode}:\n{output[-12000:]}"
    )
    return output


@pytest.fixture(scope="module")
def installed() -> None:
    """`npm ci` only when node_modules is missing or the lockfile changed since the last one."""
    lock = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    if LOCK_STAMP.exists() and LOCK_STAMP.read_text().strip() == lock:
        return
    _run("ci", "--no-audit", "--no-fund", timeout=300)
    LOCK_STAMP.write_text(lock)


@pytest.mark.timeout(120)
def test_typecheck(installed: None) -> None:
    _run("run", "typecheck", timeout=110)


@pytest.mark.timeout(120)
def test_lint(installed: None) -> None:
    _run("run", "lint", timeout=110)


@pytest.mark.timeout(120)
def test_codegen_matches_the_schema(installed: None) -> None:
    assert "match ../schema.graphql" in _run("run", "check:codegen", timeout=110)


@pytest.mark.timeout(120)
def test_build(installed: None) -> None:
    _run("run", "build", timeout=110)
    assert (WEB / "dist" / "index.js").is_file()
    assert (WEB / "dist" / "index.d.ts").is_file()
    assert (WEB / "dist" / "styles.css").is_file()


@pytest.mark.timeout(240)
def test_component_tests(installed: None) -> None:
    output = _run("test", timeout=230)
    assert " passed" in output


@pytest.mark.timeout(300)
def test_end_to_end(installed: None) -> None:
    output = _run("run", "test:e2e", timeout=290)
    assert " passed" in output
