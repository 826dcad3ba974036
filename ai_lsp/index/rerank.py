"""An optional rerank endpoint (`POST {base_url}/rerank`, the Cohere/Jina shape that vLLM,
llama.cpp, TEI and others serve) that reorders search hits; on any failure the hits stay as
they are and the user is told once."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable

from ai_lsp.config import Settings
from ai_lsp.index.search import Hit, Rerank
from ai_lsp.notices import Notices

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


def endpoint_reranker(settings: Settings, notices: Notices) -> Rerank | None:
    """The reranker named by `index.rerank`, or None when none is configured."""
    name = settings.index.rerank
    if name is None or name not in settings.models:
        return None
    model = settings.models[name]
    provider = settings.providers.get(model.provider)
    if provider is None:
        return None
    url = provider.base_url.rstrip("/") + "/rerank"
    env = provider.api_key_env

    def key() -> str | None:
        return os.environ.get(env) if env else None

    return _reranker(url, model.name, key, dict(provider.headers), notices)


def _reranker(
    url: str, model: str, key: Callable[[], str | None], headers: dict[str, str], notices: Notices
) -> Rerank:
    def rerank(query: str, hits: list[Hit]) -> list[Hit]:
        if len(hits) < 2:
            return hits
        import httpx2

        sent = dict(headers)
        if (secret := key()) is not None:
            sent["Authorization"] = f"Bearer {secret}"
        body = {
            "model": model,
            "query": query,
            "documents": [h.text for h in hits],
            "top_n": len(hits),
        }
        try:
            response = httpx2.post(url, json=body, headers=sent, timeout=TIMEOUT_S)
            response.raise_for_status()
            results = response.json()["results"]
            ranked = sorted(results, key=lambda r: -float(r["relevance_score"]))
            reordered = [
                dataclasses.replace(hits[int(r["index"])], score=float(r["relevance_score"]))
                for r in ranked
                if 0 <= int(r["index"]) < len(hits)
            ]
        except (httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            notices.once(
                f"rerank:{url}",
                "warning",
                f"ai-lsp: the rerank endpoint {url} failed ({type(exc).__name__}); search results "
                "are not reranked. Check `index.rerank` and its provider.",
            )
            return hits
        notices.clear(f"rerank:{url}")
        return reordered or hits

    return rerank
