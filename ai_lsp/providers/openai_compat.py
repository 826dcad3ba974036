"""One OpenAI-compatible endpoint per provider: streamed chat and completions, embeddings and
the model list, with our own retries, circuit breaker, concurrency cap and deadlines.

`openai` is imported on the first request, in a worker thread, so `initialize` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ai_lsp.config import ProviderConfig
from ai_lsp.providers.errors import (
    BREAKER_FAILURES,
    RETRYABLE,
    ProviderError,
    failure,
    from_exception,
)
from ai_lsp.providers.keys import KeyResolver
from ai_lsp.providers.resilience import CircuitBreaker, CircuitOpen, retry_delay_s
from ai_lsp.providers.stream import Delta, ModelStream, StreamResult, Usage

if TYPE_CHECKING:
    from openai import AsyncOpenAI, AsyncStream, Omit
    from openai.types.chat import ChatCompletionStreamOptionsParam

log = logging.getLogger(__name__)
T = TypeVar("T")
Api = Literal["chat", "completion"]


@dataclass(frozen=True)
class _Params:
    api: Api
    model: str
    max_tokens: int
    messages: list[dict[str, str]] = field(default_factory=list)
    prompt: str = ""
    suffix: str | None = None
    temperature: float | None = None
    stop: list[str] | None = None
    n: int = 1


@dataclass
class _Outcome:
    """Whether any byte of an answer arrived: the endpoint is alive and a retry is unsafe."""

    received: bool = False
    yielded: bool = False


async def preload() -> None:
    """Import `openai` in a worker thread (about a second), so no request pays for it."""
    if "openai" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "openai")


async def _bounded(deadline: float, awaitable: Awaitable[T]) -> T:
    async with asyncio.timeout_at(deadline):
        return await awaitable


def _deltas(api: Api, chunk: object) -> Iterator[Delta]:
    # Chunks are built without validation: read them defensively, odd shapes are skipped.
    for choice in getattr(chunk, "choices", None) or ():
        if api == "chat":
            text = getattr(getattr(choice, "delta", None), "content", None)
        else:
            text = getattr(choice, "text", None)
        index = getattr(choice, "index", 0)
        if isinstance(text, str) and text and isinstance(index, int):
            yield Delta(index, text)


def _usage(chunk: object) -> Usage | None:
    usage = getattr(chunk, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(prompt, completion)
    return None


class Endpoint:
    """A provider's endpoint. Safe to share between tasks of one event loop."""

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        self.keys = KeyResolver(name, config)
        self._breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown_s)
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._client: AsyncOpenAI | None = None
        self._quirks: set[str] = set()
        """Learned from 400s: `no_stream_options`, `max_completion_tokens`."""
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    # -- public API ------------------------------------------------------------------------

    def stream_chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
        deadline_s: float,
    ) -> ModelStream:
        """Stream a chat answer (`/chat/completions`)."""
        params = _Params("chat", model, max_tokens, messages, "", None, temperature, stop, n)
        return ModelStream(lambda result: self._stream(params, deadline_s, result))

    def stream_completion(
        self,
        model: str,
        prompt: str,
        *,
        suffix: str | None = None,
        max_tokens: int,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
        deadline_s: float,
    ) -> ModelStream:
        """Stream a text completion (`/completions`, used for fill-in-the-middle)."""
        params = _Params("completion", model, max_tokens, [], prompt, suffix, temperature, stop, n)
        return ModelStream(lambda result: self._stream(params, deadline_s, result))

    async def embed(self, model: str, inputs: list[str], *, deadline_s: float) -> list[list[float]]:
        """One vector per input, in order."""

        async def op(client: AsyncOpenAI) -> list[list[float]]:
            # Empty strings are rejected by OpenAI; "float" because local servers lack base64.
            answer = await client.embeddings.create(
                model=model, input=[text or " " for text in inputs], encoding_format="float"
            )
            data = sorted(answer.data, key=lambda item: item.index)
            vectors = [item.embedding for item in data]
            if len(vectors) != len(inputs) or not all(isinstance(v, list) for v in vectors):
                raise ValueError("embeddings answer does not match the inputs")
            return vectors

        return await self._call(model, deadline_s, op)

    async def list_models(self, *, deadline_s: float) -> list[str]:
        """Model ids the endpoint serves (`/models`)."""

        async def op(client: AsyncOpenAI) -> list[str]:
            return [m.id async for m in client.models.list()]

        return await self._call("", deadline_s, op)

    async def retire(self) -> None:
        """Close once the requests in flight have finished (after a config change)."""
        await self._idle.wait()
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True after `aclose` (until a new request opens a new client)."""
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # -- admission, retries ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _admitted(self, deadline: float) -> AsyncIterator[_Outcome]:
        """In flight (so `retire` waits), past the breaker, then a slot held until the end."""
        self._active += 1
        self._idle.clear()
        try:
            trial = self._admit()
            await self._acquire(deadline, trial)
            outcome = _Outcome()
            try:
                yield outcome
            except BaseException as exc:
                self._settle(trial, outcome, exc)
                raise
            else:
                self._settle(trial, outcome, None)
            finally:
                self._slots.release()
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    def _admit(self) -> bool:
        try:
            return self._breaker.admit()
        except CircuitOpen as exc:
            raise failure(
                "circuit_open",
                self.name,
                f"is paused after {self.config.breaker_failures} failures in a row; requests "
                f"fail at once for {exc.remaining_s:.0f} s more "
                f"(providers.{self.name}.breaker_cooldown_s)",
            ) from None

    async def _acquire(self, deadline: float, trial: bool) -> None:
        try:
            await _bounded(deadline, self._slots.acquire())
        except TimeoutError:
            self._breaker.abandoned(trial)
            raise failure(
                "timeout",
                self.name,
                f"had all {self.config.max_concurrent} request slots busy until the deadline "
                f"(providers.{self.name}.max_concurrent)",
            ) from None
        except BaseException:
            self._breaker.abandoned(trial)
            raise

    def _settle(self, trial: bool, outcome: _Outcome, exc: BaseException | None) -> None:
        """Tell the breaker what the request showed: down, alive, or nothing (cancelled early)."""
        err = exc if isinstance(exc, ProviderError) else None
        # A deadline hit while text was flowing says the answer is long, not the endpoint down.
        slow = err is not None and err.kind == "timeout" and outcome.received
        if err is not None and err.kind in BREAKER_FAILURES and not slow:
            self._breaker.failed()
        elif exc is None or outcome.received or (err is not None and err.status is not None):
            self._breaker.succeeded()
        else:
            self._breaker.abandoned(trial)

    async def _wait_to_retry(
        self, err: ProviderError, attempt: int, deadline: float, outcome: _Outcome
    ) -> None:
        """Sleep before the next attempt, or raise `err` when no retry is allowed."""
        if outcome.yielded or err.kind not in RETRYABLE or attempt >= self.config.max_retries:
            raise err
        delay = retry_delay_s(attempt, err.retry_after)
        if asyncio.get_running_loop().time() + delay >= deadline:
            raise err
        log.info("provider %s: %s; retry %d in %.1f s", self.name, err.kind, attempt + 1, delay)
        await asyncio.sleep(delay)

    async def _openai(self, deadline: float) -> AsyncOpenAI:
        if self._client is None:
            await _bounded(deadline, preload())
        if self._client is None:
            import httpx2
            import openai

            cfg = self.config
            timeout = httpx2.Timeout(cfg.read_timeout_s, connect=cfg.connect_timeout_s)
            limits = httpx2.Limits(
                max_connections=2 * cfg.max_concurrent,
                max_keepalive_connections=cfg.max_concurrent,
            )
            self._closed = False
            self._client = openai.AsyncOpenAI(
                api_key=self.keys.get,
                base_url=cfg.base_url,
                max_retries=0,
                timeout=timeout,
                default_headers=cfg.headers,
                http_client=httpx2.AsyncClient(timeout=timeout, limits=limits),
            )
            if httpx2.URL(cfg.base_url).host != "api.openai.com":
                # The client reads OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment;
                # those identify the user's OpenAI account and must not reach other hosts.
                self._client.organization = None
                self._client.project = None
        return self._client

    async def _call(
        self, model: str, deadline_s: float, op: Callable[[AsyncOpenAI], Awaitable[T]]
    ) -> T:
        deadline = asyncio.get_running_loop().time() + deadline_s
        async with self._admitted(deadline) as outcome:
            attempt = 0
            while True:
                try:
                    value = await _bounded(deadline, op(await self._openai(deadline)))
                    outcome.received = True
                    return value
                except Exception as exc:
                    err = self._classify(exc, model, attempt, deadline_s)
                    await self._wait_to_retry(err, attempt, deadline, outcome)
                    attempt += 1

    async def _stream(
        self, params: _Params, deadline_s: float, result: StreamResult
    ) -> AsyncGenerator[Delta, None]:
        deadline = asyncio.get_running_loop().time() + deadline_s
        async with self._admitted(deadline) as outcome:
            attempt = 0
            while True:
                try:
                    client = await self._openai(deadline)
                    stream = await _bounded(deadline, self._create(client, params))
                    try:
                        # The deadline bounds each read, never the consumer's time between deltas.
                        while (chunk := await _bounded(deadline, anext(stream, None))) is not None:
                            outcome.received = True
                            result.usage = _usage(chunk) or result.usage
                            for delta in _deltas(params.api, chunk):
                                outcome.yielded = True
                                yield delta
                    finally:
                        await stream.close()
                    return
                except Exception as exc:
                    err = self._classify(exc, params.model, attempt, deadline_s)
                    if quirk := self._quirk(exc, params):
                        self._quirks.add(quirk)
                        log.info(
                            "provider %s: adapting the request and retrying (%s)", self.name, quirk
                        )
                        continue
                    await self._wait_to_retry(err, attempt, deadline, outcome)
                    attempt += 1

    async def _create(self, client: AsyncOpenAI, p: _Params) -> AsyncStream[Any]:
        import openai

        omit = openai.omit
        usage: ChatCompletionStreamOptionsParam | Omit = (
            omit if "no_stream_options" in self._quirks else {"include_usage": True}
        )
        temperature = omit if p.temperature is None else p.temperature
        stop = p.stop or omit
        if p.api == "completion":
            return await client.completions.create(
                model=p.model,
                prompt=p.prompt,
                suffix=omit if p.suffix is None else p.suffix,
                max_tokens=p.max_tokens,
                n=p.n,
                temperature=temperature,
                stop=stop,
                stream=True,
                stream_options=usage,
            )
        # Reasoning models take only `max_completion_tokens`; learned from their 400 answer.
        reasoning = "max_completion_tokens" in self._quirks
        return await client.chat.completions.create(
            model=p.model,
            messages=cast(Any, p.messages),
            max_tokens=omit if reasoning else p.max_tokens,
            max_completion_tokens=p.max_tokens if reasoning else omit,
            n=p.n,
            temperature=temperature,
            stop=stop,
            stream=True,
            stream_options=usage,
        )

    def _quirk(self, exc: Exception, params: _Params) -> str | None:
        """A parameter to drop after a 400 that names it (once per endpoint)."""
        import openai

        if not isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
            return None
        said = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
        if "stream_options" in said and "no_stream_options" not in self._quirks:
            return "no_stream_options"
        if (
            params.api == "chat"
            and "max_completion_tokens" in said
            and "max_completion_tokens" not in self._quirks
        ):
            return "max_completion_tokens"
        return None

    # -- errors ----------------------------------------------------------------------------

    def _classify(
        self, exc: Exception, model: str, attempt: int, deadline_s: float
    ) -> ProviderError:
        err = from_exception(
            exc,
            provider=self.name,
            config=self.config,
            model=model,
            key_source=self.keys.source(),
            retries=attempt,
            deadline_s=deadline_s,
        )
        if err.status == 401:
            self.keys.invalidate()
        return err
