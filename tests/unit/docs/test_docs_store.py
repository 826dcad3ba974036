"""The SQLite documentation store: sources with status, sections, BM25 search."""

from __future__ import annotations

from pathlib import Path

from ai_lsp.index.docs import (
    DocPage,
    SourceError,
    SourceStatus,
    SqliteDocsStore,
    docs_store_path,
    list_sources,
    remove_source,
)


def status(name: str, pages: int = 1) -> SourceStatus:
    return SourceStatus(
        name=name,
        location=f"https://{name}.example/",
        strategy="crawl",
        fetched_at="2026-01-01T00:00:00+00:00",
        pages=pages,
        bytes=100,
        skipped={"robots": 2},
        errors=[SourceError("https://x.example/a", "HTTP 404 Not Found")],
        error_count=1,
    )


PARSER_DOC = DocPage(
    "widget",
    "https://widget.example/parse.html",
    "Parsing",
    "# Parsing\n\nIntro.\n\n## parsePayload\n\nCall `parse_payload(raw)` to decode a payload.\n\n"
    "## Errors\n\nA ValueError is raised for garbage.",
)
HTTP_DOC = DocPage(
    "web", "https://web.example/client.html", "Client", "# Client\n\nSend a request with retries."
)


def test_sources_round_trip_with_their_status(tmp_path: Path) -> None:
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    store.replace_source("widget", [PARSER_DOC], status("widget"))
    store.replace_source("web", [HTTP_DOC], status("web"))

    reopened = SqliteDocsStore(tmp_path / "docs.sqlite3")

    assert reopened.list_sources() == [status("web"), status("widget")]


def test_search_finds_sections_across_naming_styles(tmp_path: Path) -> None:
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    store.replace_source("widget", [PARSER_DOC], status("widget"))
    store.replace_source("web", [HTTP_DOC], status("web"))

    [best, *_] = store.search_docs("how do I parse payload bytes", top_k=3)

    assert (best.source, best.heading) == ("widget", ("Parsing", "parsePayload"))
    assert best.text == "Call `parse_payload(raw)` to decode a payload."
    assert best.score > 0
    assert store.search_docs("retries", sources=["widget"]) == []
    assert [hit.source for hit in store.search_docs("retries", sources=["web"])] == ["web"]
    assert store.search_docs("!!!") == []


def test_replacing_a_source_drops_its_old_pages(tmp_path: Path) -> None:
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    store.replace_source("widget", [PARSER_DOC], status("widget"))

    store.replace_source("widget", [HTTP_DOC], status("widget"))

    assert store.search_docs("payload") == []
    assert [hit.title for hit in store.search_docs("retries")] == ["Client"]


async def test_remove_forgets_pages_and_status(tmp_path: Path) -> None:
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    store.replace_source("widget", [PARSER_DOC], status("widget"))
    store.replace_source("web", [HTTP_DOC], status("web"))

    assert await remove_source(store, "widget") is True
    assert await remove_source(store, "widget") is False
    assert [s.name for s in await list_sources(store)] == ["web"]
    assert store.search_docs("payload") == []


def test_each_workspace_has_its_own_store(tmp_path: Path) -> None:
    one = docs_store_path(tmp_path / "a" / "proj", tmp_path / "state")
    other = docs_store_path(tmp_path / "b" / "proj", tmp_path / "state")

    assert one != other
    assert one.parent == other.parent == tmp_path / "state" / "docs"
    assert one.name.startswith("proj-")


def test_status_from_a_newer_version_is_still_read() -> None:
    data = {**status("web").to_json(), "added_later": True}

    assert SourceStatus.from_json(data) == status("web")
