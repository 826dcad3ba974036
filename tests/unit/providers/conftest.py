"""Fixtures for provider tests: the fake server, and endpoints closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ai_lsp.config import ProviderConfig
from ai_lsp.providers.openai_compat import Endpoint
from tests.fakes.fixtures import fake_openai, refused_url
from tests.fakes.openai_server import FakeOpenAI

__all__ = ["fake_openai", "make_endpoint", "refused_url"]

MakeEndpoint = Callable[..., Endpoint]


@pytest.fixture
async def make_endpoint(fake_openai: FakeOpenAI) -> AsyncIterator[MakeEndpoint]:
    """`make_endpoint(**provider_config)`: an endpoint on the fake server (or `base_url=`)."""
    made: list[Endpoint] = []

    def make(name: str = "fake", **config: Any) -> Endpoint:
        config.setdefault("base_url", fake_openai.base_url)
        endpoint = Endpoint(name, ProviderConfig(**config))
        made.append(endpoint)
        return endpoint

    yield make
    for endpoint in made:
        await endpoint.aclose()
