"""The agent's code tools against a real upstream server, jedi-language-server, run by the real
`UpstreamManager` on a two-file workspace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai_lsp.agent.tools import ToolContext, ToolResult, run
from ai_lsp.completion.guard import PromptGuard
from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.documents import DocumentStore
from ai_lsp.notices import Notices
from ai_lsp.upstream.manager import Backoff, UpstreamManager
from tests.unit.upstream.conftest import EVENTUALLY_S, MAIN, UTIL, Said, needs_jedi

pytestmark = needs_jedi

DEFINITION = '''\
util.py:1-4
```python
def compute_total(items, discount=0.1):
    """Sum the prices of `items`, minus `discount`."""
    total = sum(item.price for item in items)
    return total * (1 - discount)
```'''
BROKEN = "def broken(:\n    pass\n"


@dataclass
class Editor:
    """The server's side of a session: the open documents, mirrored to the upstream manager."""

    root: Path
    documents: DocumentStore
    manager: UpstreamManager

    def open(self, name: str, text: str | None = None) -> str:
        uri = (self.root / name).as_uri()
        text = (self.root / name).read_text() if text is None else text
        self.documents.open(uri, "python", 1, text)
        self.manager.open(uri, "python", 1, text)
        return uri

    async def run(self, name: str, **arguments: object) -> ToolResult:
        context = ToolContext(
            self.root,
            self.documents,
            PromptGuard(self.root, 1_000_000),
            self.manager,
            timeout=EVENTUALLY_S,  # jedi starts within the first call
        )
        return await run(name, arguments, context)


@pytest.fixture
async def editor(tmp_path: Path) -> AsyncIterator[Editor]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.py").write_text(UTIL)
    (root / "main.py").write_text(MAIN)
    (root / "broken.py").write_text(BROKEN)
    settings = Settings(upstream={"python": UpstreamConfig(command=["jedi-language-server"])})
    manager = UpstreamManager(
        lambda: settings,
        root,
        Notices(Said()),
        backoff=Backoff(first_s=0.05, max_s=0.2, max_crashes=3),
        shutdown_grace=0.5,
    )
    editor = Editor(root, DocumentStore(), manager)
    editor.open("main.py")
    yield editor
    await manager.aclose()


async def test_find_definition_from_the_call_site_shows_the_definition_with_its_docstring(
    editor: Editor,
) -> None:
    result = await editor.run("find_definition", path="main.py", line=4, symbol="compute_total")
    assert not result.is_error, result.text
    assert result.text == f"Definition of `compute_total` (main.py:4:7):\n{DEFINITION}"


async def test_find_definition_by_name_alone(editor: Editor) -> None:
    result = await editor.run("find_definition", symbol="compute_total")
    assert not result.is_error, result.text
    assert result.text == f"Definition of `compute_total` (by name):\n{DEFINITION}"


async def test_find_definition_follows_the_unsaved_buffer(editor: Editor) -> None:
    edited = "from util import compute_total as total_of\n\n\nvalue = total_of([])\n"
    editor.open("main.py", edited)  # not on disk: only the buffer calls `total_of`
    result = await editor.run("find_definition", path="main.py", line=4, symbol="total_of")
    assert not result.is_error, result.text
    assert DEFINITION in result.text


async def test_hover_gives_the_signature_and_docs(editor: Editor) -> None:
    result = await editor.run("hover", path="main.py", line=4, symbol="compute_total")
    assert not result.is_error, result.text
    assert result.text.startswith("Hover for `compute_total` (main.py:4:7):\n")
    assert "compute_total(items, discount=0.1)" in result.text
    assert "Sum the prices of `items`, minus `discount`." in result.text


async def test_signature_help_names_the_active_parameter(editor: Editor) -> None:
    result = await editor.run("signature_help", path="main.py", line=4, symbol="compute_total")
    assert not result.is_error, result.text
    assert "compute_total(items, discount=0.1)" in result.text
    assert "Active parameter: `items`" in result.text


async def test_find_type_definition_of_a_class_name(editor: Editor) -> None:
    result = await editor.run("find_type_definition", path="main.py", line=3, symbol="Order")
    assert not result.is_error, result.text
    assert result.text.splitlines()[:4] == [
        "Type definition of `Order` (main.py:3:11):",
        "util.py:7-8",
        "```python",
        "class Order:",
    ]


async def test_find_references_lists_both_files(editor: Editor) -> None:
    result = await editor.run("find_references", path="util.py", line=1, symbol="compute_total")
    assert not result.is_error, result.text
    assert result.text.splitlines() == [
        "References to `compute_total` (util.py:1:5): 3 in 2 files:",
        "main.py:1: from util import Order, compute_total",
        "main.py:4: print(compute_total(orders))",
        "util.py:1: def compute_total(items, discount=0.1):",
    ]
    by_name = await editor.run("find_references", symbol="compute_total", include_declaration=False)
    assert by_name.text.splitlines()[1:] == result.text.splitlines()[1:3]


async def test_document_symbols_give_the_outline(editor: Editor) -> None:
    result = await editor.run("document_symbols", path="util.py")
    assert not result.is_error, result.text
    lines = result.text.splitlines()
    assert lines[0] == "Outline of util.py (3 symbols):"
    assert lines[1] == "function compute_total, lines 1-4"
    assert lines[2] == "class Order, lines 7-8"
    assert lines[3].startswith("  ")  # `price` is nested in `Order`
    assert "price: float = 0.0" in lines[3]


async def test_workspace_symbols_find_order(editor: Editor) -> None:
    result = await editor.run("workspace_symbols", query="Order")
    assert not result.is_error, result.text
    assert result.text.splitlines()[:2] == [
        "Symbols matching `Order`:",
        "class util.Order: util.py:7",
    ]


async def test_diagnostics_report_a_syntax_error_of_an_open_file(editor: Editor) -> None:
    closed = await editor.run("diagnostics", path="broken.py")
    assert "reports problems only for files open in the editor" in closed.text
    editor.open("broken.py")  # jedi-language-server publishes diagnostics for open files
    deadline = time.monotonic() + EVENTUALLY_S
    result = await editor.run("diagnostics", path="broken.py")
    while "error" not in result.text and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        result = await editor.run("diagnostics", path="broken.py")
    lines = result.text.splitlines()
    assert lines[0] == "Diagnostics of broken.py (1):"
    assert lines[1].startswith("broken.py:1:12: error: SyntaxError: invalid syntax")
    assert lines[2] == "    def broken(:"
    clean = await editor.run("diagnostics", path="main.py")
    assert clean.text == "No diagnostics for main.py: the language server reports no problems."
