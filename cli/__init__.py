"""The `paygraph` command: dev, serve, worker, sandbox, token, schema, reconcile, rotate-keys.

One module per command family, each adding its subcommands to the parser; heavy imports wait
inside the commands, so `paygraph token` does not load the API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import dev, keys, reconcile, schema, serve, tokens
from settings import ConfigurationError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paygraph", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for family in (dev, serve, tokens, schema, reconcile, keys):
        family.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except ConfigurationError as exc:
        print(f"paygraph: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)
