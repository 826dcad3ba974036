"""Ingesting a documentation website: llms files, sitemaps, crawling within limits, status."""

from __future__ import annotations

import pytest

from ai_lsp.index.docs import DocsError, DocsLimits, Progress, add_source
from tests.unit.docs.conftest import ConnectionGuard, DocsServer, MemorySink, Route

LOCAL = ["127.0.0.1"]


def html(title: str, body: str = "", links: tuple[str, ...] = ()) -> str:
    anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    return (
        f"<html><head><title>{title}</title><script>var tracker = 1;</script></head>"
        f"<body><nav>{anchors}</nav><main><h1>{title}</h1><p>{body or title + ' text'}</p>"
        "</main></body></html>"
    )


async def test_llms_full_txt_is_preferred(site: DocsServer, sink: MemorySink) -> None:
    site.page("/llms-full.txt", "# Widget\n\n## Install\n\nEverything at once.", "text/plain")
    site.page("/llms.txt", "# Widget\n\n- [Guide](/guide.md)", "text/plain")
    site.page("/sitemap.xml", "<urlset><url><loc>/a.html</loc></url></urlset>", "text/xml")

    status = await add_source(site.url("/"), name="widget", allow_hosts=LOCAL, sink=sink)

    assert (status.strategy, status.pages, status.error_count) == ("llms-full.txt", 1, 0)
    [page] = sink.pages("widget")
    assert (page.title, page.url) == ("Widget", site.url("/llms-full.txt"))
    assert "Everything at once." in page.text
    assert "/llms.txt" not in site.requests
    assert "/sitemap.xml" not in site.requests


async def test_llms_files_are_looked_for_in_the_start_directory_first(
    site: DocsServer, sink: MemorySink
) -> None:
    site.page("/docs/v2/llms-full.txt", "# Version 2", "text/markdown")
    site.page("/llms-full.txt", "# Whole site", "text/markdown")

    await add_source(site.url("/docs/v2/"), name="v2", allow_hosts=LOCAL, sink=sink)

    assert [page.title for page in sink.pages("v2")] == ["Version 2"]


async def test_llms_txt_brings_its_linked_pages_of_the_same_site(
    site: DocsServer, sink: MemorySink, guard: ConnectionGuard
) -> None:
    site.page(
        "/llms.txt",
        "# Widget\n\n> A widget.\n\n## Docs\n\n- [Install](/docs/install.md): setup\n"
        "- [API](docs/api.html)\n- [Blog](https://blog.example.com/post)\n",
        "text/plain",
    )
    site.page("/docs/install.md", "# Install\n\npip install widget", "text/markdown")
    site.page("/docs/api.html", html("API", "call widget.run()"))
    site.routes["/llms-full.txt"] = Route("<html>not here</html>", "text/plain")  # soft 404

    status = await add_source(site.url("/"), name="w", allow_hosts=LOCAL, sink=sink)

    assert status.strategy == "llms.txt"
    assert sorted(page.title for page in sink.pages("w")) == ["API", "Install", "Widget"]
    assert status.skipped == {"off-site": 1}
    assert guard.outside() == []


async def test_llms_txt_links_respect_the_page_limit(site: DocsServer, sink: MemorySink) -> None:
    links = "\n".join(f"- [P{n}](/p{n}.md)" for n in range(10))
    site.page("/llms.txt", f"# Index\n\n{links}", "text/plain")
    for n in range(10):
        site.page(f"/p{n}.md", f"# P{n}\n\ntext {n}", "text/markdown")

    status = await add_source(
        site.url("/"), allow_hosts=LOCAL, sink=sink, limits=DocsLimits(max_pages=4)
    )

    assert (status.pages, status.stopped_by) == (4, "page limit")
    assert sum(path.startswith("/p") for path in site.requests) <= 3 + 3  # 3 more in flight


async def test_sitemap_index_when_there_are_no_llms_files(
    site: DocsServer, sink: MemorySink
) -> None:
    site.page(
        "/sitemap.xml",
        "<?xml version='1.0'?><sitemapindex><sitemap><loc>"
        f"{site.url('/maps/docs.xml')}</loc></sitemap></sitemapindex>",
        "application/xml",
    )
    site.page(
        "/maps/docs.xml",
        "<urlset>"
        + "".join(
            f"<url><loc>{site.url(path)}</loc></url>"
            for path in ("/docs/a.html", "/docs/b.html?x=1&amp;y=2", "/blog/post.html")
        )
        + "</urlset>",
        "text/xml",
    )
    site.page("/docs/a.html", html("A"))
    site.page("/docs/b.html?x=1&y=2", html("B"))

    status = await add_source(site.url("/docs/"), name="d", allow_hosts=LOCAL, sink=sink)

    assert (status.strategy, status.pages) == ("sitemap", 2)
    assert sorted(page.title for page in sink.pages("d")) == ["A", "B"]
    assert "/blog/post.html" not in site.requests


async def test_sitemap_named_in_robots_txt(site: DocsServer, sink: MemorySink) -> None:
    site.page(
        "/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {site.url('/m.xml')}\n", "text/plain"
    )
    site.page(
        "/m.xml", f"<urlset><url><loc>{site.url('/only.html')}</loc></url></urlset>", "text/xml"
    )
    site.page("/only.html", html("Only"))

    status = await add_source(site.url("/"), allow_hosts=LOCAL, sink=sink)

    assert (status.strategy, status.pages) == ("sitemap", 1)


def chain_site(site: DocsServer, length: int) -> None:
    """/docs/ -> /docs/p1.html -> ... each page linking the next, plus assets and other sites."""
    for n in range(length):
        path = "/docs/" if n == 0 else f"/docs/p{n}.html"
        links = (f"p{n + 1}.html", "/blog/", "https://other.example/", "img/logo.png", "#top")
        site.page(path, html(f"Page {n}", links=links))


async def test_crawl_stops_at_the_depth_limit(site: DocsServer, sink: MemorySink) -> None:
    chain_site(site, 6)

    status = await add_source(
        site.url("/docs/"), name="c", allow_hosts=LOCAL, sink=sink, limits=DocsLimits(max_depth=2)
    )

    assert status.strategy == "crawl"
    assert [page.title for page in sink.pages("c")] == ["Page 0", "Page 1", "Page 2"]
    pages_requested = [path for path in site.requests if path.endswith(("/", ".html"))]
    assert pages_requested == ["/docs/", "/docs/p1.html", "/docs/p2.html"]
    assert "/blog/" not in site.requests
    assert "/docs/img/logo.png" not in site.requests


async def test_crawl_stops_at_the_page_limit(site: DocsServer, sink: MemorySink) -> None:
    links = tuple(f"p{n}.html" for n in range(1, 30))
    site.page("/docs/", html("Hub", links=links))
    for n in range(1, 30):
        site.page(f"/docs/p{n}.html", html(f"Leaf {n}"))

    status = await add_source(
        site.url("/docs/"), allow_hosts=LOCAL, sink=sink, limits=DocsLimits(max_pages=5)
    )

    assert (status.pages, status.stopped_by) == (5, "page limit")
    assert len([p for p in site.requests if p.endswith(".html")]) <= 4 + 3  # 3 more in flight


async def test_crawl_stops_at_the_byte_limit(site: DocsServer, sink: MemorySink) -> None:
    links = tuple(f"p{n}.html" for n in range(1, 20))
    site.page("/docs/", html("Hub", links=links))
    for n in range(1, 20):
        site.page(f"/docs/p{n}.html", html(f"Leaf {n}", "lorem ipsum " * 300))

    status = await add_source(
        site.url("/docs/"),
        allow_hosts=LOCAL,
        sink=sink,
        limits=DocsLimits(max_bytes=12_000, concurrency=1),
    )

    assert status.stopped_by == "byte limit"
    assert 1 < status.pages < 5
    assert status.bytes <= 12_000


async def test_crawl_honours_robots_txt(site: DocsServer, sink: MemorySink) -> None:
    site.page("/robots.txt", "User-agent: ai-lsp\nDisallow: /docs/private/\n", "text/plain")
    site.page("/docs/", html("Home", links=("public.html", "private/secret.html")))
    site.page("/docs/public.html", html("Public"))
    site.page("/docs/private/secret.html", html("Secret"))

    status = await add_source(site.url("/docs/"), name="r", allow_hosts=LOCAL, sink=sink)

    assert [page.title for page in sink.pages("r")] == ["Home", "Public"]
    assert status.skipped == {"robots": 1}
    assert "/docs/private/secret.html" not in site.requests


async def test_robots_txt_disallowing_everything_stops_the_source(
    site: DocsServer, sink: MemorySink
) -> None:
    site.page("/robots.txt", "User-agent: *\nDisallow: /\n", "text/plain")
    site.page("/docs/", html("Home"))

    status = await add_source(site.url("/docs/"), allow_hosts=LOCAL, sink=sink)

    assert status.pages == 0
    assert site.requests == ["/robots.txt"]
    assert status.skipped == {"robots": 1}


async def test_crawled_html_is_cleaned(site: DocsServer, sink: MemorySink) -> None:
    site.page(
        "/docs/",
        "<html><head><title>Guide</title><script>steal()</script></head><body>"
        "<nav>menu</nav><main><h1>Guide</h1><p>Use it.</p><pre><code class='language-py'>"
        "print(1)</code></pre></main></body></html>",
    )

    await add_source(site.url("/docs/"), name="g", allow_hosts=LOCAL, sink=sink)

    [page] = sink.pages("g")
    assert page.text == "# Guide\n\nUse it.\n\n```py\nprint(1)\n```"


async def test_redirect_to_a_refused_address_is_reported(
    site: DocsServer, sink: MemorySink, guard: ConnectionGuard
) -> None:
    site.page("/docs/", html("Home", links=("meta.html",)))
    site.routes["/docs/meta.html"] = Route(
        status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )

    status = await add_source(site.url("/docs/"), allow_hosts=LOCAL, sink=sink)

    assert status.pages == 1
    assert status.skipped == {"refused": 1}
    [error] = status.errors
    assert error.url == "http://169.254.169.254/latest/meta-data/"
    assert "link-local" in error.reason
    assert guard.outside() == []


async def test_a_missing_start_page_is_reported(site: DocsServer, sink: MemorySink) -> None:
    status = await add_source(site.url("/nowhere/"), name="gone", allow_hosts=LOCAL, sink=sink)

    assert (status.pages, status.strategy, status.error_count) == (0, "crawl", 1)
    assert status.errors[0].url == site.url("/nowhere/")
    assert status.errors[0].reason == "HTTP 404 Not Found"
    assert [s.name for s in sink.list_sources()] == ["gone"]


async def test_a_slow_page_is_reported_as_a_timeout(site: DocsServer, sink: MemorySink) -> None:
    site.page("/docs/", html("Home", links=("slow.html",)))
    site.routes["/docs/slow.html"] = Route(html("Slow"), delay=5.0)

    status = await add_source(
        site.url("/docs/"), allow_hosts=LOCAL, sink=sink, limits=DocsLimits(read_timeout=1.0)
    )

    assert status.pages == 1
    assert [(e.url, e.reason) for e in status.errors] == [
        (site.url("/docs/slow.html"), "timed out waiting for the server")
    ]


async def test_the_time_limit_keeps_what_was_fetched(site: DocsServer, sink: MemorySink) -> None:
    site.page("/docs/", html("Home", links=("slow.html",)))
    site.routes["/docs/slow.html"] = Route(html("Slow"), delay=5.0)

    status = await add_source(
        site.url("/docs/"), allow_hosts=LOCAL, sink=sink, limits=DocsLimits(max_seconds=1.5)
    )

    assert (status.pages, status.stopped_by) == (1, "time limit")


async def test_refused_start_urls_raise_and_store_nothing(sink: MemorySink) -> None:
    for url, message in [
        ("file:///etc/passwd", "file: is refused"),
        ("http://127.0.0.1:9/", "--allow-host 127.0.0.1"),
        ("http://10.0.0.1/docs/", "private address"),
        ("http://169.254.169.254/", "link-local"),
        ("http://[::1]/", "loopback"),
    ]:
        with pytest.raises(DocsError, match=message):
            await add_source(url, sink=sink)
    assert sink.sources == {}


async def test_progress_is_reported_per_page(site: DocsServer, sink: MemorySink) -> None:
    chain_site(site, 3)
    seen: list[Progress] = []

    await add_source(site.url("/docs/"), allow_hosts=LOCAL, sink=sink, on_progress=seen.append)

    assert [p.pages for p in seen if p.message.startswith("3 pages")] == [3]
    assert all(p.max_pages == 200 for p in seen)


async def test_default_name_comes_from_host_and_directory(
    site: DocsServer, sink: MemorySink
) -> None:
    site.page("/docs/guide/index.html", html("Index"))

    status = await add_source(site.url("/docs/guide/index.html"), allow_hosts=LOCAL, sink=sink)

    assert status.name == "127.0.0.1/docs/guide"
