"""Context from upstream answers, without a server: identifiers, snippets, budget, the cache."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest
from lsprotocol import types

from ai_lsp.index.ignore import WorkspaceFilter
from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.context import ContextCache, identifiers_near
from ai_lsp.upstream.snippets import (
    ContextSnippet,
    SourceTexts,
    definition_snippet,
    estimate_tokens,
    fit,
    signature_of,
)
from tests.unit.upstream.conftest import eventually


def span(start: int, end: int | None = None) -> types.Range:
    return types.Range(types.Position(start, 0), types.Position(start if end is None else end, 3))


class FakeClient:
    """Answers `definition` with a fixed target and counts the questions."""

    encoding = types.PositionEncodingKind.Utf16

    def __init__(self, target: types.Location) -> None:
        self.target = target
        self.asked: list[types.Position] = []

    async def definition(self, uri: str, position: types.Position) -> list[types.Location]:
        self.asked.append(position)
        return [self.target]


class Source:
    """An `UpstreamSource` over a folder, with open documents and an optional fake client."""

    def __init__(self, root: Path, client: FakeClient | None = None) -> None:
        self.root = root
        self.files = WorkspaceFilter(root)
        self.documents: dict[str, str] = {}
        self.client = client

    def document_text(self, uri: str) -> str | None:
        return self.documents.get(uri)

    async def client_for(self, uri: str, language_id: str | None = None) -> UpstreamClient:
        assert self.client is not None
        return cast(UpstreamClient, self.client)


def test_identifiers_near_put_the_open_call_first() -> None:
    text = "far = away(1)\n\n\n\nresult = client.fetch(a, parse(b), "
    usages = identifiers_near(text, len(text))
    assert [(u.name, u.role) for u in usages] == [
        ("fetch", "call"),
        ("parse", "call"),
        ("client", "receiver"),
    ]
    assert text[usages[0].offset :].startswith("fetch(")


def test_identifiers_near_skip_keywords_and_respect_the_limit() -> None:
    text = "if (ok):\n    print(self.total, len(x), a.b.c(), d(), e(), f())"
    names = [u.name for u in identifiers_near(text, len(text) - 1, limit=5)]
    assert names == ["f", "e", "d", "c", "b"]  # `print(` is open but says nothing new
    assert [u.name for u in identifiers_near(text, len(text) - 1)] == [
        *("f", "e", "d", "c", "b", "a"),
    ]


def test_definition_block_by_indentation(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "import x\n\n@cache\ndef total(\n    items,\n) -> int:\n    return sum(items)\n\nnext = 1\n"
    )
    (tmp_path / "lib.c").write_text("int f(int a) {\n  return a;\n}\nint g;\n")
    texts = SourceTexts(Source(tmp_path))
    python = asyncio.run(
        definition_snippet(texts, types.Location((tmp_path / "mod.py").as_uri(), span(3)), "total")
    )
    assert python is not None
    assert (python.path, python.start_line, python.end_line) == ("mod.py", 3, 7)
    assert python.text.splitlines()[0] == "@cache"
    c = asyncio.run(
        definition_snippet(texts, types.Location((tmp_path / "lib.c").as_uri(), span(0)), "f")
    )
    assert c is not None
    assert c.text == "int f(int a) {\n  return a;\n}"
    link = types.LocationLink((tmp_path / "lib.c").as_uri(), span(0, 3), span(0))
    whole = asyncio.run(definition_snippet(texts, link, "f"))
    assert whole is not None
    assert whole.end_line == 4  # the server's range wins when it spans lines


def test_snippets_only_from_files_that_may_reach_a_model(tmp_path: Path) -> None:
    workspace, library = tmp_path / "ws", tmp_path / "site-packages"
    workspace.mkdir()
    library.mkdir()
    (workspace / "secrets.py").write_text("def key():\n    return 'hunter2'\n")
    (library / "lib.py").write_text("def helper():\n    pass\n")
    (library / "credentials.py").write_text("def token():\n    pass\n")
    texts = SourceTexts(Source(workspace))

    def snippet(path: Path) -> ContextSnippet | None:
        return asyncio.run(definition_snippet(texts, types.Location(path.as_uri(), span(0)), "s"))

    assert snippet(workspace / "secrets.py") is None
    assert snippet(library / "credentials.py") is None
    outside = snippet(library / "lib.py")
    assert outside is not None
    assert outside.path == str(library / "lib.py")


def test_fit_keeps_order_skips_duplicates_and_what_exceeds_the_budget() -> None:
    def make(text: str, line: int) -> ContextSnippet:
        return ContextSnippet("a.py", line, line, text, "s", "definition", "file:///a.py")

    big, small, again = make("x" * 400, 1), make("y" * 40, 2), make("y" * 40, 2)
    assert fit([big, small, again], 50, estimate_tokens) == [small]
    assert fit([big, small, again], None, estimate_tokens) == [big, small]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "```python\n(variable) items: list[Order]\n```\n---\ndoc",
            "(variable) items: list[Order]",
        ),
        (
            "def compute_total(items, discount=0.1)\n---\nSum them.",
            "def compute_total(items, discount=0.1)",
        ),
        ("fn f() -> u8\n\nDocs.", "fn f() -> u8"),
    ],
)
def test_signature_of_a_hover(value: str, expected: str) -> None:
    hover = types.Hover(types.MarkupContent(types.MarkupKind.Markdown, value))
    assert signature_of(hover) == expected


async def test_cache_prefetches_once_per_pause_and_answers_from_memory(tmp_path: Path) -> None:
    (tmp_path / "util.py").write_text("def helper(x):\n    return x\n")
    client = FakeClient(types.Location((tmp_path / "util.py").as_uri(), span(0)))
    source = Source(tmp_path, client)
    cache = ContextCache(source, debounce_s=0.05)
    uri = (tmp_path / "main.py").as_uri()
    text = ""
    for typed in "y = helper(":  # one prefetch after the typing pauses, at the last edit
        before, text = text, text + typed
        source.documents[uri] = text
        cache.edited(uri, "python", before, text)
    assert cache.cached_context(uri, text, len(text), 100) == []
    await eventually(lambda: bool(cache.cached_context(uri, text, len(text), 100)))
    [snippet] = cache.cached_context(uri, text, len(text), 100)
    assert snippet.text == "def helper(x):\n    return x"
    assert client.asked == [types.Position(0, 4)]
    await cache.prefetch(uri, "python", text, len(text))  # fresh: not asked again
    assert len(client.asked) == 1
    cache.forget(uri)
    assert cache.cached_context(uri, text, len(text), 100) == []
    await cache.aclose()
