"""What-if patches, applied inside a benchmark's server process only (`--what-if a,b`), to measure
what a fix of a hot spot found by these benchmarks would buy. They never touch the files of the
service; results measured with them are labelled as such and are not the service's figures.

- redis_pool: redis-py 5.3's asyncio ConnectionPool.get_connection holds the pool's lock while
  it checks the connection (`can_read_destructive` awaits a zero timeout, i.e. a trip around the
  event loop; a new connection is even connected under the lock). Every Redis command of the
  process queues on that lock. The patch takes the connection under the lock and checks it
  outside, as BlockingConnectionPool already does.
- sniffio: httpcore runs `import sniffio` for each lock it creates; sniffio is not installed,
  so each is a failed import (a sys.path search). The patch makes the miss immediate.
"""

from __future__ import annotations

import sys
from typing import Any

AVAILABLE = ("redis_pool", "sniffio")


def apply(names: list[str]) -> None:
    for name in names:
        if name not in AVAILABLE:
            raise ValueError(f"unknown what-if {name!r}; choose from {', '.join(AVAILABLE)}")
        globals()[f"_{name}"]()


def _redis_pool() -> None:
    from redis.asyncio.connection import ConnectionPool

    async def get_connection(
        self: Any, command_name: Any = None, *keys: Any, **options: Any
    ) -> Any:
        async with self._lock:
            connection = self.get_available_connection()
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    ConnectionPool.get_connection = get_connection  # type: ignore[method-assign]


def _sniffio() -> None:
    import importlib.util

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
