"""Retry timing and the circuit breaker of an endpoint (no I/O here, so it is easy to test)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_S = 20.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


def retry_after_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `Retry-After` seconds or date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (millis := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay_s(attempt: int, retry_after: float | None) -> float:
    """Wait before retry number `attempt` (0-based), always jittered so clients spread out.

    A server's Retry-After is honoured (capped) and only ever lengthened by the jitter.
    """
    if retry_after is not None:
        base = min(retry_after, MAX_RETRY_AFTER_S)
        return base + random.uniform(0, 0.1 * base + 0.05)
    step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
    return step / 2 + random.uniform(0, step / 2)


class CircuitOpen(Exception):
    """Requests are refused for `remaining_s` more seconds."""

    def __init__(self, remaining_s: float) -> None:
        super().__init__(f"circuit open for {remaining_s:.1f} s")
        self.remaining_s = remaining_s


class CircuitBreaker:
    """Closed → open after `failures` failures in a row → half-open after `cooldown_s`.

    Half-open lets exactly one trial request through; its outcome closes or reopens the circuit.
    """

    def __init__(
        self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown_s:
            return "half-open"
        return "open"

    def admit(self) -> bool:
        """Let a request through or raise `CircuitOpen`; True when it is the half-open trial."""
        if self._opened_at is None:
            return False
        remaining = self._opened_at + self._cooldown_s - self._clock()
        if remaining > 0:
            raise CircuitOpen(remaining)
        if self._trial_running:
            raise CircuitOpen(0.0)
        self._trial_running = True
        return True

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        self._failures += 1
        if self._trial_running or self._failures >= self._threshold:
            self._opened_at = self._clock()
        self._trial_running = False

    def abandoned(self, trial: bool) -> None:
        """The request ended without telling anything about the endpoint (cancelled, 400, ...)."""
        if trial:
            self._trial_running = False
