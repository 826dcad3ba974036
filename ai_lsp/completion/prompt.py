"""The prompt for one completion: prefix (larger share) and suffix, then ranked snippets, packed
into the model's window; rendered stable parts first (rules, other files, the current file)
as a FIM request or as chat messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_lsp.completion.context import RULES_ORDER, Snippet
from ai_lsp.completion.results import SectionUsage
from ai_lsp.config import ModelConfig
from ai_lsp.log import redact
from ai_lsp.prompting.budget import Section, allot, fit_text, pack
from ai_lsp.prompting.fim import FimPrompt, build_chat_fim_messages, load_template
from ai_lsp.prompting.tokens import TokenCounter

FILE_SHARE = 0.75
"""Share of the budget the current file may take when there are snippets."""
PREFIX_WEIGHT, SUFFIX_WEIGHT = 3.0, 1.0
CHARS_PER_TOKEN = 6
"""Text is cut to `tokens * CHARS_PER_TOKEN` characters before counting (code averages
about 4 characters a token), so huge files cost no counting; the suffix is cut to half
the budget this way, the prefix to all of it."""
SNIPPET_MIN_TOKENS = 24
MESSAGE_OVERHEAD = 4
"""Tokens a chat API adds per message (role and separators)."""
_RULES_HEADING = "\n\nProject rules for code completions (from the workspace):\n"


@dataclass(frozen=True, slots=True)
class Prompt:
    """A request ready to send: exactly one of `fim` and `messages` is set."""

    fim: FimPrompt | None
    messages: list[dict[str, str]] | None
    max_output: int
    tokens: int
    """Prompt tokens as the model's counter counts the request text."""
    sections: tuple[SectionUsage, ...]


def output_tokens(model: ModelConfig, wanted: int) -> int:
    """Tokens the answer may take: never more than half the window."""
    return max(1, min(wanted, model.max_output_tokens, model.context_window // 2))


def build_prompt(
    *,
    prefix: str,
    suffix: str,
    snippets: Sequence[Snippet],
    path: str,
    language: str | None,
    repo: str | None,
    model: ModelConfig,
    max_output: int,
    counter: TokenCounter,
) -> Prompt | None:
    """The prompt for the cursor between `prefix` and `suffix`, within the model's window
    (prompt tokens plus `max_output` never exceed it); None if not even the template fits."""
    output = output_tokens(model, max_output)
    limit = model.context_window - output
    render = _Renderer(model, path, language, repo)
    budget = limit - render.count(counter, "", "", [])
    if budget <= 0:
        return None
    prefix, suffix = prefix[-budget * CHARS_PER_TOKEN :], suffix[: budget * CHARS_PER_TOKEN // 2]
    extras = [s for s in snippets if s.text.strip()]
    file_budget = budget if not extras else int(budget * FILE_SHARE)
    shares = allot(
        max(file_budget, 0),
        {
            "prefix": (counter.count(prefix), PREFIX_WEIGHT),
            "suffix": (counter.count(suffix), SUFFIX_WEIGHT),
        },
    )
    # Redacting after the cut scans only what is sent; it never makes a text longer.
    prefix = redact(fit_text(prefix, shares["prefix"], "head", counter))
    suffix = redact(fit_text(suffix, shares["suffix"], "tail", counter))
    tokens = {"prefix": counter.count(prefix), "suffix": counter.count(suffix)}
    ranked = sorted(extras, key=lambda s: -s.score)
    priority = {id(s): len(ranked) - i for i, s in enumerate(ranked)}
    shown = sorted(extras, key=lambda s: (s.order, s.path, s.line or 0))
    names = _unique_names(shown)
    sections = [
        Section(names[id(s)], redact(s.text), priority[id(s)], "tail", SNIPPET_MIN_TOKENS)
        for s in shown
    ]
    left = budget - tokens["prefix"] - tokens["suffix"]
    left -= sum(render.header_cost(counter, s.path) for s in shown)
    packed = pack(sections, window=max(left, 0), reserve_output=0, counter=counter)
    kept = [
        (s, packed.sections[i].text) for i, s in enumerate(shown) if not packed.sections[i].dropped
    ]
    tokens.update((p.name, p.tokens) for p in packed.sections)
    while True:
        total = render.count(counter, prefix, suffix, kept)
        if total <= limit:
            break
        if kept:
            kept.remove(min(kept, key=lambda item: priority[id(item[0])]))
        elif prefix or suffix:
            over = total - limit
            prefix = fit_text(prefix, max(tokens["prefix"] - over, 0), "head", counter)
            suffix = fit_text(suffix, max(tokens["suffix"] - over, 0), "tail", counter)
            tokens.update(prefix=counter.count(prefix), suffix=counter.count(suffix))
        else:
            return None
    fim, messages = render.build(prefix, suffix, kept)
    usage = [SectionUsage(names[id(s)], tokens[names[id(s)]]) for s, _ in kept]
    usage += [SectionUsage("prefix", tokens["prefix"]), SectionUsage("suffix", tokens["suffix"])]
    usage.append(SectionUsage("template", max(total - sum(u.tokens for u in usage), 0)))
    return Prompt(fim, messages, output, total, tuple(usage))


class _Renderer:
    """Renders for one model: its FIM template when it has one, else chat messages."""

    def __init__(self, model: ModelConfig, path: str, language: str | None, repo: str | None):
        self.template = load_template(model.fim) if model.fim else None
        self.path, self.language, self.repo = path, language, repo

    def build(
        self, prefix: str, suffix: str, kept: Sequence[tuple[Snippet, str]]
    ) -> tuple[FimPrompt | None, list[dict[str, str]] | None]:
        files = [(s.path, text) for s, text in kept if self.template or s.order != RULES_ORDER]
        if self.template is not None:
            fim = self.template.render(
                prefix, suffix, context=files, path=self.path, repo=self.repo
            )
            return fim, None
        messages = build_chat_fim_messages(
            prefix, suffix, language=self.language, path=self.path, context=files
        )
        rules = [text for s, text in kept if s.order == RULES_ORDER]
        if rules:
            messages[0]["content"] += _RULES_HEADING + "\n\n".join(rules)
        return None, messages

    def count(
        self, counter: TokenCounter, prefix: str, suffix: str, kept: Sequence[tuple[Snippet, str]]
    ) -> int:
        fim, messages = self.build(prefix, suffix, kept)
        if fim is not None:
            return counter.count(fim.prompt + (fim.suffix or ""))
        assert messages is not None
        return sum(counter.count(m["content"]) + MESSAGE_OVERHEAD for m in messages)

    def header_cost(self, counter: TokenCounter, path: str) -> int:
        """Tokens a snippet of `path` costs beyond its text (its header, comment markers)."""
        return counter.count(f"{path}\n# Compare this snippet from {path}:\n") + 4


def _unique_names(snippets: Sequence[Snippet]) -> dict[int, str]:
    """Section names by snippet: two snippets from the same line of a file (a definition and
    a hover there, two index hits starting on one line) get `#2`, `#3`, ... after the first."""
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for snippet in snippets:
        count = seen[snippet.name] = seen.get(snippet.name, 0) + 1
        names[id(snippet)] = snippet.name if count == 1 else f"{snippet.name}#{count}"
    return names
