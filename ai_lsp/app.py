"""Wiring: one place that fans LSP methods and commands out to the handler modules."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ai_lsp.handlers import (
    code_action,
    completion,
    debug,
    documents,
    edit,
    explain,
    index,
    inline_completion,
    lifecycle,
    upstream,
    usage,
)
from ai_lsp.server import AiLanguageServer

COMMANDS = {
    "ai-lsp.usage": usage.usage,
    "ai-lsp.index.status": index.index_status,
    "ai-lsp.index.rebuild": index.index_rebuild,
    "ai-lsp.docs.add": index.docs_add,
    "ai-lsp.docs.list": index.docs_list,
    "ai-lsp.docs.remove": index.docs_remove,
    "ai-lsp.context.explain": explain.explain,
    "ai-lsp.edit": edit.edit,
    "ai-lsp.apply": edit.apply,
}


def create_server(*, user_config: Path | None = None) -> AiLanguageServer:
    """Build the server with every feature registered."""
    ls = AiLanguageServer(user_config=user_config)
    ls.feature(types.INITIALIZE)(lifecycle.initialize)
    ls.feature(types.INITIALIZED)(lifecycle.initialized)
    ls.feature(types.SHUTDOWN)(lifecycle.shutdown)
    ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(lifecycle.did_change_configuration)
    ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(lifecycle.did_change_watched_files)
    ls.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(
        documents.did_save
    )
    ls.feature(types.TEXT_DOCUMENT_DID_OPEN)(documents.did_open)
    ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)(documents.did_change)
    ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)(documents.did_close)
    ls.feature(types.TEXT_DOCUMENT_COMPLETION, completion.options(ls))(
        upstream.merged_completion(completion.completion)
    )
    ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(
        inline_completion.inline_completion
    )
    ls.feature(types.TEXT_DOCUMENT_CODE_ACTION, code_action.OPTIONS)(
        upstream.merged_code_action(code_action.code_action)
    )
    ls.feature(types.CODE_ACTION_RESOLVE)(code_action.resolve)
    ls.feature(debug.VIEW_FILE_TEXT)(debug.view_file_text)
    for name, handler in COMMANDS.items():
        ls.command(name)(handler)
    return ls
