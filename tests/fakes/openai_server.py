"""A fake OpenAI-compatible HTTP server on 127.0.0.1 for tests, benchmarks and manual runs.

Real sockets and SSE streaming, scripted answers and faults, a log of requests and of clients
that hung up early. `with FakeOpenAI() as server:` (or `async with`), or as a process:
`python -m tests.fakes.openai_server --port 0 [--script FILE.json] [--log FILE.jsonl]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.fakes.answers import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    MODELS,
    Catalog,
    Request,
    answer,
)
from tests.fakes.http11 import ClientGone, RawRequest, Responder, read_request
from tests.fakes.replies import Reply, Text, reply_from_json

__all__ = ["CHAT", "COMPLETIONS", "EMBEDDINGS", "MODELS", "FakeOpenAI", "refused_port"]

DEFAULT_MODELS = ("fake-chat", "fake-fim", "fake-embed")


@dataclass
class RecordedRequest:
    """One request as the server received it (times are `time.monotonic()`)."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """Parsed JSON body, or None."""
    received_at: float
    finished_at: float | None = None
    """When the answer was complete; None while in flight or when it never completed."""


@dataclass(frozen=True)
class ClientDisconnect:
    """A client that closed the connection before its answer was complete."""

    request: int
    path: str
    at: float
    chunks_sent: int


@dataclass
class _Stats:
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0
    max_connections: int = 0


def refused_port() -> int:
    """A local port where nothing listens, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeOpenAI:
    """The server, running its own event loop in a background thread.

    Script it with `script(path, *replies)` (a queue per path, consumed in order) and
    `set_default(path, reply)`; read `requests()`, `disconnects()` and `max_in_flight`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        embedding_dim: int = 64,
        models: Sequence[str] = DEFAULT_MODELS,
        on_request: Callable[[RecordedRequest], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.embedding_dim = embedding_dim
        self.models = list(models)
        self._on_request = on_request
        self._lock = threading.Lock()
        self._defaults: dict[str, Reply] = {
            CHAT: Text(),
            COMPLETIONS: Text("return a + b\n"),
            EMBEDDINGS: Text(),
            MODELS: Text(),
        }
        self._queues: dict[str, deque[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self._disconnects: list[ClientDisconnect] = []
        self._stats = _Stats()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._startup_error: OSError | None = None

    # -- scripting and inspection (any thread) -------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` with `replies`, in order, then the default."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(replies)

    def set_default(self, path: str, reply: Reply) -> None:
        with self._lock:
            self._defaults[path] = reply

    def pending(self, path: str) -> int:
        """Scripted replies for `path` not used yet."""
        with self._lock:
            return len(self._queues.get(path, ()))

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def disconnects(self, path: str | None = None) -> list[ClientDisconnect]:
        with self._lock:
            return [d for d in self._disconnects if path is None or d.path == path]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._stats.in_flight

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._stats.max_in_flight

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._stats.connections

    @property
    def max_connections(self) -> int:
        with self._lock:
            return self._stats.max_connections

    def reset(self) -> None:
        """Forget requests, disconnects, queued replies and peak counters."""
        with self._lock:
            self._requests.clear()
            self._disconnects.clear()
            self._queues.clear()
            self._stats.max_in_flight = self._stats.in_flight
            self._stats.max_connections = self._stats.connections

    def wait_until(self, condition: Callable[[], bool], within_s: float = 2.0) -> bool:
        """Poll `condition` from a sync test; True once it holds, False after `within_s`."""
        end = time.monotonic() + within_s
        while not condition():
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True

    async def until(self, condition: Callable[[], bool], within_s: float = 2.0) -> bool:
        """`wait_until` for async tests (does not block the test's event loop)."""
        end = time.monotonic() + within_s
        while not condition():
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(0.01)
        return True

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeOpenAI:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            # Aborting the sockets ends every handler by itself (reads see EOF, pauses and
            # stalls see the client gone); cancelling is only the fallback.
            for writer in self._connections.values():
                writer.transport.abort()
            handlers = list(self._connections)
            if handlers:
                _, late = await asyncio.wait(handlers, timeout=5)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)

    # -- serving (server thread) -------------------------------------------------------------

    def _count(self, *, in_flight: int = 0, connections: int = 0) -> None:
        with self._lock:
            s = self._stats
            s.in_flight += in_flight
            s.connections += connections
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
            s.max_connections = max(s.max_connections, s.connections)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        self._count(connections=1)
        try:
            while (raw := await read_request(reader)) is not None:
                if not await self._handle(raw, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that sends half a request or resets is simply gone
        finally:
            self._count(connections=-1)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            del self._connections[task]

    def _record(self, raw: RawRequest) -> RecordedRequest:
        try:
            body = json.loads(raw.body) if raw.body else None
        except ValueError:
            body = None
        with self._lock:
            path = raw.target.split("?", 1)[0]
            record = RecordedRequest(
                len(self._requests), raw.method, path, raw.headers, body, time.monotonic()
            )
            self._requests.append(record)
        if self._on_request is not None:
            self._on_request(record)
        return record

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._queues.get(path)
            if queue:
                return queue.popleft()
            return self._defaults.get(path)

    async def _handle(
        self, raw: RawRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must be closed afterwards."""
        record = self._record(raw)
        reply = self._next_reply(record.path)
        done = False

        def complete() -> None:
            # Counted out before the last bytes leave, so a client that starts its next
            # request at once never sees this one still in flight.
            nonlocal done
            done = True
            record.finished_at = time.monotonic()
            self._count(in_flight=-1)

        responder = Responder(reader, writer, complete)
        self._count(in_flight=1)
        try:
            request = Request(record.method, record.path, record.body)
            catalog = Catalog(self.models, self.embedding_dim)
            keep = await answer(reply, request, catalog, responder)
            return keep and raw.headers.get("connection", "").lower() != "close"
        except ClientGone:
            gone = ClientDisconnect(record.index, record.path, time.monotonic(), responder.sent)
            with self._lock:
                self._disconnects.append(gone)
            return False
        finally:
            if not done:
                self._count(in_flight=-1)
            await responder.stop_watching()


def load_script(server: FakeOpenAI, script: Mapping[str, Any]) -> None:
    """Apply a script: `{"defaults": {path: reply}, "queue": {path: [reply, ...]}}`."""
    for path, reply in script.get("defaults", {}).items():
        server.set_default(path, reply_from_json(reply))
    for path, replies in script.get("queue", {}).items():
        server.script(path, *(reply_from_json(r) for r in replies))


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON file with defaults and queued replies")
    parser.add_argument("--log", type=Path, help="append every request as a JSON line")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    args = parser.parse_args(None if argv is None else list(argv))
    script = json.loads(args.script.read_text()) if args.script else {}
    log = args.log.open("a", encoding="utf-8") if args.log else None

    def write_log(record: RecordedRequest) -> None:
        if log is not None:
            entry = {k: v for k, v in asdict(record).items() if k != "headers"}
            log.write(json.dumps(entry) + "\n")
            log.flush()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = FakeOpenAI(
        host=args.host,
        port=args.port,
        embedding_dim=script.get("embedding_dim", args.embedding_dim),
        models=script.get("models", args.models),
        on_request=write_log,
    )
    load_script(server, script)
    try:
        with server:
            print(server.base_url, flush=True)
            stop.wait()
    finally:
        if log is not None:
            log.close()


if __name__ == "__main__":
    main()
