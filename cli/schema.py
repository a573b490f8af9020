"""`paygraph schema`: the GraphQL SDL, as committed in schema.graphql."""

from __future__ import annotations

import argparse
import sys


def cmd_schema(args: argparse.Namespace) -> int:
    from resolvers import graphql_schema

    sys.stdout.write(graphql_schema().as_str() + "\n")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = sub.add_parser("schema", help="print the GraphQL SDL")
    schema.set_defaults(func=cmd_schema)
