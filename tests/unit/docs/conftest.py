"""A local documentation website on 127.0.0.1, a guard that keeps every connection on this
machine, and an in-memory sink for ingested sources.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ai_lsp.index.docs import DocPage, SourceStatus


@dataclass
class Route:
    body: str | bytes = ""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    send_length: bool = True


class DocsServer:
    """Serves `routes` by path; everything else is 404. Logs each request's path and Host."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.hosts: list[str] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.hosts.append(self.headers.get("Host", ""))
                route = server.routes.get(self.path, Route("not found", "text/plain", 404))
                if route.delay:
                    server.stopping.wait(route.delay)
                body = route.body.encode() if isinstance(route.body, str) else route.body
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.send_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up on a cap: expected
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def page(self, path: str, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        self.routes[path] = Route(body, content_type)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def site() -> Iterator[DocsServer]:
    server = DocsServer()
    server.start()
    yield server
    server.stop()


TLS_DIR = Path(__file__).parent / "tls"  # a self-signed certificate for docs.test (100 years)


@pytest.fixture
def tls_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocsServer]:
    """A site serving HTTPS as ``docs.test``; clients trust it through ``SSL_CERT_FILE``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_DIR / "docs-test.crt", TLS_DIR / "docs-test.key")
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_DIR / "docs-test.crt"))
    server = DocsServer(context)
    server.start()
    yield server
    server.stop()


class ConnectionGuard:
    """Every outgoing connection attempt; anything but 127.0.0.1 fails before it is made."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def outside(self) -> list[str]:
        return [address for address in self.attempts if address != "127.0.0.1"]


@pytest.fixture(autouse=True)
def guard(monkeypatch: pytest.MonkeyPatch) -> ConnectionGuard:
    watched = ConnectionGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def host_of(address: Any) -> str:
        return str(address[0]) if isinstance(address, tuple) else str(address)

    def connect(sock: socket.socket, address: Any) -> None:
        watched.attempts.append(host_of(address))
        if host_of(address) != "127.0.0.1":
            raise OSError(f"test guard: connection to {address} blocked")
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        watched.attempts.append(host_of(address))
        if host_of(address) != "127.0.0.1":
            raise OSError(f"test guard: connection to {address} blocked")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return watched


class MemorySink:
    """A `DocsSink` in memory: name -> (pages, status)."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[list[DocPage], SourceStatus]] = {}

    def replace_source(self, source: str, pages: Sequence[DocPage], status: SourceStatus) -> None:
        self.sources[source] = (list(pages), status)

    def remove_source(self, source: str) -> bool:
        return self.sources.pop(source, None) is not None

    def list_sources(self) -> list[SourceStatus]:
        return [status for _, status in self.sources.values()]

    def pages(self, source: str) -> list[DocPage]:
        return self.sources[source][0]


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()
