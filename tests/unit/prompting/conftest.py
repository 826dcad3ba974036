"""Byte-exact snapshot files; `AI_LSP_UPDATE_SNAPSHOTS=1` rewrites them from the code."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"

Snapshot = Callable[[str, str], None]


@pytest.fixture
def snapshot() -> Snapshot:
    """Compare text with `snapshots/<name>` (UTF-8, byte for byte) or rewrite it."""

    def check(name: str, actual: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("AI_LSP_UPDATE_SNAPSHOTS") == "1":
            path.write_bytes(actual.encode("utf-8"))
            return
        assert path.exists(), f"no snapshot {name}; run with AI_LSP_UPDATE_SNAPSHOTS=1 to write it"
        assert path.read_bytes().decode("utf-8") == actual, f"snapshot {name} differs"

    return check
