"""Injected faults: a matching request is answered with an error and/or late, either without
touching state ("before") or after it was fully processed ("after": the gateway acted but the
caller cannot know). Each gateway's `/_control` creates the faults and says how its error
answer looks; matching and the ASGI middleware are the same for both."""

from __future__ import annotations

import asyncio
import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateways.sandbox.common.http import route_path

Phase = Literal["before", "after"]


@dataclass(slots=True)
class Fault:
    path: str  # fnmatch pattern on the path below the mount point
    method: str | None  # upper case; None: any
    status: int | None  # None: answer normally (a pure delay)
    delay: float
    count: int  # how many more requests it applies to
    phase: Phase
    retry_after: str | None = None
    html: bool = False
    skip: int = 0  # let this many matching requests through first
    rate: float | None = None  # apply to this share of matching requests (seeded), not all
    rng: random.Random | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(
            path, self.path
        )


def take_fault(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The fault this request meets, if any, counted down (and forgotten once used up)."""
    for fault in faults:
        if fault.count <= 0 or not fault.matches(method, path):
            continue
        if fault.skip > 0:  # let this one through untouched
            fault.skip -= 1
            return None
        if fault.rate is not None and fault.rng is not None and fault.rng.random() >= fault.rate:
            continue  # not this time; another fault may still apply
        fault.count -= 1
        if fault.count <= 0:
            faults.remove(fault)
        return fault
    return None


class FaultInjector:
    """ASGI middleware applying the sandbox's faults to every path but `/_control`."""

    def __init__(
        self,
        app: ASGIApp,
        faults: Callable[[], list[Fault]],
        answer: Callable[[Fault], Response],
    ) -> None:
        self.app = app
        self.faults = faults
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        fault = (
            None if path in ("", "/_control") else take_fault(self.faults(), scope["method"], path)
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.phase == "before":
            # Read the request first: a delayed request still lands after its sender gave up.
            chunks: list[Message] = []
            while not chunks or chunks[-1].get("more_body", False):
                chunks.append(await receive())
                if chunks[-1]["type"] != "http.request":
                    return
            await asyncio.sleep(fault.delay)

            async def replay() -> Message:
                return chunks.pop(0) if chunks else {"type": "http.disconnect"}

            if fault.status is None:
                await self.app(scope, replay, send)
            else:
                await self.answer(fault)(scope, replay, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(fault.delay)
        if fault.status is not None:
            await self.answer(fault)(scope, receive, send)
            return
        for message in held:
            await send(message)
