"""Child process: the real arq worker, as `paygraph worker` (cli.cmd_worker) runs it:
`arq.worker.Worker(**workers.settings.build_worker_settings(settings))`, with the settings of
the bench's app server (BENCH_SERVER_CONFIG, written by bench._harness; its `port` is the API's,
so the worker's gateway adapters talk to the sandbox mounted on that API server).
Started and stopped by bench._harness.Stack.start_worker.
"""

from __future__ import annotations

import json
import os

from arq.worker import Worker

from infra.logging import configure_logging


def main() -> None:
    from settings import Settings
    from workers.settings import build_worker_settings

    config = json.loads(os.environ["BENCH_SERVER_CONFIG"])
    configure_logging(json_output=False, level="WARNING")
    settings = Settings(_env_file=None, **config["settings"])  # type: ignore[call-arg]
    Worker(**build_worker_settings(settings)).run()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
