"""Document events for the services that follow typing (typing rhythm, the local model's
buffers and saved files) and the configuration reload on save.
"""

from __future__ import annotations

from lsprotocol import types

from ai_lsp.handlers import lifecycle
from ai_lsp.handlers.completion import completions
from ai_lsp.server import AiLanguageServer


def did_open(ls: AiLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    completions(ls).document_opened(params.text_document.uri)


def did_change(ls: AiLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    completions(ls).document_changed(params.text_document.uri)


def did_save(ls: AiLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    lifecycle.did_save(ls, params)
    completions(ls).document_saved(params.text_document.uri)


def did_close(ls: AiLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    completions(ls).document_closed(params.text_document.uri)
