"""Adaptive debounce and latest-wins scopes."""

from __future__ import annotations

import asyncio

import pytest

from ai_lsp.completion.scheduling import MAX_DEBOUNCE_S, QUICK_S, LatestWins, TypingRhythm


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def typed(interval_s: float, keys: int = 10) -> tuple[TypingRhythm, Clock]:
    clock = Clock()
    rhythm = TypingRhythm(clock)
    for _ in range(keys):
        rhythm.keystroke("u")
        clock.now += interval_s
    clock.now -= interval_s  # a request arrives right after the last key
    return rhythm, clock


def test_fast_typists_wait_longer_than_slow_ones() -> None:
    fast, _ = typed(0.05)
    slow, _ = typed(0.4)
    assert fast.debounce_s("u") == pytest.approx(1.5 * 0.05 + 0.015)
    assert slow.debounce_s("u") == pytest.approx(QUICK_S)
    assert fast.debounce_s("u") > slow.debounce_s("u")


def test_the_wait_is_capped_and_counts_time_already_passed() -> None:
    rhythm, clock = typed(0.19)
    assert rhythm.debounce_s("u") == MAX_DEBOUNCE_S
    clock.now += 0.1
    assert rhythm.debounce_s("u") == pytest.approx(MAX_DEBOUNCE_S - 0.1)


def test_a_key_after_a_pause_is_asked_about_quickly() -> None:
    rhythm, clock = typed(0.05)
    clock.now += 3.0
    rhythm.keystroke("u")
    assert rhythm.debounce_s("u") == pytest.approx(QUICK_S)
    assert rhythm.interval_s("u") == pytest.approx(0.05)  # the pause is not an interval


async def test_a_newer_claim_ends_the_older_one_at_once() -> None:
    latest = LatestWins()
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def older() -> str:
        try:
            async with latest.scope("doc", 10) as ticket:
                entered.set()
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
        except TimeoutError:
            return "superseded" if ticket.superseded else "deadline"
        return "finished"

    task = asyncio.ensure_future(older())
    await entered.wait()
    async with latest.scope("doc", 10):
        assert await asyncio.wait_for(task, 0.1) == "superseded"
    assert cancelled.is_set()


async def test_other_keys_do_not_interfere_and_deadlines_expire() -> None:
    latest = LatestWins()
    async with latest.scope("a", 10), latest.scope("b", 10) as b:
        assert not b.superseded
    with pytest.raises(TimeoutError):
        async with latest.scope("a", 0.01) as ticket:
            await asyncio.sleep(1)
    assert ticket.expired
    assert not ticket.superseded


async def test_a_real_cancellation_is_not_mistaken_for_supersession() -> None:
    latest = LatestWins()

    async def work() -> None:
        async with latest.scope("doc", 10):
            await asyncio.sleep(10)

    task = asyncio.ensure_future(work())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
