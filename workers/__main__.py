"""`python -m workers`: one worker process (what `paygraph worker` execs). Settings come from
the environment and .env; SIGINT and SIGTERM stop it after the running jobs (arq's handlers)."""

from __future__ import annotations

import sys

from arq.worker import Worker

from infra.logging import configure_logging
from settings import ConfigurationError, load_settings
from workers.logs import quiet_routine_crons
from workers.settings import build_worker_settings, routine_cron_names


def main() -> int:
    try:
        settings = load_settings()
        configure_logging(json_output=settings.is_production, level=settings.log_level)
        options = build_worker_settings(settings)
        quiet_routine_crons(routine_cron_names(options))
        Worker(**options).run()
    except ConfigurationError as exc:
        print(f"paygraph: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
