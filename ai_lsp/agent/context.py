"""What the agent's tools work with: the workspace, the editor's open buffers, the upstream
language servers, which files a model may see, and how long and how big an answer may be."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ai_lsp.prompting.tokens import estimate
from ai_lsp.text import Document
from ai_lsp.upstream.snippets import UpstreamSource

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_TIMEOUT_S",
    "FileGuard",
    "OpenDocuments",
    "ToolContext",
    "ToolError",
]

DEFAULT_TIMEOUT_S = 5.0
"""Seconds a tool may take before it answers with an error (a hung server never hangs a turn)."""
DEFAULT_MAX_TOKENS = 2000
"""Longest tool answer, in tokens; what does not fit is left out with a note saying so."""


class OpenDocuments(Protocol):
    """The editor's open buffers (`DocumentStore`): their unsaved text wins over the disk."""

    def get(self, uri: str) -> Document | None: ...

    def uris(self) -> list[str]: ...


class FileGuard(Protocol):
    """Which files may be shown to a model (`PromptGuard`)."""

    max_file_bytes: int

    def refusal(self, uri: str, text: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Everything `run` needs; build one per chat turn (or share it: it holds no turn state)."""

    root: Path
    """The workspace root: tools read files under it only."""
    documents: OpenDocuments
    """The editor's open buffers: what servers see, and what `read_file` shows."""
    guard: FileGuard
    """Refuses ignored, denylisted, binary and oversize files, open or not."""
    upstream: UpstreamSource | None = None
    """The upstream servers (`UpstreamManager`); None when none can run (code tools then say so)."""
    count_tokens: Callable[[str], int] = estimate
    """Tokens of a text for the chat model (`counter_for(model).count`; the default errs high)."""
    max_tokens: int = DEFAULT_MAX_TOKENS
    """Longest answer of one call, in tokens."""
    timeout: float = DEFAULT_TIMEOUT_S
    """Seconds one call may take, starting the server included."""


class ToolError(Exception):
    """A problem the model can act on (a bad argument, a refused file, no server): its message
    becomes the tool's error answer."""
