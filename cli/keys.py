"""`paygraph rotate-keys`: saved payment tokens re-encrypted under the first key."""

from __future__ import annotations

import argparse
import asyncio
import sys

from cli.common import adopt_dev_env, fail, load_cli_settings


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every saved token under the first ENCRYPTION_KEYS key (and re-fingerprint it
    under that key), so older keys can then be removed. Safe to repeat and beside the API."""
    from infra.db import connect_mongo, init_models
    from services.crypto import TokenVault
    from services.saved_methods import RotationReport, rotate_tokens

    adopt_dev_env()
    settings = load_cli_settings()
    if not settings.fernet_keys:
        return fail("rotate-keys", "ENCRYPTION_KEYS is not set")
    if not settings.mongodb_url:
        return fail("rotate-keys", "MONGODB_URL is not set (and no `paygraph dev` runs here)")
    mongodb_url = settings.mongodb_url

    async def run() -> RotationReport:
        client = connect_mongo(mongodb_url)
        try:
            await init_models(client, settings.mongodb_db)
            return await rotate_tokens(TokenVault(settings.fernet_keys), batch_size=args.batch_size)
        finally:
            await client.close()

    report = asyncio.run(run())
    print(
        f"rotate-keys: {report.scanned} saved methods scanned, {report.rotated} re-encrypted "
        f"with the first key, {report.current} already current, "
        f"{report.changed_meanwhile} changed meanwhile, {len(report.failed)} failed"
    )
    for method_id in report.failed:
        print(f"  not rotated (no configured key decrypts it): {method_id}", file=sys.stderr)
    return 1 if report.failed else 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rotate = sub.add_parser(
        "rotate-keys", help="re-encrypt saved payment tokens under the first ENCRYPTION_KEYS key"
    )
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(func=cmd_rotate_keys)
