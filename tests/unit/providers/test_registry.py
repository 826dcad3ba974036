"""ProviderRegistry: routing by feature, budget and usage ledger, notices, config updates."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ai_lsp.config import ModelConfig, Settings
from ai_lsp.notices import Level, Notices
from ai_lsp.providers import registry as registry_module
from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.registry import ProviderRegistry
from ai_lsp.providers.stream import Usage
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import CHAT, COMPLETIONS, EMBEDDINGS, FakeOpenAI
from tests.fakes.replies import Error, Stall, Text
from tests.fakes.replies import Usage as Reported

HI = [{"role": "user", "content": "please add two numbers"}]


class FakeLedger:
    """Records what the registry asks and tells; refuses when `refusal` is set."""

    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.refusal: Exception | None = None

    def check(self, **request: Any) -> None:
        self.checks.append(request)
        if self.refusal is not None:
            raise self.refusal

    def record(self, **usage: Any) -> None:
        self.records.append(usage)


def words(model: ModelConfig, text: str) -> int:
    return len(text.split())


class Harness:
    def __init__(self, server: FakeOpenAI) -> None:
        self.server = server
        self.ledger = FakeLedger()
        self.said: list[tuple[Level, str]] = []
        self.notices = Notices(lambda level, message: self.said.append((level, message)))
        self.registry = ProviderRegistry(
            self.settings(), ledger=self.ledger, notices=self.notices, token_counter=words
        )

    def settings(self, **overrides: Any) -> Settings:
        tree = fake_settings(self.server.base_url, **overrides)
        models = tree["models"]
        models["chat"].update(input_usd_per_mtok=2.0, output_usd_per_mtok=8.0)
        return Settings.model_validate(tree)


@pytest.fixture
async def h(fake_openai: FakeOpenAI) -> AsyncIterator[Harness]:
    harness = Harness(fake_openai)
    yield harness
    await harness.registry.aclose()


def test_configured_features(fake_openai: FakeOpenAI) -> None:
    harness = Harness(fake_openai)
    assert all(harness.registry.configured(f) for f in ("completion", "chat", "edit", "apply"))
    assert harness.registry.configured("embeddings")
    local = harness.settings(completion={"model": "local"}, chat={})
    harness.registry.update(local)
    assert not harness.registry.configured("completion")
    assert not harness.registry.configured("chat")
    orphan = harness.settings()
    orphan.models["chat"].provider = "nowhere"
    harness.registry.update(orphan)
    assert not harness.registry.configured("chat")


async def test_chat_checks_budget_then_records_reported_usage(h: Harness) -> None:
    h.server.set_default(CHAT, Text("return a + b", usage=Reported(30, 5)))
    stream = h.registry.chat("chat", HI)
    assert await stream.collect() == ["return a + b"]
    assert stream.usage == Usage(30, 5)
    assert h.ledger.checks == [
        {
            "provider": "fake",
            "model": "fake-chat",
            "prompt_tokens": 4,
            "input_usd_per_mtok": 2.0,
            "output_usd_per_mtok": 8.0,
        }
    ]
    [record] = h.ledger.records
    assert record == {
        "provider": "fake",
        "model": "fake-chat",
        "feature": "chat",
        "prompt_tokens": 30,
        "completion_tokens": 5,
        "estimated": False,
        "usd": pytest.approx((30 * 2.0 + 5 * 8.0) / 1e6),
    }
    body = h.server.requests(CHAT)[0].body
    assert body["max_tokens"] == 1024  # chat.max_tokens 2048, capped by max_output_tokens
    assert body["model"] == "fake-chat"


async def test_missing_usage_is_estimated_from_what_arrived(h: Harness) -> None:
    h.server.set_default(CHAT, Text("one two three", usage=None))
    stream = h.registry.chat("edit", HI, max_tokens=10)
    await stream.collect()
    assert stream.usage == Usage(4, 3)
    [record] = h.ledger.records
    assert (record["feature"], record["estimated"], record["completion_tokens"]) == (
        "edit",
        True,
        3,
    )
    assert h.server.requests(CHAT)[0].body["max_tokens"] == 10


async def test_completion_uses_completions_api_and_feature_defaults(h: Harness) -> None:
    h.server.set_default(COMPLETIONS, Text("a + b"))
    stream = h.registry.complete("completion", "<|fim_prefix|>x", suffix="<|fim_suffix|>", n=2)
    assert await stream.collect() == ["a + b", "a + b"]
    body = h.server.requests(COMPLETIONS)[0].body
    assert body["model"] == "fake-fim"
    assert body["suffix"] == "<|fim_suffix|>"
    assert (body["max_tokens"], body["temperature"], body["n"]) == (256, 0.2, 2)


async def test_cancel_after_output_records_partial_usage(h: Harness) -> None:
    h.server.set_default(CHAT, Text("tok " * 100, chunk_chars=4, chunk_delay_s=0.05))
    got_text = asyncio.Event()

    async def consume() -> None:
        async for _ in h.registry.chat("chat", HI):
            got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await h.server.until(lambda: len(h.server.disconnects(CHAT)) == 1, 1.0)
    [record] = h.ledger.records
    assert record["estimated"] is True
    assert 1 <= record["completion_tokens"] < 100


async def test_cancel_before_output_records_nothing(h: Harness) -> None:
    h.server.set_default(CHAT, Text("late", first_byte_delay_s=5))
    task = asyncio.create_task(h.registry.chat("chat", HI).collect())
    assert await h.server.until(lambda: h.server.in_flight == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await h.server.until(lambda: len(h.server.disconnects(CHAT)) == 1, 1.0)
    assert h.ledger.records == []


async def test_breaking_out_closes_the_stream_and_records(h: Harness) -> None:
    h.server.set_default(CHAT, Text("tok " * 100, chunk_chars=4, chunk_delay_s=0.05))
    async with h.registry.chat("chat", HI) as stream:
        async for _ in stream:
            break
    assert await h.server.until(lambda: len(h.server.disconnects(CHAT)) == 1, 1.0)
    assert len(h.ledger.records) == 1


async def test_errors_are_told_once_and_cleared_by_a_success(h: Harness) -> None:
    h.server.script(CHAT, Error(401), Error(401))
    for _ in range(2):
        with pytest.raises(ProviderError):
            await h.registry.chat("chat", HI).collect()
    assert len(h.said) == 1
    level, message = h.said[0]
    assert level == "error"
    assert message.startswith("ai-lsp: provider 'fake' rejected the API key (401")
    await h.registry.chat("chat", HI).collect()
    h.server.script(CHAT, Error(401))
    with pytest.raises(ProviderError):
        await h.registry.chat("chat", HI).collect()
    assert len(h.said) == 2


async def test_budget_refusal_sends_no_request(h: Harness) -> None:
    ledger = pytest.importorskip("ai_lsp.providers.ledger")
    h.ledger.refusal = ledger.BudgetExceeded(
        "ai-lsp: daily budget of $2.00 reached (budget.daily_usd)."
    )
    with pytest.raises(ProviderError) as caught:
        await h.registry.chat("chat", HI).collect()
    assert caught.value.kind == "budget"
    assert "budget.daily_usd" in caught.value.user_message
    assert h.server.requests() == []
    assert h.ledger.records == []
    assert [m for _, m in h.said] == [caught.value.user_message]


async def test_other_ledger_failures_propagate(h: Harness) -> None:
    pytest.importorskip("ai_lsp.providers.ledger")
    h.ledger.refusal = RuntimeError("ledger database is locked")
    with pytest.raises(RuntimeError, match="locked"):
        await h.registry.chat("chat", HI).collect()
    assert h.server.requests() == []


async def test_unconfigured_feature_explains_how_to_configure(h: Harness) -> None:
    h.registry.update(h.settings(chat={}))
    stream = h.registry.chat("chat", HI)  # creating the stream never raises
    with pytest.raises(ProviderError) as caught:
        await stream.collect()
    assert caught.value.kind == "not_configured"
    assert "`chat.model`" in caught.value.user_message
    assert h.server.requests() == []


async def test_feature_deadline_applies(h: Harness) -> None:
    h.registry.update(h.settings(completion={"model": "fim", "deadline_ms": 300}))
    h.server.set_default(COMPLETIONS, Stall("x", hang_s=10))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await h.registry.complete("completion", "def f(").collect()
    assert caught.value.kind == "timeout"
    assert 0.25 < time.monotonic() - started < 1.0
    assert [level for level, _ in h.said] == ["warning"]


async def test_update_rebuilds_only_changed_endpoints(h: Harness) -> None:
    two = h.settings()
    two.providers["other"] = two.providers["fake"].model_copy()
    h.registry.update(two)
    fake, other = h.registry.endpoint("fake"), h.registry.endpoint("other")
    h.server.set_default(CHAT, Text("slow answer", chunk_chars=2, chunk_delay_s=0.05))
    running = asyncio.create_task(h.registry.chat("chat", HI).collect())
    assert await h.server.until(lambda: h.server.in_flight == 1)

    changed = two.model_copy(deep=True)
    changed.providers["fake"].max_concurrent = 1
    h.registry.update(changed)
    assert h.registry.endpoint("other") is other
    assert h.registry.endpoint("fake") is not fake
    assert await running == ["slow answer"]  # the old endpoint finished its request
    assert await h.server.until(lambda: fake.closed, 1.0)
    assert not other.closed
    assert await h.registry.chat("chat", HI).collect() == ["slow answer"]


async def test_embed_batches_and_records(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "EMBED_BATCH", 2)
    vectors = await h.registry.embed(["a b", "c", "d e f", "g", "h"])
    assert len(vectors) == 5
    assert [len(r.body["input"]) for r in h.server.requests(EMBEDDINGS)] == [2, 2, 1]
    assert [r["prompt_tokens"] for r in h.ledger.records] == [3, 4, 1]
    assert all(r["feature"] == "embeddings" and r["estimated"] for r in h.ledger.records)


async def test_list_models(h: Harness) -> None:
    assert await h.registry.list_models("fake") == ["fake-chat", "fake-fim", "fake-embed"]
    with pytest.raises(ProviderError) as caught:
        await h.registry.list_models("missing")
    assert caught.value.kind == "not_configured"


async def test_a_failing_ledger_record_keeps_the_answer(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(h.ledger, "record", broken)
    assert await h.registry.chat("chat", HI).collect() == ["Hello from the fake model."]


def test_openai_is_imported_lazily_and_warm_loads_it() -> None:
    script = (
        "import asyncio, sys\n"
        "from ai_lsp.config import Settings\n"
        "from ai_lsp.notices import Notices\n"
        "from ai_lsp.providers.registry import ProviderRegistry\n"
        "assert 'openai' not in sys.modules and 'httpx2' not in sys.modules\n"
        "s = Settings.model_validate({'providers': {'p': {'base_url': 'http://127.0.0.1:9/v1'}},"
        " 'models': {'m': {'provider': 'p', 'name': 'x'}}, 'chat': {'model': 'm'}})\n"
        "r = ProviderRegistry(s, ledger=None, notices=Notices(), token_counter=len)\n"
        "asyncio.run(r.warm())\n"
        "assert 'openai' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
