"""ai-lsp/viewFileText: the server's copy of a document, to diagnose sync problems.

Like rust-analyzer's request of the same name: the editor can compare it with its buffer.
"""

from __future__ import annotations

from typing import Any

from ai_lsp.server import AiLanguageServer

VIEW_FILE_TEXT = "ai-lsp/viewFileText"


def view_file_text(ls: AiLanguageServer, params: Any) -> dict[str, Any] | None:
    """`{uri}` → `{uri, version, text}`, or null for a document that is not open."""
    uri = params.get("uri") if isinstance(params, dict) else getattr(params, "uri", None)
    doc = ls.documents.get(uri) if isinstance(uri, str) else None
    if doc is None:
        return None
    return {"uri": doc.uri, "version": doc.version, "text": doc.text}
