"""Start the real `ai-lsp` process under a pytest-lsp client, as an editor would."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client


@contextlib.asynccontextmanager
async def lsp_session(
    workspace: Path,
    *,
    init_options: Any = None,
    editor: str = "neovim",
    log_file: Path | None = None,
    args: tuple[str, ...] = (),
    configuration: dict[str, Any] | None = None,
) -> AsyncIterator[LanguageClient]:
    """A client connected to a fresh `python -m ai_lsp` over stdio, initialized on `workspace`."""
    client = make_test_lsp_client()
    if configuration is not None:
        client.set_configuration(configuration)
    command = [sys.executable, "-m", "ai_lsp"]
    if log_file is not None:
        command += ["--log-file", str(log_file)]
    await client.start_io(*command, *args)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities(editor),
                root_uri=workspace.as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)
                ],
                initialization_options=init_options,
            )
        )
        yield client
        await client.shutdown_session()
    finally:
        # After a failed test the server is still running: end it, or stop() waits forever.
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()


def open_document(
    client: LanguageClient, path: Path, text: str, language_id: str = "python"
) -> str:
    """Send didOpen for `path` with `text`; return its URI."""
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language_id, version=1, text=text
            )
        )
    )
    return uri
