"""Ingesting a local folder of markdown, reStructuredText and text files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_lsp.index.docs import DocsError, DocsLimits, add_source
from tests.unit.docs.conftest import MemorySink


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "handbook"
    files = {
        "index.md": "# Handbook\n\nWelcome.",
        "guide/usage.mdx": "---\ntitle: Usage\n---\n\nUse it.",
        "guide/api.rst": "API\n===\n\nFunctions\n---------\n\nrun()",
        "notes.txt": "plain notes",
        "script.py": "print('not docs')",
        ".hidden/secret.md": "# Hidden",
        "node_modules/pkg/README.md": "# Dependency",
        ".env.md": "API_KEY=xyz",
        "ignored.md": "# Ignored",
        ".gitignore": "ignored.md\n",
        "big.md": "x" * 3000,
        "binary.md": "\0\1\2",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / ".git").mkdir()
    return root


async def test_folder_documents_are_read(docs: Path, sink: MemorySink) -> None:
    status = await add_source(str(docs), sink=sink, limits=DocsLimits(max_page_bytes=2000))

    assert (status.name, status.strategy, status.location) == ("handbook", "folder", str(docs))
    pages = {Path(page.url[len("file://") :]).name: page for page in sink.pages("handbook")}
    assert sorted(pages) == ["api.rst", "index.md", "notes.txt", "usage.mdx"]
    assert pages["api.rst"].text == "# API\n\n## Functions\n\nrun()"
    assert [p.title for p in sorted(pages.values(), key=lambda p: p.url)] == [
        "API",
        "Usage",
        "Handbook",
        "notes",
    ]
    assert status.skipped == {"size": 1, "type": 1}
    assert status.errors == []


async def test_folder_respects_the_page_limit(docs: Path, sink: MemorySink) -> None:
    status = await add_source(str(docs), name="hb", sink=sink, limits=DocsLimits(max_pages=2))

    assert (status.pages, status.stopped_by) == (2, "page limit")


async def test_a_missing_folder_is_an_error(tmp_path: Path, sink: MemorySink) -> None:
    with pytest.raises(DocsError, match="no such folder"):
        await add_source(str(tmp_path / "nope"), sink=sink)
    with pytest.raises(DocsError, match="invalid source name"):
        await add_source(str(tmp_path), name="bad\nname", sink=sink)
