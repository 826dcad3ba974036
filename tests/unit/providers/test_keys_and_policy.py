"""API keys (env and command), error wording, Retry-After parsing and the circuit breaker."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from ai_lsp.config import ProviderConfig
from ai_lsp.log import redact
from ai_lsp.providers import keys
from ai_lsp.providers.errors import ProviderError, from_status
from ai_lsp.providers.keys import NO_KEY, KeyResolver
from ai_lsp.providers.resilience import (
    CircuitBreaker,
    CircuitOpen,
    retry_after_s,
    retry_delay_s,
)
from tests.fakes.openai_server import CHAT, FakeOpenAI
from tests.fakes.replies import Error
from tests.unit.providers.conftest import MakeEndpoint

HI = [{"role": "user", "content": "hi"}]
SECRET = "sk-test-0123456789abcdefSECRET"


def resolver(**config: object) -> KeyResolver:
    return KeyResolver("p", ProviderConfig(base_url="http://127.0.0.1:1/v1", **config))  # type: ignore[arg-type]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_no_key_settings_give_the_placeholder() -> None:
    assert await resolver().get() == NO_KEY


async def test_env_key_is_read_and_registered_as_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P_KEY", SECRET)
    assert await resolver(api_key_env="P_KEY").get() == SECRET
    assert SECRET not in redact(f"header Bearer-ish {SECRET}")


async def test_unset_env_key_says_which_variable() -> None:
    with pytest.raises(ProviderError) as caught:
        await resolver(api_key_env="P_MISSING_KEY").get()
    assert caught.value.kind == "no_key"
    assert "$P_MISSING_KEY (providers.p.api_key_env)" in caught.value.user_message


async def test_key_command_runs_once_until_invalidated(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    code = f"open({str(runs)!r}, 'a').write('x'); print('  {SECRET}  ')"
    keyring = resolver(api_key_cmd=python(code))
    assert await keyring.get() == SECRET
    assert await keyring.get() == SECRET
    assert runs.read_text() == "x"
    keyring.invalidate()
    assert await keyring.get() == SECRET
    assert runs.read_text() == "xx"
    assert SECRET not in redact(SECRET)


async def test_key_command_as_a_string_is_split_without_a_shell(tmp_path: Path) -> None:
    script = tmp_path / "print key.py"
    expected = [";", "echo", "injected"]
    script.write_text(f"import sys\nprint({SECRET!r} if sys.argv[1:] == {expected!r} else 'no')")
    # A shell would end the command at `;` and run `echo`; shlex passes them as arguments.
    command = f"{sys.executable} '{script}' ; echo injected"
    assert await resolver(api_key_cmd=command).get() == SECRET


async def test_key_command_failure_is_reported() -> None:
    failing = python("import sys; sys.stderr.write('gpg: decryption failed\\n'); sys.exit(3)")
    with pytest.raises(ProviderError) as caught:
        await resolver(api_key_cmd=failing).get()
    message = caught.value.user_message
    assert caught.value.kind == "no_key"
    assert "providers.p.api_key_cmd exited with status 3: gpg: decryption failed" in message


async def test_key_command_missing_or_silent_or_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProviderError, match="could not be run"):
        await resolver(api_key_cmd="/nonexistent/ai-lsp-key-helper").get()
    with pytest.raises(ProviderError, match="printed nothing"):
        await resolver(api_key_cmd=python("pass")).get()
    monkeypatch.setattr(keys, "COMMAND_TIMEOUT_S", 0.3)
    with pytest.raises(ProviderError, match=r"did not finish within 0\.3 s"):
        await resolver(api_key_cmd=python("import time; time.sleep(5)")).get()


async def test_failing_key_command_sends_no_request(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint
) -> None:
    endpoint = make_endpoint(api_key_cmd=python("import sys; sys.exit(1)"))
    with pytest.raises(ProviderError) as caught:
        await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert caught.value.kind == "no_key"
    assert fake_openai.requests() == []


async def test_key_command_key_is_sent_and_reread_after_401(
    fake_openai: FakeOpenAI, make_endpoint: MakeEndpoint, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    code = f"open({str(runs)!r}, 'a').write('x'); print({SECRET!r})"
    endpoint = make_endpoint(api_key_cmd=python(code))
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    fake_openai.script(CHAT, Error(401))
    with pytest.raises(ProviderError) as caught:
        await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert "the output of providers.fake.api_key_cmd" in caught.value.user_message
    assert await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
    assert runs.read_text() == "xx"
    assert {r.headers["authorization"] for r in fake_openai.requests()} == {f"Bearer {SECRET}"}


async def test_the_key_never_reaches_a_log_record(
    fake_openai: FakeOpenAI,
    make_endpoint: MakeEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("P_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "httpcore2", "httpx", "httpcore", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    fake_openai.script(CHAT, Error(401), Error(429, headers={"Retry-After": "0"}))
    endpoint = make_endpoint(api_key_env="P_KEY")
    said = []
    for _ in range(3):
        try:
            await endpoint.stream_chat("m", HI, max_tokens=5, deadline_s=5).collect()
        except ProviderError as err:
            said.append(err.user_message)
    assert len(said) == 1
    assert SECRET not in said[0]
    assert fake_openai.requests()[0].headers["authorization"] == f"Bearer {SECRET}"
    assert caplog.records, "nothing was logged: the check would be vacuous"
    assert SECRET not in caplog.text
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_status_classification_and_wording() -> None:
    quota = {"error": {"code": "insufficient_quota", "message": "check your billing"}}
    assert from_status("p", 429, quota, model="m", key_source="k").kind == "quota"
    billing = {"error": {"type": "billing_hard_limit_reached", "message": "limit"}}
    assert from_status("p", 429, billing, model="m", key_source="k").kind == "quota"
    limited = from_status("p", 429, {}, model="m", key_source="k", retry_after=3, retries=2)
    assert (limited.kind, limited.retry_after) == ("rate_limited", 3)
    assert "after 2 retries" in limited.user_message
    assert from_status("p", 403, {}, model="m", key_source="k").kind == "auth"
    assert from_status("p", 422, {}, model="m", key_source="k").kind == "bad_request"
    assert from_status("p", 502, "<html>", model="m", key_source="k").kind == "server"


def test_error_detail_is_short_and_redacted() -> None:
    body = {"error": {"message": f"bad key {SECRET} " + "x" * 500, "code": "invalid_api_key"}}
    err = from_status("p", 401, body, model="m", key_source="$K (providers.p.api_key_env)")
    assert SECRET not in err.user_message
    assert len(err.user_message) < 400
    assert err.user_message.startswith("ai-lsp: provider 'p' rejected the API key (401 invalid")


def test_retry_after_forms() -> None:
    assert retry_after_s({"Retry-After": "2"}) == 2
    assert retry_after_s({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 < (retry_after_s({"Retry-After": format_datetime(later, usegmt=True)}) or 0) <= 30
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None


def test_retry_delays_are_jittered_capped_and_never_shorter_than_asked() -> None:
    delays = {retry_delay_s(0, None) for _ in range(50)}
    assert len(delays) > 1
    assert all(0.25 <= d <= 0.5 for d in delays)
    assert all(1.0 <= d <= 1.2 for d in (retry_delay_s(0, 1.0) for _ in range(50)))
    assert retry_delay_s(0, 600) <= 20 * 1.1 + 0.05
    assert retry_delay_s(10, None) <= 8


def test_breaker_states_with_a_fake_clock() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: now[0])
    breaker.failed()
    assert breaker.admit() is False
    breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.admit()
    now[0] = 10.0
    assert breaker.state == "half-open"
    assert breaker.admit() is True
    with pytest.raises(CircuitOpen):
        breaker.admit()  # only one trial at a time
    breaker.abandoned(trial=True)
    assert breaker.admit() is True
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.admit() is True
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.admit() is False
