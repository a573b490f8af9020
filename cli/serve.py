"""`paygraph serve`, `paygraph worker` and `paygraph sandbox`: the long-running processes.

The CLI never imports `app` or `workers`: the three meet only in `core`. So the API is handed
to uvicorn as the import string of app.py's factory (`APP_FACTORY`, uvicorn's own factory mode,
in this process), and `paygraph worker` becomes the worker: after reading dev.env and checking
the configuration it execs `python -m workers`, arq's worker behind its own entry point. The
exec keeps the process id, so signals (SIGINT, SIGTERM, and SIGKILL from a supervisor) and the
exit code are the worker's, exactly as if it had been called directly; no parent is left
between a supervisor and the worker.
"""

from __future__ import annotations

import argparse
import os
import sys

from cli.common import adopt_dev_env, fail, generated_sandbox_env, load_cli_settings
from settings import load_settings

# app.py's factory: Settings from the environment this command prepared.
APP_FACTORY = "app:create_app_from_env"
WORKER_ARGV = [sys.executable, "-m", "workers"]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    adopt_dev_env()
    settings = load_cli_settings()
    port = args.port if args.port is not None else settings.port
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host or settings.host,
        port=port,
        log_config=None,
        proxy_headers=True,
        ws="websockets-sansio",
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    adopt_dev_env()
    # Refuse a bad configuration here, with the CLI's message and exit code.
    load_settings()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(WORKER_ARGV[0], WORKER_ARGV)  # noqa: S606 - our own interpreter and module


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Both sandbox gateways standalone, under /sandbox/razorpay and /sandbox/paypal."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
    from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

    adopt_dev_env()
    settings = load_cli_settings()
    if settings.is_production:
        return fail("sandbox", "not with APP_ENV=production")
    os.environ.update(generated_sandbox_env(settings))
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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="the API only (production: several behind a balancer)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="the arq worker (webhooks, reconciliation, expiry)")
    worker.set_defaults(func=cmd_worker)

    sandbox = sub.add_parser("sandbox", help="both sandbox gateways standalone (development)")
    sandbox.add_argument("--port", type=int, required=True)
    sandbox.set_defaults(func=cmd_sandbox)
