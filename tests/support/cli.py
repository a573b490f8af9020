"""Running the `paygraph` command as a user does: a subprocess, from a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PAYGRAPH = [sys.executable, "-m", "cli"]


def run(args, env=None, cwd=None, timeout=60):
    return subprocess.run(
        PAYGRAPH + args, capture_output=True, text=True, env=env, cwd=cwd or REPO, timeout=timeout
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGODB_", "REDIS_", "JWT_", "APP_ENV"))
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env
