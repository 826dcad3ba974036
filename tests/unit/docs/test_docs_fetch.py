"""URL safety of documentation fetches: schemes, refused addresses, redirects, DNS, caps."""

from __future__ import annotations

import pytest

from ai_lsp.index.docs_fetch import MARKUP_TYPES, FetchProblem, SafeFetcher
from tests.unit.docs.conftest import ConnectionGuard, DocsServer, Route

LOCAL = ["127.0.0.1"]


async def fetch(fetcher: SafeFetcher, url: str, max_bytes: int = 1 << 20) -> str:
    return (await fetcher.fetch(url, max_bytes=max_bytes, accept=MARKUP_TYPES)).text


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "file: is refused"),
        ("ftp://example.com/docs", "ftp: is refused"),
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1.2.3:8000/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
        ("http://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "reserved"),
    ],
)
async def test_refused_urls_never_connect(url: str, reason: str, guard: ConnectionGuard) -> None:
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchProblem) as raised:
            await fetch(fetcher, url)

    assert raised.value.kind == "refused"
    assert reason in raised.value.reason
    assert guard.attempts == []


async def test_refusal_names_the_option_that_allows_the_host(site: DocsServer) -> None:
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchProblem, match=r"--allow-host 127\.0\.0\.1"):
            await fetch(fetcher, site.url("/"))
    assert site.requests == []


async def test_an_allowed_host_is_fetched(site: DocsServer, guard: ConnectionGuard) -> None:
    site.page("/hello.md", "# Hello", "text/markdown")

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        assert await fetch(fetcher, site.url("/hello.md")) == "# Hello"
    assert guard.attempts == ["127.0.0.1"]  # the guard sees real connections


async def test_redirect_into_a_refused_address_is_not_followed(
    site: DocsServer, guard: ConnectionGuard
) -> None:
    site.routes["/go"] = Route(
        status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        with pytest.raises(FetchProblem) as raised:
            await fetch(fetcher, site.url("/go"))

    assert raised.value.kind == "refused"
    assert "169.254.169.254 is a link-local address" in raised.value.reason
    assert site.requests == ["/go"]
    assert guard.outside() == []


async def test_redirect_to_a_file_url_is_refused(site: DocsServer) -> None:
    site.routes["/go"] = Route(status=301, headers={"Location": "file:///etc/passwd"})

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        with pytest.raises(FetchProblem, match="file: is refused"):
            await fetch(fetcher, site.url("/go"))


async def test_redirects_are_followed_up_to_five_hops(site: DocsServer) -> None:
    for hop in range(5):
        site.routes[f"/r{hop}"] = Route(status=307, headers={"Location": f"/r{hop + 1}"})
    site.page("/r5", "arrived", "text/plain")
    site.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        assert await fetch(fetcher, site.url("/r0")) == "arrived"
        with pytest.raises(FetchProblem, match="more than 5 redirects"):
            await fetch(fetcher, site.url("/loop"))
    assert site.requests.count("/loop") == 6


async def test_a_name_is_resolved_once_and_every_address_checked(guard: ConnectionGuard) -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    async with SafeFetcher(resolver=rebinding) as fetcher:
        with pytest.raises(FetchProblem, match=r"docs\.example \(10\.0\.0\.5\) is a private"):
            await fetch(fetcher, "https://docs.example/guide/")
    assert guard.attempts == []


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    site: DocsServer,
) -> None:
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    site.page("/page.txt", "pinned", "text/plain")
    async with SafeFetcher(allow_hosts=["docs.test"], resolver=resolver) as fetcher:
        assert await fetch(fetcher, f"http://docs.test:{site.port}/page.txt") == "pinned"

    assert lookups == ["docs.test"]
    assert site.hosts == [f"docs.test:{site.port}"]


async def test_declared_oversize_body_is_refused_before_reading(site: DocsServer) -> None:
    site.page("/big.txt", "x" * 5000, "text/plain")

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        with pytest.raises(FetchProblem) as raised:
            await fetch(fetcher, site.url("/big.txt"), max_bytes=1000)
    assert raised.value.kind == "size"
    assert "5000 bytes" in raised.value.reason


async def test_undeclared_oversize_body_is_cut_while_streaming(site: DocsServer) -> None:
    site.routes["/stream.txt"] = Route("y" * 300_000, "text/plain", send_length=False)

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        with pytest.raises(FetchProblem) as raised:
            await fetch(fetcher, site.url("/stream.txt"), max_bytes=10_000)
    assert raised.value.kind == "size"
    assert "over the 10000 byte limit" in raised.value.reason


async def test_unwanted_content_types_are_skipped(site: DocsServer) -> None:
    site.page("/logo.png", "PNG", "image/png")

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        with pytest.raises(FetchProblem) as raised:
            await fetch(fetcher, site.url("/logo.png"))
    assert (raised.value.kind, raised.value.reason) == ("type", "content type image/png")


async def test_http_errors_and_timeouts_are_reported(site: DocsServer) -> None:
    site.routes["/slow"] = Route("late", delay=5.0)

    async with SafeFetcher(allow_hosts=LOCAL, read_timeout=1.0) as fetcher:
        with pytest.raises(FetchProblem) as missing:
            await fetch(fetcher, site.url("/missing"))
        with pytest.raises(FetchProblem) as slow:
            await fetch(fetcher, site.url("/slow"))

    assert (missing.value.kind, missing.value.reason, missing.value.status) == (
        "error",
        "HTTP 404 Not Found",
        404,
    )
    assert slow.value.reason == "timed out waiting for the server"


async def test_charset_from_the_header_or_the_html_meta(site: DocsServer) -> None:
    site.page("/latin.txt", "café".encode("latin-1"), "text/plain; charset=iso-8859-1")  # type: ignore[arg-type]
    site.routes["/meta.html"] = Route(
        '<meta charset="windows-1252"><p>na\xefve</p>'.encode("cp1252"), "text/html"
    )

    async with SafeFetcher(allow_hosts=LOCAL) as fetcher:
        assert await fetch(fetcher, site.url("/latin.txt")) == "café"
        assert "naïve" in await fetch(fetcher, site.url("/meta.html"))


async def test_https_to_the_checked_address_verifies_the_original_name(
    tls_site: DocsServer,
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    tls_site.page("/guide.md", "# Secure", "text/markdown")
    hosts = ["docs.test", "impostor.test"]
    async with SafeFetcher(allow_hosts=hosts, resolver=resolver) as fetcher:
        assert await fetch(fetcher, f"https://docs.test:{tls_site.port}/guide.md") == "# Secure"
        with pytest.raises(FetchProblem, match="certificate verify failed"):
            await fetch(fetcher, f"https://impostor.test:{tls_site.port}/guide.md")

    assert tls_site.hosts == [f"docs.test:{tls_site.port}"]
