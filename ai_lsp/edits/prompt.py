"""The chat messages of an AI edit: the file around the region, the region (its secrets
masked so they come back unchanged), the problems in it, the project rules and the instruction,
fitted into the model's window (`templates/edit.toml`): the region and the instruction whole,
then the rules, then the code before and after the region, 2 : 1, nearest lines first."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from ai_lsp.edits.offers import EditRequest
from ai_lsp.edits.targets import lines_of
from ai_lsp.log import redact
from ai_lsp.prompting.budget import allot, fit_text
from ai_lsp.prompting.masking import Masked, mask
from ai_lsp.prompting.tokens import TokenCounter

__all__ = ["EditPrompt", "RegionTooLarge", "build_edit_prompt"]

_RULES_SHARE = 4
"""Rules take at most a quarter of what the region and the instruction leave."""
_REFERENCES_SHARE = 3
"""Resolved definitions take at most a third of it."""
_BACKTICKS = re.compile(r"`{3,}")


class RegionTooLarge(Exception):
    """The region and the instruction do not fit the model's window with room to answer."""


@dataclass(frozen=True, slots=True)
class EditPrompt:
    """The messages, the masked region (to unmask the answer), and tokens per section."""

    messages: list[dict[str, str]]
    region: Masked
    tokens: dict[str, int]


@functools.cache
def _template() -> dict[str, str]:
    data = tomllib.loads(
        (resources.files("ai_lsp.prompting") / "templates" / "edit.toml").read_text("utf-8")
    )
    return {key: value for key, value in data.items() if isinstance(value, str)}


def build_edit_prompt(
    text: str,
    request: EditRequest,
    *,
    path: str,
    language_id: str,
    rules: Sequence[str],
    references: Sequence[str] = (),
    window: int,
    reserve_output: int,
    counter: TokenCounter,
) -> EditPrompt:
    """Messages asking to rewrite `text[request.start:request.end]`; raises `RegionTooLarge`."""
    template = _template()
    region = mask(text[request.start : request.end])
    lines = lines_of(text, request.start, request.end)
    first, last = lines.first, lines.last
    problems = "\n".join(f"- {p.describe()}" for p in request.problems)
    tokens = {
        "region": counter.count(region.text),
        "instruction": counter.count(request.instruction),
        "problems": counter.count(problems),
    }
    left = window - reserve_output - _overhead(template, counter) - sum(tokens.values())
    if left < 0:
        raise RegionTooLarge(
            f"lines {first + 1}-{last + 1} do not fit the edit model's window of {window} "
            "tokens with room for its answer; select fewer lines or use a model with a larger "
            "`context_window`"
        )
    rules_text = fit_text(redact("\n\n".join(rules)), left // _RULES_SHARE, "tail", counter)
    tokens["rules"] = counter.count(rules_text)
    references_text = fit_text(
        redact("\n\n".join(references)), left // _REFERENCES_SHARE, "tail", counter
    )
    tokens["references"] = counter.count(references_text)
    before, after = redact(text[: request.start]), redact(text[request.end :])
    shares = allot(
        left - tokens["rules"] - tokens["references"],
        {"before": (counter.count(before), 2), "after": (counter.count(after), 1)},
    )
    before = fit_text(before, shares["before"], "head", counter)
    after = fit_text(after, shares["after"], "tail", counter)
    tokens["before"], tokens["after"] = counter.count(before), counter.count(after)
    fence = _fence(text)
    user = template["user"].format(
        rules=template["rules"].format(text=rules_text) if rules_text else "",
        references=template["references"].format(text=references_text) if references_text else "",
        path=path,
        language_note=f" ({language_id})" if language_id else "",
        marker=template["marker"],
        fence=fence,
        language=language_id,
        before=_ending_line(before),
        after=_ending_line(after),
        first=first + 1,
        last=last + 1,
        region=_ending_line(region.text),
        problems=template["problems"].format(list=problems) if problems else "",
        instruction=request.instruction,
    )
    return EditPrompt(
        [{"role": "system", "content": template["system"]}, {"role": "user", "content": user}],
        region,
        tokens,
    )


def _overhead(template: dict[str, str], counter: TokenCounter) -> int:
    """Tokens of the fixed text around the sections (counted once per template and counter)."""
    return counter.count(template["system"]) + counter.count(template["user"]) + 64


def _ending_line(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in the file."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)
