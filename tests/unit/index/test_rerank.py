"""The rerank endpoint: hits reordered by its scores; failures leave them as they were."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from ai_lsp.config import Settings
from ai_lsp.index.rerank import endpoint_reranker
from ai_lsp.index.search import Hit
from ai_lsp.notices import Notices


class RerankHandler(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, object]]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append({**body, "auth": self.headers.get("Authorization")})
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            return
        # Scores favour documents that mention "needle"; the last document wins ties.
        docs = body["documents"]
        results = [
            {"index": i, "relevance_score": ("needle" in d) + i / 100} for i, d in enumerate(docs)
        ]
        payload = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def endpoint() -> Iterator[str]:
    RerankHandler.bodies = []
    RerankHandler.fail = False
    server = HTTPServer(("127.0.0.1", 0), RerankHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def hit(name: str, text: str) -> Hit:
    return Hit(
        path=f"{name}.py",
        start_line=1,
        end_line=2,
        symbol=name,
        kind="function",
        score=1.0,
        text=text,
    )


def settings(base_url: str) -> Settings:
    return Settings.model_validate(
        {
            "providers": {"tei": {"base_url": base_url, "api_key_env": "AI_LSP_RERANK_KEY"}},
            "models": {"rr": {"provider": "tei", "name": "bge-reranker"}},
            "index": {"rerank": "rr"},
        }
    )


def test_hits_are_reordered_by_the_endpoint(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_LSP_RERANK_KEY", "rerank-secret")
    rerank = endpoint_reranker(settings(endpoint), Notices())
    assert rerank is not None
    hits = [hit("a", "nothing"), hit("b", "the needle"), hit("c", "more nothing")]
    ranked = rerank("find the needle", hits)
    assert [h.symbol for h in ranked] == ["b", "c", "a"]
    assert ranked[0].score == pytest.approx(1.01)
    sent = RerankHandler.bodies[0]
    assert sent["model"] == "bge-reranker"
    assert sent["query"] == "find the needle"
    assert sent["auth"] == "Bearer rerank-secret"


def test_a_failing_endpoint_keeps_the_order_and_says_so_once(endpoint: str) -> None:
    RerankHandler.fail = True
    said: list[str] = []
    rerank = endpoint_reranker(settings(endpoint), Notices(lambda level, msg: said.append(msg)))
    assert rerank is not None
    hits = [hit("a", "x"), hit("b", "needle")]
    assert rerank("q", hits) == hits
    assert rerank("q", hits) == hits
    assert len(said) == 1
    assert "index.rerank" in said[0]


def test_no_reranker_without_configuration() -> None:
    assert endpoint_reranker(Settings(), Notices()) is None
