"""Just enough HTTP/1.1 over asyncio streams for the fake server: requests, chunked replies,
and noticing at once when the client goes away in the middle of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


class ClientGone(Exception):
    """The client closed the connection before the answer was complete."""


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    """The next request on the connection, or None when the client closed it between requests."""
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return RawRequest(method, target, headers, body)


class Responder:
    """Writes one response; every pause and write fails fast with `ClientGone` once the peer left.

    While the answer is being produced a watcher reads the socket: HTTP/1.1 clients send
    nothing until the response is complete, so end-of-file there means the client hung up.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_complete: Callable[[], None],
    ) -> None:
        self._writer = writer
        self._on_complete = on_complete
        """Called just before the last bytes go out, so a client that has read the whole
        answer always finds it marked complete."""
        self._gone = asyncio.Event()
        self._watch = asyncio.ensure_future(self._watch_eof(reader))
        self._chunked = False
        self.sent = 0
        """Body writes so far (streamed chunks, for the disconnect log)."""

    async def _watch_eof(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass
        self._gone.set()

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    async def pause(self, seconds: float) -> None:
        """Sleep, unless the client leaves first."""
        if seconds <= 0:
            self._check()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gone.wait(), seconds)
        self._check()

    async def wait_gone(self, within_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gone.wait(), within_s)
        return self.gone

    def _check(self) -> None:
        if self.gone:
            raise ClientGone

    async def _write(self, data: bytes) -> None:
        self._check()
        try:
            self._writer.write(data)
            await self._writer.drain()
        except ConnectionError as exc:
            raise ClientGone from exc

    async def start(self, status: int, headers: dict[str, str], *, chunked: bool) -> None:
        self._chunked = chunked
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
        lines = [f"HTTP/1.1 {status} {reason}"]
        if chunked:
            headers = {**headers, "Transfer-Encoding": "chunked"}
        lines += [f"{name}: {value}" for name, value in headers.items()]
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def send(self, data: bytes) -> None:
        if self._chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        await self._write(data)
        self.sent += 1

    async def finish(self) -> None:
        """End a chunked body. The watcher stops first so it never eats the next request."""
        await self.stop_watching()
        self._check()
        self._on_complete()
        if self._chunked:
            await self._write(b"0\r\n\r\n")

    async def full(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """A complete response with a Content-Length body."""
        await self.stop_watching()
        self._check()
        headers = {**headers, "Content-Length": str(len(body))}
        self._on_complete()
        await self.start(status, headers, chunked=False)
        await self._write(body)

    async def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        await self.full(status, body, {"Content-Type": "application/json", **(headers or {})})

    async def stop_watching(self) -> None:
        if not self._watch.done():
            self._watch.cancel()
            # asyncio.wait does not re-raise the watcher's cancellation (nor swallow ours).
            await asyncio.wait([self._watch])
