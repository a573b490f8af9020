"""`paygraph dev`: the API, a worker child process, and embedded MongoDB-wire server and
Redis when their URLs are unset; dev.env tells other commands where they are. Everything it
started stops with it (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys

from cryptography.fernet import Fernet

from cli.common import SECRETS_FILE, fail, generated_sandbox_env
from cli.serve import APP_FACTORY
from infra import embedded
from infra.logging import configure_logging
from settings import AppEnv, ConfigurationError, load_settings

DATA_DIR = embedded.STATE_DIR / "data"
LOG_DIR = embedded.STATE_DIR / "logs"


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

    from core import build_token_service

    os.environ.setdefault("APP_ENV", AppEnv.DEVELOPMENT.value)
    if os.environ["APP_ENV"] == AppEnv.PRODUCTION.value:
        return fail("dev", "not with APP_ENV=production; use serve + worker")
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

        # Generated sandbox credentials go to the environment and dev.env, so the worker, the
        # API's factory and `paygraph reconcile` beside this dev use its sandboxes' keys.
        generated = generated_sandbox_env(load_settings())
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
        config = uvicorn.Config(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=port,
            log_config=None,
            ws="websockets-sansio",
        )
        config.load()  # the app is built (or refuses its configuration) before the banner
        tokens = build_token_service(settings)
        token = tokens.mint("dev-customer", ttl_seconds=86400)
        admin = tokens.mint("dev-admin", admin=True, ttl_seconds=86400)
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
        uvicorn.Server(config).run()
        return 0
    except KeyboardInterrupt:
        return 130
    except (ConfigurationError, embedded.EmbeddedServiceError) as exc:
        return fail("dev", str(exc), 1)
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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser("dev", help="API + worker + embedded MongoDB-wire server and Redis")
    dev.add_argument("--port", type=int, default=None)
    dev.set_defaults(func=cmd_dev)
