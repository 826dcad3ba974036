"""When to ask the model: a debounce that follows each document's typing rhythm, and
latest-wins scopes that answer a superseded request at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager

BURST_INTERVAL_S = 0.2
"""Keystrokes closer than this are fast typing: a model cannot answer between them."""
PAUSE_S = 1.0
"""A gap longer than this starts a new burst and is not a typing interval."""
QUICK_S = 0.025
"""Debounce after a pause or for slow typing: a suggestion can land before the next key."""
MAX_DEBOUNCE_S = 0.25
_SMOOTHING = 0.3


class TypingRhythm:
    """Inter-keystroke intervals per document, and the adaptive debounce they imply.

    Fast typists wait longer: while keys come faster than a model answers, asking after
    each one only wastes requests, so the request waits for a pause that is long *for this
    typist* (1.5 times their usual interval plus 15 ms, at most 250 ms). After a pause, or
    when keys come slower than that, it waits only `QUICK_S`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}
        self._gap: dict[str, float] = {}
        self._interval: dict[str, float] = {}

    def keystroke(self, uri: str) -> None:
        """A change to `uri` arrived now."""
        now = self._clock()
        previous = self._last.get(uri)
        self._last[uri] = now
        if previous is None:
            return
        gap = now - previous
        self._gap[uri] = gap
        if gap < PAUSE_S:
            old = self._interval.get(uri)
            self._interval[uri] = gap if old is None else old + _SMOOTHING * (gap - old)

    def interval_s(self, uri: str) -> float | None:
        """The smoothed interval between keystrokes in `uri`, if measured."""
        return self._interval.get(uri)

    def debounce_s(self, uri: str) -> float:
        """How long a request arriving now should still wait before asking the model."""
        interval = self._interval.get(uri)
        gap = self._gap.get(uri)
        if interval is None or gap is None or gap >= PAUSE_S or interval >= BURST_INTERVAL_S:
            wait = QUICK_S
        else:
            wait = min(MAX_DEBOUNCE_S, 1.5 * interval + 0.015)
        since = self._clock() - self._last.get(uri, float("-inf"))
        return max(0.0, wait - since)

    def forget(self, uri: str) -> None:
        for table in (self._last, self._gap, self._interval):
            table.pop(uri, None)


class Ticket:
    """One request's claim on its key: superseded by the next claim, or past its deadline."""

    def __init__(self) -> None:
        self.superseded = False
        self._scope: asyncio.Timeout | None = None

    @property
    def expired(self) -> bool:
        return self._scope is not None and self._scope.expired()

    def supersede(self) -> None:
        """End the request now: its task is cancelled and its scope raises `TimeoutError`."""
        self.superseded = True
        if self._scope is not None and not self._scope.expired():
            self._scope.reschedule(asyncio.get_running_loop().time())


class LatestWins:
    """Latest-wins per key (a document and a channel): a new request ends the older one.

    The older request's work is cancelled (closing its streams) and it leaves its scope
    with `TimeoutError`, the same as at its deadline, so it can answer empty at once. A
    real cancellation (`$/cancelRequest`) still propagates as `CancelledError`.
    """

    def __init__(self) -> None:
        self._tickets: dict[Hashable, Ticket] = {}

    @asynccontextmanager
    async def scope(self, key: Hashable, timeout_s: float | None) -> AsyncIterator[Ticket]:
        previous = self._tickets.get(key)
        if previous is not None:
            previous.supersede()
        ticket = self._tickets[key] = Ticket()
        try:
            async with asyncio.timeout(timeout_s) as scope:
                ticket._scope = scope
                yield ticket
        finally:
            if self._tickets.get(key) is ticket:
                del self._tickets[key]
