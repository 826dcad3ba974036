"""Endpoint against the fake server: streaming, the retry policy and every fault of the matrix."""

from __future__ import annotations

import asyncio
import time

import pytest

from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.openai_compat import preload
from ai_lsp.providers.stream import ModelStream, Usage
from tests.fakes.openai_server import CHAT, COMPLETIONS, EMBEDDINGS, FakeOpenAI
from tests.fakes.replies import Drop, Error, Garbage, Stall, Text
from tests.fakes.replies import Usage as Reported
from tests.unit.providers.conftest import MakeEndpoint

HI = [{"role": "user", "content": "hi"}]


async def fails(stream: ModelStream) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await stream.collect()
    return caught.value


async def test_chat_streams_text_and_reads_usage(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(CHAT, Text("def add(a, b):\n    return a + b\n", usage=Reported(12, 9)))
    endpoint = make_endpoint()
    stream = endpoint.stream_chat("fake-chat", HI, max_tokens=50, temperature=0.1, deadline_s=5)
    assert await stream.collect() == ["def add(a, b):\n    return a + b\n"]
    assert stream.usage == Usage(12, 9)
    body = fake_openai.requests(CHAT)[0].body
    assert body["max_tokens"] == 50
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.1
    assert "stop" not in body


async def test_completion_streams_with_suffix(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("a + b", chunk_chars=1, usage=Reported(5, 3)))
    endpoint = make_endpoint()
    stream = endpoint.stream_completion(
        "fake-fim",
        "def add(a, b):\n    return ",
        suffix="\n\nprint(add(1, 2))",
        max_tokens=16,
        stop=["\n\n"],
        deadline_s=5,
    )
    assert await stream.collect() == ["a + b"]
    assert stream.usage == Usage(5, 3)
    body = fake_openai.requests(COMPLETIONS)[0].body
    assert body["suffix"] == "\n\nprint(add(1, 2))"
    assert body["stop"] == ["\n\n"]
    assert body["max_tokens"] == 16


async def test_two_candidates_and_missing_usage(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(CHAT, Text(["first answer", "second answer"], usage=None))
    stream = make_endpoint().stream_chat("m", HI, max_tokens=20, n=2, deadline_s=5)
    assert await stream.collect() == ["first answer", "second answer"]
    assert stream.usage is None
    assert fake_openai.requests(CHAT)[0].body["n"] == 2


async def test_rate_limit_honours_retry_after_then_succeeds(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Error.rate_limited(retry_after=1))
    started = time.monotonic()
    texts = await make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=10).collect()
    elapsed = time.monotonic() - started
    assert texts == ["Hello from the fake model."]
    first, second = fake_openai.requests(CHAT)
    assert 1.0 <= second.received_at - first.received_at < 1.5
    assert elapsed < 2.5


async def test_retry_after_beyond_the_deadline_fails_at_once(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Error.rate_limited(retry_after=30))
    started = time.monotonic()
    err = await fails(make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=3))
    assert err.kind == "rate_limited"
    assert err.retry_after == 30
    assert time.monotonic() - started < 1
    assert len(fake_openai.requests(CHAT)) == 1


@pytest.mark.parametrize("code", ["insufficient_quota", "monthly_spend_limit_exceeded"])
async def test_quota_429_is_not_retried(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint, code: str
) -> None:
    fake_openai.script(CHAT, Error.quota(code))
    err = await fails(make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=5))
    assert err.kind == "quota"
    assert "billing" in err.user_message
    assert len(fake_openai.requests(CHAT)) == 1


async def test_server_errors_are_retried_twice_then_reported(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Error(500), Error(502), Error(503), Text("never sent"))
    err = await fails(make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=10))
    assert err.kind == "server"
    assert err.status == 503
    assert "after 2 retries" in err.user_message
    assert len(fake_openai.requests(CHAT)) == 3


async def test_server_error_then_success(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Error(503))
    texts = await make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=10).collect()
    assert texts == ["Hello from the fake model."]
    assert len(fake_openai.requests(CHAT)) == 2


async def test_401_is_not_retried_and_names_the_variable_not_the_key(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PROVIDER_KEY", "sk-test-abcdefghijklmnop1234")
    fake_openai.script(CHAT, Error(401))
    endpoint = make_endpoint(api_key_env="FAKE_PROVIDER_KEY")
    err = await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))
    assert err.kind == "auth"
    assert "$FAKE_PROVIDER_KEY (providers.fake.api_key_env)" in err.user_message
    assert "sk-test-abcdefghijklmnop1234" not in err.user_message
    assert len(fake_openai.requests(CHAT)) == 1
    sent = fake_openai.requests(CHAT)[0].headers["authorization"]
    assert sent == "Bearer sk-test-abcdefghijklmnop1234"


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (Error.bad_request("context length exceeded", "context_length_exceeded"), "context"),
        (Error(404, {"error": {"message": "The model `nope` does not exist"}}), "does not exist"),
    ],
)
async def test_client_errors_are_not_retried(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint, reply: Error, detail: str
) -> None:
    fake_openai.script(CHAT, reply)
    err = await fails(make_endpoint().stream_chat("nope", HI, max_tokens=5, deadline_s=5))
    assert err.kind == "bad_request"
    assert detail in err.user_message
    assert "'nope'" in err.user_message
    assert len(fake_openai.requests(CHAT)) == 1


async def test_connection_refused_is_unreachable_fast(
    make_endpoint: MakeEndpoint, refused_url: str
) -> None:
    await preload()  # a cold import of openai is not what this test measures
    started = time.monotonic()
    endpoint = make_endpoint(base_url=refused_url)
    err = await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=10))
    assert err.kind == "unreachable"
    assert refused_url in err.user_message
    assert "providers.fake.base_url" in err.user_message
    assert time.monotonic() - started < 0.5


async def test_stall_mid_stream_times_out_at_the_deadline(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Stall("partial text", hang_s=20))
    stream = make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=0.6)
    started = time.monotonic()
    err = await fails(stream)
    assert err.kind == "timeout"
    assert "0.6 s deadline" in err.user_message
    assert stream.text() == "partial text"
    assert 0.5 <= time.monotonic() - started < 1.5
    assert await fake_openai.until(lambda: len(fake_openai.disconnects(CHAT)) == 1, 1.0)


async def test_silence_beyond_read_timeout(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Stall(hang_s=20))
    endpoint = make_endpoint(read_timeout_s=0.3)
    err = await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=10))
    assert err.kind == "timeout"
    assert "providers.fake.read_timeout_s" in err.user_message


async def test_malformed_frames_then_the_endpoint_still_works(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Garbage(text_before="ok so far"))
    endpoint = make_endpoint()
    stream = endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5)
    err = await fails(stream)
    assert err.kind == "bad_response"
    assert stream.text() == "ok so far"
    assert "{this is not json" not in err.user_message
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()


async def test_garbage_json_body_is_bad_response(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(EMBEDDINGS, Garbage(frames=["<html>502 Bad Gateway</html>"]))
    with pytest.raises(ProviderError) as caught:
        await make_endpoint().embed("e", ["x"], deadline_s=5)
    assert caught.value.kind == "bad_response"


async def test_error_event_inside_the_stream(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    event = 'data: {"error": {"message": "model overloaded", "code": "server_error"}}\n\n'
    fake_openai.script(CHAT, Garbage(frames=[event]), Garbage(frames=[event]))
    endpoint = make_endpoint(max_retries=1)
    err = await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))
    assert err.kind == "server"
    assert "model overloaded" in err.user_message
    assert len(fake_openai.requests(CHAT)) == 2


async def test_reset_before_any_byte_is_retried(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Drop(before_headers=True))
    texts = await make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=10).collect()
    assert texts == ["Hello from the fake model."]
    assert len(fake_openai.requests(CHAT)) == 2


async def test_drop_after_text_is_not_retried(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.script(CHAT, Drop(text_before="half an answ"))
    stream = make_endpoint().stream_chat("m", HI, max_tokens=5, deadline_s=10)
    err = await fails(stream)
    assert err.kind == "server"
    assert "closed the connection" in err.user_message
    assert stream.text() == "half an answ"
    assert len(fake_openai.requests(CHAT)) == 1


async def test_stream_options_rejected_once_then_remembered(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    rejection = Error.bad_request("Unrecognized request argument supplied: stream_options")
    fake_openai.script(CHAT, rejection)
    endpoint = make_endpoint()
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    bodies = [r.body for r in fake_openai.requests(CHAT)]
    assert [("stream_options" in b) for b in bodies] == [True, False, False]


async def test_reasoning_models_get_max_completion_tokens(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    message = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    fake_openai.script(CHAT, Error.bad_request(message, "unsupported_parameter"))
    endpoint = make_endpoint()
    assert await endpoint.stream_chat("o-model", HI, max_tokens=7, deadline_s=5).collect()
    retried = fake_openai.requests(CHAT)[1].body
    assert retried["max_completion_tokens"] == 7
    assert "max_tokens" not in retried


async def test_circuit_opens_then_half_opens_after_cooldown(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    endpoint = make_endpoint(max_retries=0, breaker_failures=2, breaker_cooldown_s=0.5)
    fake_openai.script(CHAT, Error(500), Error(500))
    for _ in range(2):
        assert (await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))).kind == (
            "server"
        )
    started = time.monotonic()
    err = await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))
    assert err.kind == "circuit_open"
    assert "breaker_cooldown_s" in err.user_message
    assert time.monotonic() - started < 0.1
    assert len(fake_openai.requests(CHAT)) == 2

    await asyncio.sleep(0.55)
    fake_openai.script(CHAT, Error(500))
    assert (await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))).kind == (
        "server"
    )
    assert (await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))).kind == (
        "circuit_open"
    )
    await asyncio.sleep(0.55)
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert len(fake_openai.requests(CHAT)) == 5


async def test_client_errors_do_not_open_the_circuit(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    endpoint = make_endpoint(breaker_failures=1)
    fake_openai.script(CHAT, Error(400), Error(401))
    for kind in ("bad_request", "auth"):
        assert (await fails(endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5))).kind == kind
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()


async def test_concurrency_cap_is_never_exceeded(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(CHAT, Text("x" * 40, chunk_delay_s=0.01))
    endpoint = make_endpoint(max_concurrent=2)
    streams = [endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=10) for _ in range(6)]
    results = await asyncio.gather(*(s.collect() for s in streams))
    assert results == [["x" * 40]] * 6
    assert fake_openai.max_in_flight == 2


async def test_cancelling_the_consumer_closes_the_http_stream(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(CHAT, Text("word " * 200, chunk_chars=5, chunk_delay_s=0.05))
    endpoint = make_endpoint()
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in endpoint.stream_chat("m", HI, max_tokens=500, deadline_s=30):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake_openai.until(lambda: len(fake_openai.disconnects(CHAT)) == 1, 1.0)
    assert fake_openai.disconnects(CHAT)[0].chunks_sent < 100


async def test_breaking_out_closes_the_http_stream(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    fake_openai.set_default(CHAT, Text("word " * 200, chunk_chars=5, chunk_delay_s=0.05))
    endpoint = make_endpoint()
    async with endpoint.stream_chat("m", HI, max_tokens=500, deadline_s=30) as stream:
        async for _ in stream:
            break
    assert await fake_openai.until(lambda: len(fake_openai.disconnects(CHAT)) == 1, 1.0)

    # Without `async with`: dropping the stream closes it too (the loop finalizes it).
    stream = endpoint.stream_chat("m", HI, max_tokens=500, deadline_s=30)
    async for _ in stream:
        break
    del stream
    assert await fake_openai.until(lambda: len(fake_openai.disconnects(CHAT)) == 2, 1.0)


async def test_embed_and_list_models(fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint) -> None:
    endpoint = make_endpoint()
    vectors = await endpoint.embed("fake-embed", ["alpha beta", "", "gamma"], deadline_s=5)
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert vectors == await endpoint.embed("fake-embed", ["alpha beta", "", "gamma"], deadline_s=5)
    body = fake_openai.requests(EMBEDDINGS)[0].body
    assert body["encoding_format"] == "float"
    assert body["input"] == ["alpha beta", " ", "gamma"]
    assert await endpoint.list_models(deadline_s=5) == ["fake-chat", "fake-fim", "fake-embed"]


async def test_custom_headers_are_sent(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    endpoint = make_endpoint(headers={"HTTP-Referer": "https://example.org/ai-lsp"})
    await endpoint.list_models(deadline_s=5)
    assert fake_openai.requests()[0].headers["http-referer"] == "https://example.org/ai-lsp"
