"""Tool answers as compact text for a model: code in fences, secrets redacted, and no more than
the context's token budget, with a note saying how much was left out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ai_lsp.agent.context import ToolContext
from ai_lsp.index.languages import language_for_path
from ai_lsp.log import redact
from ai_lsp.prompting.budget import fit_text

__all__ = ["Answer", "fence", "fence_marks", "fit"]

CUT_NOTE = "[... the rest is cut: over the token limit of a tool answer]"
_TICKS = re.compile(r"\s*(`{3,})")


@dataclass(frozen=True, slots=True)
class Answer:
    """A tool's answer text and how many of its results did not fit."""

    text: str
    left_out: int = 0


@dataclass(frozen=True, slots=True)
class _Counter:
    count: Callable[[str], int]
    exact: bool = False


def fence(code: str, path: str) -> str:
    """`code` in a Markdown fence tagged with the language of `path`."""
    opening, closing = fence_marks(code, path)
    return f"{opening}\n{code}\n{closing}"


def fence_marks(code: str, path: str) -> tuple[str, str]:
    """The lines opening and closing a fence around `code` (longer than any run of backticks
    in it), tagged with the language of `path`."""
    language = language_for_path(path)
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f"{ticks}{language if language and language != 'text' else ''}", ticks


def fit(
    context: ToolContext,
    header: str,
    entries: Sequence[str],
    *,
    left_out: Callable[[int, int], str],
    separator: str = "\n",
    footer: str = "",
) -> Answer:
    """`header`, as many `entries` as fit in `context.max_tokens` in order, `footer`, and
    `left_out(kept, missing)` when some did not fit. Everything is redacted.

    An entry too large on its own is cut on a line boundary (its fences closed again).
    """
    count = context.count_tokens
    header, footer = redact(header), redact(footer)
    texts = [redact(entry) for entry in entries]
    room = context.max_tokens - sum(
        count(part) + 1 for part in (header, footer, left_out(len(texts), len(texts)), CUT_NOTE)
    )
    step = count(separator)
    kept: list[str] = []
    used = 0
    for text in texts:
        cost = count(text) + step
        if used + cost > room:
            break
        kept.append(text)
        used += cost
    if not kept and texts:
        cut = fit_text(texts[0], max(room, 0), "tail", _Counter(count))
        if cut.strip():
            kept.append(f"{_close_fences(cut.rstrip())}\n{CUT_NOTE}")
    parts = [header, separator.join(kept), footer]
    missing = len(texts) - len(kept)
    if missing:
        parts.append(left_out(len(kept), missing))
    return Answer("\n".join(part for part in parts if part), missing)


def _close_fences(text: str) -> str:
    """`text` with a fence it opened but lost the end of closed again."""
    open_ticks: str | None = None
    for line in text.splitlines():
        match = _TICKS.match(line)
        if match is None:
            continue
        if open_ticks is None:
            open_ticks = match[1]
        elif line.strip() == open_ticks:
            open_ticks = None
    return text if open_ticks is None else f"{text}\n{open_ticks}"
