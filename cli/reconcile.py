"""`paygraph reconcile`: one reconciliation run from the terminal. Progress goes to stderr (a
rich progress bar on a terminal, a line every 10% otherwise), the summary to stdout as rich
tables (plain text when piped).
Exit 0: nothing needs a person; 1: issues or gateway errors to look at; 2: a bad argument;
3: another run holds the lock."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from cli.common import adopt_dev_env, fail, load_cli_settings

if TYPE_CHECKING:
    from models.reconciliation import ReconciliationFinding, ReconciliationReport

# Piped output is never wrapped: one finding, one line, whatever its length.
PIPED_WIDTH = 10_000
# SIMPLE_HEAD in ASCII: a rule of dashes under the header, for files and pipes.
PLAIN_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from core import build_core
    from infra.db import init_models
    from models.enums import ReconciliationTrigger
    from models.errors import ReconciliationRunning, ValidationFailed
    from services.reconciliation import parse_duration

    adopt_dev_env()
    settings = load_cli_settings()
    try:
        since = parse_duration(args.since) if args.since else None
    except ValidationFailed as exc:
        return fail("reconcile", f"--since: {exc.message}")
    dev_url = os.environ.get("PAYGRAPH_URL")
    if dev_url and "PORT" not in os.environ and urlsplit(dev_url).port:
        # Beside `paygraph dev`: its sandboxes are mounted on its port.
        settings = settings.model_copy(update={"port": urlsplit(dev_url).port})

    async def run(progress: RunProgress) -> ReconciliationReport:
        core = build_core(settings, serve_sandboxes=False)
        try:
            await init_models(core.mongo, core.settings.mongodb_db)
            return await core.reconciliation.reconcile(
                ReconciliationTrigger.CLI,
                since=since,
                dry_run=args.dry_run,
                progress=progress.update,
            )
        finally:
            await core.aclose()

    try:
        with RunProgress(console_for(sys.stderr)) as progress:
            report = asyncio.run(run(progress))
    except ReconciliationRunning as exc:
        return fail("reconcile", exc.message, 3)
    print_summary(report, console_for(sys.stdout))
    return 1 if report.mismatches or report.gateway_errors else 0


def console_for(stream: TextIO) -> Console:
    """A console on `stream`: colours and the terminal's width on a terminal; plain, unwrapped
    text otherwise. No markup: finding texts are printed as they are."""
    console = Console(file=stream, markup=False, highlight=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


class RunProgress:
    """The run's `progress(done, total)` callback. On a terminal, a rich progress bar with log
    lines printed above it; otherwise `reconcile: done/total` every 10%."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._shown = -1
        self._log_streams: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("reconcile"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
            self._task = self._bar.add_task("reconcile", total=None)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            stderr = sys.stderr
            self._bar.start()  # sys.stderr is now a proxy that prints above the bar
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is stderr:
                    handler.setStream(sys.stderr)
                    self._log_streams.append((handler, stderr))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        for handler, stream in self._log_streams:
            handler.setStream(stream)

    def update(self, done: int, total: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total)
            return
        mark = done * 10 // total if total else 10
        if mark != self._shown:
            self._shown = mark
            self._console.file.write(f"reconcile: {done}/{total}\n")
            self._console.file.flush()


def print_summary(report: ReconciliationReport, console: Console, *, max_fixes: int = 20) -> None:
    """The run as a person reads it: counts, then issues and fixes as tables."""
    took = (report.finished_at - report.started_at).total_seconds() if report.finished_at else 0.0
    title = "reconciliation " + (
        "DRY RUN - nothing was changed; counts say what a real run would do"
        if report.dry_run
        else f"report {report.id}"
    )
    console.print(Text(title, style="bold"))
    console.print(
        f"trigger {report.trigger.value}, started {report.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"took {took:.1f} s"
        + (f", since {report.since:%Y-%m-%d %H:%M:%S} UTC" if report.since else "")
    )
    console.print()
    counts = _table(console, ("", "count"))
    counts.columns[1].justify = "right"
    for name, value in (
        ("payments checked", report.checked_payments),
        ("refunds checked", report.checked_refunds),
        ("recovered (-> COMPLETED)", report.recovered),
        ("expired", report.expired),
        ("failed attempts recorded", report.failed_attempts),
        ("refunds settled", report.refunds_settled),
        ("unchanged", report.unchanged),
        ("issues to review", len(report.mismatches)),
        ("gateway errors", report.gateway_errors),
    ):
        counts.add_row(name, str(value))
    console.print(counts)
    for heading, findings, limit, style in (
        ("Issues (reported, not changed)", report.mismatches, None, "bold red"),
        ("Fixes" + (" (would apply)" if report.dry_run else ""), report.fixed, max_fixes, "bold"),
    ):
        if not findings:
            continue
        shown = findings if limit is None else findings[:limit]
        console.print()
        console.print(Text(f"{heading}:", style=style))
        console.print(_findings_table(console, shown))
        hidden = (
            len(findings)
            - len(shown)
            + (report.fixed_not_listed if findings is report.fixed else 0)
        )
        if hidden:
            console.print(f"  ... and {hidden} more")
    if report.errors:
        console.print()
        console.print(Text("Gateway errors:", style="bold red"))
        for error in report.errors:
            console.print(f"  {error}", soft_wrap=True)


_FINDING_COLUMNS = (
    "kind",
    "payment",
    "order",
    "gateway",
    "gateway id",
    "gateway says",
    "we had",
    "action",
)


def _findings_table(console: Console, findings: Sequence[ReconciliationFinding]) -> Table:
    table = _table(console, _FINDING_COLUMNS)
    for f in findings:
        table.add_row(
            f.kind,
            str(f.payment_id or ""),
            f.order_id or "",
            f.gateway.value if f.gateway else "",
            f.gateway_refund_id or f.gateway_payment_id or f.gateway_order_id or "",
            f.expected or "",
            f.actual or "",
            f.action or "",
        )
    return table


def _table(console: Console, headers: Sequence[str]) -> Table:
    # A rule under the header and nothing else; in dashes when it goes to a file or a pipe.
    table = Table(
        box=box.SIMPLE_HEAD if console.is_terminal else PLAIN_HEAD,
        header_style="bold",
        show_edge=False,
    )
    for header in headers:
        table.add_column(header)
    return table


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reconcile = sub.add_parser(
        "reconcile",
        help="check stale payments and refunds with the gateways (exit 1: issues to review)",
    )
    reconcile.add_argument(
        "--since",
        default=None,
        metavar="DURATION",
        help="only records created within DURATION (e.g. 30m, 6h, 2d); also the drift window",
    )
    reconcile.add_argument(
        "--dry-run", action="store_true", help="change nothing; say what a run would do"
    )
    reconcile.set_defaults(func=cmd_reconcile)
