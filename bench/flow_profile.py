"""Where the API's CPU goes in a checkout flow, from bench.flow_cpu --sample's py-spy samples.

Each sample (a collapsed stack) is charged to the innermost frame that belongs to one of the
layers below, so a pydantic validation called by Beanie counts as Beanie and one called by
Strawberry as GraphQL, and asyncio frames count for the library that awaited them; samples
are also split by the mutation they ran under (background tasks, such as the batched change
notices and outbox nudges, and the HTTP/GraphQL pipeline around the resolvers are "outside").
py-spy counts a thread that is runnable as active, so on a loaded machine the shares are of
CPU plus waiting for a core; read them as proportions, not milliseconds.

    .venv/bin/python -m bench.flow_profile [bench/results/flow_cpu.app.pyspy.txt]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from bench._harness import RESULTS, table

# (layer, top folders or files of a frame's path as py-spy prints it); innermost match wins
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("pymongo/bson", ("pymongo/", "bson/")),
    ("httpx/httpcore (gateway calls)", ("httpx/", "httpcore/", "h11/", "anyio/", "sniffio/")),
    ("redis-py/arq", ("redis/", "arq/", "hiredis/")),
    ("Beanie/pydantic documents", ("beanie/", "lazy_model/", "models/")),
    ("pydantic (other callers)", ("pydantic/", "pydantic_core/")),
    ("JWT/crypto", ("jwt/", "cryptography/")),
    ("services/gateways (paygraph)", ("services/", "gateways/")),
    ("GraphQL/Strawberry pipeline", ("strawberry/", "graphql/", "schema/", "resolvers/")),
    (
        "HTTP server/middleware",
        ("starlette/", "uvicorn/", "httptools/", "app.py", "infra/", "prometheus_client/"),
    ),
    ("asyncio/uvloop", ("asyncio/", "uvloop/")),
]
LOOP = "asyncio/uvloop"
# py-spy sees no Python frame below the loop: uvloop's own C work (socket reads and writes,
# callbacks), and samples of the process runnable but waiting for a core (this 2-core machine
# is shared), which py-spy cannot tell from running
LOOP_NATIVE = "event loop, native (uvloop I/O; also runnable-but-waiting)"


def layer_of(frame: str) -> str | None:
    """`func (path/to/file.py:123)` -> its layer, or None (stdlib and the rest)."""
    path = frame[frame.rfind("(") + 1 :]
    for name, prefixes in LAYERS:
        if path.startswith(prefixes):
            return name
    return None


def split(path: Path) -> tuple[Counter[str], Counter[str], int]:
    by_layer: Counter[str] = Counter()
    by_operation: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        # below the loop's run (the server's start-up frames above it are in every sample)
        inner = next(
            (frames[i + 1 :] for i, f in enumerate(frames) if f.startswith("Runner.run ")), frames
        )
        layers = [x for x in map(layer_of, reversed(inner)) if x]
        # asyncio frames count for the library that awaited them (a Redis write's
        # StreamWriter.writelines is Redis); only samples in the loop alone stay the loop's
        charged = next((x for x in layers if x != LOOP), layers[0] if layers else "other")
        if not inner:
            charged = LOOP_NATIVE
        by_layer[charged] += count
        if any("initiate_payment" in f for f in frames):
            by_operation["initiatePayment"] += count
        elif any("verify_payment" in f for f in frames):
            by_operation["verifyPayment"] += count
        else:
            by_operation["outside the resolvers"] += count
    return by_layer, by_operation, total


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "flow_cpu.app.pyspy.txt"
    by_layer, by_operation, total = split(path)
    for title, counts in (("layer", by_layer), ("operation", by_operation)):
        print(
            table(
                [title, "samples", "share %"],
                [[name, n, round(100 * n / total, 1)] for name, n in counts.most_common()],
            )
        )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
