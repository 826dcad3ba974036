"""Upstream server processes: each in its own process group, none outliving ai-lsp.

On Linux the child also asks the kernel for SIGKILL when ai-lsp dies (PR_SET_PDEATHSIG),
which covers SIGKILL of ai-lsp itself; process groups still alive at exit are killed.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Spawned", "forget", "kill_all", "kill_group", "signal_group", "start"]

_PR_SET_PDEATHSIG = 1
_groups: set[int] = set()


@dataclass(frozen=True, slots=True)
class Spawned:
    """A started server: its process (with streams), the transport, and its exit."""

    process: asyncio.subprocess.Process
    transport: asyncio.SubprocessTransport
    exited: asyncio.Future[None]
    """Done when the process exits, even while a child of it still holds its pipes open."""


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Streams plus the exit itself: in Python 3.11 `Process.wait()` returns only once every
    pipe is closed, which never happens while a child of the server keeps one open."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


async def start(command: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> Spawned:
    """Start `command` with piped stdio in a new session (its pid is its process group id)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(loop),
        command[0],
        *command[1:],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    )
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    _groups.add(proc.pid)
    return Spawned(proc, transport, protocol.exited)


def signal_group(pgid: int, *, terminate: bool) -> None:
    """Send SIGTERM (or SIGKILL) to a process group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM if terminate else signal.SIGKILL)


def kill_group(pgid: int) -> None:
    """SIGKILL every process left in the group."""
    signal_group(pgid, terminate=False)


def forget(pgid: int) -> None:
    """The group's leader has been reaped: do not signal that id at exit."""
    _groups.discard(pgid)


@atexit.register
def kill_all() -> None:
    """SIGKILL every group still running (at exit, and when ai-lsp must exit at once)."""
    for pgid in list(_groups):
        kill_group(pgid)


def _die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGKILL when this process dies (Linux only).

    The signal follows the thread that forked, which is the event loop's thread here.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = _prctl()
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@functools.cache
def _prctl() -> Callable[[int, int], int]:
    """libc's prctl, loaded before any fork (loading a library in the child is unsafe)."""
    prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl
