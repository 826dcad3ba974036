"""Fixtures for upstream tests: the scripted fake server, a Python workspace, process checks."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.notices import Level, Notices
from ai_lsp.upstream.manager import Backoff, UpstreamManager

FAKE = Path(__file__).resolve().parents[2] / "fakes" / "fake_upstream.py"
UTIL = '''\
def compute_total(items, discount=0.1):
    """Sum the prices of `items`, minus `discount`."""
    total = sum(item.price for item in items)
    return total * (1 - discount)


class Order:
    price: float = 0.0
'''
MAIN = """\
from util import Order, compute_total

orders = [Order()]
print(compute_total(orders))
"""

EVENTUALLY_S = 15.0
"""Longest wait for an expected state (a real server may take seconds to start)."""

needs_jedi = pytest.mark.skipif(
    shutil.which("jedi-language-server") is None, reason="jedi-language-server is not installed"
)


# The fake, also announcing that it follows workspace folder changes.
_FOLLOWING_FOLDERS = f"""
import sys
sys.path.insert(0, {str(FAKE.parent)!r})
import fake_upstream
fake_upstream.CAPABILITIES["workspace"] = {{
    "workspaceFolders": {{"supported": True, "changeNotifications": True}}
}}
fake_upstream.main()
"""


def fake_command(*modes: str, log: Path | None = None, folders: bool = False) -> list[str]:
    """Command line of the scripted fake server; `folders`: it takes
    `workspace/didChangeWorkspaceFolders` (as jedi-language-server and pyright do)."""
    program = ["-c", _FOLLOWING_FOLDERS] if folders else [str(FAKE)]
    return [sys.executable, *program, *modes, *(["--log", str(log)] if log else [])]


def read_log(log: Path) -> list[dict[str, Any]]:
    """Messages the fake received (and what it recorded)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_dead(pid: int, timeout: float = 2.0) -> bool:
    """Poll until `pid` is gone; False when it still lives after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until `check()` is true, failing the test after `EVENTUALLY_S` seconds."""
    deadline = time.monotonic() + EVENTUALLY_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {EVENTUALLY_S} s")
        await asyncio.sleep(0.02)


class Said:
    """A notices sink that records what the user was told."""

    def __init__(self) -> None:
        self.messages: list[tuple[Level, str]] = []

    def __call__(self, level: Level, message: str) -> None:
        self.messages.append((level, message))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A small Python project: `util.py` defines `compute_total`, `main.py` calls it."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.py").write_text(UTIL)
    (root / "main.py").write_text(MAIN)
    return root


@pytest.fixture
def said() -> Said:
    return Said()


@pytest.fixture
async def make_manager(
    workspace: Path, said: Said
) -> AsyncIterator[Callable[..., UpstreamManager]]:
    """`make_manager(command)`: a manager for `workspace` whose python server is `command`."""
    made: list[UpstreamManager] = []

    def make(command: list[str], **options: Any) -> UpstreamManager:
        settings = Settings(upstream={"python": UpstreamConfig(command=command)})
        options.setdefault("backoff", Backoff(first_s=0.05, max_s=0.2, max_crashes=3))
        options.setdefault("shutdown_grace", 0.5)
        manager = UpstreamManager(lambda: settings, workspace, Notices(said), **options)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.aclose()
