"""`paygraph schema` prints the SDL committed in schema.graphql."""

from __future__ import annotations

from tests.support.cli import REPO, run


class TestSchemaCommand:
    def test_prints_the_committed_sdl(self):
        result = run(["schema"])
        assert result.returncode == 0, result.stderr
        assert result.stdout == (REPO / "schema.graphql").read_text(), (
            "schema.graphql is stale: run `make schema` and commit it"
        )
