"""Debounced, batched index updates for ``didSave`` and ``didChangeWatchedFiles``: paths are
collected on the event loop and indexed together in a worker thread once changes pause;
after a longer pause the index is tidied (full-text index merge, compaction).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

__all__ = ["UpdateQueue"]

log = logging.getLogger(__name__)


class UpdateQueue:
    """Runs ``update(paths)`` (blocking, e.g. `Indexer.update_paths`) in a thread with every
    path changed since the last run, ``delay`` seconds after the last change, or at most
    ``max_wait`` after the first one; never two runs at once. ``idle`` (e.g.
    `Indexer.maintain`) runs once ``idle_delay`` seconds pass with no change after a run."""

    def __init__(
        self,
        update: Callable[[list[Path]], object],
        *,
        idle: Callable[[], object] | None = None,
        delay: float = 0.3,
        max_wait: float = 2.0,
        idle_delay: float = 5.0,
    ) -> None:
        self._update = update
        self._idle = idle
        self._delay = delay
        self._max_wait = max_wait
        self._idle_delay = idle_delay
        self._pending: set[Path] = set()
        self._first_change = 0.0
        self._timer: asyncio.Task[None] | None = None
        self._running = asyncio.Lock()

    def add(self, paths: Iterable[Path | str]) -> None:
        """Note changed files; call on the event loop (cheap, never blocks)."""
        new = {Path(path) for path in paths}
        if not new:
            return
        if not self._pending:
            self._first_change = time.monotonic()
        self._pending |= new
        wait = min(self._delay, self._first_change + self._max_wait - time.monotonic())
        self._schedule(self._after(max(wait, 0.0)))

    async def flush(self) -> None:
        """Index everything pending now and wait for it (shutdown, tests)."""
        self._schedule(None)
        await self._run_update()

    def _schedule(self, waiter: Coroutine[Any, Any, None] | None) -> None:
        """Replace the waiting timer; a run already under way is shielded from this."""
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None if waiter is None else asyncio.get_running_loop().create_task(waiter)

    async def _after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        # From here a new change must not cancel the run, only queue the next one.
        await asyncio.shield(self._run_update())
        if self._idle is not None and not self._pending:
            self._schedule(self._when_idle(self._idle))

    async def _when_idle(self, idle: Callable[[], object]) -> None:
        await asyncio.sleep(self._idle_delay)
        async with self._running:
            await asyncio.shield(_in_thread(idle))

    async def _run_update(self) -> None:
        async with self._running:
            paths, self._pending = sorted(self._pending), set()
            if paths:
                await _in_thread(self._update, paths)


async def _in_thread(work: Callable[..., object], *args: object) -> None:
    try:
        await asyncio.to_thread(work, *args)
    except Exception:
        log.exception("updating the index failed")
