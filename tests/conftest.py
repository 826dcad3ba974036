"""Shared fixtures: every test runs with private config, state and cache dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.fixtures import fake_openai, refused_url  # noqa: F401  (fixtures for every test)

REPO = Path(__file__).resolve().parents[1]
SHARED_TIKTOKEN = REPO.parent / "shared" / "tiktoken-cache"


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point ai-lsp's user config, state and cache dirs at a fresh temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("AI_LSP_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("AI_LSP_CACHE_DIR", str(home / "cache"))
    if SHARED_TIKTOKEN.is_dir() and "TIKTOKEN_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(SHARED_TIKTOKEN))
    # ../shared holds only cl100k_base: never let a test start a tokenizer download.
    monkeypatch.setenv("AI_LSP_NO_TOKENIZER_DOWNLOAD", "1")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    return home
