"""`paygraph rotate-keys`: saved payment tokens and webhook endpoint secrets re-encrypted under
the first key."""

from __future__ import annotations

import argparse
import asyncio
import sys

from cli.common import adopt_dev_env, fail, load_cli_settings


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every saved token (and re-fingerprint it) and every webhook endpoint's signing
    secrets under the first ENCRYPTION_KEYS key, so older keys can then be removed. Safe to
    repeat and beside the API."""
    from infra.db import connect_mongo, init_models
    from services.crypto import RotationReport, TokenVault
    from services.events_out.endpoints import rotate_endpoint_secrets
    from services.saved_methods import rotate_tokens

    adopt_dev_env()
    settings = load_cli_settings()
    if not settings.fernet_keys:
        return fail("rotate-keys", "ENCRYPTION_KEYS is not set")
    if not settings.mongodb_url:
        return fail("rotate-keys", "MONGODB_URL is not set (and no `paygraph dev` runs here)")
    mongodb_url = settings.mongodb_url

    async def run() -> tuple[RotationReport, RotationReport]:
        client = connect_mongo(mongodb_url)
        try:
            await init_models(client, settings.mongodb_db)
            vault = TokenVault(settings.fernet_keys)
            methods = await rotate_tokens(vault, batch_size=args.batch_size)
            endpoints = await rotate_endpoint_secrets(vault, batch_size=args.batch_size)
            return methods, endpoints
        finally:
            await client.close()

    methods, endpoints = asyncio.run(run())
    for report, what in ((methods, "saved methods"), (endpoints, "webhook endpoints")):
        print(
            f"rotate-keys: {report.scanned} {what} scanned, {report.rotated} re-encrypted "
            f"with the first key, {report.current} already current, "
            f"{report.changed_meanwhile} changed meanwhile, {len(report.failed)} failed"
        )
    for method_id in methods.failed:
        print(f"  not rotated (no configured key decrypts it): {method_id}", file=sys.stderr)
    for endpoint_id in endpoints.failed:
        print(
            f"  not rotated (no configured key decrypts a secret in force): endpoint {endpoint_id}",
            file=sys.stderr,
        )
    return 1 if methods.failed or endpoints.failed else 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rotate = sub.add_parser(
        "rotate-keys",
        help="re-encrypt saved payment tokens and webhook endpoint secrets under the first "
        "ENCRYPTION_KEYS key",
    )
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(func=cmd_rotate_keys)
