"""Fit prioritised prompt sections into a model's window, never over budget.

Higher priority is kept first; the result keeps the sections' given order (stable parts first,
so provider prompt caches hit). `allot` splits a budget by weights, e.g. prefix 3 : suffix 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ai_lsp.prompting.tokens import TokenCounter

Cut = Literal["head", "tail"]


@dataclass(frozen=True, slots=True)
class Section:
    """A named part of a prompt.

    `truncate="head"` drops the start and keeps the end (the code before the cursor keeps the
    lines nearest the cursor); `"tail"` drops the end (the code after the cursor); `"none"` is all
    or nothing. A truncated section with fewer than `min_tokens` tokens left is dropped instead.
    """

    name: str
    text: str
    priority: int
    truncate: Literal["head", "tail", "none"] = "none"
    min_tokens: int = 0


@dataclass(frozen=True, slots=True)
class PackedSection:
    """What became of one section: its text as sent ("" when dropped) and its tokens."""

    name: str
    text: str
    tokens: int
    original_tokens: int
    truncated: bool
    dropped: bool


@dataclass(frozen=True, slots=True)
class PackedPrompt:
    """The packed sections in their given order; `total_tokens` never exceeds `budget`."""

    sections: list[PackedSection]
    total_tokens: int
    budget: int
    dropped: list[str]

    def text(self, name: str) -> str:
        """The packed text of section `name` ("" when dropped)."""
        for section in self.sections:
            if section.name == name:
                return section.text
        raise KeyError(name)


def pack(
    sections: Sequence[Section], *, window: int, reserve_output: int, counter: TokenCounter
) -> PackedPrompt:
    """Fit `sections` into `window - reserve_output` tokens, highest priority first.

    A section that does not fit whole is cut (`truncate` head or tail, on line boundaries when a
    whole line fits) or dropped (`truncate="none"`); lower priorities then get what is left.
    Counts are in `counter`'s tokens; the total is the sum of the sections' counts.
    """
    if window < 0 or reserve_output < 0:
        raise ValueError("window and reserve_output must not be negative")
    names = [section.name for section in sections]
    if len(set(names)) != len(names):
        raise ValueError(f"section names must be unique, got {names}")
    budget = max(0, window - reserve_output)
    left = budget
    packed: dict[int, PackedSection] = {}
    by_priority = sorted(range(len(sections)), key=lambda i: -sections[i].priority)
    for index in by_priority:
        section = sections[index]
        result = _fit_section(section, left, counter)
        packed[index] = result
        left -= result.tokens
    ordered = [packed[index] for index in range(len(sections))]
    return PackedPrompt(
        sections=ordered,
        total_tokens=budget - left,
        budget=budget,
        dropped=[p.name for p in ordered if p.dropped],
    )


def _fit_section(section: Section, left: int, counter: TokenCounter) -> PackedSection:
    name, tokens = section.name, counter.count(section.text)
    if tokens <= left:
        return PackedSection(name, section.text, tokens, tokens, truncated=False, dropped=False)
    if section.truncate != "none":
        text = _cut(section.text, left, section.truncate, counter)
        kept = counter.count(text)
        if text and kept >= section.min_tokens:
            return PackedSection(name, text, kept, tokens, truncated=True, dropped=False)
    return PackedSection(name, "", 0, tokens, truncated=False, dropped=True)


def fit_text(text: str, budget: int, cut: Cut, counter: TokenCounter) -> str:
    """The longest part of `text` within `budget` tokens: its end (`cut="head"`) or its start
    (`cut="tail"`), in whole lines; inside the nearest line only when not even that one fits."""
    return text if counter.count(text) <= budget else _cut(text, budget, cut, counter)


def _cut(text: str, budget: int, cut: Cut, counter: TokenCounter) -> str:
    """`fit_text` for a `text` known to be over `budget`."""
    if budget <= 0:
        return ""
    lines = text.splitlines(keepends=True)
    nearest_first = lines[::-1] if cut == "head" else lines
    kept: list[str] = []
    used = 0
    for line in nearest_first:
        used += counter.count(line)
        if used > budget:
            break
        kept.append(line)
    while kept:
        # Counters need not be additive over lines: check the joined text, drop far lines if over.
        joined = "".join(kept[::-1] if cut == "head" else kept)
        if counter.count(joined) <= budget:
            return joined
        kept.pop()
    return _fit_chars(nearest_first[0], budget, cut, counter)


def _fit_chars(line: str, budget: int, cut: Cut, counter: TokenCounter) -> str:
    """The most characters of `line`, from the kept end, within `budget` tokens."""

    def piece(size: int) -> str:
        return line[len(line) - size :] if cut == "head" else line[:size]

    fits, too_many = 0, len(line) + 1
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if counter.count(piece(middle)) <= budget:
            fits = middle
        else:
            too_many = middle
    return piece(fits)


def allot(budget: int, wants: Mapping[str, tuple[int, float]]) -> dict[str, int]:
    """Split `budget` tokens between parts given as `name: (tokens wanted, weight)`.

    Each part gets a share by weight but never more than it wants; what a part leaves over goes
    to the others, e.g. `allot(1000, {"prefix": (5000, 3), "suffix": (100, 1)})` gives the suffix
    its 100 and the prefix 900. The shares never add up to more than `budget`.
    """
    if any(weight <= 0 for _, weight in wants.values()):
        raise ValueError("weights must be positive")
    given = dict.fromkeys(wants, 0)
    hungry = {name for name, (want, _) in wants.items() if want > 0}
    left = max(0, budget)
    while hungry and left > 0:
        total_weight = sum(wants[name][1] for name in hungry)
        share = {name: left * wants[name][1] / total_weight for name in hungry}
        sated = [name for name in hungry if wants[name][0] - given[name] <= share[name]]
        if not sated:
            for name in sorted(hungry, key=lambda n: -wants[n][1]):
                portion = min(math.ceil(share[name]), left)
                given[name] += portion
                left -= portion
            break
        for name in sated:
            left -= wants[name][0] - given[name]
            given[name] = wants[name][0]
            hungry.discard(name)
    return given
