"""Context providers: pluggable sources of snippets besides the file being edited (open
buffers, recent edits, rules; the index and the upstream server plug in the same way).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ai_lsp.documents import DocumentSnapshot, Edit

log = logging.getLogger(__name__)

RULES_ORDER = 0
DEFINITIONS_ORDER = 10
OPEN_BUFFERS_ORDER = 20
RECENT_EDITS_ORDER = 30
"""Where a provider's snippets go in the prompt: stable sources first, so the start of
consecutive prompts stays the same and provider prompt caches hit."""

IDENTIFIER = re.compile(r"[^\W\d]\w*")


@dataclass(frozen=True, slots=True)
class Snippet:
    """Text from somewhere else than the cursor's surroundings."""

    source: str
    """The provider's name, e.g. `open-buffers`."""
    path: str
    """Workspace-relative path shown to the model."""
    text: str
    score: float
    """Rank among all snippets: the higher, the sooner it gets budget."""
    order: int
    """Place in the prompt (see `RULES_ORDER` ...); ties go by path and line."""
    line: int | None = None
    """1-based first line of `text` in `path`, when it is a region of a file."""

    @property
    def name(self) -> str:
        """A unique, readable section name, e.g. `open-buffers:src/util.py:12`."""
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{self.source}:{where}"


@dataclass(frozen=True, slots=True)
class OpenBuffer:
    """Another open document, already cleared for prompts."""

    uri: str
    path: str
    language_id: str
    version: int
    text: str


@dataclass(frozen=True, slots=True)
class ContextRequest:
    """Everything a provider may look at, frozen when the request started."""

    snapshot: DocumentSnapshot
    path: str
    """Workspace-relative path of the document being edited."""
    root: Path | None
    buffers: tuple[OpenBuffer, ...]
    """The other open documents that may be shown to a model."""
    edits: tuple[Edit, ...]
    """Recent edits across documents, oldest first."""
    max_tokens: int
    """Rough budget for all snippets together (a provider may return more; the prompt
    packer keeps the best that fit)."""
    deadline: float
    """`time.monotonic()` by which providers should have answered."""


class ContextProvider(Protocol):
    """A source of ranked snippets.

    Called in a worker thread with immutable inputs; must answer within the request's
    time budget without waiting on I/O: anything slow is prefetched elsewhere and served
    from a cache here.
    """

    @property
    def name(self) -> str: ...

    def snippets(self, request: ContextRequest) -> Sequence[Snippet]:
        """Snippets for this request, in any order (they carry their score)."""
        ...


def gather(providers: Sequence[ContextProvider], request: ContextRequest) -> list[Snippet]:
    """Snippets of every provider that answers in time; one that fails is logged and skipped."""
    found: list[Snippet] = []
    for provider in providers:
        if time.monotonic() >= request.deadline:
            log.debug("context budget spent before provider %s", provider.name)
            break
        try:
            found.extend(provider.snippets(request))
        except Exception:
            log.exception("context provider %s failed; continuing without it", provider.name)
    return found


def identifiers(text: str) -> set[str]:
    """The identifiers in `text`."""
    return set(IDENTIFIER.findall(text))
