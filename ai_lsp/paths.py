"""Where ai-lsp keeps its own files: the user state dir (ledger, conversations) and cache dir.

`AI_LSP_STATE_DIR` / `AI_LSP_CACHE_DIR` override both (tests use them); folders are created on use.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "ai-lsp"


def state_dir() -> Path:
    """`$AI_LSP_STATE_DIR`, else `$XDG_STATE_HOME/ai-lsp`, else the platform's user state dir."""
    return _ensure("AI_LSP_STATE_DIR", "XDG_STATE_HOME", state=True)


def cache_dir() -> Path:
    """`$AI_LSP_CACHE_DIR`, else `$XDG_CACHE_HOME/ai-lsp`, else the platform's user cache dir."""
    return _ensure("AI_LSP_CACHE_DIR", "XDG_CACHE_HOME", state=False)


def _ensure(override: str, xdg: str, *, state: bool) -> Path:
    if value := os.environ.get(override):
        folder = Path(value).expanduser()
    elif (value := os.environ.get(xdg)) and Path(value).is_absolute():
        folder = Path(value) / APP  # the XDG spec says relative values are to be ignored
    else:
        import platformdirs

        get = platformdirs.user_state_path if state else platformdirs.user_cache_path
        folder = get(APP, appauthor=False)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
