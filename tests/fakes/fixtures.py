"""Pytest fixtures around the fake OpenAI server (re-exported by `tests/conftest.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, refused_port


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI-compatible server on 127.0.0.1 for one test."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def refused_url() -> str:
    """A base URL where the connection is refused at once."""
    return f"http://127.0.0.1:{refused_port()}/v1"


def fake_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    """A settings tree (also valid as `initializationOptions`) using the fake for every feature.

    Models: `chat` (fake-chat), `fim` (fake-fim, qwen template) and `embed` (fake-embed).
    Top-level keys in `overrides` replace the defaults' sections.
    """
    settings: dict[str, Any] = {
        "providers": {"fake": {"base_url": base_url}},
        "models": {
            "chat": {"provider": "fake", "name": "fake-chat"},
            "fim": {"provider": "fake", "name": "fake-fim", "fim": "qwen"},
            "embed": {"provider": "fake", "name": "fake-embed"},
        },
        "completion": {"model": "fim"},
        "chat": {"model": "chat"},
        "edit": {"model": "chat"},
        "index": {"embeddings": "embed"},
    }
    settings.update(overrides)
    return settings
