"""Routes features (completion, chat, edit, apply, embeddings) to their model's endpoint.

Checks the local budget before a request leaves, records usage after it, and tells the user
once about provider errors (cleared by the next success).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Protocol

from ai_lsp.config import ModelConfig, Settings
from ai_lsp.notices import Notices
from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.openai_compat import Endpoint, preload
from ai_lsp.providers.stream import Delta, ModelStream, StreamResult, Usage

log = logging.getLogger(__name__)

EMBED_DEADLINE_S = 60.0
LIST_MODELS_DEADLINE_S = 15.0
EMBED_BATCH = 64
"""Inputs per embeddings request (local servers take small batches)."""
_THREAD_CHARS = 20_000
"""Prompts longer than this are counted in a worker thread (tokenizing is CPU work)."""

TokenCounter = Callable[[ModelConfig, str], int]
_SETTING = {
    "completion": "completion.model",
    "chat": "chat.model",
    "edit": "edit.model",
    "apply": "edit.apply_model",
    "embeddings": "index.embeddings",
}


class LedgerLike(Protocol):
    """The spend ledger (`ai_lsp.providers.ledger`) as the registry uses it."""

    def check(
        self,
        *,
        provider: str,
        model: str,
        prompt_tokens: int,
        input_usd_per_mtok: float,
        output_usd_per_mtok: float,
    ) -> None:
        """Raise `BudgetExceeded` when this request would go over a cap."""

    def record(
        self,
        *,
        provider: str,
        model: str,
        feature: str,
        prompt_tokens: int,
        completion_tokens: int,
        estimated: bool,
        usd: float,
    ) -> None:
        """Add a finished (or cut short) request to the ledger."""


@dataclass(frozen=True)
class _Route:
    feature: str
    provider: str
    model: ModelConfig
    endpoint: Endpoint


class ProviderRegistry:
    """The models of all features; endpoints are built on first use and rebuilt on change."""

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: LedgerLike,
        notices: Notices,
        token_counter: TokenCounter,
    ) -> None:
        self._settings = settings
        self._ledger = ledger
        self._notices = notices
        self._count = token_counter
        self._endpoints: dict[str, Endpoint] = {}
        self._old: list[Endpoint] = []
        """Replaced endpoints: closed when idle, and again by `aclose` in case a request that
        had already picked one opened a new client."""
        self._retiring: set[asyncio.Task[None]] = set()
        self._troubled: set[str] = set()

    def configured(self, feature: str) -> bool:
        """Whether `feature` has a model on a known provider."""
        found = self._settings.model_for(feature)
        return found is not None and found[1].provider in self._settings.providers

    def chat(
        self,
        feature: str,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
    ) -> ModelStream:
        """Stream a chat answer. Errors (`ProviderError`) surface while iterating."""
        prompt = "\n".join(m.get("content", "") for m in messages)

        def start(route: _Route, deadline_s: float) -> ModelStream:
            return route.endpoint.stream_chat(
                route.model.name,
                messages,
                max_tokens=self._max_tokens(route, max_tokens),
                temperature=temperature,
                stop=stop,
                n=n,
                deadline_s=deadline_s,
            )

        return ModelStream(lambda result: self._metered(feature, prompt, start, result))

    def complete(
        self,
        feature: str,
        prompt: str,
        *,
        suffix: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
    ) -> ModelStream:
        """Stream a text completion (`/completions`, for fill-in-the-middle prompts)."""
        if temperature is None and feature == "completion":
            temperature = self._settings.completion.temperature

        def start(route: _Route, deadline_s: float) -> ModelStream:
            return route.endpoint.stream_completion(
                route.model.name,
                prompt,
                suffix=suffix,
                max_tokens=self._max_tokens(route, max_tokens),
                temperature=temperature,
                stop=stop,
                n=n,
                deadline_s=deadline_s,
            )

        text = prompt + (suffix or "")
        return ModelStream(lambda result: self._metered(feature, text, start, result))

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text from the `index.embeddings` model, in order."""
        route = self._route("embeddings")
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            tokens = await self._count_async(route.model, "\n".join(batch))
            self._check_budget(route, tokens)
            try:
                vectors += await route.endpoint.embed(
                    route.model.name, batch, deadline_s=EMBED_DEADLINE_S
                )
            except ProviderError as err:
                self._report(err)
                raise
            self._recovered(route.provider)
            self._record(route, Usage(tokens, 0), estimated=True)
        return vectors

    async def list_models(self, provider: str) -> list[str]:
        """Model ids served by `provider` (for `ai-lsp doctor`; errors are raised, not noticed)."""
        if provider not in self._settings.providers:
            raise ProviderError(
                "not_configured",
                provider,
                f"ai-lsp: there is no provider '{provider}'; add [providers.{provider}] "
                "with a base_url.",
            )
        return await self.endpoint(provider).list_models(deadline_s=LIST_MODELS_DEADLINE_S)

    async def warm(self) -> None:
        """Load the HTTP client library ahead of the first request, if any model is configured."""
        if any(self.configured(feature) for feature in _SETTING):
            await preload()

    def update(self, settings: Settings) -> None:
        """New settings: endpoints whose provider config changed are rebuilt, others kept."""
        self._settings = settings
        for name, endpoint in list(self._endpoints.items()):
            if settings.providers.get(name) != endpoint.config:
                del self._endpoints[name]
                self._old.append(endpoint)
                self._retire_later(endpoint)
                self._notices.clear_prefix(f"provider:{name}:")
                self._troubled.discard(name)

    async def aclose(self) -> None:
        """Close every endpoint now, including those still finishing after a config change."""
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        endpoints = [*self._endpoints.values(), *self._old]
        self._endpoints.clear()
        self._old.clear()
        for endpoint in endpoints:
            await endpoint.aclose()

    def endpoint(self, provider: str) -> Endpoint:
        """The endpoint of a configured provider (built on first use)."""
        if (endpoint := self._endpoints.get(provider)) is None:
            endpoint = Endpoint(provider, self._settings.providers[provider])
            self._endpoints[provider] = endpoint
        return endpoint

    def _retire_later(self, endpoint: Endpoint) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop, so nothing in flight either: aclose() closes it
        task = loop.create_task(endpoint.retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    # -- routing ---------------------------------------------------------------------------

    def _route(self, feature: str) -> _Route:
        setting = _SETTING[feature]
        found = self._settings.model_for(feature)
        if found is None:
            raise ProviderError(
                "not_configured",
                "",
                f"ai-lsp: no model is configured for {feature}. Set `{setting}` to the name of "
                'an entry in `models`, e.g. [models.smart] provider = "openai" name = "gpt-4.1".',
            )
        key, model = found
        if model.provider not in self._settings.providers:
            raise ProviderError(
                "not_configured",
                model.provider,
                f"ai-lsp: models.{key} uses provider '{model.provider}', but there is no "
                f"[providers.{model.provider}]; add it with a base_url.",
            )
        return _Route(feature, model.provider, model, self.endpoint(model.provider))

    def _deadline_s(self, feature: str) -> float:
        s = self._settings
        if feature == "completion":
            return s.completion.deadline_ms / 1000
        if feature == "chat":
            return s.chat.deadline_s
        if feature in ("edit", "apply"):
            return s.edit.deadline_s
        return EMBED_DEADLINE_S

    def _max_tokens(self, route: _Route, asked: int | None) -> int:
        s = self._settings
        defaults = {"completion": s.completion.max_tokens, "chat": s.chat.max_tokens}
        wanted = asked or defaults.get(route.feature, s.edit.max_tokens)
        return min(wanted, route.model.max_output_tokens)

    # -- metering --------------------------------------------------------------------------

    async def _metered(
        self,
        feature: str,
        prompt: str,
        start: Callable[[_Route, float], ModelStream],
        result: StreamResult,
    ) -> AsyncGenerator[Delta, None]:
        route = self._route(feature)
        prompt_tokens = await self._count_async(route.model, prompt)
        self._check_budget(route, prompt_tokens)
        stream = start(route, self._deadline_s(feature))
        finished = False
        try:
            async for delta in stream:
                yield delta
            finished = True
        except ProviderError as err:
            self._report(err)
            raise
        finally:
            await stream.aclose()
            received = stream.texts()
            if finished or any(received) or stream.usage is not None:
                usage = stream.usage
                if usage is None:
                    completion = sum(self._count(route.model, text) for text in received)
                    usage = Usage(prompt_tokens, completion)
                self._record(route, usage, estimated=stream.usage is None)
                result.usage = usage
        self._recovered(route.provider)

    async def _count_async(self, model: ModelConfig, text: str) -> int:
        if len(text) > _THREAD_CHARS:
            return await asyncio.to_thread(self._count, model, text)
        return self._count(model, text)

    def _check_budget(self, route: _Route, prompt_tokens: int) -> None:
        try:
            self._ledger.check(
                provider=route.provider,
                model=route.model.name,
                prompt_tokens=prompt_tokens,
                input_usd_per_mtok=route.model.input_usd_per_mtok,
                output_usd_per_mtok=route.model.output_usd_per_mtok,
            )
        except Exception as exc:
            # Only a refusal needs the ledger module itself; all else goes through LedgerLike.
            from ai_lsp.providers.ledger import BudgetExceeded

            if not isinstance(exc, BudgetExceeded):
                raise
            err = ProviderError("budget", route.provider, exc.message)
            self._report(err)
            raise err from None

    def _record(self, route: _Route, usage: Usage, *, estimated: bool) -> None:
        model = route.model
        usd = (
            usage.prompt_tokens * model.input_usd_per_mtok
            + usage.completion_tokens * model.output_usd_per_mtok
        ) / 1_000_000
        try:
            self._ledger.record(
                provider=route.provider,
                model=model.name,
                feature=route.feature,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                estimated=estimated,
                usd=usd,
            )
        except Exception:
            # Losing one ledger line must not lose the user's answer; the log says why.
            log.warning("could not record usage of provider %s", route.provider, exc_info=True)

    def _report(self, err: ProviderError) -> None:
        self._notices.once(f"provider:{err.provider}:{err.kind}", err.level, err.user_message)
        self._troubled.add(err.provider)

    def _recovered(self, provider: str) -> None:
        if provider in self._troubled:
            self._troubled.discard(provider)
            self._notices.clear_prefix(f"provider:{provider}:")
