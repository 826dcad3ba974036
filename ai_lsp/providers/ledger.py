"""The spend ledger: tokens and USD per day, provider, model and feature in SQLite (shared by all
ai-lsp processes of the user); budgets are checked before a request leaves, warned at 80 %.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from ai_lsp.config import BudgetConfig, ModelConfig
from ai_lsp.notices import Notices
from ai_lsp.providers.usage_report import (
    CapStatus,
    Totals,
    UsageReport,
    UsageRow,
    format_report,
    report_json,
    usd,
)

__all__ = ["BudgetExceeded", "Ledger", "UsageReport", "format_report", "price", "report_json"]

log = logging.getLogger(__name__)

REPORT_DAYS = 30
BUSY_TIMEOUT_S = 5.0
"""Another process holding the write lock is waited for this long (writes take microseconds)."""
_NANO = 1_000_000_000  # USD are stored as integer nano-dollars: sums are exact in any order

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    feature TEXT NOT NULL,
    requests INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    nano_usd INTEGER NOT NULL,
    PRIMARY KEY (day, provider, model, feature)
) WITHOUT ROWID
"""
# One statement, so one transaction: concurrent writers serialise on SQLite's lock, none is lost.
_RECORD = """
INSERT INTO usage VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
ON CONFLICT (day, provider, model, feature) DO UPDATE SET
    requests = requests + 1,
    estimated = estimated + excluded.estimated,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    nano_usd = nano_usd + excluded.nano_usd
"""
_TOTALS = """
SELECT COALESCE(SUM(nano_usd), 0), COALESCE(SUM(requests), 0),
       COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0)
FROM usage WHERE day BETWEEN ? AND ?
"""
_ROWS = """
SELECT day, provider, model, SUM(requests), SUM(estimated), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(nano_usd)
FROM usage WHERE day >= ? GROUP BY day, provider, model
ORDER BY day DESC, SUM(nano_usd) DESC, provider, model
"""


class BudgetExceeded(Exception):
    """A request was refused by a budget cap; `message` says which cap and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Cap:
    setting: str
    period: Literal["day", "month"]
    unit: Literal["usd", "tokens"]


# Monthly caps first: when both are reached, waiting for tomorrow would not help.
_CAPS = (
    _Cap("monthly_usd", "month", "usd"),
    _Cap("monthly_tokens", "month", "tokens"),
    _Cap("daily_usd", "day", "usd"),
    _Cap("daily_tokens", "day", "tokens"),
)


@dataclass(slots=True)
class _Spent:
    nano_usd: int = 0
    tokens: int = 0

    def of(self, unit: str) -> float:
        return self.nano_usd / _NANO if unit == "usd" else self.tokens


def price(model: ModelConfig, prompt_tokens: int, completion_tokens: int) -> float:
    """USD of one request at `model`'s per-million-token prices."""
    return (
        prompt_tokens * model.input_usd_per_mtok + completion_tokens * model.output_usd_per_mtok
    ) / 1_000_000


def _local(clock: Callable[[], datetime]) -> datetime:
    now = clock()
    return now.astimezone() if now.tzinfo is not None else now  # naive times are local


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


class Ledger:
    """Records spend and enforces `BudgetConfig` caps (0 = no cap), in local days and months.

    Thread-safe; each call is one short SQLite statement (WAL, busy timeout), so two servers can
    write at once. Totals of the current day and month are cached and reloaded when the period
    changes or another process has written (SQLite's `data_version`).
    """

    def __init__(
        self,
        path: Path,
        budget: BudgetConfig,
        *,
        notices: Notices | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self._budget = budget
        self._notices = notices or Notices()
        self._clock = clock or datetime.now
        self._lock = threading.Lock()
        self._db = self._open(path)
        self._period = ("", "")
        self._version = -1
        self._day = _Spent()
        self._month = _Spent()

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return _connect_retrying(str(path))
        except (OSError, sqlite3.Error) as exc:
            self._notices.once(
                "ledger:open",
                "warning",
                f"ai-lsp: cannot open the spend ledger {path} ({exc}); budgets count this "
                "session only. Check that the folder is writable (AI_LSP_STATE_DIR moves it).",
            )
            return _connect(":memory:")

    def close(self) -> None:
        """Close the database (the ledger is unusable afterwards)."""
        with self._lock:
            self._db.close()

    def update_budget(self, budget: BudgetConfig) -> None:
        """New caps from a configuration change; says at once if one is already reached."""
        with self._lock:
            self._budget = budget
            now = _local(self._clock)
            self._refresh(now)
            self._notify(now)

    def check(
        self,
        *,
        provider: str,
        model: str,
        prompt_tokens: int,
        input_usd_per_mtok: float,
        output_usd_per_mtok: float,
    ) -> None:
        """Raise `BudgetExceeded` if a cap is reached or this prompt would go over one.

        Token caps apply to every model; USD caps only to models with a price (a free local
        model keeps working when the money is spent). The answer's cost is unknown here and is
        charged by `record`.
        """
        paid = input_usd_per_mtok > 0 or output_usd_per_mtok > 0
        request = _Spent(round(prompt_tokens * input_usd_per_mtok * _NANO / 1e6), prompt_tokens)
        with self._lock:
            now = _local(self._clock)
            self._refresh(now)
            for cap in _CAPS:
                limit = self._limit(cap)
                if not limit or (cap.unit == "usd" and not paid):
                    continue
                spent = self._spent(cap).of(cap.unit)
                if spent >= limit:
                    raise BudgetExceeded(_reached(cap, spent, limit, now))
                if spent + request.of(cap.unit) > limit:
                    raise BudgetExceeded(_over(cap, spent, limit, now, request, provider, model))

    def record(
        self,
        *,
        provider: str,
        model: str,
        feature: str,
        prompt_tokens: int,
        completion_tokens: int,
        estimated: bool,
        usd: float,
    ) -> None:
        """Add one request; tells the user once per period when a cap nears or is reached."""
        spent = _Spent(round(usd * _NANO), prompt_tokens + completion_tokens)
        with self._lock:
            now = _local(self._clock)
            row = (f"{now:%Y-%m-%d}", provider, model, feature, int(estimated))
            try:
                self._db.execute(_RECORD, (*row, prompt_tokens, completion_tokens, spent.nano_usd))
            except sqlite3.Error as exc:
                self._notices.once(
                    "ledger:write",
                    "warning",
                    f"ai-lsp: could not write to the spend ledger {self.path} ({exc}); "
                    "usage is counted in memory until it works again.",
                )
            if not self._refresh(now):  # our own write: nobody else's to reload
                for total in (self._day, self._month):
                    total.nano_usd += spent.nano_usd
                    total.tokens += spent.tokens
            self._notify(now)

    def report(self) -> UsageReport:
        """Usage per day, provider and model for the last `REPORT_DAYS` days, and the caps."""
        with self._lock:
            now = _local(self._clock)
            self._refresh(now)
            since = now.date() - timedelta(days=REPORT_DAYS - 1)
            rows = [
                UsageRow(d, p, m, r, e, pt, ct, n / _NANO)
                for d, p, m, r, e, pt, ct, n in self._db.execute(_ROWS, (since.isoformat(),))
            ]
            return UsageReport(
                generated_at=now.isoformat(timespec="seconds"),
                ledger=str(self.path),
                days=REPORT_DAYS,
                rows=rows,
                today=self._totals(now, "day"),
                month=self._totals(now, "month"),
                caps=[self._status(cap, now) for cap in sorted(_CAPS, key=lambda c: c.period)],
            )

    # -- totals ----------------------------------------------------------------------------

    def _refresh(self, now: datetime) -> bool:
        """Reload the day's and month's totals if the period changed or another process wrote."""
        period = (f"{now:%Y-%m-%d}", f"{now:%Y-%m}")
        version = self._data_version()
        if period == self._period and version == self._version:
            return False
        self._period, self._version = period, version
        day = self._sums(*_days(now, "day"))
        month = self._sums(*_days(now, "month"))
        self._day = _Spent(day[0], day[2] + day[3])
        self._month = _Spent(month[0], month[2] + month[3])
        return True

    def _data_version(self) -> int:
        try:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return self._version  # keep the cached totals; the write notice says what is wrong

    def _sums(self, first: str, last: str) -> tuple[int, int, int, int]:
        """Nano-USD, requests, prompt and completion tokens of the days `first` to `last`."""
        try:
            row = self._db.execute(_TOTALS, (first, last)).fetchone()
        except sqlite3.Error:
            log.warning("could not read the spend ledger %s", self.path, exc_info=True)
            return 0, 0, 0, 0
        return row[0], row[1], row[2], row[3]

    def _totals(self, now: datetime, period: Literal["day", "month"]) -> Totals:
        nano, requests, prompt, completion = self._sums(*_days(now, period))
        return Totals(requests, prompt, completion, nano / _NANO)

    def _limit(self, cap: _Cap) -> float:
        return float(getattr(self._budget, cap.setting))

    def _spent(self, cap: _Cap) -> _Spent:
        return self._day if cap.period == "day" else self._month

    # -- messages --------------------------------------------------------------------------

    def _notify(self, now: datetime) -> None:
        for cap in _CAPS:
            limit = self._limit(cap)
            if not limit:
                continue
            spent = self._spent(cap).of(cap.unit)
            key = f"ledger:{cap.setting}:{limit}:{self._period[0 if cap.period == 'day' else 1]}"
            if spent >= limit:
                self._notices.once(f"{key}:reached", "error", _reached(cap, spent, limit, now))
            elif spent >= limit * self._budget.warn_fraction:
                self._notices.once(f"{key}:warn", "warning", _warn(cap, spent, limit, now))

    def _status(self, cap: _Cap, now: datetime) -> CapStatus:
        limit = self._limit(cap)
        spent = self._spent(cap).of(cap.unit)
        return CapStatus(
            setting=f"budget.{cap.setting}",
            period=cap.period,
            unit=cap.unit,
            limit=limit or None,
            spent=spent,
            remaining=max(0.0, limit - spent) if limit else None,
            resets=_reset(cap, now).isoformat(timespec="minutes"),
        )


def _connect_retrying(target: str) -> sqlite3.Connection:
    """`_connect`, retried while another process creates the database or switches it to WAL:
    SQLite answers "database is locked" there without waiting on the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            return _connect(target)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, no fsync per write
    db.execute(_SCHEMA)
    return db


def _days(now: datetime, period: Literal["day", "month"]) -> tuple[str, str]:
    """First and last day (`YYYY-MM-DD`, inclusive) of the day or month of `now`."""
    if period == "day":
        return f"{now:%Y-%m-%d}", f"{now:%Y-%m-%d}"
    return f"{now:%Y-%m}-01", f"{now:%Y-%m}-31"


def _reached(cap: _Cap, spent: float, limit: float, now: datetime) -> str:
    return (
        f"ai-lsp: {_name(cap)} reached ({_of(cap, spent, limit)}, "
        f"budget.{cap.setting}); requests are refused until {_when(cap, now)}. "
        f"Raise budget.{cap.setting} to continue."
    )


def _warn(cap: _Cap, spent: float, limit: float, now: datetime) -> str:
    return (
        f"ai-lsp: {spent / limit:.0%} of the {_name(cap)} used ({_of(cap, spent, limit)}, "
        f"budget.{cap.setting}); at the cap, requests are refused "
        f"until {_when(cap, now)}."
    )


def _over(
    cap: _Cap,
    spent: float,
    limit: float,
    now: datetime,
    request: _Spent,
    provider: str,
    model: str,
) -> str:
    return (
        f"ai-lsp: this request to {provider}/{model} ({request.tokens:,} prompt tokens"
        f"{f', {usd(request.of(cap.unit))}' if cap.unit == 'usd' else ''}) would go over "
        f"the {_name(cap)} ({_of(cap, spent, limit)} used, budget.{cap.setting}), so it "
        "was not sent. "
        f"Raise budget.{cap.setting}, use less context, or wait until {_when(cap, now)}."
    )


def _name(cap: _Cap) -> str:
    period = "daily" if cap.period == "day" else "monthly"
    return f"{period} budget" if cap.unit == "usd" else f"{period} token budget"


def _of(cap: _Cap, spent: float, limit: float) -> str:
    """`$1.90 of $2.00` or `900 of 1,000 tokens`."""
    if cap.unit == "usd":
        return f"{usd(spent)} of {usd(limit)}"
    return f"{int(spent):,} of {int(limit):,} tokens"


def _reset(cap: _Cap, now: datetime) -> datetime:
    today = now.date()
    day = today + timedelta(days=1) if cap.period == "day" else _next_month(today)
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def _when(cap: _Cap, now: datetime) -> str:
    if cap.period == "day":
        return "tomorrow (00:00 local time)"
    reset = _reset(cap, now)
    return f"{reset.day} {reset:%B} (00:00 local time)"
