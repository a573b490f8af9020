"""One Redis pub/sub connection per process, shared by every live subscription.

A subscription costs a `Listener` (a mailbox holding the newest notice per record and a wake-up
event), not a connection: the channel is subscribed when its first listener joins and
unsubscribed when its last one leaves, and each message is parsed once and handed to every
listener of its channel.

When the connection is lost, the reader reconnects with backoff and subscribes every channel
again; once a channel is confirmed again, each of its listeners is told to re-read (a message
published while we were away is lost, the record is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError, RedisError

log = logging.getLogger("paygraph.events")

# How long one read of the shared connection waits before looking again (not a heartbeat:
# it keeps the read below any socket timeout the client was configured with).
POLL_SECONDS = 1.0
RECONNECT_FIRST, RECONNECT_MAX = 0.1, 5.0


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    id: str
    status: str
    version: int


class Listener:
    """One subscription's mailbox. Notices are coalesced per record (the newest version wins:
    subscribers re-read the record, so an older notice says nothing a newer one does not)."""

    __slots__ = ("_notices", "_resync", "_wake", "channel")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._notices: dict[str, ChangeNotice] = {}
        self._resync = False
        self._wake = asyncio.Event()

    def deliver(self, notice: ChangeNotice) -> None:
        held = self._notices.get(notice.id)
        if held is None or notice.version > held.version:
            self._notices[notice.id] = notice
        self._wake.set()

    def resync(self) -> None:
        self._resync = True
        self._wake.set()

    async def wait(self, seconds: float) -> bool:
        """True if something arrived within `seconds`."""
        if self._wake.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        return self._wake.is_set()

    def take(self) -> tuple[bool, list[ChangeNotice]]:
        """(re-read needed, notices), emptying the mailbox."""
        resync, notices = self._resync, list(self._notices.values())
        self._resync = False
        self._notices.clear()
        self._wake.clear()
        return resync, notices


@dataclass(eq=False)
class _Channel:
    """One channel's listeners on the current connection; replaced when the channel is
    dropped and subscribed again, so a late reply for an earlier incarnation confirms nothing
    of this one."""

    name: str
    listeners: set[Listener] = field(default_factory=set)
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    lost: bool = False  # a connection was lost while listeners were here: re-read on confirm


class Fanout:
    def __init__(self, redis: Redis, *, join_timeout: float = 5.0) -> None:
        """`redis` gives the one pub/sub connection (read with short polls, so any client
        configuration works). A join waits at most `join_timeout` seconds for its channel to
        be subscribed, then raises ConnectionError."""
        self._redis = redis
        self._join_timeout = join_timeout
        self._channels: dict[str, _Channel] = {}
        # The incarnation each SUBSCRIBE sent on the current connection was for, in order:
        # Redis answers them in order, so each reply confirms the leftmost.
        self._awaiting: dict[str, deque[_Channel]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # orders commands with their bookkeeping
        self._connected = asyncio.Event()

    @property
    def channels(self) -> int:
        return len(self._channels)

    @property
    def listeners(self) -> int:
        return sum(len(channel.listeners) for channel in self._channels.values())

    async def join(self, channel: str) -> Listener:
        """A listener on `channel`, returned once the channel is subscribed."""
        self._start()
        listener = Listener(channel)
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = _Channel(channel)
            entry.listeners.add(listener)
            await self._send("SUBSCRIBE", entry)
        else:
            entry.listeners.add(listener)
        try:
            async with asyncio.timeout(self._join_timeout):
                await entry.confirmed.wait()
        except TimeoutError:
            self.leave(listener)
            raise ConnectionError(f"could not subscribe to {channel}: Redis unreachable") from None
        except BaseException:
            self.leave(listener)
            raise
        return listener

    def leave(self, listener: Listener) -> None:
        entry = self._channels.get(listener.channel)
        if entry is None or listener not in entry.listeners:
            return
        entry.listeners.discard(listener)
        if not entry.listeners:
            del self._channels[listener.channel]
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # the loop is gone, and the connection with it
                return
            # Unsubscribing is not awaited by anyone: a leaving subscriber must not block on it.
            task = loop.create_task(self._send("UNSUBSCRIBE", entry))
            task.add_done_callback(_log_failure)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_connection()

    # --- the connection ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._run())

    async def _send(self, command: str, entry: _Channel) -> None:
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or not self._connected.is_set():
                return  # the reader subscribes every live channel when it (re)connects
            try:
                if command == "SUBSCRIBE":
                    if self._channels.get(entry.name) is not entry:
                        return  # left before we got here
                    self._awaiting.setdefault(entry.name, deque()).append(entry)
                    await pubsub.subscribe(entry.name)
                elif entry.name not in self._channels:  # nobody joined again meanwhile
                    await pubsub.unsubscribe(entry.name)
            except (RedisError, OSError) as exc:
                # The reader sees the same failure and reconnects.
                log.warning("pub/sub %s %s failed: %s", command, entry.name, exc)

    async def _run(self) -> None:
        """Connect, read, and on a lost connection reconnect with backoff; return when no
        channel is left (the next join starts a reader again), so an idle process holds no
        connection."""
        delay = RECONNECT_FIRST
        while True:
            failed = False
            try:
                await self._connect()
                delay = RECONNECT_FIRST
                await self._read()
            except (RedisError, OSError) as exc:
                failed = True
                log.warning("pub/sub connection lost (%s); reconnecting in %.1fs", exc, delay)
            await self._drop_connection()
            if not self._channels:
                return
            if failed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    async def _connect(self) -> None:
        pubsub = self._redis.pubsub()
        async with self._lock:
            self._pubsub = pubsub
            self._awaiting.clear()
            await pubsub.connect()  # type: ignore[no-untyped-call]
            self._connected.set()
            entries = list(self._channels.values())
            for entry in entries:
                self._awaiting.setdefault(entry.name, deque()).append(entry)
            if entries:
                await pubsub.subscribe(*(entry.name for entry in entries))

    async def _drop_connection(self) -> None:
        async with self._lock:
            self._connected.clear()
            self._awaiting.clear()
            for entry in self._channels.values():
                if entry.confirmed.is_set():
                    entry.confirmed.clear()
                    entry.lost = True
            pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        while True:
            message = await pubsub.get_message(timeout=POLL_SECONDS)
            if message is None:
                if not self._channels:
                    return  # idle
                continue
            kind, name = message["type"], _text(message["channel"])
            if kind == "message":
                self._dispatch(name, message["data"])
            elif kind == "subscribe":
                self._confirm(name)

    def _confirm(self, name: str) -> None:
        awaiting = self._awaiting.get(name)
        if not awaiting:
            return
        entry = awaiting.popleft()
        if not awaiting:
            del self._awaiting[name]
        if self._channels.get(name) is not entry:
            return  # dropped (and perhaps joined again as a new incarnation) meanwhile
        entry.confirmed.set()
        if entry.lost:
            entry.lost = False
            for listener in entry.listeners:
                listener.resync()

    def _dispatch(self, name: str, data: bytes | str) -> None:
        entry = self._channels.get(name)
        if entry is None:
            return
        try:
            body = json.loads(data)
            notice = ChangeNotice(str(body["id"]), str(body["status"]), int(body["version"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed notice on %s", name)
            return
        for listener in entry.listeners:
            listener.deliver(notice)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return value or ""


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("pub/sub unsubscribe failed: %s", task.exception())
