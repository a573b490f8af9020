"""The `paygraph` command: dev, serve, worker, token, schema, rotate-keys."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence

from cryptography.fernet import Fernet

from infra import embedded
from infra.logging import configure_logging
from settings import AppEnv, ConfigurationError, Settings, load_settings

log = logging.getLogger("paygraph.cli")

SECRETS_FILE = embedded.STATE_DIR / "secrets.env"
DATA_DIR = embedded.STATE_DIR / "data"
LOG_DIR = embedded.STATE_DIR / "logs"


def _adopt_dev_env() -> None:
    """Beside a running `paygraph dev`, use the services and secrets it wrote down."""
    if os.environ.get("MONGODB_URL") and os.environ.get("REDIS_URL"):
        return
    for source in (embedded.read_dev_env(), embedded.read_dev_env(SECRETS_FILE)):
        for key, value in source.items():
            os.environ.setdefault(key, value)


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(json_output=settings.is_production, level=settings.log_level)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import create_app

    _adopt_dev_env()
    settings = _settings()
    port = args.port if args.port is not None else settings.port
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=port,
        log_config=None,
        proxy_headers=True,
        ws="websockets-sansio",
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from arq.worker import Worker

    from workers.settings import build_worker_settings

    _adopt_dev_env()
    settings = _settings()
    worker = Worker(**build_worker_settings(settings))
    worker.run()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from app import build_token_service

    _adopt_dev_env()
    settings = load_settings()
    if settings.is_production:
        print("paygraph token: refusing to mint tokens with APP_ENV=production", file=sys.stderr)
        return 2
    try:
        token = build_token_service(settings).mint(
            args.customer, admin=args.admin, ttl_seconds=args.ttl
        )
    except (ValueError, RuntimeError) as exc:
        print(f"paygraph token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from resolvers import graphql_schema

    sys.stdout.write(graphql_schema().as_str() + "\n")
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every saved token under the first ENCRYPTION_KEYS key (and re-fingerprint it
    under that key), so older keys can then be removed. Safe to repeat and beside the API."""
    import asyncio

    from infra.db import connect_mongo, init_models
    from services.crypto import TokenVault
    from services.saved_methods import RotationReport, rotate_tokens

    _adopt_dev_env()
    settings = _settings()
    if not settings.fernet_keys:
        print("paygraph rotate-keys: ENCRYPTION_KEYS is not set", file=sys.stderr)
        return 2
    if not settings.mongodb_url:
        print(
            "paygraph rotate-keys: MONGODB_URL is not set (and no `paygraph dev` runs here)",
            file=sys.stderr,
        )
        return 2
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


def _persistent_dev_secrets() -> dict[str, str]:
    """Development secrets, generated once and kept under .paygraph so tokens survive restarts."""
    values = embedded.read_dev_env(SECRETS_FILE)
    if "JWT_SECRET" not in values or "ENCRYPTION_KEYS" not in values:
        values.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
        # Saved methods stay readable across restarts and by `paygraph rotate-keys`.
        values.setdefault("ENCRYPTION_KEYS", Fernet.generate_key().decode())
        embedded.write_dev_env(values, SECRETS_FILE)
    return values


def cmd_dev(args: argparse.Namespace) -> int:
    """API + worker + embedded MongoDB-wire server + Redis; stops everything it started."""
    import uvicorn

    os.environ.setdefault("APP_ENV", AppEnv.DEVELOPMENT.value)
    if os.environ["APP_ENV"] == AppEnv.PRODUCTION.value:
        print("paygraph dev: not with APP_ENV=production; use serve + worker", file=sys.stderr)
        return 2
    for key, value in _persistent_dev_secrets().items():
        os.environ.setdefault(key, value)
    configure_logging(json_output=False, level=os.environ.get("LOG_LEVEL", "INFO"))
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    started: list[embedded.ManagedProcess] = []
    worker: subprocess.Popen[bytes] | None = None
    # SIGTERM during start-up must still stop what was started: make it an exception until
    # uvicorn installs its own handlers.
    # uvicorn restores this handler when it stops and re-raises the signal it caught, so a
    # SIGTERM always ends in the finally below.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        if not os.environ.get("MONGODB_URL"):
            mongo = embedded.start_mongo(DATA_DIR.resolve(), log_dir=LOG_DIR)
            started.append(mongo)
            os.environ["MONGODB_URL"] = mongo.url
            print(f"embedded MongoDB-wire server (SecantusDB) at {mongo.url}, data in {DATA_DIR}")
        if not os.environ.get("REDIS_URL"):
            redis = embedded.start_redis(log_dir=LOG_DIR)
            started.append(redis)
            os.environ["REDIS_URL"] = redis.url
            print(f"embedded Redis at {redis.url}")

        settings = load_settings()
        from app import build_token_service, create_app

        port = args.port if args.port is not None else settings.port
        embedded.write_dev_env(
            {
                "MONGODB_URL": settings.mongodb_url or "",
                "REDIS_URL": settings.redis_url or "",
                "JWT_SECRET": os.environ.get("JWT_SECRET", ""),
                "PAYGRAPH_URL": f"http://{settings.host}:{port}",
            }
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"],
            stdin=subprocess.DEVNULL,
            preexec_fn=embedded.die_with_parent,
        )
        app = create_app(settings)
        token = build_token_service(settings).mint("dev-customer", ttl_seconds=86400)
        admin = build_token_service(settings).mint("dev-admin", admin=True, ttl_seconds=86400)
        print(
            f"\npaygraph dev on http://{settings.host}:{port}\n"
            f"  GraphiQL:  http://{settings.host}:{port}/graphql\n"
            f"  customer token (24 h): {token}\n"
            f"  admin token (24 h):    {admin}\n"
            "  mint more: paygraph token --customer ID [--admin]\n"
            "  Ctrl-C stops everything started here.\n",
            flush=True,
        )
        config = uvicorn.Config(
            app, host=settings.host, port=port, log_config=None, ws="websockets-sansio"
        )
        uvicorn.Server(config).run()
        return 0
    except KeyboardInterrupt:
        return 130
    except (ConfigurationError, embedded.EmbeddedServiceError) as exc:
        print(f"paygraph dev: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if worker is not None:
            _stop_child(worker)
        for process in reversed(started):
            process.stop()
        embedded.DEV_ENV_FILE.unlink(missing_ok=True)
        print("paygraph dev: stopped", flush=True)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_child(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paygraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="API + worker + embedded MongoDB-wire server and Redis")
    dev.add_argument("--port", type=int, default=None)
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="the API only (production: several behind a balancer)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="the arq worker (webhooks, reconciliation, expiry)")
    worker.set_defaults(func=cmd_worker)

    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("--customer", required=True)
    token.add_argument("--admin", action="store_true")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    schema = sub.add_parser("schema", help="print the GraphQL SDL")
    schema.set_defaults(func=cmd_schema)

    rotate = sub.add_parser(
        "rotate-keys", help="re-encrypt saved payment tokens under the first ENCRYPTION_KEYS key"
    )
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(func=cmd_rotate_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except ConfigurationError as exc:
        print(f"paygraph: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)


if __name__ == "__main__":
    main()
