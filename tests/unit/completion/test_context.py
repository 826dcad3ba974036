"""Context providers (open buffers, recent edits, rules) and the prompt guard."""

from __future__ import annotations

import time
from pathlib import Path

from lsprotocol import types

from ai_lsp.completion.context import ContextRequest, OpenBuffer, Snippet, gather
from ai_lsp.completion.edits import RecentEditsProvider
from ai_lsp.completion.guard import PromptGuard, relative_name, workspace_key
from ai_lsp.completion.neighbors import OpenBuffersProvider
from ai_lsp.completion.rules import RulesProvider, applies_to
from ai_lsp.documents import DocumentStore

CURRENT = "file:///ws/app/main.py"


def request(
    text: str,
    buffers: tuple[OpenBuffer, ...] = (),
    *,
    root: Path | None = None,
    store: DocumentStore | None = None,
) -> ContextRequest:
    store = store or DocumentStore()
    if store.get(CURRENT) is None:
        store.open(CURRENT, "python", 1, text)
    document = store.get(CURRENT)
    assert document is not None
    snapshot = store.snapshot(CURRENT, document.position_at(len(document.text)))
    assert snapshot is not None
    return ContextRequest(
        snapshot=snapshot,
        path="app/main.py",
        root=root,
        buffers=buffers,
        edits=tuple(store.recent_edits(40)),
        max_tokens=1000,
        deadline=time.monotonic() + 1,
    )


def buffer(name: str, text: str, version: int = 1) -> OpenBuffer:
    return OpenBuffer(f"file:///ws/{name}", name, "python", version, text)


def test_open_buffers_offer_the_window_sharing_the_most_identifiers() -> None:
    filler = "".join(f"unrelated_{i} = {i}\n" for i in range(60))
    billing = (
        filler
        + (
            "def compute_invoice_total(items, discount):\n"
            "    subtotal = sum(item.price for item in items)\n"
            "    return subtotal * (1 - discount)\n"
        )
        + filler
    )
    other = buffer("app/billing.py", billing)
    noise = buffer("app/noise.py", "import os\nprint(os.getcwd())\n")
    text = "def checkout(items, discount):\n    total = compute_invoice_total(items, "
    found = OpenBuffersProvider().snippets(request(text, (other, noise)))
    assert [s.path for s in found] == ["app/billing.py"]
    assert "def compute_invoice_total" in found[0].text
    assert found[0].line is not None
    assert 40 < found[0].line <= 61


def test_recent_edits_show_the_region_around_each_edit_newest_first() -> None:
    store = DocumentStore()
    other = "file:///ws/app/util.py"
    store.open(other, "python", 1, "".join(f"line_{i} = {i}\n" for i in range(20)))
    store.change(
        other,
        2,
        [
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(10, 0), types.Position(10, 0)),
                text="def helper_added():\n    pass\n",
            )
        ],
    )
    util = store.get(other)
    assert util is not None
    kept_out = RecentEditsProvider().snippets(request("x = helper", (), store=store))
    assert kept_out == []  # only documents cleared for prompts are shown
    found = RecentEditsProvider().snippets(
        request("x = helper", (buffer("app/util.py", util.text, 2),), store=store)
    )
    assert len(found) == 1
    assert found[0].path == "app/util.py"
    assert "def helper_added():" in found[0].text
    assert found[0].line == 8


def test_rules_files_scoped_to_completion(tmp_path: Path) -> None:
    rules = tmp_path / ".ai-lsp" / "rules"
    rules.mkdir(parents=True)
    (rules / "completion.md").write_text("Use type hints.\n")
    (rules / "style.md").write_text("---\napplies_to: [chat, completion]\n---\nNo print.\n")
    (rules / "chat.md").write_text("---\napplies_to: chat\n---\nBe brief.\n")
    found = RulesProvider().snippets(request("x", root=tmp_path))
    assert [(s.path, s.text) for s in found] == [
        (".ai-lsp/rules/completion.md", "Use type hints."),
        (".ai-lsp/rules/style.md", "No print."),
    ]
    assert applies_to("completion", "x.md", "---\napplies_to: all\n---\nA\n") == "A"
    assert applies_to("completion", "x.md", "no front matter\n") is None


def test_a_failing_provider_is_skipped() -> None:
    class Broken:
        name = "broken"

        def snippets(self, request: ContextRequest) -> list[Snippet]:
            raise RuntimeError("boom")

    class Fine:
        name = "fine"

        def snippets(self, request: ContextRequest) -> list[Snippet]:
            return [Snippet("fine", "a.py", "x", 1.0, 0)]

    assert [s.source for s in gather([Broken(), Fine()], request("x"))] == ["fine"]


def test_the_guard_keeps_secrets_and_ignored_files_out(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("private/\n")
    (tmp_path / ".git").mkdir()
    guard = PromptGuard(tmp_path, 1000)
    assert guard.refusal((tmp_path / "app.py").as_uri(), "x = 1\n") is None
    assert guard.refusal((tmp_path / ".env").as_uri(), "KEY=1\n") is not None
    assert guard.refusal((tmp_path / "private" / "a.py").as_uri(), "x\n") is not None
    assert guard.refusal((tmp_path / "big.py").as_uri(), "x" * 2000) is not None
    outside = PromptGuard(None, 1000)
    assert outside.refusal("file:///elsewhere/id_rsa", "key") is not None
    assert outside.refusal("file:///elsewhere/tool.py", "x = 1") is None
    assert outside.refusal("untitled:Untitled-1", "x = 1") is None


def test_names_shown_to_the_model_are_workspace_relative() -> None:
    root = Path("/ws")
    assert relative_name("file:///ws/app/main.py", root) == "app/main.py"
    assert relative_name("file:///home/me/notes.py", root) == "notes.py"
    assert workspace_key("file:///home/me/notes.py", root) is None
