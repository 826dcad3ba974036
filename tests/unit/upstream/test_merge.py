"""Proxy mode's merging of capabilities, completion lists and code actions (raw JSON)."""

from __future__ import annotations

from typing import Any

from ai_lsp.upstream.merge import (
    is_marked,
    mark,
    merge_capabilities,
    merge_code_actions,
    merge_completions,
    unmark,
)

OURS: dict[str, Any] = {
    "positionEncoding": "utf-8",
    "textDocumentSync": {"openClose": True, "change": 2, "save": {"includeText": False}},
    "completionProvider": {"triggerCharacters": [".", "@"], "resolveProvider": False},
    "inlineCompletionProvider": True,
    "executeCommandProvider": {"commands": ["ai-lsp.usage"]},
    "workspace": {"workspaceFolders": {"supported": True}},
}
JEDI: dict[str, Any] = {
    "textDocumentSync": {"openClose": True, "change": 2, "save": {"includeText": True}},
    "completionProvider": {"triggerCharacters": [".", "'", '"'], "resolveProvider": True},
    "hoverProvider": True,
    "codeActionProvider": {"codeActionKinds": ["refactor.inline", "refactor.extract"]},
    "executeCommandProvider": {"commands": ["jedi.refactor"]},
    "workspace": {
        "workspaceFolders": {"supported": True, "changeNotifications": True},
        "fileOperations": {"didRename": {"filters": []}},
    },
    "experimental": {"jedi": 1},
}


def test_capabilities_are_unions_where_both_sides_answer() -> None:
    merged = merge_capabilities(OURS, [JEDI], "utf-16")
    assert merged["positionEncoding"] == "utf-16"
    assert merged["hoverProvider"] is True
    assert merged["inlineCompletionProvider"] is True
    assert merged["completionProvider"] == {
        "triggerCharacters": [".", "@", "'", '"'],
        "resolveProvider": True,
    }
    assert merged["executeCommandProvider"] == {"commands": ["ai-lsp.usage", "jedi.refactor"]}
    assert merged["codeActionProvider"] == {
        "codeActionKinds": ["refactor.inline", "refactor.extract"]
    }
    assert merged["workspace"]["workspaceFolders"] == {
        "supported": True,
        "changeNotifications": True,
    }
    assert merged["workspace"]["fileOperations"] == {"didRename": {"filters": []}}
    assert merged["experimental"] == {"jedi": 1}


def test_sync_is_incremental_with_upstream_wishes_about_saving() -> None:
    upstream = {"textDocumentSync": 1, "codeActionProvider": True}
    merged = merge_capabilities(OURS, [upstream, JEDI], "utf-8")
    assert merged["textDocumentSync"] == {
        "openClose": True,
        "change": 2,
        "save": {"includeText": True},
    }
    assert merged["codeActionProvider"] == {
        "codeActionKinds": ["refactor.inline", "refactor.extract"]
    }
    will_save = merge_capabilities({}, [{"textDocumentSync": {"willSaveWaitUntil": True}}], "x")
    assert will_save["textDocumentSync"] == {
        "openClose": True,
        "change": 2,
        "willSaveWaitUntil": True,
    }


def test_the_first_upstream_wins_conflicts_and_ai_lsp_keeps_its_own_methods() -> None:
    first = {"hoverProvider": {"workDoneProgress": True}, "inlineCompletionProvider": False}
    second = {"hoverProvider": True, "definitionProvider": True}
    merged = merge_capabilities(OURS, [first, second], "utf-8")
    assert merged["hoverProvider"] == {"workDoneProgress": True}
    assert merged["definitionProvider"] is True
    assert merged["inlineCompletionProvider"] is True


def test_completions_keep_upstream_items_and_mark_ai_lsp_items() -> None:
    upstream = [{"label": "compute_total", "data": {"jedi": 3}}]
    ours = {"isIncomplete": True, "items": [{"label": "compute_total(items)", "sortText": "!00"}]}
    merged = merge_completions(upstream, ours)
    assert merged == {
        "isIncomplete": True,
        "items": [
            {"label": "compute_total", "data": {"jedi": 3}},
            {"label": "compute_total(items)", "sortText": "!00", "data": {"ai-lsp": None}},
        ],
    }
    assert [is_marked(item) for item in merged["items"]] == [False, True]


def test_completion_defaults_of_upstream_do_not_change_ai_lsp_items() -> None:
    upstream = {
        "isIncomplete": False,
        "itemDefaults": {"commitCharacters": ["."], "data": {"shared": True}},
        "items": [{"label": "a"}],
    }
    merged = merge_completions(upstream, {"isIncomplete": False, "items": [{"label": "b"}]})
    assert merged["itemDefaults"] == upstream["itemDefaults"]
    assert merged["isIncomplete"] is False
    assert merged["items"][1] == {"label": "b", "data": {"ai-lsp": None}, "commitCharacters": []}
    assert merge_completions(None, None) == {"isIncomplete": False, "items": []}


def test_mark_round_trips_and_is_told_apart_from_upstream_data() -> None:
    item = {"title": "AI: add docstring", "data": {"id": 7}}
    assert unmark(mark(item)) == item
    assert unmark(mark({"label": "x"})) == {"label": "x"}
    assert not is_marked({"data": {"ai-lsp": 1, "other": 2}})
    assert not is_marked({"data": ["ai-lsp"]})
    assert not is_marked(None)


def test_code_actions_list_upstream_first_and_mark_only_code_actions() -> None:
    upstream = [{"title": "Inline variable", "kind": "refactor.inline"}]
    ours = [
        {"title": "AI: explain", "command": "ai-lsp.chat", "arguments": []},
        {"title": "AI: add docstring", "kind": "refactor.rewrite", "data": {"id": 1}},
    ]
    assert merge_code_actions(upstream, ours) == [
        upstream[0],
        ours[0],
        {"title": "AI: add docstring", "kind": "refactor.rewrite", "data": {"ai-lsp": {"id": 1}}},
    ]
    assert merge_code_actions(None, None) == []
