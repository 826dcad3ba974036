"""Type-through cache: suggestions by a hash of their context (prefix tail, suffix head,
model), found again while the user types the characters a suggestion starts with.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass

PREFIX_CHARS = 1024
"""Characters before the cursor that identify a context."""
SUFFIX_CHARS = 256
"""Characters after the cursor that identify a context."""
CAPACITY = 256


@dataclass(frozen=True, slots=True)
class _Entry:
    prefix_tail: str
    suffix_head: str
    model: str
    candidates: tuple[str, ...]


def context_key(prefix: str, suffix: str, model: str) -> int:
    """Hash of the context a suggestion was made for."""
    return hash((prefix[-PREFIX_CHARS:], suffix[:SUFFIX_CHARS], model))


def continue_typed(candidates: tuple[str, ...], typed: str) -> tuple[str, ...]:
    """What is left of each candidate after `typed`, for candidates that start with it."""
    return tuple(c[len(typed) :] for c in candidates if c.startswith(typed) and len(c) > len(typed))


class TypeThroughCache:
    """An LRU of suggestions; `lookup` also finds one made a few typed characters ago."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._suffixes: Counter[tuple[str, str]] = Counter()
        self._longest = 0

    def __len__(self) -> int:
        return len(self._entries)

    def store(self, prefix: str, suffix: str, model: str, candidates: tuple[str, ...]) -> None:
        """Remember non-empty `candidates` made at the end of `prefix`, before `suffix`."""
        if not candidates:
            return
        key = context_key(prefix, suffix, model)
        entry = _Entry(prefix[-PREFIX_CHARS:], suffix[:SUFFIX_CHARS], model, candidates)
        old = self._entries.pop(key, None)
        if old is not None:
            self._suffixes[(old.suffix_head, old.model)] -= 1
        self._entries[key] = entry
        self._suffixes[(entry.suffix_head, model)] += 1
        self._longest = max(self._longest, *(len(c) for c in candidates))
        while len(self._entries) > self._capacity:
            _, gone = self._entries.popitem(last=False)
            self._suffixes[(gone.suffix_head, gone.model)] -= 1
        self._suffixes += Counter()  # drop zero counts

    def lookup(self, prefix: str, suffix: str, model: str) -> tuple[str, ...]:
        """Suggestions for the cursor at the end of `prefix`: those made here, or made
        earlier at a shorter prefix when the characters typed since are their start."""
        if not self._suffixes.get((suffix[:SUFFIX_CHARS], model)):
            return ()  # no entry shares this suffix: spare the probes
        for typed_len in range(min(self._longest, len(prefix)) + 1):
            base = prefix[: len(prefix) - typed_len]
            entry = self._entries.get(context_key(base, suffix, model))
            if (
                entry is None
                or entry.prefix_tail != base[-PREFIX_CHARS:]
                or entry.suffix_head != suffix[:SUFFIX_CHARS]
                or entry.model != model
            ):
                continue
            rest = continue_typed(entry.candidates, prefix[len(base) :])
            if rest:
                self._entries.move_to_end(context_key(base, suffix, model))
                return rest
        return ()
