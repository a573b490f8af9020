"""The `paygraph` command: dev, serve, worker, token, schema, reconcile, rotate-keys."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

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
    from core import build_token_service

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
    if args.port is not None:
        # The worker and the gateway adapters reach this server's sandboxes through PORT.
        os.environ["PORT"] = str(args.port)
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
        from app import create_app
        from core import build_token_service

        # Generated sandbox credentials go to the environment and dev.env, so the worker and
        # `paygraph reconcile` beside this dev talk to its sandboxes with the same keys.
        generated = _generated_sandbox_env(settings)
        os.environ.update(generated)
        settings = load_settings()
        port = args.port if args.port is not None else settings.port
        embedded.write_dev_env(
            {
                "MONGODB_URL": settings.mongodb_url or "",
                "REDIS_URL": settings.redis_url or "",
                "JWT_SECRET": os.environ.get("JWT_SECRET", ""),
                "PAYGRAPH_URL": f"http://{settings.host}:{port}",
                **generated,
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
            f"  sandbox gateways: http://{settings.host}:{port}/sandbox/razorpay and /sandbox/paypal"
            f" (Razorpay key {settings.razorpay_key_id}, PayPal client {settings.paypal_client_id};"
            f" secrets in {embedded.DEV_ENV_FILE})\n"
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


def _generated_sandbox_env(settings: Settings) -> dict[str, str]:
    """The test credentials the sandboxes would generate for unset gateway keys, by env name."""
    from core import sandbox_credentials

    filled = sandbox_credentials(settings)
    names = {
        "razorpay_key_id": "RAZORPAY_KEY_ID",
        "razorpay_key_secret": "RAZORPAY_KEY_SECRET",
        "razorpay_webhook_secret": "RAZORPAY_WEBHOOK_SECRET",
        "paypal_client_id": "PAYPAL_CLIENT_ID",
        "paypal_client_secret": "PAYPAL_CLIENT_SECRET",
        "paypal_webhook_id": "PAYPAL_WEBHOOK_ID",
    }
    return {
        env: str(getattr(filled, attr))
        for attr, env in names.items()
        if getattr(settings, attr) is None and getattr(filled, attr) is not None
    }


def cmd_reconcile(args: argparse.Namespace) -> int:
    """One reconciliation run from the terminal: progress on stderr, a summary on stdout.
    Exit 0: nothing needs a person; 1: issues or gateway errors to look at; 3: another run
    holds the lock."""
    import asyncio
    from urllib.parse import urlsplit

    from core import build_core
    from infra.db import init_models
    from models.enums import ReconciliationTrigger
    from models.errors import ReconciliationRunning, ValidationFailed
    from models.reconciliation import ReconciliationReport
    from services.reconciliation import parse_duration

    _adopt_dev_env()
    settings = _settings()
    try:
        since = parse_duration(args.since) if args.since else None
    except ValidationFailed as exc:
        print(f"paygraph reconcile: --since: {exc.message}", file=sys.stderr)
        return 2
    dev_url = os.environ.get("PAYGRAPH_URL")
    if dev_url and "PORT" not in os.environ and urlsplit(dev_url).port:
        # Beside `paygraph dev`: its sandboxes are mounted on its port.
        settings = settings.model_copy(update={"port": urlsplit(dev_url).port})
    bar = _ProgressBar(sys.stderr)

    async def run() -> ReconciliationReport:
        core = build_core(settings, serve_sandboxes=False)
        try:
            await init_models(core.mongo, core.settings.mongodb_db)
            return await core.reconciliation.reconcile(
                ReconciliationTrigger.CLI, since=since, dry_run=args.dry_run, progress=bar.update
            )
        finally:
            await core.aclose()

    try:
        report = asyncio.run(run())
    except ReconciliationRunning as exc:
        bar.close()
        print(f"paygraph reconcile: {exc.message}", file=sys.stderr)
        return 3
    bar.close()
    sys.stdout.write(reconcile_summary(report))
    return 1 if report.mismatches or report.gateway_errors else 0


class _ProgressBar:
    """`[#####-----] 120/400` redrawn in place on a terminal; every 10% otherwise."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._shown = -1
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        step = 100 if self._tty else 10
        mark = done * step // total if total else step
        if mark == self._shown:
            return
        self._shown = mark
        filled = self._width * done // total if total else self._width
        line = f"reconcile [{'#' * filled}{'-' * (self._width - filled)}] {done}/{total}"
        self._stream.write(("\r" + line) if self._tty else line + "\n")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def reconcile_summary(report: Any, *, max_fixes: int = 20) -> str:
    """The run as a person reads it: counts, then issues and fixes as tables."""
    took = (report.finished_at - report.started_at).total_seconds() if report.finished_at else 0.0
    title = "reconciliation " + (
        "DRY RUN - nothing was changed; counts say what a real run would do"
        if report.dry_run
        else f"report {report.id}"
    )
    counts = [
        ("payments checked", report.checked_payments),
        ("refunds checked", report.checked_refunds),
        ("recovered (-> COMPLETED)", report.recovered),
        ("expired", report.expired),
        ("failed attempts recorded", report.failed_attempts),
        ("refunds settled", report.refunds_settled),
        ("unchanged", report.unchanged),
        ("issues to review", len(report.mismatches)),
        ("gateway errors", report.gateway_errors),
    ]
    lines = [
        title,
        f"trigger {report.trigger.value}, started {report.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"took {took:.1f} s"
        + (f", since {report.since:%Y-%m-%d %H:%M:%S} UTC" if report.since else ""),
        "",
        _table(("", "count"), [(name, str(value)) for name, value in counts]),
    ]
    for heading, findings, limit in (
        ("Issues (reported, not changed)", report.mismatches, None),
        ("Fixes" + (" (would apply)" if report.dry_run else ""), report.fixed, max_fixes),
    ):
        if not findings:
            continue
        shown = findings if limit is None else findings[:limit]
        rows = [
            (
                f.kind,
                str(f.payment_id or ""),
                f.order_id or "",
                f.gateway.value if f.gateway else "",
                f.gateway_refund_id or f.gateway_payment_id or f.gateway_order_id or "",
                f.expected or "",
                f.actual or "",
                f.action or "",
            )
            for f in shown
        ]
        lines += [
            "",
            f"{heading}:",
            _table(
                (
                    "kind",
                    "payment",
                    "order",
                    "gateway",
                    "gateway id",
                    "gateway says",
                    "we had",
                    "action",
                ),
                rows,
            ),
        ]
        hidden = (
            len(findings)
            - len(shown)
            + (report.fixed_not_listed if findings is report.fixed else 0)
        )
        if hidden:
            lines.append(f"  ... and {hidden} more")
    if report.errors:
        lines += ["", "Gateway errors:", *(f"  {error}" for error in report.errors)]
    return "\n".join(lines) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  " + "  ".join("-" * w for w in widths))
    out += [
        "  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(out)


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


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Both sandbox gateways standalone, under /sandbox/razorpay and /sandbox/paypal."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
    from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

    _adopt_dev_env()
    settings = _settings()
    if settings.is_production:
        print("paygraph sandbox: not with APP_ENV=production", file=sys.stderr)
        return 2
    generated = _generated_sandbox_env(settings)
    os.environ.update(generated)
    settings = load_settings()
    assert settings.razorpay_key_id and settings.razorpay_key_secret
    assert settings.paypal_client_id and settings.paypal_client_secret
    webhooks = settings.webhook_url
    razorpay = create_razorpay_sandbox(
        RazorpaySandboxConfig(
            key_id=settings.razorpay_key_id,
            key_secret=settings.razorpay_key_secret,
            webhook_secret=settings.razorpay_webhook_secret,
            webhook_url=f"{webhooks}/razorpay" if webhooks else None,
        )
    )
    paypal = create_paypal_sandbox(
        PayPalSandboxConfig(
            client_id=settings.paypal_client_id,
            client_secret=settings.paypal_client_secret,
            webhook_id=settings.paypal_webhook_id or "WH-SANDBOX",
            webhook_url=f"{webhooks}/paypal" if webhooks else None,
        )
    )
    app = Starlette(
        routes=[Mount("/sandbox/razorpay", app=razorpay), Mount("/sandbox/paypal", app=paypal)]
    )
    print(
        f"sandbox gateways on http://{settings.host}:{args.port}/sandbox/razorpay and /sandbox/paypal\n"
        f"  RAZORPAY_KEY_ID={settings.razorpay_key_id} PAYPAL_CLIENT_ID={settings.paypal_client_id}"
        f" (secrets: set them in the environment, or see .paygraph/dev.env)\n"
        f"  webhooks go to {webhooks or 'nowhere (WEBHOOK_URL is unset)'}",
        flush=True,
    )
    uvicorn.run(app, host=settings.host, port=args.port, log_config=None)
    return 0


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

    sandbox = sub.add_parser("sandbox", help="both sandbox gateways standalone (development)")
    sandbox.add_argument("--port", type=int, required=True)
    sandbox.set_defaults(func=cmd_sandbox)

    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("--customer", required=True)
    token.add_argument("--admin", action="store_true")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)

    schema = sub.add_parser("schema", help="print the GraphQL SDL")
    schema.set_defaults(func=cmd_schema)

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
