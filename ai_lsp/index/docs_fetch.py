"""HTTP for documentation sources: only http(s) to public addresses (checked before every
connection and redirect hop), connections pinned to the checked address, size caps while streaming.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import urljoin, urlsplit

from ai_lsp import __version__

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "MARKUP_TYPES",
    "USER_AGENT",
    "FetchProblem",
    "Fetched",
    "ProblemKind",
    "Resolver",
    "SafeFetcher",
    "address_refusal",
    "system_resolver",
]

USER_AGENT = f"ai-lsp/{__version__} (documentation indexer)"
MARKUP_TYPES = frozenset({"text/html", "text/plain", "text/markdown"})
MAX_REDIRECTS = 5

ProblemKind = Literal["refused", "type", "size", "error"]
# (host, port) -> the host's addresses as strings, in preference order.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
_SUFFIX_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain"}
_TYPE_ALIASES = {"text/x-markdown": "text/markdown", "application/xhtml+xml": "text/html"}


class FetchProblem(Exception):
    """A URL that was not fetched, with the kind of problem and a reason a user can act on."""

    def __init__(self, url: str, kind: ProblemKind, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.kind: ProblemKind = kind
        self.reason = reason
        self.status = status  # the HTTP status when the server answered with an error


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful response: final URL after redirects, media type and decoded text."""

    url: str
    media_type: str
    text: str
    size: int


def address_refusal(ip: _IP) -> str | None:
    """Why connecting to ``ip`` is refused (not a public unicast address), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_private:
        return "private address"
    if not ip.is_global:
        return "reserved address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Addresses of ``host`` from the system resolver (IPv4 first, duplicates dropped)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = dict.fromkeys(str(info[4][0]) for info in infos)
    return sorted(found, key=lambda address: ":" in address)


class SafeFetcher:
    """Fetches URLs for documentation ingestion; use as an async context manager.

    Each hop is checked: scheme http(s), every resolved address public (unless the host is
    in ``allow_hosts``), then the request goes to the checked address itself, with the
    original name in ``Host`` and TLS SNI, so a DNS answer cannot change between check and use.
    """

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str] = (),
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.allow_hosts = frozenset(_normal_host(host) for host in allow_hosts)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._resolve = resolver
        # One client per host name: a pooled connection is never reused for another name.
        self._clients: dict[str, httpx2.AsyncClient] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def check_url(self, url: str) -> list[str]:
        """The addresses ``url`` may be fetched from; raise `FetchProblem` when refused."""
        return (await self._hop(url))[2]

    async def fetch(self, url: str, *, max_bytes: int, accept: Collection[str]) -> Fetched:
        """GET ``url`` following up to 5 redirects; raise `FetchProblem` for any failure."""
        for _ in range(MAX_REDIRECTS + 1):
            target, host, addresses = await self._hop(url)
            outcome = await self._request(url, target, host, addresses, max_bytes, accept)
            if isinstance(outcome, Fetched):
                return outcome
            url = outcome
        raise FetchProblem(url, "error", f"more than {MAX_REDIRECTS} redirects")

    async def _hop(self, url: str) -> tuple[httpx2.URL, str, list[str]]:
        """Parse and check one hop: (URL, ASCII host, addresses allowed to connect to)."""
        import httpx2

        try:
            target = httpx2.URL(url)
        except httpx2.InvalidURL as error:
            raise FetchProblem(url, "refused", f"invalid URL: {error}") from None
        if target.scheme not in ("http", "https"):
            scheme = f"{target.scheme}:" if target.scheme else "a URL without a scheme"
            raise FetchProblem(url, "refused", f"{scheme} is refused: only http and https")
        host = _normal_host(target.raw_host.decode("ascii"))
        port = target.port or (443 if target.scheme == "https" else 80)
        if not host or not 0 < port < 65536:
            raise FetchProblem(url, "refused", "URL has no valid host and port")
        addresses = await self._addresses(url, host, port)
        if host in self.allow_hosts:
            return target, host, addresses
        for address in addresses:
            reason = address_refusal(ipaddress.ip_address(address))
            if reason is not None:
                shown = host if host == address else f"{host} ({address})"
                raise FetchProblem(
                    url, "refused", f"{shown} is a {reason}; pass --allow-host {host} to allow it"
                )
        return target, host, addresses

    async def _addresses(self, url: str, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(self._connect_timeout):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError) as error:
            raise FetchProblem(url, "error", f"cannot resolve {host}: {error}") from None
        if not addresses:
            raise FetchProblem(url, "error", f"{host} has no address")
        return addresses

    async def _request(
        self,
        url: str,
        target: httpx2.URL,
        host: str,
        addresses: list[str],
        max_bytes: int,
        accept: Collection[str],
    ) -> Fetched | str:
        """The response for ``url`` or the next URL of a redirect, trying each address."""
        import httpx2

        headers = {"Host": target.netloc.decode("ascii"), "User-Agent": USER_AGENT}
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        client = self._client(host)
        for index, address in enumerate(addresses):
            pinned = target.copy_with(host=address, fragment=None)
            try:
                async with client.stream(
                    "GET", pinned, headers=headers, extensions=extensions
                ) as response:
                    return await _read(url, response, max_bytes, accept)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
                if index + 1 == len(addresses):
                    raise FetchProblem(url, "error", f"cannot connect: {error}") from None
            except httpx2.TimeoutException:
                raise FetchProblem(url, "error", "timed out waiting for the server") from None
            except httpx2.HTTPError as error:
                raise FetchProblem(url, "error", f"{type(error).__name__}: {error}") from None
        raise FetchProblem(url, "error", "no address to connect to")

    def _client(self, host: str) -> httpx2.AsyncClient:
        import httpx2

        client = self._clients.get(host)
        if client is None:
            client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self._read_timeout, connect=self._connect_timeout),
                follow_redirects=False,
                # No environment proxy (it would connect to unchecked addresses) and no .netrc
                # credentials; SSL_CERT_FILE / SSL_CERT_DIR still choose the trusted CAs.
                trust_env=False,
                verify=httpx2.create_ssl_context(),
            )
            self._clients[host] = client
        return client


async def _read(
    url: str, response: httpx2.Response, max_bytes: int, accept: Collection[str]
) -> Fetched | str:
    """Decode ``response`` within the caps, or return a redirect's next URL."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308) and "location" in response.headers:
        return urljoin(url, response.headers["location"])
    if status >= 300 or status in (204, 205):
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        raise FetchProblem(url, "error", reason, status)
    media_type = _media_type(url, response.headers.get("content-type", ""))
    if media_type not in accept:
        raise FetchProblem(url, "type", f"content type {media_type or 'missing'}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchProblem(url, "size", f"{int(declared)} bytes, over the {max_bytes} limit")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise FetchProblem(url, "size", f"over the {max_bytes} byte limit")
    charset = response.charset_encoding or _sniffed_charset(bytes(body[:2048]), media_type)
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return Fetched(url, media_type, text.removeprefix("\ufeff"), len(body))


def _media_type(url: str, header: str) -> str:
    media_type = header.split(";", 1)[0].strip().lower()
    media_type = _TYPE_ALIASES.get(media_type, media_type)
    if media_type in ("", "application/octet-stream"):
        path = urlsplit(url).path.lower()
        for suffix, guessed in _SUFFIX_TYPES.items():
            if path.endswith(suffix):
                return guessed
    return media_type


def _sniffed_charset(head: bytes, media_type: str) -> str | None:
    match = _CHARSET_RE.search(head) if media_type == "text/html" else None
    return match.group(1).decode("ascii") if match else None


def _normal_host(host: str) -> str:
    """Comparable form of a host: IP addresses canonical, names lower-case ASCII (IDNA)."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host
