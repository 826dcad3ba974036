"""The CPU check: LanceDB is probed in a subprocess only when AVX2-class flags are missing,
once per machine, and a crash turns into the SQLite fallback with a clear message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ai_lsp.index import lance_probe
from ai_lsp.index.code_index import CodeIndex

OLD_CPU = frozenset({"fpu", "sse", "sse2", "sse4_2", "avx"})


@pytest.fixture(autouse=True)
def fresh_verdicts() -> None:
    lance_probe.lancedb_usable.cache_clear()


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\nbugs\t\t: none\n")

    assert lance_probe.cpu_flags(cpuinfo) == frozenset({"fpu", "sse", "avx2", "fma"})
    assert lance_probe.cpu_flags(tmp_path / "missing") is None


def test_a_capable_cpu_is_not_probed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lance_probe, "cpu_flags", lambda: lance_probe.REQUIRED_X86_FLAGS)
    monkeypatch.setattr(lance_probe, "_probe", pytest.fail)
    monkeypatch.setattr("platform.machine", lambda: "x86_64")

    assert lance_probe.lancedb_usable(tmp_path) is None


def test_an_illegal_instruction_is_reported_and_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lance_probe, "cpu_flags", lambda: OLD_CPU)
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr(
        lance_probe, "_PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"
    )

    verdict = lance_probe.lancedb_usable(tmp_path)

    assert verdict is not None
    assert "illegal instruction" in verdict
    assert "avx2" in verdict
    lance_probe.lancedb_usable.cache_clear()
    monkeypatch.setattr(lance_probe, "_probe", pytest.fail)  # a second run reads the cache
    assert lance_probe.lancedb_usable(tmp_path) == verdict


def test_a_working_lancedb_passes_the_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lance_probe, "cpu_flags", lambda: OLD_CPU)
    monkeypatch.setattr("platform.machine", lambda: "x86_64")

    assert lance_probe.lancedb_usable(tmp_path) is None


def test_the_index_falls_back_to_sqlite_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lance_probe, "cpu_flags", lambda: OLD_CPU)
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr(lance_probe, "_probe", lambda missing: "LanceDB crashed (test)")
    (tmp_path / "a.py").write_text("def fallback_works():\n    pass\n")

    with caplog.at_level(logging.WARNING):
        index = CodeIndex.open(tmp_path)
    assert index.indexer is not None
    index.indexer.reconcile()

    assert index.status().backend == "sqlite"
    assert "LanceDB crashed (test); using the built-in SQLite" in caplog.text
    assert index.searcher.search("fallback works")[0].symbol == "fallback_works"
    index.close()
