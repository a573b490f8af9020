"""Child process: serve the real app (or the bare baseline) with uvicorn on its own event loop.

Configured by the BENCH_SERVER_CONFIG environment variable (JSON, written by bench._harness):
kind ("app" | "bare" | "bare_webhook" | "bare_fanout" | "bare_flow"), port, settings (Settings keyword
arguments), instrument
(time Mongo, Redis and gateway calls per request; see bench._instrument), what_if (patches of
this process only, see bench._whatif) and profile (a path: run under cProfile and write the
stats there on shutdown). Started and stopped by bench._harness.Stack.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import signal
from typing import Any

import uvicorn

from infra.logging import configure_logging


def build(config: dict[str, Any]) -> Any:
    from settings import Settings

    settings = Settings(_env_file=None, **config["settings"])  # type: ignore[call-arg]
    if config["kind"] == "app":
        from app import create_app

        return create_app(settings)
    if config["kind"] == "bare_webhook":
        from bench.webhook_baseline import create_webhook_baseline_app

        return create_webhook_baseline_app(settings)
    if config["kind"] == "bare_fanout":
        from bench.baseline_fanout import create_fanout_baseline_app

        return create_fanout_baseline_app(settings)
    if config["kind"] == "bare_flow":
        from bench.baseline_flow import create_flow_baseline_app

        return create_flow_baseline_app(settings)
    from bench.baseline_app import create_baseline_app

    return create_baseline_app(settings)


def main() -> None:
    config = json.loads(os.environ["BENCH_SERVER_CONFIG"])
    configure_logging(json_output=False, level="WARNING")
    if config.get("what_if"):
        from bench import _whatif

        _whatif.apply(config["what_if"])
    app = build(config)
    if config.get("instrument"):
        from bench import _instrument

        _instrument.install()
        app = _instrument.Instrumented(app)
    # As `paygraph serve` runs it: defaults pick uvloop and httptools when installed.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=config["port"],
            log_config=None,
            proxy_headers=True,
            ws="websockets-sansio",
            lifespan="on",
            backlog=4096,
        )
    )
    profile_path = config.get("profile")
    if not profile_path:
        server.run()
        return
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default handler
    # that would kill us before the profile is written.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run()
    finally:
        profiler.disable()
        profiler.dump_stats(profile_path)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
        with open(profile_path + ".txt", "w") as out:
            out.write(text.getvalue())


if __name__ == "__main__":
    main()
