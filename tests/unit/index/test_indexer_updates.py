"""Debounced index updates: a burst of changes becomes one batch, never two runs at once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from ai_lsp.index.updates import UpdateQueue


class Recorder:
    def __init__(self, seconds: float = 0.0) -> None:
        self.batches: list[list[Path]] = []
        self.seconds = seconds
        self.active = 0
        self.overlapped = False
        self.lock = threading.Lock()

    def __call__(self, paths: list[Path]) -> None:
        with self.lock:
            self.active += 1
            self.overlapped |= self.active > 1
        time.sleep(self.seconds)
        self.batches.append(paths)
        with self.lock:
            self.active -= 1


async def test_a_burst_of_changes_is_indexed_once() -> None:
    recorder = Recorder()
    queue = UpdateQueue(recorder, delay=0.05)

    for i in range(50):
        queue.add([f"f{i}.py", "same.py"])
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.2)

    assert len(recorder.batches) == 1
    assert len(recorder.batches[0]) == 51


async def test_changes_during_a_run_make_a_second_batch_after_it() -> None:
    recorder = Recorder(seconds=0.1)
    queue = UpdateQueue(recorder, delay=0.01)

    queue.add(["a.py"])
    await asyncio.sleep(0.05)  # the first run is now in its thread
    queue.add(["b.py"])
    queue.add(["c.py"])
    await asyncio.sleep(0.4)

    assert recorder.batches == [[Path("a.py")], [Path("b.py"), Path("c.py")]]
    assert not recorder.overlapped


async def test_a_steady_stream_is_still_indexed_within_max_wait() -> None:
    recorder = Recorder()
    queue = UpdateQueue(recorder, delay=0.05, max_wait=0.15)

    started = time.monotonic()
    while not recorder.batches and time.monotonic() - started < 1.0:
        queue.add(["busy.py"])
        await asyncio.sleep(0.01)

    assert recorder.batches
    assert time.monotonic() - started < 0.5


async def test_flush_runs_pending_changes_now_and_failures_are_logged() -> None:
    def fail(paths: list[Path]) -> None:
        raise OSError("disk full")

    queue = UpdateQueue(fail, delay=10)
    queue.add(["x.py"])
    await queue.flush()  # logs the error instead of raising into the server
    recorder = Recorder()
    queue = UpdateQueue(recorder, delay=10)
    queue.add(["y.py"])
    await queue.flush()
    assert recorder.batches == [[Path("y.py")]]


async def test_maintenance_runs_once_the_changes_stop() -> None:
    recorder = Recorder()
    tidied: list[float] = []
    queue = UpdateQueue(
        recorder, idle=lambda: tidied.append(time.monotonic()), delay=0.01, idle_delay=0.1
    )

    queue.add(["a.py"])
    await asyncio.sleep(0.06)
    queue.add(["b.py"])  # within idle_delay of the first run: no maintenance yet
    await asyncio.sleep(0.06)
    assert tidied == []
    await asyncio.sleep(0.15)

    assert len(recorder.batches) == 2
    assert len(tidied) == 1
