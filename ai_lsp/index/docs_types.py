"""Data of documentation sources: pages, sections, limits, status, and the `Harvest` that
collects pages within the limits while counting what was skipped and why.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "DocPage",
    "DocSection",
    "DocsLimits",
    "Harvest",
    "Progress",
    "ProgressCallback",
    "SourceError",
    "SourceStatus",
    "Strategy",
]

Strategy = Literal["llms-full.txt", "llms.txt", "sitemap", "crawl", "folder"]
MAX_ERRORS_KEPT = 10


@dataclass(frozen=True, slots=True)
class DocPage:
    """One page of a source; ``text`` is markdown-like (``#`` headings, fenced code)."""

    source: str
    url: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class DocSection:
    """A retrievable piece of a page: the text under one heading path (page title excluded)."""

    source: str
    url: str
    title: str
    heading: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class DocsLimits:
    """Caps for one ingestion; the defaults keep a source to a polite, bounded download."""

    max_depth: int = 3
    max_pages: int = 200
    max_bytes: int = 20 * 1024 * 1024
    max_page_bytes: int = 2 * 1024 * 1024
    max_seconds: float = 120.0
    concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 15.0


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported while a source is ingested (for `$/progress` or a CLI line)."""

    message: str
    pages: int
    max_pages: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class SourceError:
    """A URL or file that could not be used, with the reason."""

    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the last ingestion of a source did: strategy, pages, skips by reason, errors."""

    name: str
    location: str
    strategy: Strategy
    fetched_at: str
    pages: int
    bytes: int
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    error_count: int = 0
    stopped_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceStatus:
        """Read `to_json` output; keys this version does not know are ignored."""
        known = {key: value for key, value in data.items() if key in _STATUS_FIELDS}
        errors = [SourceError(**error) for error in data.get("errors", [])]
        return cls(**{**known, "errors": errors})

    def summary(self) -> str:
        """One line for people: pages, skips and errors, which limit stopped it."""
        pages = f"{self.pages} page{'' if self.pages == 1 else 's'}"
        parts = [f"{pages} ({self.bytes / 1024:.0f} KiB) via {self.strategy}"]
        if self.skipped:
            reasons = ", ".join(
                f"{count} {reason}" for reason, count in sorted(self.skipped.items())
            )
            parts.append(f"skipped {reasons}")
        if self.stopped_by:
            parts.append(f"stopped by the {self.stopped_by}")
        if self.error_count:
            parts.append(f"{self.error_count} error{'' if self.error_count == 1 else 's'}")
        return "; ".join(parts)


_STATUS_FIELDS = frozenset(item.name for item in fields(SourceStatus))


class Harvest:
    """Pages of one ingestion within `DocsLimits`; every URL not kept is counted with a reason."""

    def __init__(
        self,
        source: str,
        strategy: Strategy,
        limits: DocsLimits,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.source = source
        self.strategy: Strategy = strategy  # a website's changes as discovery goes on
        self.limits = limits
        self.pages: list[DocPage] = []
        self.bytes = 0
        self.skipped: Counter[str] = Counter()
        self.errors: list[SourceError] = []
        self.error_count = 0
        self.stopped_by: str | None = None
        self._on_progress = on_progress
        self._digests: set[bytes] = set()
        self._deadline = time.monotonic() + limits.max_seconds

    def has_room(self) -> bool:
        """False once a page, byte or time limit is reached (and remember which)."""
        if self.stopped_by is None:
            if len(self.pages) >= self.limits.max_pages:
                self.stopped_by = "page limit"
            elif self.bytes >= self.limits.max_bytes:
                self.stopped_by = "byte limit"
            elif time.monotonic() >= self._deadline:
                self.stopped_by = "time limit"
        return self.stopped_by is None

    def seconds_left(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def add(self, url: str, title: str, text: str, size: int) -> bool:
        """Keep a page unless a limit is reached or its text duplicates a kept page."""
        if not self.has_room():
            return False
        if self.bytes + size > self.limits.max_bytes:
            self.stopped_by = "byte limit"
            return False
        self.bytes += size
        digest = hashlib.blake2b(text.strip().encode(), digest_size=16).digest()
        if not text.strip() or digest in self._digests:
            self.skipped["empty or duplicate"] += 1
            return False
        self._digests.add(digest)
        self.pages.append(DocPage(self.source, url, title.strip() or url, text))
        self.progress(f"{len(self.pages)} pages: {url}")
        return True

    def skip(self, url: str, kind: str, reason: str) -> None:
        """Count a URL not kept; errors and refusals are also listed (the first few)."""
        self.skipped[kind] += 1
        if kind in ("error", "refused"):
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(SourceError(url, reason))

    def progress(self, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(Progress(message, len(self.pages), self.limits.max_pages))

    def status(self, location: str) -> SourceStatus:
        return SourceStatus(
            name=self.source,
            location=location,
            strategy=self.strategy,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            pages=len(self.pages),
            bytes=self.bytes,
            skipped=dict(self.skipped),
            errors=list(self.errors),
            error_count=self.error_count,
            stopped_by=self.stopped_by,
        )
