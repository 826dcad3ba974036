"""The object argument of an `ai-lsp.*` command, however the client wrapped it."""

from __future__ import annotations

from typing import Any


def command_argument(args: tuple[Any, ...]) -> dict[str, Any]:
    """`{...}` from `arguments: [{...}]` (or `[[{...}]]`); `{}` when there is none."""
    first = args[0] if args else {}
    if isinstance(first, list):  # some clients nest the arguments list once more
        first = first[0] if first else {}
    return first if isinstance(first, dict) else {}
