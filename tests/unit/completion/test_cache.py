"""Type-through cache and shared in-flight requests."""

from __future__ import annotations

import asyncio

from ai_lsp.completion.cache import TypeThroughCache
from ai_lsp.completion.inflight import FetchResult, InFlight

PREFIX = "def total(items):\n    return "
SUFFIX = "\n\nprint(total([1]))\n"


def test_typing_the_start_of_a_suggestion_finds_the_rest() -> None:
    cache = TypeThroughCache()
    cache.store(PREFIX, SUFFIX, "m", ("sum(items)", "len(items)"))
    assert cache.lookup(PREFIX, SUFFIX, "m") == ("sum(items)", "len(items)")
    assert cache.lookup(PREFIX + "su", SUFFIX, "m") == ("m(items)",)
    assert cache.lookup(PREFIX + "sum(items)", SUFFIX, "m") == ()
    assert cache.lookup(PREFIX + "max", SUFFIX, "m") == ()


def test_the_context_and_model_are_part_of_the_key() -> None:
    cache = TypeThroughCache()
    cache.store(PREFIX, SUFFIX, "m", ("sum(items)",))
    assert cache.lookup(PREFIX, SUFFIX + "x", "m") == ()
    assert cache.lookup(PREFIX, SUFFIX, "other") == ()
    assert cache.lookup("x" + PREFIX[1:], SUFFIX, "m") == ()


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = TypeThroughCache(capacity=2)
    for name in ("a", "b"):
        cache.store(f"{name} = ", SUFFIX, "m", (name,))
    cache.lookup("a = ", SUFFIX, "m")
    cache.store("c = ", SUFFIX, "m", ("c",))
    assert len(cache) == 2
    assert cache.lookup("b = ", SUFFIX, "m") == ()
    assert cache.lookup("a = ", SUFFIX, "m") == ("a",)


async def test_a_fetch_is_shared_and_continued_for_typed_characters() -> None:
    inflight = InFlight()
    release = asyncio.Event()

    async def work() -> FetchResult:
        await release.wait()
        return FetchResult(("sum(items)",))

    fetch = inflight.start("u", PREFIX, SUFFIX, "m", work())
    assert inflight.find("u", PREFIX + "su", SUFFIX, "m") is fetch
    assert inflight.find("u", PREFIX, "other", "m") is None
    assert inflight.find("u", PREFIX[:-1], SUFFIX, "m") is None
    joined = asyncio.ensure_future(inflight.join(fetch, PREFIX + "su"))
    diverged = asyncio.ensure_future(inflight.join(fetch, PREFIX + "x"))
    await asyncio.sleep(0)
    release.set()
    result = await joined
    assert result is not None
    assert result.candidates == ("m(items)",)
    assert await diverged is None


async def test_the_last_request_to_leave_cancels_the_fetch() -> None:
    inflight = InFlight()
    fetch = inflight.start("u", PREFIX, SUFFIX, "m", asyncio.sleep(10, FetchResult(())))
    first = asyncio.ensure_future(inflight.join(fetch, PREFIX))
    second = asyncio.ensure_future(inflight.join(fetch, PREFIX))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    assert not fetch.task.cancelled()
    second.cancel()
    await asyncio.sleep(0.01)
    assert fetch.task.cancelled()
    assert inflight.find("u", PREFIX, SUFFIX, "m") is None
