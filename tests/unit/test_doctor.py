"""`ai-lsp doctor` against the fake endpoint: origins, reachability, listed models, FIM probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_lsp.cli import main
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Error, Text


def write_config(home: Path, text: str) -> None:
    path = home / "config" / "ai-lsp" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def config_for(base_url: str, model: str = "qwen2.5-coder:1.5b-base") -> str:
    return (
        f'[providers.local]\nbase_url = "{base_url}"\n'
        f'[models.fast]\nprovider = "local"\nname = "{model}"\nfim = "qwen"\n'
        '[completion]\nmodel = "fast"\n'
    )


def run_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["doctor", "--workspace", str(tmp_path)])
    return code, capsys.readouterr().out


def test_doctor_reports_reachable_endpoint_and_fim_probe(
    tmp_path: Path, isolated_dirs: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_dirs, config_for(fake_openai.base_url, model=fake_openai.models[0]))
    fake_openai.script(COMPLETIONS, Text("a + b"))
    code, out = run_doctor(tmp_path, capsys)
    assert code == 0, out
    assert "completion.model = 'fast'   [user file" in out
    assert "completion: model fast = local/" in out
    assert "local (" in out
    assert "reachable" in out
    assert "honours fim = 'qwen'" in out
    prompt = fake_openai.requests(COMPLETIONS)[0].body["prompt"]
    assert prompt.startswith("<|fim_prefix|>def add(a, b):")


def test_doctor_warns_when_the_probe_answer_ignores_the_template(
    tmp_path: Path, isolated_dirs: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_dirs, config_for(fake_openai.base_url, model=fake_openai.models[0]))
    fake_openai.script(
        COMPLETIONS, Text("<|fim_middle|>Sure! Here is a function that adds two numbers")
    )
    _, out = run_doctor(tmp_path, capsys)
    assert "looks wrong" in out


def test_doctor_fails_on_dead_endpoint_and_missing_model(
    tmp_path: Path, isolated_dirs: Path, refused_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_dirs, config_for(refused_url))
    code, out = run_doctor(tmp_path, capsys)
    assert code == 1
    assert "FAIL local (" in out
    assert "tokenizer" in out
    assert "state dir" in out


def test_doctor_fim_probe_error_is_reported(
    tmp_path: Path, isolated_dirs: Path, fake_openai: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_dirs, config_for(fake_openai.base_url, model="not-served"))
    fake_openai.script(COMPLETIONS, Error.bad_request("model not found"))
    code, out = run_doctor(tmp_path, capsys)
    assert code == 1
    assert "not in the endpoint's model list" in out
    assert "fill-in-the-middle probe failed" in out


def test_doctor_with_no_configuration_is_useful(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_doctor(tmp_path, capsys)
    assert code == 0
    assert "built-in local n-gram model" in out
    assert "chat: no model configured" in out
    assert "no providers configured" in out


def test_doctor_reports_the_index_and_the_upstream_servers(
    tmp_path: Path, isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    write_config(
        isolated_dirs,
        '[upstream.python]\ncommand = ["no-such-language-server"]\n'
        "[upstream.rust]\nenabled = false\n",
    )
    _, before = run_doctor(tmp_path, capsys)
    assert "no index yet" in before
    assert main(["index", "--workspace", str(tmp_path)]) == 0
    capsys.readouterr()

    code, out = run_doctor(tmp_path, capsys)

    index = out.split("== index\n", 1)[1].split("\n==", 1)[0]
    assert "1 files, 1 chunks, full-text only" in index
    assert "being written" not in index, "the indexing process has exited"
    upstream = out.split("== upstream language servers\n", 1)[1].split("\n==", 1)[0]
    assert "FAIL python: no-such-language-server (sidecar)" in upstream
    assert "not found on PATH" in upstream
    assert "ok   rust: off (enabled = false)" in upstream
    assert code == 1, "an explicit command that is not installed fails the check"
