"""Messages for the user, each said once until the condition clears (no pygls import).

Services call `notices.once(key, level, message)`; the server connects the sink to
`window/showMessage`; the CLI prints to stderr.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

Level = Literal["error", "warning", "info"]
Sink = Callable[[Level, str], None]

log = logging.getLogger(__name__)

ECHO_S = 2.0
"""A message `say` gets within this many seconds of the same one is not sent again."""


class Notices:
    """Deduplicates user-facing messages by key."""

    def __init__(
        self, sink: Sink | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sink = sink
        self._said: set[str] = set()
        self._last: tuple[str, float] | None = None
        self._clock = clock
        self._lock = threading.Lock()

    def set_sink(self, sink: Sink | None) -> None:
        """Where messages go (e.g. `window/showMessage`)."""
        self._sink = sink

    def once(self, key: str, level: Level, message: str) -> bool:
        """Tell the user `message` unless `key` was already said; True when it was sent."""
        with self._lock:
            if key in self._said:
                return False
            self._said.add(key)
        self._send(level, message)
        return True

    def say(self, level: Level, message: str) -> None:
        """Tell the user `message` now (the answer to something they asked for), unless the
        very same message was just sent, e.g. by a service's `once` about the same failure."""
        with self._lock:
            last = self._last
        if last is not None and last[0] == message and self._clock() - last[1] < ECHO_S:
            return
        self._send(level, message)

    def _send(self, level: Level, message: str) -> None:
        with self._lock:
            self._last = (message, self._clock())
        getattr(log, level)("%s", message)
        if self._sink is not None:
            self._sink(level, message)

    def clear(self, key: str) -> None:
        """The condition behind `key` is over: the next occurrence is said again."""
        with self._lock:
            self._said.discard(key)

    def clear_prefix(self, prefix: str) -> None:
        """Clear every key starting with `prefix` (e.g. all messages about one provider)."""
        with self._lock:
            self._said = {k for k in self._said if not k.startswith(prefix)}
