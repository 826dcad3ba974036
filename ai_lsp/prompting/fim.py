"""Fill-in-the-middle prompts: per-model wire formats loaded from `templates/fim/*.toml`, a
chat fallback for chat-only models, and a probe telling whether an endpoint honours FIM.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Self, TypeAlias

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ai_lsp.prompting.postprocess import (
    drop_retyped_start,
    extract_fenced,
    repeats_suffix,
    trim_overlap,
)

ContextFile: TypeAlias = tuple[str, str]
"""Another file or a retrieved snippet shown to the model: (workspace-relative path, text)."""

_SNIPPET_HEADER = "{mark} Compare this snippet from {path}:"
_COMMENT_MARKERS = {
    "//": (
        *("c", "h", "cc", "cpp", "cxx", "hpp", "hh", "cs", "java", "kt", "kts", "scala", "groovy"),
        *("go", "rs", "js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts", "swift", "dart"),
        *("php", "zig", "proto", "fs", "fsx", "jsonc", "sol", "v"),
    ),
    "--": ("lua", "sql", "hs", "elm", "ada", "adb", "ads"),
    ";": ("lisp", "el", "clj", "cljs", "cljc", "edn", "scm", "rkt", "fnl"),
    "%": ("tex", "sty", "erl", "hrl"),
}
_LINE_COMMENTS = {ext: mark for mark, exts in _COMMENT_MARKERS.items() for ext in exts}
_PROBE_PREFIX = "def add(a, b):\n    return "
_PROBE_SUFFIX = "\n\n\nprint(add(1, 2))\n"
_PROBE_MAX_LINE = 40


@dataclass(frozen=True, slots=True)
class FimPrompt:
    """A rendered request for `/v1/completions`."""

    prompt: str
    suffix: str | None
    """The request's `suffix` parameter; set only by templates that use it."""
    stop: list[str]


class FimTemplate(BaseModel):
    """One model family's FIM wire format, as written in `templates/fim/<name>.toml`."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str
    """The value of a model's `fim` setting that selects this template."""
    prompt_template: str
    """The prompt with `{prefix}` and `{suffix}` (no `{suffix}` when `uses_suffix_param`)."""
    stop: tuple[str, ...]
    """Stop sequences sent with every request."""
    special_tokens: tuple[str, ...] = ()
    """The format's control tokens; removed from file text so it cannot forge them."""
    uses_suffix_param: bool = False
    """Send the suffix as the request's `suffix` parameter instead of inside the prompt."""
    repo_prompt_template: str | None = None
    """Prompt with other files (`{repo_header}{files}`) and the current `{path}`;
    without it, other files go in a comment block at the top of the prefix."""
    repo_header_template: str = ""
    """Opens `repo_prompt_template` when a repository name (`{repo}`) is known."""
    context_file_template: str | None = None
    """One other file (`{path}`, `{text}`, and `{comment}`, its line-comment marker)."""

    @model_validator(mode="after")
    def _check_placeholders(self) -> Self:
        suffix = set() if self.uses_suffix_param else {"suffix"}
        _check_fields("prompt_template", self.prompt_template, {"prefix"} | suffix, set())
        if (self.repo_prompt_template is None) != (self.context_file_template is None):
            raise ValueError("repo_prompt_template and context_file_template go together")
        if self.repo_prompt_template is not None and self.context_file_template is not None:
            required = {"files", "path", "prefix"} | suffix
            _check_fields(
                "repo_prompt_template",
                self.repo_prompt_template,
                required,
                {"repo_header", "comment"},
            )
            _check_fields(
                "context_file_template", self.context_file_template, {"path", "text"}, {"comment"}
            )
        _check_fields("repo_header_template", self.repo_header_template, set(), {"repo"})
        if not all(self.stop):
            raise ValueError("stop sequences must not be empty strings")
        return self

    def render(
        self,
        prefix: str,
        suffix: str,
        *,
        context: Sequence[ContextFile] = (),
        path: str | None = None,
        repo: str | None = None,
    ) -> FimPrompt:
        """The request for filling the hole between `prefix` and `suffix` of the file at `path`.

        Other files use the template's repository form when it has one and `path` is
        known, else a comment block at the top of the prefix in `path`'s comment syntax.
        """
        prefix, suffix = self._defang(prefix), self._defang(suffix)
        files = [(self._defang(file_path), self._defang(text)) for file_path, text in context]
        if files and path is not None and self.repo_prompt_template and self.context_file_template:
            prompt = self.repo_prompt_template.format(
                repo_header=self._repo_header(repo),
                files="".join(
                    self.context_file_template.format(path=p, text=t, comment=line_comment(p))
                    for p, t in files
                ),
                path=self._defang(path),
                comment=line_comment(path),
                prefix=prefix,
                suffix=suffix,
            )
        else:
            prompt = self.prompt_template.format(
                prefix=_comment_block(files, path) + prefix, suffix=suffix
            )
        return FimPrompt(prompt, suffix if self.uses_suffix_param else None, list(self.stop))

    def _repo_header(self, repo: str | None) -> str:
        return self.repo_header_template.format(repo=self._defang(repo)) if repo else ""

    def _defang(self, text: str) -> str:
        for token in self.special_tokens:
            text = text.replace(token, "")
        return text


def available_templates() -> list[str]:
    """Names accepted by a model's `fim` setting."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in (_templates() / "fim").iterdir()
        if entry.name.endswith(".toml")
    )


@cache
def load_template(name: str) -> FimTemplate:
    """The template a model's `fim = "<name>"` setting selects.

    Raises `ValueError` naming the valid choices for an unknown name, and naming the file
    for a template that does not parse.
    """
    names = available_templates()
    if name not in names:
        raise ValueError(
            f"unknown FIM template {name!r} in a model's `fim` setting; "
            f"use one of: {', '.join(names)}"
        )
    resource = _templates() / "fim" / f"{name}.toml"
    try:
        return FimTemplate.model_validate(
            {**tomllib.loads(resource.read_text("utf-8")), "name": name}
        )
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise ValueError(f"FIM template file {name}.toml is invalid: {error}") from error


def line_comment(path: str | None) -> str:
    """The line-comment marker for the language of `path` by its extension, `#` if unknown."""
    extension = (path or "").rpartition("/")[2].rpartition(".")[2].lower()
    return _LINE_COMMENTS.get(extension, "#")


class _ChatFimTemplate(BaseModel):
    """`templates/chat_fim.toml`: the fill-in-the-middle prompt for chat models."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hole_marker: str
    answer_tag: str
    system: str
    user: str
    context_file: str


def build_chat_fim_messages(
    prefix: str,
    suffix: str,
    *,
    language: str | None,
    path: str | None,
    context: Sequence[ContextFile] = (),
) -> list[dict[str, str]]:
    """System and user messages asking a chat model for the text at the cursor only."""
    chat = _chat_template()
    code = prefix + chat.hole_marker + suffix
    fence = _fence_for(code, *(text for _, text in context))
    snippets = "".join(
        chat.context_file.format(path=file_path, text=text.rstrip("\n"), fence=fence)
        for file_path, text in context
    )
    user = chat.user.format(
        context=snippets,
        hole=chat.hole_marker,
        file=f"`{path}`" if path else "this file",
        fence=fence,
        language=language or "",
        code=code,
    )
    system = chat.system.format(hole=chat.hole_marker, tag=chat.answer_tag)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_chat_fim_answer(answer: str, prefix: str, suffix: str) -> str | None:
    """The text to insert from a chat model's answer, or None when it gives none.

    The answer must hold the text between the answer tags, or failing that in a fenced
    block; prose alone, an empty answer, one still containing the hole marker or only
    repeating the code after it give None. Code quoted from around the hole is cut.
    """
    chat = _chat_template()
    body = _answer_body(answer, chat.answer_tag)
    if body is None or chat.hole_marker in body:
        return None
    body = drop_retyped_start(trim_overlap(body, prefix, suffix), prefix)
    return None if not body.strip() or repeats_suffix(body, suffix) else body


def probe_prompt(template: FimTemplate) -> tuple[FimPrompt, Callable[[str], bool]]:
    """A tiny FIM request for `ai-lsp doctor`, and a check that an answer fills the hole.

    An endpoint that ignores the format answers with some format's control tokens, a restart
    of the function or the code after the hole instead of a short `a + b`-like expression.
    """
    sentinels = {
        token for name in available_templates() for token in load_template(name).special_tokens
    }

    def honoured(completion: str) -> bool:
        if any(token in completion for token in sentinels | set(template.special_tokens)):
            return False
        if "print(add(1, 2))" in completion or "def add" in completion:
            return False
        first_line = completion.strip().split("\n", 1)[0].strip()
        return (
            0 < len(first_line) <= _PROBE_MAX_LINE
            and re.search(r"\ba\b", first_line) is not None
            and re.search(r"\bb\b", first_line) is not None
        )

    return template.render(_PROBE_PREFIX, _PROBE_SUFFIX), honoured


def _check_fields(label: str, template: str, required: set[str], optional: set[str]) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from error
    if unknown := fields - required - optional:
        raise ValueError(f"{label} has unknown placeholders {sorted(unknown)}")
    if missing := required - fields:
        raise ValueError(f"{label} lacks placeholders {sorted(missing)}")


def _comment_block(files: Sequence[ContextFile], path: str | None) -> str:
    mark = line_comment(path)
    lines: list[str] = []
    for file_path, text in files:
        lines.append(_SNIPPET_HEADER.format(mark=mark, path=file_path))
        lines.extend(f"{mark} {line}".rstrip() for line in text.splitlines())
    return "".join(f"{line}\n" for line in lines)


def _answer_body(answer: str, tag: str) -> str | None:
    tagged = re.search(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", answer, re.DOTALL)
    if tagged is None:
        return extract_fenced(answer)
    body = tagged.group(1).removeprefix("\n").removesuffix("\n")
    stripped = body.strip()
    if stripped.startswith(("```", "~~~")) and stripped.endswith(stripped[:3]):
        return extract_fenced(body)
    return body


def _fence_for(*texts: str) -> str:
    """A backtick fence longer than any backtick run in `texts`."""
    longest = max((len(run) for text in texts for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _templates() -> Traversable:
    return resources.files("ai_lsp.prompting") / "templates"


@cache
def _chat_template() -> _ChatFimTemplate:
    text = (_templates() / "chat_fim.toml").read_text("utf-8")
    return _ChatFimTemplate.model_validate(tomllib.loads(text))
