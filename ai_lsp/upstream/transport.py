"""A language server subprocess spoken to in JSON-RPC over stdio (Content-Length framing).

Messages are plain JSON values, so a proxy can forward any method; `client.py` adds types.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ai_lsp.upstream import process

__all__ = [
    "NotificationHandler",
    "RequestHandler",
    "ResponseError",
    "Transport",
    "UpstreamCrashed",
    "UpstreamError",
    "UpstreamStartFailed",
    "UpstreamTimeout",
]

log = logging.getLogger(__name__)

RequestHandler = Callable[[str, Any], Awaitable[Any]]
"""Answers a server-to-client request `(method, params)`; raise `ResponseError` to refuse it."""
NotificationHandler = Callable[[str, Any], None]
"""Takes a notification `(method, params)` from the server."""

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_UNSENT_BYTES = 16 * 1024 * 1024
"""Output the server has not read yet; beyond this it is considered hung and killed."""
STDERR_LINES = 40
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800


class UpstreamError(Exception):
    """Something went wrong talking to an upstream language server."""


class UpstreamTimeout(UpstreamError):
    """The server did not answer a request in time (the request was cancelled upstream)."""


class UpstreamCrashed(UpstreamError):
    """The server process is gone: it exited, was killed, or broke the protocol."""


class UpstreamStartFailed(UpstreamError):
    """The server's command could not be run at all (not installed, not executable)."""


class ResponseError(UpstreamError):
    """A JSON-RPC error answer: from the server, or raised by a handler to answer with one."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The `error` member of a response carrying this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class _ProtocolViolation(Exception):
    """Bytes on the server's stdout that are not a JSON-RPC frame."""


class Transport:
    """One server process: framing, request ids and timeouts, dispatch of what it sends.

    Create with `spawn`, then `listen` with the handlers for what the server sends. Server
    requests are answered with the handler's result (ids are echoed as received); requests to
    the server get ids of their own, so a proxy maps ids simply by awaiting `request`.
    """

    def __init__(self, spawned: process.Spawned, name: str) -> None:
        proc = spawned.process
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.name = name
        self._proc = proc
        self._subprocess = spawned.transport
        self._exited = spawned.exited
        self._stdin = proc.stdin
        self._stdout = proc.stdout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._serving: dict[int | str, asyncio.Task[None]] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._failure: UpstreamCrashed | None = None
        self._stopping = False
        self._on_request: RequestHandler | None = None
        self._on_notification: NotificationHandler | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc.stderr))
        self._watcher = asyncio.create_task(self._watch())

    @classmethod
    async def spawn(
        cls, command: Sequence[str], *, cwd: Path, name: str, env: dict[str, str] | None = None
    ) -> Transport:
        """Start `command` in its own process group; raise `UpstreamStartFailed` if it cannot run."""
        try:
            spawned = await process.start(command, cwd=cwd, env=env)
        except OSError as error:
            raise UpstreamStartFailed(f"cannot run `{' '.join(command)}`: {error}") from error
        log.debug("started %s (pid %d): %s", name, spawned.process.pid, " ".join(command))
        return cls(spawned, name)

    def listen(self, on_request: RequestHandler, on_notification: NotificationHandler) -> None:
        """Start reading the server's output and hand what it sends to these handlers."""
        self._on_request, self._on_notification = on_request, on_notification
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        """Process id of the server (and id of its process group)."""
        return self._proc.pid

    @property
    def running(self) -> bool:
        """True until the server exits, is killed, or is being shut down."""
        return self._failure is None and not self._stopping

    @property
    def crashed(self) -> bool:
        """True when the server ended on its own or was killed for misbehaving."""
        return self._failure is not None and not self._stopping

    @property
    def failure(self) -> UpstreamCrashed | None:
        """Why the server ended, once it has."""
        return self._failure

    def stderr_tail(self) -> list[str]:
        """The last lines the server wrote to stderr, for error messages."""
        return list(self._stderr)

    # The deadline belongs to the request, not to the caller: when it passes, the request is
    # cancelled upstream and reported as `UpstreamTimeout`, distinct from the caller's own
    # cancellation (which also cancels upstream, and propagates as `CancelledError`).
    async def request(self, method: str, params: Any, *, timeout: float) -> Any:  # noqa: ASYNC109
        """Send a request and return its `result`.

        Raises `ResponseError` for an error answer, `UpstreamTimeout` after `timeout` seconds
        and `UpstreamCrashed` if the server goes away first. A timeout, or cancellation of the
        awaiting task, sends `$/cancelRequest` upstream.
        """
        self._check_alive()
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self._send(message)
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise UpstreamTimeout(
                f"{self.name} did not answer {method} within {timeout:.3g} s"
            ) from None
        finally:
            if self._pending.pop(request_id, None) is not None and self._failure is None:
                self._send(
                    {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": request_id}}
                )

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (never waits; raises `UpstreamCrashed` if the server is gone)."""
        self._check_alive()
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def kill(self, reason: str) -> None:
        """End the server's whole process group now; pending requests fail with `reason`."""
        self._fail(reason)
        if self._proc.returncode is None:  # once reaped, `_watch` has ended the group
            process.kill_group(self._proc.pid)

    async def wait_closed(self) -> None:
        """Return once the server has exited and its output is read."""
        await asyncio.shield(self._watcher)

    async def aclose(self, grace: float = 2.0) -> None:
        """Shut down politely (`shutdown`, `exit`), then SIGTERM, then SIGKILL the group.

        Each step gets `grace` seconds; if the caller is cancelled, the group is killed at once.
        """
        already_stopping, self._stopping = self._stopping, True
        try:
            if self._failure is None and not already_stopping:
                try:
                    await self.request("shutdown", None, timeout=grace)
                    self.notify("exit", None)
                    self._stdin.close()  # servers reading stdin in a thread see the end sooner
                except UpstreamError as error:
                    log.debug("%s did not shut down cleanly: %s", self.name, error)
            for terminate in (False, True):
                if self._proc.returncode is None:
                    if terminate:
                        process.signal_group(self._proc.pid, terminate=True)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(grace):
                            await asyncio.shield(self._exited)
        finally:
            self.kill(f"{self.name} was shut down")
        await self.wait_closed()

    def _check_alive(self) -> None:
        if self._failure is not None:
            raise UpstreamCrashed(str(self._failure))

    def _send(self, message: dict[str, Any]) -> None:
        if self._failure is not None or self._stdin.is_closing():
            return
        body = json.dumps(message, separators=(",", ":")).encode()
        self._stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        if self._stdin.transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            self.kill(f"{self.name} stopped reading its input")

    def _fail(self, reason: str) -> None:
        """Mark the server gone (first reason wins) and fail everything waiting on it."""
        if self._failure is not None:
            return
        tail = " | ".join(line[:200] for line in list(self._stderr)[-3:])
        self._failure = UpstreamCrashed(f"{reason}; its last stderr: {tail}" if tail else reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(UpstreamCrashed(str(self._failure)))
        self._pending.clear()
        for task in self._serving.values():
            task.cancel()
        self._stdin.close()

    async def _watch(self) -> None:
        await self._exited
        code = self._proc.returncode
        process.kill_group(self._proc.pid)  # stragglers of the group must not outlive it
        process.forget(self._proc.pid)
        for task in (self._reader, self._stderr_task):  # read what it wrote before exiting
            if task is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await asyncio.shield(task)
                task.cancel()
        self._fail(f"{self.name} exited with code {code}")
        self._subprocess.close()  # pipes a process outside the group may still hold

    async def _read(self) -> None:
        try:
            while (message := await _read_message(self._stdout)) is not None:
                self._dispatch(message)
        except _ProtocolViolation as violation:
            log.warning("%s wrote non-protocol output to stdout: %s", self.name, violation)
            self.kill(f"{self.name} wrote non-protocol output to stdout ({violation})")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if self._failure is None:  # give an exiting server a moment to report its exit code
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(self._exited)
            if self._proc.returncode is None:
                self.kill(f"{self.name} closed its output")

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise _ProtocolViolation(f"a JSON {type(message).__name__} instead of a message")
        method, request_id = message.get("method"), message.get("id")
        if not isinstance(method, str):
            self._resolve(request_id, message)
        elif request_id is not None:
            self._serving[request_id] = asyncio.create_task(
                self._answer(request_id, method, message.get("params"))
            )
        elif method == "$/cancelRequest":
            params = message.get("params")
            cancelled = params.get("id") if isinstance(params, dict) else None
            task = self._serving.get(cancelled) if isinstance(cancelled, int | str) else None
            if task is not None:
                task.cancel()
        elif self._on_notification is not None:
            try:
                self._on_notification(method, message.get("params"))
            except Exception:
                log.exception("%s: handling %s failed", self.name, method)

    def _resolve(self, request_id: Any, message: dict[str, Any]) -> None:
        future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is None or future.done():
            log.debug("%s answered unknown or abandoned request %r", self.name, request_id)
        else:
            deliver(future, message)

    async def _answer(self, request_id: int | str, method: str, params: Any) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            assert self._on_request is not None
            reply["result"] = await self._on_request(method, params)
        except asyncio.CancelledError:
            reply["error"] = {"code": REQUEST_CANCELLED, "message": "cancelled"}
            self._send(reply)
            raise
        except ResponseError as error:
            reply["error"] = error.to_json()
        except Exception as error:
            log.exception("%s: answering %s failed", self.name, method)
            reply["error"] = {"code": INTERNAL_ERROR, "message": str(error)}
        finally:
            self._serving.pop(request_id, None)
        self._send(reply)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        pending = b""
        while chunk := await stream.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > MAX_HEADER_BYTES:  # an endless line: keep its beginning
                lines.append(pending)
                pending = b""
            for line in lines:
                text = line.decode("utf-8", "replace").rstrip()[:500]
                self._stderr.append(text)
                log.debug("%s stderr: %s", self.name, text)


async def _read_message(stream: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the output between messages."""
    length: int | None = None
    first = True
    while True:
        try:
            line = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as eof:
            if first and not eof.partial:
                return None
            raise _ProtocolViolation(f"output ends inside a header: {eof.partial[:80]!r}") from None
        except asyncio.LimitOverrunError:
            raise _ProtocolViolation("a header line longer than the limit") from None
        first = False
        if line == b"\r\n":
            break
        name, colon, value = line.partition(b":")
        if not line.endswith(b"\r\n") or not colon:
            raise _ProtocolViolation(f"not a header: {line[:80]!r}")
        key = name.strip().lower()
        if key == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif key != b"content-type":
            raise _ProtocolViolation(f"not a header: {line[:80]!r}")
    if length is None or length > MAX_BODY_BYTES:
        raise _ProtocolViolation(f"bad or missing Content-Length ({length})")
    body = await stream.readexactly(length)
    try:
        return json.loads(body)
    except ValueError:
        raise _ProtocolViolation(f"a body that is not JSON: {body[:80]!r}") from None


def deliver(future: asyncio.Future[Any], message: dict[str, Any]) -> None:
    """Settle `future` with a JSON-RPC response: its result, or a `ResponseError`."""
    error = message.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        future.set_exception(
            ResponseError(
                code if isinstance(code, int) else INTERNAL_ERROR,
                str(error.get("message", "")),
                error.get("data"),
            )
        )
    else:
        future.set_result(message.get("result"))
