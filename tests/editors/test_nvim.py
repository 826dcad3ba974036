"""A real client: headless Neovim 0.11 starts ai-lsp, runs a command, resolves and applies an AI
code action drafted by the (fake) edit model, lists `AI:` actions, and shuts the server down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.editors.nvim_runner import run_script, workspace_with
from tests.fakes.answers import CHAT
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replies import Text

pytestmark = pytest.mark.editor


def test_neovim_runs_usage_command_and_stops_server(tmp_path: Path) -> None:
    workspace = workspace_with(
        tmp_path, {"main.py": "def greet(name):\n    return f'hello {name} 👋'\n"}
    )
    result, _ = run_script("usage", workspace, tmp_path, AI_LSP_FILE=str(workspace / "main.py"))
    assert result["server_name"] == "ai-lsp"
    assert "ai-lsp.usage" in result["commands"]
    assert result.get("error") is None
    usage = result["usage"]
    assert usage["today"]["usd"] == 0
    assert {c["setting"] for c in usage["caps"]} >= {"budget.daily_usd", "budget.monthly_usd"}


CODE_ACTIONS_SOURCE = """\
import math


def area(radius):
    return math.pi * radius ** 2


def total(items):
    \"\"\"Sum the prices of the items (in €).\"\"\"
    result = 0
    for item in items:
        result += item.price
    return reslt


def main():
    \"\"\"Print the total of nothing 👋.\"\"\"
    # ai: print the área of a unit circle too ☕
    print(total([]))
"""
FIXED_TOTAL = """\
def total(items):
    \"\"\"Sum the prices of the items (in €).\"\"\"
    result = 0
    for item in items:
        result += item.price
    return result
"""


def _row(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def test_neovim_resolves_and_applies_an_ai_fix_code_action(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text(f"Here is the fix:\n```python\n{FIXED_TOTAL}```\n"))
    workspace = workspace_with(tmp_path, {})
    source = workspace / "shop.py"
    source.write_bytes(CODE_ACTIONS_SOURCE.encode())
    fix_line = _row(CODE_ACTIONS_SOURCE, "return reslt")
    comment_line = _row(CODE_ACTIONS_SOURCE, "# ai:")
    comment = CODE_ACTIONS_SOURCE.split("\n")[comment_line]
    init_options = fake_settings(
        fake_openai.base_url,
        # Only the edit model is the fake: completion stays local, no index, no upstream server.
        completion={"model": "local", "debounceMs": 0},
        index={"enabled": False},
        upstream={"*": {"enabled": False}},
    )
    result, _ = run_script(
        "code_actions",
        workspace,
        tmp_path,
        timeout=90,
        AI_LSP_INIT=json.dumps(init_options),
        AI_LSP_FILE=str(source),
        AI_LSP_FIX_LINE=str(fix_line),
        AI_LSP_COMMENT_LINE=str(comment_line),
        # A byte column past the non-ASCII text (Neovim converts it to the negotiated encoding).
        AI_LSP_COMMENT_COL=str(len(comment[: comment.index("☕")].encode())),
        AI_LSP_HEADER_LINE=str(_row(CODE_ACTIONS_SOURCE, "def area")),
    )
    assert result["server_name"] == "ai-lsp"
    assert result["resolve_provider"] is True
    assert result["text_before"] == CODE_ACTIONS_SOURCE

    # What Neovim sent, in order: the default listing, the keymap's listing, the resolve of the
    # fix (applied by Neovim itself: no executeCommand), the two listings of step 4.
    assert result["requests"] == [
        "textDocument/codeAction",
        "textDocument/codeAction",
        "codeAction/resolve",
        "textDocument/codeAction",
        "textDocument/codeAction",
    ], result["requests"]
    # The default request carries only ai-lsp's own diagnostics: no fix for the linter's.
    assert result["responses"][0]["error"] is None, result["responses"][0]
    assert not any(t.startswith("AI: Fix") for t in result["default_titles"]), result

    # With the diagnostic passed explicitly, Neovim resolves the fix and applies the edit.
    assert [d["message"] for d in result["context_diagnostics"]] == ['"reslt" is not defined']
    assert result["fix_titles"] == ['AI: Fix ""reslt" is not defined"'], result["fix_titles"]
    assert result["used_resolve"] is True
    assert result["resolved"]["error"] is None, result["resolved"]
    assert result["buffer_changed"] is True, result["notifications"]
    expected = CODE_ACTIONS_SOURCE.replace("    return reslt\n", "    return result\n")
    assert result["text_after"] == expected
    assert source.read_bytes() == expected.encode()
    before_lines = CODE_ACTIONS_SOURCE.encode().split(b"\n")
    after_lines = source.read_bytes().split(b"\n")
    assert len(after_lines) == len(before_lines)
    changed = [i for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b]
    assert changed == [fix_line]
    edit = result["resolved"]["result"]["edit"]
    # Neovim 0.11 does not advertise `workspaceEdit.documentChanges`: the plain `changes` form.
    assert "documentChanges" not in edit, edit
    [(uri, text_edits)] = edit["changes"].items()
    assert uri.endswith("/proj/shop.py")
    assert [(e["range"]["start"], e["range"]["end"], e["newText"]) for e in text_edits] == [
        (
            {"line": fix_line, "character": 0},
            {"line": fix_line + 1, "character": 0},
            "    return result\n",
        )
    ]

    chats = fake_openai.requests(CHAT)
    assert len(chats) == 1, [r.body for r in chats]
    prompt = "\n".join(str(m["content"]) for m in chats[0].body["messages"])
    assert '"reslt" is not defined' in prompt
    assert "return reslt" in prompt

    assert result["comment_actions"].get("titles") == [
        "AI: print the área of a unit circle too ☕"
    ], result["comment_actions"]
    assert result["header_actions"].get("titles") == ["AI: Add docstring to area"], result[
        "header_actions"
    ]
    errors = [n for n in result["notifications"] if (n.get("level") or 0) >= 4]
    assert errors == [], errors
