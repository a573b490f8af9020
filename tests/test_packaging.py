"""The top-level packages are this repository's, not same-named distributions from PyPI."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name",
    [
        "schema",
        "models",
        "services",
        "resolvers",
        "gateways",
        "workers",
        "infra",
        "app",
        "settings",
        "cli",
    ],
)
def test_imports_from_this_repository(name):
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO), module.__file__
