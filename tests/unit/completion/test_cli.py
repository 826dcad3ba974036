"""`ai-lsp complete FILE:LINE:COL`: the pipeline once, from the workspace's configuration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ai_lsp.completion.cli import add_arguments, parse_location, run_complete
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers(dest="verb"))
    code = run_complete(parser.parse_args(["complete", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def test_locations_are_one_based() -> None:
    assert parse_location("src/a.py:3:7") == (Path("src/a.py"), 3, 7)
    assert parse_location("C:/x/a.py:1:1") == (Path("C:/x/a.py"), 1, 1)
    for bad in ("a.py:3", "a.py:0:1", "a.py:x:1", ":1:1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_location(bad)


def test_json_output_with_an_endpoint(
    tmp_path: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("a + b\n"))
    (tmp_path / ".ai-lsp.toml").write_text("[completion]\nmodel = 'fim'\n")
    config = tmp_path / "user.toml"  # endpoints come from the user file (workspace trust)
    config.write_text(
        f'[providers.fake]\nbase_url = "{fake_openai.base_url}"\n'
        '[models.fim]\nprovider = "fake"\nname = "fake-fim"\nfim = "qwen"\n'
    )
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return \n")
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path)
    add_arguments(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(
        [
            "--config",
            str(config),
            "complete",
            f"{source}:2:12",
            "--json",
            "--workspace",
            str(tmp_path),
        ]
    )
    assert run_complete(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"suggestions", "context", "timings_ms"}
    assert result["suggestions"] == ["a + b"]
    assert {c["section"] for c in result["context"]} >= {"prefix", "suffix", "template"}
    assert all(isinstance(c["tokens"], int) for c in result["context"])
    assert result["timings_ms"]["total_ms"] > 0
    assert "model_ms" in result["timings_ms"]
    assert fake_openai.requests(COMPLETIONS)[0].body["prompt"].startswith("<|fim_prefix|>")


def test_the_local_model_without_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "billing.py").write_text("def compute_invoice_total(items):\n    return 1\n")
    source = tmp_path / "main.py"
    source.write_text("from billing import compute_invoice_total\n\ntotal = compute_inv\n")
    code, out, err = run(capsys, f"{source}:3:20")
    assert code == 0
    assert out.startswith("oice_total")
    assert "timings (ms)" in err


def test_an_unreadable_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, f"{tmp_path / 'missing.py'}:1:1")
    assert code == 2
    assert out == ""
    assert "missing.py" in err


def test_an_existing_index_adds_cross_file_definitions(
    tmp_path: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    from ai_lsp.cli import main

    fake_openai.set_default(COMPLETIONS, Text("order, tiers)\n"))
    (tmp_path / ".git").mkdir()
    (tmp_path / "pricing.py").write_text(
        "def apply_discount_schedule(order, schedule):\n"
        "    '''Marker QUAGGA-DEF: apply each tier.'''\n"
        "    return [tier(order) for tier in schedule]\n"
    )
    source = tmp_path / "checkout.py"
    source.write_text(
        "from pricing import apply_discount_schedule\n\nx = apply_discount_schedule(\n"
    )
    config = tmp_path / "user.toml"
    config.write_text(
        f'[providers.fake]\nbase_url = "{fake_openai.base_url}"\n'
        '[models.fim]\nprovider = "fake"\nname = "fake-fim"\nfim = "qwen"\n'
        '[completion]\nmodel = "fim"\n'
    )
    assert main(["index", "--workspace", str(tmp_path)]) == 0
    capsys.readouterr()
    code = main(
        [
            "--config",
            str(config),
            "complete",
            f"{source}:3:29",
            "--json",
            "--workspace",
            str(tmp_path),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert any(c["section"].startswith("index:pricing.py") for c in result["context"]), result
    assert "QUAGGA-DEF" in fake_openai.requests(COMPLETIONS)[0].body["prompt"]
