"""What the completion service answers, and the record of how it got there (for
`ai-lsp complete --json` and a later `ai-lsp.context.explain`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Trigger = Literal["automatic", "invoked"]
"""`invoked`: the user asked explicitly (no debounce); `automatic`: asked while typing."""

Source = Literal["model", "cache", "none"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Text to insert at the cursor; it supersedes `replace_chars` code points after the
    cursor on the cursor's line (closers the editor auto-inserted)."""

    text: str
    replace_chars: int = 0


@dataclass(frozen=True, slots=True)
class SectionUsage:
    """One part of the prompt as sent: `prefix`, `suffix`, `rules:<path>`, `template`, ..."""

    section: str
    tokens: int


@dataclass(frozen=True, slots=True)
class ContextRecord:
    """What one model request used: kept per document for `ai-lsp.context.explain`."""

    uri: str
    version: int
    model: str
    shape: str
    """Single- or multi-line and why, e.g. `multi-line: empty line in a block`."""
    sections: tuple[SectionUsage, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    outcome: str = ""
    """`ok`, `empty`, or the provider error kind (`unreachable`, `rate_limited`, ...)."""


@dataclass(frozen=True, slots=True)
class Completions:
    """The answer to one request; empty with a `reason` when there is nothing to show."""

    suggestions: tuple[Suggestion, ...]
    model: str
    """Display name of the model, e.g. `qwen2.5-coder:1.5b` or `local n-gram`."""
    source: Source = "model"
    reason: str = ""
    """Why there is nothing: `superseded`, `deadline`, `stale`, `ignored file`, `no suggestion`."""
    record: ContextRecord | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def empty(
        cls, model: str, reason: str, timings_ms: Mapping[str, float] | None = None
    ) -> Completions:
        return cls((), model, "none", reason, None, timings_ms or {})
