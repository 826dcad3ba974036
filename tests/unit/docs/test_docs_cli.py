"""`ai-lsp docs add|list|remove` through the CLI verb functions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ai_lsp.index.docs_cli import add_arguments, run_docs
from tests.unit.docs.conftest import DocsServer


def docs_cli(tmp_path: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ai-lsp")
    add_arguments(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["docs", *argv])
    return run_docs(args, workspace=tmp_path / "ws", state_dir=tmp_path / "state")


def test_add_list_remove_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nalpha")

    assert docs_cli(tmp_path, "add", str(folder), "--name", "man") == 0
    assert "man  " in capsys.readouterr().out

    assert docs_cli(tmp_path, "list") == 0
    listed = capsys.readouterr().out
    assert "man" in listed
    assert "1 page " in listed
    assert "via folder" in listed

    assert docs_cli(tmp_path, "list", "--json") == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["name"], entry["pages"], entry["strategy"]) == ("man", 1, "folder")

    assert docs_cli(tmp_path, "remove", "man") == 0
    assert docs_cli(tmp_path, "remove", "man") == 1
    assert "no documentation source named 'man'" in capsys.readouterr().err
    assert docs_cli(tmp_path, "list") == 0
    assert "no documentation sources" in capsys.readouterr().out


def test_a_loopback_url_needs_allow_host(
    tmp_path: Path, site: DocsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    site.page("/docs/", "<title>Local</title><p>local docs</p>")

    assert docs_cli(tmp_path, "add", site.url("/docs/")) == 1
    assert "pass --allow-host 127.0.0.1" in capsys.readouterr().err
    assert site.requests == []

    assert docs_cli(tmp_path, "add", site.url("/docs/"), "--allow-host", "127.0.0.1") == 0
    out = capsys.readouterr().out
    assert "1 page " in out
    assert "via crawl" in out


def test_a_source_without_pages_exits_nonzero_and_shows_errors(
    tmp_path: Path, site: DocsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = docs_cli(tmp_path, "add", site.url("/missing/"), "--allow-host", "127.0.0.1")

    assert code == 1
    assert f"error {site.url('/missing/')}: HTTP 404 Not Found" in capsys.readouterr().out
