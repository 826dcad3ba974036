"""The steps of one model request that run in a worker thread: the suggestion's shape,
context from the providers, the packed prompt; and the local model's whole answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ai_lsp.completion.context import ContextProvider, ContextRequest, gather
from ai_lsp.completion.guard import PromptGuard
from ai_lsp.completion.local import LocalModel
from ai_lsp.completion.prompt import Prompt, build_prompt
from ai_lsp.completion.remote import Cursor, clean
from ai_lsp.completion.shape import Shape, ShapeDecider, grammar_for
from ai_lsp.config import ModelConfig
from ai_lsp.documents import DocumentSnapshot
from ai_lsp.prompting.tokens import counter_for

CLEAN_PREFIX_CHARS = 16_000
CLEAN_SUFFIX_CHARS = 8_000
"""Post-processing looks at most this far around the cursor (echoes, block ends)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready for the model."""

    shape: Shape
    cursor: Cursor
    prompt: Prompt | None
    timings_ms: dict[str, float]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def cursor_for(snapshot: DocumentSnapshot, shape: Shape) -> Cursor:
    """Post-processing inputs for a snapshot."""
    prefix = snapshot.text[max(snapshot.offset - CLEAN_PREFIX_CHARS, 0) : snapshot.offset]
    suffix = snapshot.text[snapshot.offset : snapshot.offset + CLEAN_SUFFIX_CHARS]
    return Cursor(prefix, suffix, shape.multiline, shape.indent_unit)


def decide_shape(shapes: ShapeDecider, snapshot: DocumentSnapshot, path: str) -> Shape:
    return shapes.decide(
        snapshot.uri, snapshot.text, snapshot.offset, grammar_for(snapshot.language_id, path)
    )


def prepare(
    request: ContextRequest,
    *,
    shapes: ShapeDecider,
    guard: PromptGuard,
    providers: Sequence[ContextProvider],
    model: ModelConfig,
    max_output: int,
    root: Path | None,
) -> Prepared:
    """Shape, context and prompt for a remote model (CPU work: call in a worker thread)."""
    snapshot = request.snapshot
    started = time.perf_counter()
    shape = decide_shape(shapes, snapshot, request.path)
    shaped = time.perf_counter()
    allowed = tuple(b for b in request.buffers if guard.refusal(b.uri, b.text) is None)
    snippets = gather(providers, replace(request, buffers=allowed))
    gathered = time.perf_counter()
    prompt = build_prompt(
        prefix=snapshot.prefix,
        suffix=snapshot.suffix,
        snippets=snippets,
        path=request.path,
        language=snapshot.language_id or None,
        repo=root.name if root is not None else None,
        model=model,
        max_output=max_output,
        counter=counter_for(model),
    )
    timings = {
        "shape_ms": round((shaped - started) * 1000, 3),
        "context_ms": round((gathered - shaped) * 1000, 3),
        "prompt_ms": _ms(gathered),
    }
    return Prepared(shape, cursor_for(snapshot, shape), prompt, timings)


def local_answer(
    snapshot: DocumentSnapshot, path: str, *, shapes: ShapeDecider, local: LocalModel
) -> tuple[tuple[str, ...], Shape, dict[str, float]]:
    """The local model's cleaned suggestion (call in a worker thread)."""
    started = time.perf_counter()
    shape = decide_shape(shapes, snapshot, path)
    shaped = time.perf_counter()
    text = local.complete(snapshot.text[max(snapshot.offset - 4096, 0) : snapshot.offset], path)
    cleaned = clean(text, cursor_for(snapshot, shape), chat=False) if text else None
    timings = {"shape_ms": round((shaped - started) * 1000, 3), "model_ms": _ms(shaped)}
    return ((cleaned,) if cleaned else ()), shape, timings
