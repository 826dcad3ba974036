"""Proxy mode's merging on raw JSON: server capabilities, completion lists and code actions
from the upstream server next to ai-lsp's own, and the mark that routes a resolve back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MARK",
    "is_marked",
    "mark",
    "merge_capabilities",
    "merge_code_actions",
    "merge_completions",
    "unmark",
]

MARK = "ai-lsp"
"""Key wrapping the `data` of ai-lsp's items, so `completionItem/resolve` and
`codeAction/resolve` of them are answered by ai-lsp and not forwarded upstream."""
INCREMENTAL = 2
"""`TextDocumentSyncKind.Incremental`: ai-lsp turns the editor's changes into full texts."""


def mark(item: Mapping[str, Any]) -> dict[str, Any]:
    """`item` (a completion item or code action) with its `data` wrapped in the mark."""
    return {**item, "data": {MARK: item.get("data")}}


def is_marked(item: Any) -> bool:
    """Whether a completion item or code action is one of ai-lsp's."""
    data = item.get("data") if isinstance(item, Mapping) else None
    return isinstance(data, Mapping) and list(data) == [MARK]


def unmark(item: Mapping[str, Any]) -> dict[str, Any]:
    """A marked item as ai-lsp made it, for its own resolve handler."""
    unwrapped = dict(item)
    data = unwrapped.pop("data")[MARK]
    if data is not None:
        unwrapped["data"] = data
    return unwrapped


def merge_completions(upstream: Any, ours: Any) -> dict[str, Any]:
    """One `CompletionList`: upstream's items unchanged, then ai-lsp's (marked).

    Upstream's `itemDefaults` stay; ai-lsp's items override the defaults that would change
    them (`data` by the mark, `commitCharacters` so a `.` does not accept a suggestion).
    Incomplete when either list is, so typing asks both again.
    """
    upstream_items, upstream_incomplete, defaults = _completion_parts(upstream)
    our_items, our_incomplete, _ = _completion_parts(ours)
    added = [mark(item) for item in our_items]
    if isinstance(defaults, Mapping) and "commitCharacters" in defaults:
        for item in added:
            item.setdefault("commitCharacters", [])
    merged: dict[str, Any] = {
        "isIncomplete": upstream_incomplete or our_incomplete,
        "items": [*upstream_items, *added],
    }
    if defaults is not None:
        merged["itemDefaults"] = defaults
    return merged


def _completion_parts(result: Any) -> tuple[list[Any], bool, Any]:
    """Items, `isIncomplete` and `itemDefaults` of a completion result (list, list or null)."""
    if isinstance(result, Mapping):
        return (
            list(result.get("items") or []),
            bool(result.get("isIncomplete")),
            result.get("itemDefaults"),
        )
    if isinstance(result, list):
        return result, False, None
    return [], False, None


def merge_code_actions(upstream: Any, ours: Any) -> list[Any]:
    """Upstream's commands and code actions unchanged, then ai-lsp's (code actions marked;
    a bare `Command` is recognised by its `ai-lsp.` command id instead)."""
    added = [
        action if isinstance(action.get("command"), str) else mark(action)
        for action in (ours if isinstance(ours, list) else [])
        if isinstance(action, Mapping)
    ]
    return [*(upstream if isinstance(upstream, list) else []), *added]


def merge_capabilities(
    ours: Mapping[str, Any], upstreams: Sequence[Mapping[str, Any]], encoding: str
) -> dict[str, Any]:
    """The capabilities the editor sees: upstream servers' (the first wins a conflict),
    with ai-lsp's for the methods ai-lsp answers, and the merges both take part in.

    `ours` are ai-lsp's own capabilities; `encoding` is the position encoding both sides
    use (see `Proxy` for how it is chosen).
    """
    merged: dict[str, Any] = {}
    for upstream in reversed(upstreams):
        merged.update(upstream)
    merged.update(
        {key: value for key, value in ours.items() if key not in _MERGED and value is not None}
    )
    merged["positionEncoding"] = encoding
    merged["textDocumentSync"] = _sync(ours, upstreams)
    for key, merge in _MERGED.items():
        options = [m[key] for m in (ours, *upstreams) if m.get(key) not in (None, False)]
        if options:
            merged[key] = merge(options)
    return merged


def _sync(ours: Mapping[str, Any], upstreams: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ai-lsp's incremental sync, with upstream's wishes about saving."""
    options = [_sync_options(m.get("textDocumentSync")) for m in (ours, *upstreams)]
    sync: dict[str, Any] = {"openClose": True, "change": INCREMENTAL}
    for flag in ("willSave", "willSaveWaitUntil"):
        if any(option.get(flag) for option in options):
            sync[flag] = True
    saves = [option["save"] for option in options if option.get("save")]
    if saves:
        include = any(isinstance(s, Mapping) and s.get("includeText") for s in saves)
        sync["save"] = {"includeText": include}
    return sync


def _sync_options(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, int):  # a bare TextDocumentSyncKind
        return {"openClose": value > 0, "change": value}
    return {}


def _union(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _options(values: Sequence[Any]) -> list[Mapping[str, Any]]:
    """Provider values as options objects (`true` means options with nothing set)."""
    return [value if isinstance(value, Mapping) else {} for value in values]


def _completion(values: Sequence[Any]) -> dict[str, Any]:
    options = _options(values)
    merged: dict[str, Any] = {}
    for option in reversed(options):  # ai-lsp's are first: its settings win conflicts
        merged.update(option)
    triggers = _union(c for o in options for c in o.get("triggerCharacters") or [])
    if triggers:
        merged["triggerCharacters"] = triggers
    merged["resolveProvider"] = any(o.get("resolveProvider") for o in options)
    label_details = any((o.get("completionItem") or {}).get("labelDetailsSupport") for o in options)
    if label_details:
        merged["completionItem"] = {"labelDetailsSupport": True}
    return merged


def _code_action(values: Sequence[Any]) -> bool | dict[str, Any]:
    options = _options(values)
    kinds = _union(k for o in options for k in o.get("codeActionKinds") or [])
    merged: dict[str, Any] = {}
    if kinds:
        merged["codeActionKinds"] = kinds
    if any(o.get("resolveProvider") for o in options):
        merged["resolveProvider"] = True
    return merged or True


def _execute_command(values: Sequence[Any]) -> dict[str, Any]:
    return {"commands": _union(c for o in _options(values) for c in o.get("commands") or [])}


def _workspace(values: Sequence[Any]) -> dict[str, Any]:
    options = _options(values)
    merged: dict[str, Any] = {}
    for option in reversed(options):
        merged.update(option)
    folders = [o["workspaceFolders"] for o in options if o.get("workspaceFolders")]
    if folders:
        merged["workspaceFolders"] = {
            "supported": True,
            "changeNotifications": next(
                (f["changeNotifications"] for f in folders if f.get("changeNotifications")), False
            ),
        }
    return merged


def _experimental(values: Sequence[Any]) -> Any:
    mappings = [value for value in values if isinstance(value, Mapping)]
    if not mappings:
        return values[0]
    merged: dict[str, Any] = {}
    for mapping in reversed(mappings):
        merged.update(mapping)
    return merged


_MERGED = {
    "completionProvider": _completion,
    "codeActionProvider": _code_action,
    "executeCommandProvider": _execute_command,
    "workspace": _workspace,
    "experimental": _experimental,
}
"""Capabilities both sides contribute to; every other one comes from one side."""
