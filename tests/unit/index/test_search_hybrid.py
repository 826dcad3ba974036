"""Search and retrieval: identifier splitting end to end, hybrid search with fake embeddings,
de-duplication, boilerplate, filters, rerank, and retrieval from the code before a cursor."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ai_lsp.index.code_index import CodeIndex
from ai_lsp.index.cursor_query import cursor_terms
from ai_lsp.index.embedding import Embedder
from ai_lsp.index.search import Hit, fuse
from ai_lsp.index.store import StoredChunk

SYNONYMS = {"automobile": "car", "vehicle": "car"}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _index(root: Path, embedder: Embedder | None = None, backend: str = "lancedb") -> CodeIndex:
    index = CodeIndex.open(root, embedder=embedder, backend=backend)  # type: ignore[arg-type]
    assert index.indexer is not None
    index.indexer.reconcile()
    return index


@pytest.mark.parametrize("backend", ["lancedb", "sqlite"])
def test_identifiers_match_across_naming_styles(tmp_path: Path, backend: str) -> None:
    _write(
        tmp_path,
        {
            "a.py": "def parsePayload(raw):\n    return raw\n",
            "b.py": "def load_user_profile(uid):\n    return uid\n",
            "c.ts": "export class HTTPServerError extends Error {}\n",
            "d.py": "def unrelated():\n    return 0\n",
        },
    )
    index = _index(tmp_path, backend=backend)

    assert index.searcher.search("parse payload")[0].symbol == "parsePayload"
    assert index.searcher.search("loadUserProfile")[0].symbol == "load_user_profile"
    assert index.searcher.search("http server error")[0].symbol == "HTTPServerError"
    assert index.searcher.search("parse_payload", language="typescript") == []
    index.close()


async def _fake_embed(texts: list[str]) -> list[list[float]]:
    """Bag of words over a tiny vocabulary where synonyms share a dimension."""
    vocabulary = ["car", "engine", "wheel", "parse", "json", "user"]
    vectors = []
    for text in texts:
        words = [SYNONYMS.get(w, w) for w in text.lower().replace("(", " ").split()]
        vector = [float(sum(word.startswith(v) for word in words)) for v in vocabulary]
        vectors.append([*vector, 0.1])
    return vectors


def test_hybrid_search_finds_what_only_the_vectors_know(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "garage.py": "def service(car):\n    car.engine.check()\n    car.wheel.rotate()\n",
            "vehicle_names.py": "VEHICLE_KINDS = ['truck', 'bus']\n",
            "parser.py": "def parse_json(text):\n    return json.loads(text)\n",
        },
    )
    index = _index(tmp_path, embedder=Embedder(_fake_embed, "fake"))
    text_only = CodeIndex.open(tmp_path, read_only=True)

    fused = [hit.path for hit in index.searcher.search("vehicle")]
    plain = [hit.path for hit in text_only.searcher.search("vehicle")]

    assert plain == ["vehicle_names.py"]
    assert fused[:2] == ["vehicle_names.py", "garage.py"] or fused[:2] == [
        "garage.py",
        "vehicle_names.py",
    ]
    assert "garage.py" in [hit.path for hit in index.searcher.search("automobile")]
    text_only.close()
    index.close()


def test_reciprocal_rank_fusion() -> None:
    def chunk(path: str) -> StoredChunk:
        return StoredChunk(path, "python", path, "function", 1, 2, "", path, 0.0)

    fused = fuse([[chunk("a"), chunk("b"), chunk("c")], [chunk("b"), chunk("c")]])

    assert [hit.path for hit in fused] == ["b", "c", "a"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 62)
    assert fused[2].score == pytest.approx(1 / 61)


def test_windows_of_one_definition_and_boilerplate_are_not_repeated(tmp_path: Path) -> None:
    body = "\n".join(f"    checksum = checksum ^ rotate(checksum, {i})" for i in range(200))
    _write(
        tmp_path,
        {
            "hash.py": f"def rolling_checksum(data):\n    checksum = 0\n{body}\n    return checksum\n",
            "LICENSE": "Permission to compute a rolling checksum is granted.\n" * 3,
            "other.py": "def checksum_of(data):\n    return rolling_checksum(data)\n",
        },
    )
    index = _index(tmp_path)

    hits = index.searcher.search("rolling checksum rotate", top_k=10)

    assert [hit.symbol for hit in hits].count("rolling_checksum") == 1
    assert "LICENSE" not in [hit.path for hit in hits]
    assert {hit.path for hit in hits} == {"hash.py", "other.py"}
    index.close()


def test_filters_exclude_paths_and_rerank(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "src/a.py": "def widget_factory():\n    return Widget()\n",
            "src/b.py": "def widget_repair(widget):\n    return widget\n",
            "tests/test_a.py": "def test_widget():\n    assert widget_factory()\n",
        },
    )
    index = _index(tmp_path)
    searcher = index.searcher

    assert "src/a.py" not in [h.path for h in searcher.search("widget", exclude_path="src/a.py")]
    absolute = tmp_path / "src" / "a.py"
    assert "src/a.py" not in [h.path for h in searcher.search("widget", exclude_path=absolute)]
    assert {h.path for h in searcher.search("widget", path_glob="src/**")} == {
        "src/a.py",
        "src/b.py",
    }

    def reverse(query: str, hits: list[Hit]) -> list[Hit]:
        return list(reversed(hits))

    searcher.rerank = reverse
    reranked = [h.path for h in searcher.search("widget", top_k=3)]
    searcher.rerank = None
    assert reranked == list(reversed([h.path for h in searcher.search("widget", top_k=3)]))
    index.close()


def test_retrieval_finds_the_definition_the_cursor_needs(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/records.py": (
                "def normalize_user_record(record, *, strict=False):\n"
                "    '''Lower-case keys and drop empty values.'''\n"
                "    return {k.lower(): v for k, v in record.items() if v}\n"
            ),
            "app/report.py": (
                "def render_report(rows):\n    lines = [str(row) for row in rows]\n"
                "    return '\\n'.join(lines)\n"
            ),
            "app/users.py": ("def user_record_count(records):\n    return len(records)\n"),
        },
    )
    index = _index(tmp_path)
    prefix = (
        "from app.records import normalize_user_record\n\n\n"
        "def import_users(rows):\n"
        "    users = []\n"
        "    for row in rows:\n"
        "        user = normalize_user_record("
    )

    hits = index.searcher.retrieve_for_cursor(prefix, current_path="app/importer.py", top_k=3)

    assert hits[0].path == "app/records.py"
    assert hits[0].symbol == "normalize_user_record"
    own = index.searcher.retrieve_for_cursor(prefix, current_path="app/records.py", top_k=3)
    assert "app/records.py" not in [hit.path for hit in own]
    assert index.searcher.retrieve_for_cursor("   \n", current_path=None) == []
    index.close()


def test_cursor_terms_weigh_the_call_at_the_cursor_and_recent_lines_most() -> None:
    prefix = (
        "class Importer:\n"
        "    def load_rows(self, source):\n"
        "        rows = read_csv(source)\n"
        "        for row in rows:\n"
        "            self.handle(row)\n"
        "        return buildIndex(rows, "
    )

    weights = dict(cursor_terms(prefix))

    assert max(weights, key=weights.__getitem__) == "buildindex"
    assert weights["buildindex"] > weights["build"] > 0
    assert weights["readcsv"] < weights["buildindex"]
    assert weights["rows"] > weights["source"]  # used more often and more recently
    assert "load" in weights  # the enclosing definition
    assert not {"self", "return", "for", "in", "def", "class"} & weights.keys()


def test_retrieval_adds_vectors_only_within_its_budget(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "garage.py": "def service(car):\n    car.engine.check()\n",
            "fleet.py": "def fleet_size(trucks):\n    return len(trucks)\n",
        },
    )
    delay = 0.0

    async def embed(texts: list[str]) -> list[list[float]]:
        await asyncio.sleep(delay)
        return await _fake_embed(texts)

    index = _index(tmp_path, embedder=Embedder(embed, "fake"))
    prefix = "def repair(vehicle):\n    # fix the automobile\n    return "

    with_time = index.searcher.retrieve_for_cursor(prefix, current_path="x.py", budget_ms=5000)
    delay = 2.0
    started = time.monotonic()
    hurried = index.searcher.retrieve_for_cursor(prefix, current_path="x.py", budget_ms=100)
    elapsed = time.monotonic() - started

    assert "garage.py" in [hit.path for hit in with_time]  # found by the vectors only
    assert "garage.py" not in [hit.path for hit in hurried]
    assert elapsed < 1.0
    index.close()
