"""`paygraph listen --forward-to URL [--events TYPE ...]`: every new event, signed with a
session secret, forwarded to a developer's local URL (like `stripe listen`). It reads the
MongoDB that the running service writes (beside `paygraph dev`: the one in .paygraph/dev.env);
one line per forwarded event: time, type, id, status code (or the error) and milliseconds.
Ctrl-C stops it. Development only: refused when APP_ENV=production."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from datetime import datetime

from cli.common import adopt_dev_env, fail, load_cli_settings


def cmd_listen(args: argparse.Namespace) -> int:
    from infra.db import connect_mongo, init_models
    from models.errors import ValidationFailed
    from services.events_out import ListenSession

    adopt_dev_env()
    settings = load_cli_settings()
    if settings.is_production:
        return fail("listen", "a development tool: refused when APP_ENV=production")
    if not settings.mongodb_url:
        return fail("listen", "MONGODB_URL is not set (and no `paygraph dev` runs here)")
    mongodb_url = settings.mongodb_url

    async def run() -> int:
        client = connect_mongo(mongodb_url)
        try:
            await init_models(client, settings.mongodb_db)
            session = ListenSession(args.forward_to, args.events or ())
            try:
                await session.start()
            except ValidationFailed as exc:
                return fail("listen", exc.message)
            try:
                print(f"Ready. Your webhook signing secret is {session.secret}", flush=True)
                print(f"Forwarding events to {args.forward_to} (Ctrl-C stops)", flush=True)
                async for sent in session.forward():
                    outcome = str(sent.status_code) if sent.status_code else f"error: {sent.error}"
                    stamp = datetime.now().strftime("%H:%M:%S")
                    print(
                        f"{stamp}  {sent.type:<28} {sent.event_id}  {outcome}  {sent.ms} ms",
                        flush=True,
                    )
            finally:
                await session.aclose()
        finally:
            await client.close()
        return 0

    with contextlib.suppress(KeyboardInterrupt):
        try:
            return asyncio.run(run())
        except ValidationFailed as exc:  # an unknown --events type
            return fail("listen", exc.message)
    print("stopped", file=sys.stderr)
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = sub.add_parser(
        "listen", help="forward every new event, signed with a session secret, to a local URL"
    )
    listen.add_argument(
        "--forward-to", required=True, metavar="URL", help="e.g. http://127.0.0.1:3000/hooks"
    )
    listen.add_argument(
        "--events",
        nargs="+",
        metavar="TYPE",
        help="only these types (docs/events.md), e.g. payment.completed refund.completed",
    )
    listen.set_defaults(func=cmd_listen)
