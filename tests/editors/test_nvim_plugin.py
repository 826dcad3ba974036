"""The editors/nvim Lua plugin in headless Neovim 0.11 against the real server and the fake
model: ghost text drawn with extmarks while typing (ranges, several lines, cycling, partial
accept, dismiss, stale answers, toggling, reports), AI code actions with a linter's
diagnostic, and `:AiLspEdit` on a visual selection."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editors.nvim_runner import nvim, run_script, workspace_with
from tests.fakes.answers import CHAT, COMPLETIONS
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest
from tests.fakes.replies import Reply, Text

pytestmark = pytest.mark.editor
HERE = Path(__file__).parent
PLUGIN = HERE.parent.parent / "editors" / "nvim"
GHOST = "AiLspGhostText"


class Routes:
    """FIM answers chosen by the text just before the cursor in the prompt, so that each
    scenario gets its answer whatever the order and number of requests; others get none."""

    def __init__(self) -> None:
        self.by_prefix: dict[str, Reply] = {}
        self.server: FakeOpenAI | None = None

    def __call__(self, record: RecordedRequest) -> None:
        prompt = record.body.get("prompt") if isinstance(record.body, dict) else None
        if record.path != COMPLETIONS or not isinstance(prompt, str) or self.server is None:
            return
        before = prompt.split("<|fim_suffix|>", 1)[0]
        reply = next((r for tail, r in self.by_prefix.items() if before.endswith(tail)), None)
        self.server.script(COMPLETIONS, reply or Text(""))


@pytest.fixture
def routed() -> Iterator[tuple[FakeOpenAI, Routes]]:
    """The fake OpenAI server (as the `fake_openai` fixture) answering FIM by route."""
    routes = Routes()
    with FakeOpenAI(on_request=routes) as server:
        routes.server = server
        yield server, routes


def run_nvim(
    script: str, workspace: Path, tmp_path: Path, init: dict[str, Any], **extra_env: str
) -> dict[str, Any]:
    result, _ = run_script(
        script,
        workspace,
        tmp_path,
        AI_LSP_PLUGIN=str(PLUGIN),
        AI_LSP_INIT=json.dumps(init),
        AI_LSP_DIR=str(workspace),
        **extra_env,
    )
    return result


CLOSERS = 'def f(total, tax):\n    return fmt("😀 你好", )\n'


def chunks(text: str) -> list[list[str]]:
    return [[text, GHOST]]


def test_ghost_text_is_drawn_accepted_cycled_dismissed_and_never_stale(
    tmp_path: Path, routed: tuple[FakeOpenAI, Routes]
) -> None:
    fake, routes = routed
    routes.by_prefix = {
        'fmt("😀 你好", ': Text("total, tax)\n"),
        "def add(a, b):\n    ": Text("if a:\n        return a\n    return b\n\nprint(1)\n"),
        "def f(items):\n    return ": Text(["compute_total(items)\n", "sum(items)\n"]),
        "y = ": Text("STALE_ANSWER\n", first_byte_delay_s=1.0),
        "y = z": Text("fresh_value\n"),
        "w = ": Text("HELD_ANSWER\n"),
        "w = q": Text("uit()\n"),
    }
    workspace = workspace_with(
        tmp_path,
        {
            "closers.py": CLOSERS,
            "multi.py": "def add(a, b):\n\n",
            "words.py": "def f(items):\n    return \n",
            "stale.py": "x = 1\ny = \n",
            "held.py": "w = \n",
            "toggled.py": "n = 1\n",
        },
    )
    init = fake_settings(
        fake.base_url,
        completion={"model": "fim", "debounce_ms": 0, "candidates": 2},
        index={"enabled": False},
        upstream={"*": {"enabled": False}},
    )
    col = len(CLOSERS.split("\n")[1].split(")")[0].encode())  # bytes, before the `)`
    result = run_nvim("plugin_ghost_text", workspace, tmp_path, init, AI_LSP_CLOSERS_COL=str(col))
    steps = {s["name"]: s for s in result["steps"]}
    assert result["offset_encoding"] == "utf-16"

    # The `)` after the cursor is the item's range: drawn once (by the buffer), replaced once.
    closers = steps["closers"]
    assert closers["shown"] is True
    assert closers["mark"]["virt_text"] == chunks("total, tax")
    mark = closers["mark"]
    assert (mark["row"], mark["col"], mark["pos"]) == (1, col, "inline")
    assert closers["mark"]["virt_lines"] == []
    assert closers["text"] == CLOSERS.replace(", )", ", total, tax)")
    assert closers["cursor"] == [2, col + len("total, tax)")]

    multi = steps["multi"]
    assert multi["shown"] is True
    assert multi["mark"]["virt_text"] == chunks("if a:")
    assert multi["mark"]["virt_lines"] == [chunks("        return a")]
    assert multi["text"] == "def add(a, b):\n    if a:\n        return a\n"
    assert multi["cursor"] == [3, 16]

    words = steps["words"]
    assert words["first"]["virt_text"] == [
        ["compute_total(items)", GHOST],
        [" (1/2)", "AiLspGhostTextMore"],
    ]
    assert words["next"]["virt_text"][0] == ["sum(items)", GHOST]
    assert words["prev"]["virt_text"][0] == ["compute_total(items)", GHOST]
    after_word = words["after_word"]
    assert after_word["text"] == "def f(items):\n    return compute_total\n"
    assert after_word["mark"]["virt_text"] == chunks("(items)")
    assert after_word["requests"] == 0, "typing through a suggestion needs no new request"
    assert words["after_dismiss"]["shown"] is False
    assert words["after_dismiss"]["text"] == after_word["text"]
    assert words["after_dismiss"]["mode"] == "i"

    # The model's answer for `y = ` came 1 s late; `z` was typed meanwhile.
    stale = steps["stale"]
    assert stale["fresh"] == "fresh_value"
    assert stale["final"] == "fresh_value"
    assert stale["slow_cancelled"] is True
    slow = [
        r
        for r in fake.requests(COMPLETIONS)
        if r.body["prompt"].endswith("y = <|fim_suffix|>\n<|fim_middle|>")
    ]
    assert len(slow) == 1, "the slow answer was asked for once"
    assert "STALE_ANSWER" not in "".join(stale["drawn"]), stale["drawn"]
    assert stale["text"] == "x = 1\ny = z\n"
    assert stale["after_esc"] is False, "<Esc> removes the ghost text"

    # The server's answer for `w = ` reached the plugin only after `q` was typed.
    held = steps["held"]
    assert held["held"] >= 1
    assert held["fresh"] == "uit()"
    assert held["final"] == "uit()"
    assert "HELD_ANSWER" not in "".join(held["drawn"]), held["drawn"]

    toggled = steps["toggled"]
    assert toggled["requests"] == 0, "ghost text is off: typing must not ask"
    assert toggled["mark"] is False
    assert toggled["text"] == "n = 1abFALLBACK\n", "the accept key must fall back"
    assert toggled["requests_after_on"] >= 1

    reports = result["reports"]
    assert any("fake-fim" in line for line in reports["explain"]), reports["explain"]
    assert "budget:" in reports["usage"], reports["usage"]
    assert any(line.startswith("state: off") for line in reports["index"]), reports["index"]

    print(
        f"ghost text after: first request {closers['ms']:.0f} ms (server cold), "
        f"typing {multi['ms']:.0f} ms, warm {words['ms']:.0f} ms, "
        f"after a slow answer {stale['fresh_ms']:.0f} ms"
    )


SOURCE = '''\
import math


def area(radius):
    """Area of a circle."""
    return math.pi * radius ** 2


def total(items):
    """Sum the prices of the items."""
    result = 0
    for item in items:
        result += item.price
    return reslt
'''
FIXED_TOTAL = '''\
def total(items):
    """Sum the prices of the items."""
    result = 0
    for item in items:
        result += item.price
    return result
'''
FASTER_AREA = '''\
def area(radius):
    """Area of a circle."""
    return math.pi * radius * radius
'''
TYPED_TOTAL = '''\
def total(items: list[Item]) -> float:
    """Sum the prices of the items."""
    result = 0
    for item in items:
        result += item.price
    return result
'''


def fence(code: str) -> Text:
    return Text(f"Here it is:\n```python\n{code}```\n")


def chat_prompt(request: RecordedRequest) -> str:
    return "\n".join(str(m["content"]) for m in request.body["messages"])


def test_code_action_helper_and_ai_lsp_edit_change_the_buffer(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(CHAT, fence(FIXED_TOTAL), fence(FASTER_AREA), fence(TYPED_TOTAL))
    workspace = workspace_with(tmp_path, {"shop.py": SOURCE})
    init = fake_settings(
        fake_openai.base_url,
        completion={"model": "local", "debounce_ms": 0},
        index={"enabled": False},
        upstream={"*": {"enabled": False}},
    )
    result = run_nvim("plugin_code_actions", workspace, tmp_path, init)
    steps = {s["name"]: s for s in result["steps"]}

    fix = steps["fix"]
    assert fix["titles"] == ['AI: Fix ""reslt" is not defined"'], fix["titles"]
    after_fix = SOURCE.replace("    return reslt\n", "    return result\n")
    assert fix["text"] == after_fix
    chats = fake_openai.requests(CHAT)
    assert '"reslt" is not defined' in chat_prompt(chats[0])

    edit = steps["edit_selection"]
    after_edit = after_fix.replace("radius ** 2", "radius * radius")
    assert edit["text"] == after_edit
    assert edit["mode"] == "n"
    sent = edit["sent"]
    assert sent["result"]["applied"] is True, sent
    assert sent["argument"]["instruction"] == "make it faster"
    assert sent["argument"]["uri"].endswith("/proj/shop.py")
    last = "    return math.pi * radius ** 2"
    assert sent["argument"]["range"] == {
        "start": {"line": 3, "character": 0},
        "end": {"line": 5, "character": len(last)},
    }
    prompt = chat_prompt(chats[1])
    assert "make it faster" in prompt
    assert "return math.pi * radius ** 2" in prompt

    prompted = steps["edit_prompted"]
    assert prompted["asked"] == "AI edit: "
    assert prompted["text"] == after_edit.replace(FIXED_TOTAL, TYPED_TOTAL)
    assert "add type hints" in chat_prompt(chats[2])
    cursor = {"line": after_edit.split("\n").index("    result = 0"), "character": 4}
    assert prompted["sent"]["argument"]["range"] == {"start": cursor, "end": cursor}
    assert prompted["sent"]["argument"]["instruction"] == "add type hints"
    assert len(chats) == 3


def test_with_neovims_own_inline_completion_the_plugin_only_maps_keys(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    workspace = workspace_with(tmp_path, {"native.py": "def f(items):\n    return \n"})
    init = fake_settings(
        fake_openai.base_url,
        completion={"model": "fim", "debounce_ms": 0},
        index={"enabled": False},
        upstream={"*": {"enabled": False}},
    )
    result = run_nvim("plugin_native", workspace, tmp_path, init)
    client_id = result["client_id"]
    assert result["calls"] == [
        ["enable", True, client_id],
        ["get", True],  # accept word
        ["select", 1],
        ["select", -1],
        ["get", True],  # dismiss: accept nothing
        ["get", False],  # accept, nothing shown
        ["enable", False, client_id],
    ]
    assert result["after_word"] == "def f(items):\n    return compute_total\n"
    assert result["after_dismiss"] == result["after_word"]
    assert result["mode_after_fallback"] == "n"
    assert result["requests"] == 0, "Neovim 0.12 requests by itself"
    assert result["extmarks"] == 0, "Neovim 0.12 draws by itself"


def test_items_are_read_in_the_clients_encoding_and_drawn_as_the_buffer_would_read(
    tmp_path: Path,
) -> None:
    out = tmp_path / "render.json"
    env = dict(os.environ, AI_LSP_PLUGIN=str(PLUGIN), AI_LSP_OUT=str(out))
    subprocess.run(
        [nvim(), "--headless", "--clean", "-u", str(HERE / "nvim" / "plugin_render.lua")],
        env=env,
        capture_output=True,
        timeout=30,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result.get("error") is None, result["error"]
    # The same item in UTF-16 and in UTF-8 positions: the `)` replaced, `name` drawn inline.
    for encoding in ("utf16", "utf8"):
        drawn = result[encoding]
        assert drawn["suggestions"] == [{"text": "name)", "end_col": 20}], encoding
        assert drawn["mark"] == {"col": 19, "pos": "inline", "text": chunks("name"), "lines": []}
    assert result["typed"]["suggestions"] == [{"text": "me", "end_col": 6}]
    assert result["typed"]["mark"]["text"] == chunks("me")
    assert result["disagree"]["suggestions"] == []
    assert result["other_row"]["suggestions"] == []
    # `x)` replaces `a, b)`: drawn over it, with the rest of the line after it.
    overlay = result["overlay"]["mark"]
    assert overlay["pos"] == "overlay"
    assert overlay["text"] == [["x)", GHOST], [" + 1", "Normal"], ["   ", "Normal"]]
    # Two lines typed in `call(|) # done`: `) # done` moves after the last line.
    moved = result["moved"]["mark"]
    assert (moved["pos"], moved["text"][0]) == ("overlay", ["a,", GHOST])
    assert moved["lines"] == [[["  b", GHOST], [") # done", "Normal"]]]
    assert result["type_through"]["anchor"] == {"row": 0, "col": 7, "rest": ")"}
    assert result["type_through"]["left"] == [{"text": "al, tax)", "end_col": 8}]
    assert result["type_through_changed_rest"] == []
    assert result["parts"] == ["compute_total", "(", "  café", "if a:", "\n    return a"]
