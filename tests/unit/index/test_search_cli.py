"""`ai-lsp index` and `ai-lsp search`: exactly the JSON formats of design.md's CLI section."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ai_lsp.index.cli import add_arguments, find_workspace, run_index, run_search
from tests.fakes.openai_server import EMBEDDINGS, FakeOpenAI

HIT_KEYS = ["path", "start_line", "end_line", "symbol", "kind", "score", "text"]


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ai-lsp")
    add_arguments(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(argv)
    return run_index(args) if args.verb == "index" else run_search(args)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "src/geometry.py": (
            "import math\n\n\n"
            "def polygon_area(points):\n"
            "    '''Shoelace formula.'''\n"
            "    total = 0.0\n"
            "    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):\n"
            "        total += x1 * y2 - x2 * y1\n"
            "    return abs(total) / 2\n"
        ),
        "src/shapes.py": (
            "from src.geometry import polygon_area\n\n\n"
            "class Square:\n"
            "    def __init__(self, side):\n"
            "        self.side = side\n\n"
            "    def area(self):\n"
            "        return polygon_area(self.corners())\n"
        ),
        "src/ünïcode naïve.py": "def naïve_area(points):\n    return len(points)\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".git").mkdir()
    return root


def test_search_json_builds_a_missing_index_and_prints_hits_in_the_documented_form(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _cli(["search", "--json", "--top-k", "2", "--workspace", str(workspace), "polygon area"])

    assert code == 0
    captured = capsys.readouterr()
    assert "building it" in captured.err
    hits = json.loads(captured.out)
    assert isinstance(hits, list)
    assert 1 <= len(hits) <= 2
    for hit in hits:
        assert list(hit) == HIT_KEYS
        assert isinstance(hit["start_line"], int)
        assert isinstance(hit["end_line"], int)
        assert isinstance(hit["score"], float)
    first = hits[0]
    assert (first["path"], first["symbol"], first["kind"]) == (
        "src/geometry.py",
        "polygon_area",
        "function",
    )
    lines = (workspace / "src" / "geometry.py").read_text().splitlines()
    assert (first["start_line"], first["end_line"]) == (4, 9)  # 1-based, inclusive
    assert first["text"] == "\n".join(lines[first["start_line"] - 1 : first["end_line"]])

    assert (
        _cli(
            [
                "search",
                "--json",
                "--workspace",
                str(workspace),
                "--exclude-file",
                "src/geometry.py",
                "polygon area",
            ]
        )
        == 0
    )
    assert "src/geometry.py" not in [h["path"] for h in json.loads(capsys.readouterr().out)]


def test_batch_queries_write_one_line_per_query(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        json.dumps({"id": "t1", "query": "polygon area", "top_k": 1, "lang": "ignored"})
        + "\n"
        + json.dumps(
            {
                "id": "t2",
                "query": "class Square:\n    def area(self):\n        return polygon_area(",
                "file": "src/shapes.py",
            }
        )
        + "\n\n"
        + json.dumps({"id": "t3", "query": "naïve area", "file": "src/geometry.py", "top_k": 5})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    args = ["search", "--workspace", str(workspace), "--queries", str(queries), "--top-k", "3"]

    assert _cli([*args, "--output", str(out)]) == 0
    assert _cli(args) == 0

    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in printed.splitlines()]
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert _without_scores(rows) == _without_scores(written)
    assert [list(row) for row in rows] == [["id", "results"]] * 3
    assert [row["id"] for row in rows] == ["t1", "t2", "t3"]
    assert len(rows[0]["results"]) == 1
    assert all(list(hit) == HIT_KEYS for row in rows for hit in row["results"])
    assert rows[1]["results"][0]["symbol"] == "polygon_area"
    assert "src/shapes.py" not in [hit["path"] for hit in rows[1]["results"]]
    assert rows[2]["results"][0]["path"] == "src/ünïcode naïve.py"
    assert "naïve" in printed  # UTF-8, not \\u escapes


def _without_scores(rows: list[dict[str, Any]]) -> list[object]:
    return [
        (row["id"], [{k: v for k, v in hit.items() if k != "score"} for hit in row["results"]])
        for row in rows
    ]


def test_a_malformed_batch_line_is_reported_and_the_rest_answered(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"id": "ok", "query": "area"}\nnot json\n{"id": "no query"}\n')

    code = _cli(["search", "--workspace", str(workspace), "--queries", str(queries)])

    captured = capsys.readouterr()
    assert code == 1
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == ["ok"]
    assert "queries.jsonl:2" in captured.err
    assert "queries.jsonl:3" in captured.err


def test_index_verb_reports_files_chunks_and_time(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["index", str(workspace)]) == 0
    first = capsys.readouterr().out
    assert "3 files indexed" in first
    assert "the index holds 3 files" in first

    (workspace / "src" / "shapes.py").write_text("def circle_area(r):\n    return 3.14 * r * r\n")
    assert _cli(["index", str(workspace / "src" / "shapes.py")]) == 0
    assert "1 files indexed" in capsys.readouterr().out
    assert _cli(["index", "--rebuild", "--workspace", str(workspace)]) == 0
    assert "3 files indexed" in capsys.readouterr().out


def test_the_workspace_is_the_nearest_marked_folder(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace / "src")
    assert find_workspace(None) == workspace
    assert find_workspace(None, workspace / "src" / "geometry.py") == workspace
    assert find_workspace(tmp_path) == tmp_path.resolve()
    assert _cli(["search", "--json", "polygon"]) == 0


def test_while_another_process_writes_the_verbs_say_so(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ai_lsp.index.lock import WriterLock
    from ai_lsp.index.store import index_folder

    lock = WriterLock(index_folder(workspace))
    assert lock.acquire()
    try:
        assert _cli(["search", "--workspace", str(workspace), "area"]) == 1
        assert "no index" in capsys.readouterr().err
        assert _cli(["index", str(workspace)]) == 1
        assert f"process {lock.holder()}" in capsys.readouterr().err
    finally:
        lock.release()


def test_index_and_search_use_the_configured_embedding_model_unless_full_text(
    workspace: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "ai-lsp" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[providers.fake]\nbase_url = "{fake_openai.base_url}"\n'
        '[models.embed]\nprovider = "fake"\nname = "fake-embed"\n'
        '[index]\nembeddings = "embed"\n'
    )
    assert _cli(["index", "--workspace", str(workspace)]) == 0
    capsys.readouterr()
    embedded = [text for r in fake_openai.requests(EMBEDDINGS) for text in r.body["input"]]
    assert any("polygon_area" in text for text in embedded), "chunks were not embedded"

    fake_openai.reset()
    assert _cli(["search", "--json", "--workspace", str(workspace), "shoelace area"]) == 0
    queries = [r.body["input"] for r in fake_openai.requests(EMBEDDINGS)]
    assert ["shoelace area"] in queries, "the query was not embedded"
    hits = json.loads(capsys.readouterr().out)
    assert "polygon_area" in [hit["symbol"] for hit in hits]  # the fake's vectors mean nothing

    fake_openai.reset()
    assert _cli(["search", "--json", "--full-text", "--workspace", str(workspace), "shoelace"]) == 0
    assert fake_openai.requests(EMBEDDINGS) == []
