"""The one completion service behind `textDocument/inlineCompletion`,
`textDocument/completion` and `ai-lsp complete`: type-through cache, latest-wins,
debounce, context, prompt, model and clean-up, answering every request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ai_lsp.completion.cache import TypeThroughCache
from ai_lsp.completion.context import ContextProvider, ContextRequest, OpenBuffer
from ai_lsp.completion.edits import RecentEditsProvider
from ai_lsp.completion.guard import PromptGuard, relative_name, workspace_key
from ai_lsp.completion.inflight import Fetch, FetchResult, InFlight
from ai_lsp.completion.local import LocalModel
from ai_lsp.completion.neighbors import OpenBuffersProvider
from ai_lsp.completion.pipeline import local_answer, prepare
from ai_lsp.completion.remote import Endpoints, Reading, ask
from ai_lsp.completion.results import (
    Completions,
    ContextRecord,
    Source,
    Suggestion,
    Trigger,
)
from ai_lsp.completion.rules import RulesProvider
from ai_lsp.completion.scheduling import LatestWins, Ticket, TypingRhythm
from ai_lsp.completion.shape import ShapeDecider
from ai_lsp.config import ModelConfig, Settings
from ai_lsp.documents import DocumentSnapshot, DocumentStore
from ai_lsp.prompting.postprocess import replacement_end
from ai_lsp.providers.errors import ProviderError

log = logging.getLogger(__name__)

CONTEXT_BUDGET_S = 0.04
"""Time the context providers get together, per request."""
RECENT_EDITS = 40
BUFFER_FEED_DELAY_S = 0.3
"""The local model's cache of a buffer is refreshed once its edits pause this long."""
_RECORDS = 64


@dataclass(frozen=True, slots=True)
class Route:
    """Which model answers: a configured one, or the local n-gram model (`model` None)."""

    key: str
    label: str
    model: ModelConfig | None = None


LOCAL = Route("local", "local n-gram")


def route_for(settings: Settings) -> Route:
    """The completion model, or `LOCAL` when it is `local` or not (fully) configured."""
    found = settings.model_for("completion")
    if settings.completion.model == "local" or found is None:
        return LOCAL
    key, model = found
    if model.provider not in settings.providers:
        return LOCAL
    return Route(key, model.name, model)


class CompletionService:
    """Suggestions at a cursor, for any client of the service (handlers, CLI, benchmarks)."""

    def __init__(
        self,
        documents: DocumentStore,
        *,
        settings: Callable[[], Settings],
        endpoints: Callable[[], Endpoints],
        root: Callable[[], Path | None],
        local: LocalModel | None = None,
        context_providers: Sequence[ContextProvider] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._documents = documents
        self._settings = settings
        self._endpoints = endpoints
        self._root = root
        self._clock = clock
        self.local = local or LocalModel()
        self._providers: list[ContextProvider] = list(
            context_providers
            if context_providers is not None
            else (RulesProvider(), OpenBuffersProvider(), RecentEditsProvider())
        )
        self._rhythm = TypingRhythm(clock)
        self._latest = LatestWins()
        self._cache = TypeThroughCache()
        self._inflight = InFlight()
        self._shapes = ShapeDecider()
        self._guard: PromptGuard | None = None
        self._records: OrderedDict[str, ContextRecord] = OrderedDict()
        self._feeds: dict[str, asyncio.TimerHandle] = {}
        self._warming: asyncio.Task[None] | None = None

    def add_context_provider(self, provider: ContextProvider) -> None:
        """Plug in another source of snippets (the index, the upstream server)."""
        self._providers.append(provider)

    def last_context(self, uri: str) -> ContextRecord | None:
        """What the last model request for `uri` used (for `ai-lsp.context.explain`)."""
        return self._records.get(uri)

    # -- document events (called on the event loop) ------------------------------------------

    def document_opened(self, uri: str) -> None:
        if route_for(self._settings()).model is None:
            self._start_local()
            self._feed_local(uri)
        elif self._warming is None:  # the first request must not pay for importing openai
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    def document_changed(self, uri: str) -> None:
        self._rhythm.keystroke(uri)
        if self.local.started:
            if (old := self._feeds.pop(uri, None)) is not None:
                old.cancel()
            loop = asyncio.get_running_loop()
            self._feeds[uri] = loop.call_later(BUFFER_FEED_DELAY_S, self._feed_local, uri)

    def document_saved(self, uri: str) -> None:
        document = self._documents.get(uri)
        root = self._root()
        if document is None or not self.local.started:
            return
        key = workspace_key(uri, root)
        if key is not None and self.guard().refusal(uri, document.text) is None:
            self.local.file_saved(key, document.text)

    def document_closed(self, uri: str) -> None:
        self._rhythm.forget(uri)
        self._shapes.forget(uri)
        if (timer := self._feeds.pop(uri, None)) is not None:
            timer.cancel()
        self.local.buffer_closed(relative_name(uri, self._root()))

    def guard(self) -> PromptGuard:
        """The prompt guard of the current root and size limit."""
        root, limit = self._root(), self._settings().index.max_file_bytes
        if self._guard is None or self._guard.root != root or self._guard.max_file_bytes != limit:
            self._guard = PromptGuard(root, limit)
        return self._guard

    async def _warm(self) -> None:
        try:
            await self._endpoints().warm()
        except Exception:
            log.warning("could not load the HTTP client ahead of time", exc_info=True)

    def _start_local(self) -> None:
        self.local.start(self._root(), max_file_bytes=self._settings().index.max_file_bytes)

    def _feed_local(self, uri: str) -> None:
        self._feeds.pop(uri, None)
        document = self._documents.get(uri)
        if document is not None and self.guard().refusal(uri, document.text) is None:
            self.local.buffer_changed(relative_name(uri, self._root()), document.text)

    # -- requests ------------------------------------------------------------------------------

    async def suggest(
        self, snapshot: DocumentSnapshot, *, trigger: Trigger = "automatic", channel: str = "inline"
    ) -> Completions:
        """Suggestions at the snapshot's cursor. Always answers: empty (with a reason) when
        superseded by a newer request on the same channel, past the deadline, stale, or
        when the model has nothing; a real cancellation propagates."""
        started = self._clock()
        settings = self._settings()
        route = route_for(settings)
        timings: dict[str, float] = {}
        ticket: Ticket | None = None
        try:
            async with self._latest.scope(
                (snapshot.uri, channel), settings.completion.deadline_ms / 1000
            ) as ticket:
                answer = await self._suggest(snapshot, trigger, route, settings, timings)
        except TimeoutError:
            if ticket is None or not (ticket.superseded or ticket.expired):
                raise
            reason = "superseded" if ticket.superseded else "deadline"
            answer = Completions.empty(route.label, reason)
        timings["total_ms"] = round((self._clock() - started) * 1000, 3)
        log.debug(
            "completion %s v%d: %d suggestions from %s%s in %.1f ms",
            channel,
            snapshot.version,
            len(answer.suggestions),
            answer.source,
            f" ({answer.reason})" if answer.reason else "",
            timings["total_ms"],
        )
        return Completions(
            answer.suggestions, answer.model, answer.source, answer.reason, answer.record, timings
        )

    async def _suggest(
        self,
        snapshot: DocumentSnapshot,
        trigger: Trigger,
        route: Route,
        settings: Settings,
        timings: dict[str, float],
    ) -> Completions:
        refusal = self.guard().refusal(snapshot.uri, snapshot.text)
        if refusal is not None:
            return Completions.empty(route.label, f"ignored file ({refusal})")
        prefix, suffix = snapshot.prefix, snapshot.suffix
        cached = self._cache.lookup(prefix, suffix, route.key)
        if cached:
            return self._answer(snapshot, cached, route, "cache", None, settings)
        fetch = self._inflight.find(snapshot.uri, prefix, suffix, route.key)
        result = await self._inflight.join(fetch, prefix) if fetch is not None else None
        if result is None:  # nothing in flight that the user is typing along with
            delay = self._debounce_s(snapshot.uri, trigger, route, settings)
            if delay > 0:
                timings["debounce_ms"] = round(delay * 1000, 3)
                await asyncio.sleep(delay)
                cached = self._cache.lookup(prefix, suffix, route.key)
                if cached:
                    return self._answer(snapshot, cached, route, "cache", None, settings)
            fetch = self._start(snapshot, prefix, suffix, route, settings)
            result = await self._inflight.join(fetch, prefix)
        if result is None or not self._documents.is_current(snapshot):
            return Completions.empty(route.label, "stale")
        return self._answer(snapshot, result.candidates, route, "model", result.record, settings)

    def _debounce_s(self, uri: str, trigger: Trigger, route: Route, settings: Settings) -> float:
        if trigger == "invoked" or route.model is None:
            return 0.0  # the user asked, or the local model costs nothing
        setting = settings.completion.debounce_ms
        return self._rhythm.debounce_s(uri) if setting == "adaptive" else setting / 1000

    def _start(
        self, snapshot: DocumentSnapshot, prefix: str, suffix: str, route: Route, settings: Settings
    ) -> Fetch:
        reading = Reading()
        work = self._produce(snapshot, prefix, suffix, route, settings, reading)
        return self._inflight.start(
            snapshot.uri, prefix, suffix, route.key, work, reading.texts.values
        )

    def _answer(
        self,
        snapshot: DocumentSnapshot,
        candidates: tuple[str, ...],
        route: Route,
        source: Source,
        record: ContextRecord | None,
        settings: Settings,
    ) -> Completions:
        end = snapshot.text.find("\n", snapshot.offset)
        line_suffix = snapshot.text[snapshot.offset : None if end == -1 else end].rstrip("\r")
        suggestions = tuple(
            Suggestion(text, replacement_end(text, line_suffix))
            for text in candidates[: settings.completion.candidates]
        )
        reason = "" if suggestions else "no suggestion"
        return Completions(suggestions, route.label, source, reason, record)

    async def _produce(
        self,
        snapshot: DocumentSnapshot,
        prefix: str,
        suffix: str,
        route: Route,
        settings: Settings,
        reading: Reading,
    ) -> FetchResult:
        """One model request (run as a task that requests share; cancelling it closes the stream)."""
        started = self._clock()
        root = self._root()
        path = relative_name(snapshot.uri, root)
        try:
            if route.model is None:
                self._start_local()
                candidates, shape, timings = await asyncio.to_thread(
                    local_answer, snapshot, path, shapes=self._shapes, local=self.local
                )
                record = ContextRecord(
                    snapshot.uri,
                    snapshot.version,
                    route.label,
                    shape.describe(),
                    timings_ms=timings,
                    outcome="ok" if candidates else "empty",
                )
            else:
                candidates, record = await self._ask_remote(
                    snapshot, path, route.model, route, settings, reading
                )
        except Exception:
            log.exception("completion failed; answering with nothing")
            candidates, record = (), None
        if record is not None:
            fetch_ms = round((self._clock() - started) * 1000, 3)
            record = replace(record, timings_ms={**record.timings_ms, "fetch_ms": fetch_ms})
            self._records[snapshot.uri] = record
            self._records.move_to_end(snapshot.uri)
            while len(self._records) > _RECORDS:
                self._records.popitem(last=False)
        self._cache.store(prefix, suffix, route.key, candidates)
        return FetchResult(candidates, record)

    async def _ask_remote(
        self,
        snapshot: DocumentSnapshot,
        path: str,
        model: ModelConfig,
        route: Route,
        settings: Settings,
        reading: Reading,
    ) -> tuple[tuple[str, ...], ContextRecord]:
        root = self._root()
        request = ContextRequest(
            snapshot=snapshot,
            path=path,
            root=root,
            buffers=tuple(
                OpenBuffer(d.uri, relative_name(d.uri, root), d.language_id, d.version, d.text)
                for d in self._documents
                if d.uri != snapshot.uri
            ),
            edits=tuple(self._documents.recent_edits(RECENT_EDITS)),
            max_tokens=model.context_window // 4,
            deadline=time.monotonic() + CONTEXT_BUDGET_S,
        )
        prepared = await asyncio.to_thread(
            prepare,
            request,
            shapes=self._shapes,
            guard=self.guard(),
            providers=tuple(self._providers),
            model=model,
            max_output=settings.completion.max_tokens,
            root=root,
        )
        timings = dict(prepared.timings_ms)
        sections = prepared.prompt.sections if prepared.prompt is not None else ()
        outcome = "prompt does not fit"
        candidates: tuple[str, ...] = ()
        if prepared.prompt is not None:
            try:
                candidates = await ask(
                    self._endpoints(),
                    prepared.prompt,
                    prepared.cursor,
                    n=settings.completion.candidates,
                    clock=self._clock,
                    reading=reading,
                )
                outcome = "ok" if candidates else "empty"
            except ProviderError as err:  # the registry has told the user (once)
                outcome = err.kind
            for name, value in (
                ("first_token_ms", reading.first_token_s),
                ("model_ms", reading.done_s),
            ):
                if value is not None:
                    timings[name] = round(value * 1000, 3)
        record = ContextRecord(
            snapshot.uri,
            snapshot.version,
            route.label,
            prepared.shape.describe(),
            sections,
            timings,
            outcome,
        )
        return candidates, record
