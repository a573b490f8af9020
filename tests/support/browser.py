"""Headless Debian Chromium driven by Playwright's sync API in one dedicated thread, so the
test's event loop (and any uvicorn server in it) keeps serving while the browser waits; and the
console watch every browser test ends with. Tests that take the `browser` fixture are skipped
when playwright or /usr/bin/chromium is missing (`skip_browser_tests`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path(os.environ.get("PAYGRAPH_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

T = TypeVar("T")


def skip_reason() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (make test installs the dev extra)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)"
    return None


def skip_browser_tests(items: list[pytest.Item]) -> None:
    """For a conftest's pytest_collection_modifyitems: skip what needs `browser` when it can't run."""
    reason = skip_reason()
    if reason is None:
        return
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class ConsoleWatch:
    """Console messages of type error and uncaught page errors; a test fails on any of them
    unless it declared that exact one (`expect_network_error`)."""

    errors: list[str] = field(default_factory=list)
    expected: list[tuple[re.Pattern[str], int]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} @ {message.location.get('url', '')}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def expect_network_error(self, url_pattern: str, status: int) -> None:
        """Chromium reports every 4xx answer as a console error. The sandbox's checkout answers
        a declined payment 400, as Razorpay's does; a test that declines one says so here."""
        self.expected.append((re.compile(url_pattern), status))

    def _matches(self, line: str, pattern: re.Pattern[str], status: int) -> bool:
        return f"status of {status} " in line and bool(pattern.search(line.rsplit(" @ ", 1)[-1]))

    def unexpected(self) -> list[str]:
        return [
            line
            for line in self.errors
            if not any(self._matches(line, pattern, status) for pattern, status in self.expected)
        ]

    def missing(self) -> list[str]:
        """Declared errors that never happened: the declaration is stale."""
        return [
            f"{status} {pattern.pattern}"
            for pattern, status in self.expected
            if not any(self._matches(line, pattern, status) for line in self.errors)
        ]


class BrowserThread:
    """Playwright's sync API bound to one thread: every browser call runs there, so the test's
    event loop (and the uvicorn server in it) stays free while the browser waits."""

    def __init__(self, screenshots: Path) -> None:
        self.screenshots = screenshots
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self._browser: Any = None

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )

    def _stop(self) -> None:
        with contextlib.suppress(Exception):
            self._browser.close()
        with contextlib.suppress(Exception):
            self._playwright.stop()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> None:
        await self.call(self._start)

    async def stop(self) -> None:
        await self.call(self._stop)
        self._executor.shutdown(wait=True)

    @contextlib.contextmanager
    def page(
        self, base_url: str, name: str, viewport: dict[str, int]
    ) -> Iterator[tuple[Any, ConsoleWatch]]:
        """A fresh context and page (runs in the browser thread). Saves a full-page screenshot
        as <screenshots>/<name>.png, even when the test fails, and then checks the console."""
        context = self._browser.new_context(base_url=base_url, viewport=viewport)
        context.set_default_timeout(30_000)  # a loaded 2-core machine can stall a step for seconds
        page = context.new_page()
        watch = ConsoleWatch()
        watch.attach(page)
        try:
            yield page, watch
        finally:
            self.screenshots.mkdir(exist_ok=True)
            with contextlib.suppress(Exception):
                page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)
            context.close()
        assert not watch.unexpected(), f"browser console errors: {watch.unexpected()}"
        assert not watch.missing(), (
            f"declared console errors that did not happen: {watch.missing()}"
        )


@contextlib.asynccontextmanager
async def running_browser(screenshots: Path) -> Any:
    """A started BrowserThread for a module-scoped `browser` fixture."""
    running = BrowserThread(screenshots)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
