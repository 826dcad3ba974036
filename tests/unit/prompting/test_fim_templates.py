"""FIM templates: the exact wire format of every model family, loading and validation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest
from pydantic import ValidationError

from ai_lsp.prompting import fim
from ai_lsp.prompting.fim import (
    ContextFile,
    FimTemplate,
    available_templates,
    line_comment,
    load_template,
)

from .conftest import Snapshot

PREFIX = 'def greet(name):\n    """Say hello 👋 — 你好."""\n    return '
SUFFIX = '\n\n\nprint(greet("世界"))\n'
CONTEXT = [
    ("app/strings.py", 'HELLO = "Hello, {}!"\n'),
    ("web/format.ts", "export const greet = (name: string) => `Hi ${name}`;\n"),
]


class RenderArgs(TypedDict, total=False):
    context: list[ContextFile]
    path: str
    repo: str


SNAPSHOT_CASES: dict[str, RenderArgs] = {
    "plain": {},
    "context": {"context": CONTEXT, "path": "app/main.py", "repo": "demo-repo"},
    "context-without-path": {"context": CONTEXT},
}
# Sentinels spelled by code point: DeepSeek's bars are U+FF5C and its "space" is U+2581.
DEEPSEEK = (
    "<\uff5cfim\u2581begin\uff5c>",
    "<\uff5cfim\u2581hole\uff5c>",
    "<\uff5cfim\u2581end\uff5c>",
)


def test_the_required_families_are_available() -> None:
    required = {"qwen", "starcoder", "starcoder2", "deepseek", "codellama", "codestral"}
    assert required | {"openai-suffix"} <= set(available_templates())


@pytest.mark.parametrize("name", available_templates())
@pytest.mark.parametrize("case", SNAPSHOT_CASES)
def test_rendered_prompt_matches_snapshot(name: str, case: str, snapshot: Snapshot) -> None:
    rendered = load_template(name).render(PREFIX, SUFFIX, **SNAPSHOT_CASES[case])
    snapshot(f"{name}.{case}.txt", rendered.prompt)
    if rendered.suffix is not None:
        snapshot(f"{name}.{case}.suffix.txt", rendered.suffix)


def test_stop_sequences_match_snapshot(snapshot: Snapshot) -> None:
    stops = {
        name: {
            "stop": load_template(name).stop,
            "uses_suffix_param": load_template(name).uses_suffix_param,
        }
        for name in available_templates()
    }
    snapshot("stop.json", json.dumps(stops, ensure_ascii=False, indent=2) + "\n")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen", f"<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>"),
        ("starcoder", f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"),
        ("starcoder2", f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"),
        ("deepseek", f"{DEEPSEEK[0]}{PREFIX}{DEEPSEEK[1]}{SUFFIX}{DEEPSEEK[2]}"),
        ("codellama", f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>"),
        ("codestral", f"[SUFFIX]{SUFFIX}[PREFIX] {PREFIX}"),
        ("openai-suffix", PREFIX),
    ],
)
def test_file_level_format_is_the_trained_one(name: str, expected: str) -> None:
    assert load_template(name).render(PREFIX, SUFFIX).prompt == expected


def test_openai_suffix_sends_the_suffix_as_a_parameter() -> None:
    rendered = load_template("openai-suffix").render(PREFIX, SUFFIX)
    assert (rendered.prompt, rendered.suffix) == (PREFIX, SUFFIX)
    assert len(rendered.stop) <= 4, "the OpenAI API accepts at most four stop sequences"
    assert load_template("qwen").render(PREFIX, SUFFIX).suffix is None


def test_qwen_repo_level_format() -> None:
    rendered = load_template("qwen").render(
        "x = ", "\n", context=CONTEXT[:1], path="main.py", repo="r"
    )
    assert rendered.prompt == (
        "<|repo_name|>r\n"
        '<|file_sep|>app/strings.py\nHELLO = "Hello, {}!"\n\n'
        "<|file_sep|>main.py\n<|fim_prefix|>x = <|fim_suffix|>\n<|fim_middle|>"
    )


def test_starcoder2_repo_level_format_puts_the_path_inside_the_prefix() -> None:
    rendered = load_template("starcoder2").render(
        "x = ", "\n", context=CONTEXT[:1], path="main.py", repo="r"
    )
    assert rendered.prompt == (
        '<repo_name>r<file_sep>app/strings.py\nHELLO = "Hello, {}!"\n'
        "<file_sep><fim_prefix>main.py\nx = <fim_suffix>\n<fim_middle>"
    )


def test_deepseek_repository_form_uses_path_comments_of_each_language() -> None:
    rendered = load_template("deepseek").render("let x = ", ";\n", context=CONTEXT, path="src/a.rs")
    assert rendered.prompt == (
        f'{DEEPSEEK[0]}# app/strings.py\nHELLO = "Hello, {{}}!"\n\n'
        "// web/format.ts\nexport const greet = (name: string) => `Hi ${name}`;\n\n"
        f"// src/a.rs\nlet x = {DEEPSEEK[1]};\n{DEEPSEEK[2]}"
    )


def test_repo_name_is_left_out_when_unknown() -> None:
    rendered = load_template("qwen").render("", "", context=CONTEXT[:1], path="main.py")
    assert rendered.prompt.startswith("<|file_sep|>app/strings.py\n")


def test_templates_without_repository_form_get_a_comment_block_in_the_files_language() -> None:
    rendered = load_template("codellama").render(
        "fn main() {", "}", context=CONTEXT[:1], path="m.rs"
    )
    assert rendered.prompt == (
        "<PRE> // Compare this snippet from app/strings.py:\n"
        '// HELLO = "Hello, {}!"\n'
        "fn main() { <SUF>} <MID>"
    )


@pytest.mark.parametrize(
    ("path", "mark"),
    [
        *[("a.py", "#"), ("src/x.tsx", "//"), ("init.lua", "--"), ("core.clj", ";")],
        *[("paper.tex", "%"), ("Makefile", "#"), ("notes.unknown", "#"), (None, "#")],
        ("LIB.RS", "//"),
    ],
)
def test_line_comment_by_extension(path: str | None, mark: str) -> None:
    assert line_comment(path) == mark


@pytest.mark.parametrize("name", available_templates())
def test_file_text_cannot_forge_the_formats_control_tokens(name: str) -> None:
    template = load_template(name)
    forged = "".join(template.special_tokens)
    rendered = template.render(
        f"a{forged}b", f"c{forged}d", context=[("x.py", forged)], path="m.py"
    )
    skeleton = template.render("ab", "cd", context=[("x.py", "")], path="m.py")
    assert rendered.prompt == skeleton.prompt


@pytest.mark.parametrize("name", available_templates())
def test_stop_sequences_are_the_formats_own_tokens(name: str) -> None:
    template = load_template(name)
    assert all(template.stop)
    assert all(
        any(token.strip() in stop for token in template.special_tokens) for stop in template.stop
    )


def test_unknown_template_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown FIM template 'gpt-4'") as raised:
        load_template("gpt-4")
    assert all(name in str(raised.value) for name in available_templates())


def test_a_name_is_not_a_path() -> None:
    with pytest.raises(ValueError, match="unknown FIM template"):
        load_template("../chat_fim")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt_template": "<p>{prefix}<s>{suffx}<m>"}, "unknown placeholders \\['suffx'\\]"),
        ({"prompt_template": "<p>{prefix}<m>"}, "lacks placeholders \\['suffix'\\]"),
        (
            {"prompt_template": "{prefix}{suffix}", "uses_suffix_param": True},
            "unknown placeholders",
        ),
        ({"repo_prompt_template": "{files}{path}{prefix}{suffix}"}, "go together"),
        (
            {"context_file_template": "{path}\n{text}", "repo_prompt_template": "{prefix}{suffix}"},
            "lacks",
        ),
        ({"stop": ["<end>", ""]}, "must not be empty"),
        ({"stop_tokens": ["<end>"]}, "Extra inputs are not permitted"),
        ({"prompt_template": "<p>{prefix<s>{suffix}"}, "prompt_template: unexpected '{'"),
    ],
)
def test_invalid_templates_are_rejected(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "t",
        "prompt_template": "{prefix}{suffix}",
        "stop": ["<end>"],
    }
    with pytest.raises(ValidationError, match=message):
        FimTemplate.model_validate(base | fields)


@pytest.fixture
def template_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "fim").mkdir()
    monkeypatch.setattr(fim, "_templates", lambda: tmp_path)
    load_template.cache_clear()
    yield tmp_path / "fim"
    load_template.cache_clear()


def test_an_invalid_template_file_is_reported_by_name(template_dir: Path) -> None:
    (template_dir / "mine.toml").write_text('prompt_template = "{prefix}"\nstop = []\n')
    with pytest.raises(ValueError, match=r"(?s)mine\.toml is invalid.*lacks placeholders"):
        load_template("mine")


def test_a_template_file_that_is_not_toml_is_reported_by_name(template_dir: Path) -> None:
    (template_dir / "mine.toml").write_text("prompt_template = \n")
    with pytest.raises(ValueError, match=r"mine\.toml is invalid"):
        load_template("mine")
