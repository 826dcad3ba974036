"""What the upstream manager keeps per server process, and the shapes it shares with the proxy:
restart policy, mirrored documents, status, and the proxy's connection protocols."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.known import ResolvedServer
from ai_lsp.upstream.transport import UpstreamError

__all__ = [
    "Backoff",
    "MirroredDocument",
    "ProxyConnection",
    "ProxyLink",
    "Slot",
    "UpstreamStatus",
    "UpstreamUnavailable",
]


class UpstreamUnavailable(UpstreamError):
    """No upstream server for this document: none configured or installed, or it keeps crashing."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Restart policy: delays double from `first_s` up to `max_s`; give up after
    `max_crashes` crashes within `window_s` seconds."""

    first_s: float = 1.0
    max_s: float = 30.0
    max_crashes: int = 5
    window_s: float = 180.0

    def delay(self, crashes: int) -> float:
        """Seconds to wait before restarting after the `crashes`-th recent crash."""
        return float(min(self.first_s * 2 ** max(crashes - 1, 0), self.max_s))


@dataclass(slots=True)
class MirroredDocument:
    """An open document as the upstream server should see it."""

    uri: str
    language_id: str
    version: int
    text: str


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    """One server as `ai-lsp doctor` shows it."""

    name: str
    languages: tuple[str, ...]
    root: Path
    state: Literal["starting", "running", "failed"]
    pid: int | None
    recent_crashes: int
    error: str | None


class ProxyConnection(Protocol):
    """How one proxy-mode server process is started and where what it sends goes."""

    @property
    def capabilities(self) -> Mapping[str, Any]:
        """The client capabilities offered to it (the editor's, as raw JSON)."""
        ...

    async def on_server_request(self, method: str, params: Any) -> Any:
        """Answer a request the server sends to its client (the editor answers it)."""
        ...

    def on_notification(self, method: str, params: Any) -> None:
        """Take a notification the server sends to its client."""

    def stopped(self, client: UpstreamClient) -> None:
        """The server is gone (shut down or crashed)."""


class ProxyLink(Protocol):
    """The proxy fronting some servers: it connects the processes of the servers it serves."""

    def connect(self, server: ResolvedServer) -> ProxyConnection | None:
        """A connection for a new process of `server`, or None to run it as a sidecar."""
        ...


@dataclass(eq=False, slots=True)
class Slot:
    """One server process (and its successors after restarts) for a server and a root."""

    server: ResolvedServer
    root: Path
    languages: set[str] = field(default_factory=set)
    client: UpstreamClient | None = None
    starting: asyncio.Task[UpstreamClient] | None = None
    crashes: deque[float] = field(default_factory=deque)
    failure: str | None = None

    @property
    def label(self) -> str:
        """How messages name this server."""
        return (
            f"{'/'.join(sorted(self.languages))} language server `{' '.join(self.server.command)}`"
        )

    def notice_key(self, what: str) -> str:
        return f"upstream:{self.server.key}:{self.root}:{what}"
