"""Serve an ASGI app with uvicorn on a free loopback port: in the test's event loop (`serve`),
or from a thread with a loop of its own (`serve_in_thread`), for synchronous clients such as
the razorpay SDK, which would deadlock the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from infra.embedded import free_port


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server


@contextlib.asynccontextmanager
async def serve(app: Any, *, port: int | None = None) -> AsyncIterator[RunningServer]:
    """Serve an ASGI app with uvicorn on a loopback port inside the test's event loop."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        server.should_exit = True
        await task
        raise RuntimeError("test server did not start")
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def serve_in_thread(
    build: Callable[[str], Any], *, name: str = "test-server", lifespan: str = "on"
) -> Iterator[str]:
    """Serve `build(base_url)` on 127.0.0.1:<free port> from a background thread until the
    block exits; yield base_url (so an app can know its own URL, e.g. to send itself webhooks)."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every response stalls ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        build(base_url),
        log_config=None,
        lifespan=lifespan,
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"{name} server did not start")
        time.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
