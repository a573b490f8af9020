"""`paygraph listen` as a developer runs it: a subprocess on the suite's MongoDB, forwarding
each new event, signed with the secret it printed, to a receiver on a loopback port."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest

from models.events_out import EventType
from services.events_out.outbox import OutboxRelay
from tests.services.events_out.test_deliveries import events
from tests.support.cli import PAYGRAPH, REPO, clean_env, run
from tests.support.receiver import running_receiver


async def read_line(process, pattern: str, timeout: float = 20.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        line = await asyncio.wait_for(process.stdout.readline(), deadline - loop.time())
        text = line.decode()
        if re.search(pattern, text):
            return text
    raise AssertionError(f"no line matching {pattern!r}")


class TestListen:
    @pytest.mark.timeout(60)
    async def test_forwards_new_events_signed_with_the_session_secret(self, mongo_db, settings):
        async with running_receiver() as receiver:
            process = await asyncio.create_subprocess_exec(
                *PAYGRAPH,
                "listen",
                "--forward-to",
                receiver.url,
                "--events",
                "payment.completed",
                cwd=REPO,
                env=clean_env(
                    MONGODB_URL=settings.mongodb_url,
                    MONGODB_DB=settings.mongodb_db,
                    REDIS_URL=settings.redis_url,
                    APP_ENV="test",
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                ready = await read_line(process, r"signing secret is whsec_")
                receiver.secrets.append(ready.strip().rsplit(" ", 1)[1])
                await read_line(process, r"Forwarding events to")
                [completed] = events(1)
                refunded = completed.model_copy(
                    update={"id": completed.id + "X", "type": EventType.REFUND_CREATED}
                )
                # What the relay stores (no endpoint: nothing is queued).
                await OutboxRelay(queue=None).publish([completed, refunded])  # type: ignore[arg-type]
                line = await read_line(process, completed.id)
                [arrival] = await receiver.wait_for(1)
            finally:
                process.terminate()
                await process.wait()
        assert "payment.completed" in line and " 200 " in line and line.rstrip().endswith("ms")
        assert arrival.headers["webhook-id"] == completed.id
        assert arrival.verified["type"] == "payment.completed"  # verified with that secret
        assert [a.headers["webhook-id"] for a in receiver.arrivals] == [completed.id]

    def test_an_unknown_type_is_refused(self, settings):
        result = run(
            ["listen", "--forward-to", "http://127.0.0.1:9/", "--events", "payment.paid"],
            env=clean_env(MONGODB_URL=settings.mongodb_url, APP_ENV="test"),
        )
        assert result.returncode == 2 and "unknown event type" in result.stderr

    def test_refused_in_production(self):
        result = run(
            ["listen", "--forward-to", "http://127.0.0.1:9/"],
            env=clean_env(APP_ENV="production"),
        )
        assert result.returncode != 0


def test_the_command_is_listed():
    assert (
        "listen"
        in subprocess.run(
            [sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, cwd=REPO
        ).stdout
    )
