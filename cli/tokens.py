"""`paygraph token`: a development bearer token (refused with APP_ENV=production)."""

from __future__ import annotations

import argparse

from cli.common import adopt_dev_env, fail
from settings import load_settings


def cmd_token(args: argparse.Namespace) -> int:
    from core import build_token_service

    adopt_dev_env()
    settings = load_settings()
    if settings.is_production:
        return fail("token", "refusing to mint tokens with APP_ENV=production")
    try:
        token = build_token_service(settings).mint(
            args.customer, admin=args.admin, ttl_seconds=args.ttl
        )
    except (ValueError, RuntimeError) as exc:
        return fail("token", str(exc))
    print(token)
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("--customer", required=True)
    token.add_argument("--admin", action="store_true")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)
