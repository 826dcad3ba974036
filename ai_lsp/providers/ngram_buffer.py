"""Cache component of the n-gram model: counts over one open buffer, kept current edit by edit.

Only the text from the first change on is lexed again, and only n-grams that touch changed
tokens are recounted, so calling `update` on every change of a large file stays cheap.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable

from ai_lsp.providers.ngram_lexer import LINE_ENDS, Lexed, tokenize, uses_hash_comments
from ai_lsp.providers.ngram_store import CountStore, count_grams, gram_keys


class BufferCache:
    """N-gram counts over the current text of one buffer."""

    def __init__(self, order: int) -> None:
        self.store = CountStore(order)
        self.text = ""
        self.hash_comments = False
        self._lexed = Lexed()
        self._ids: list[int] = []

    def update(self, text: str, intern: Callable[[str], int]) -> None:
        """Take the buffer's new text; `intern` maps tokens to vocabulary ids."""
        hash_comments = uses_hash_comments(text)
        old = self._lexed
        restart = 0
        if hash_comments == self.hash_comments:
            restart = max(bisect_left(old.starts, _common_prefix(self.text, text)) - 1, 0)
        if restart == 0:
            fresh = tokenize(text, hash_comments=hash_comments)
        else:
            resumed_on_line_end = old.tokens[restart] in LINE_ENDS
            fresh = tokenize(
                text,
                hash_comments=hash_comments,
                pos=old.starts[restart],
                indent=old.indents[restart],
                spaced=old.spaced[restart] and not resumed_on_line_end,
            )
        new = Lexed(
            old.tokens[:restart] + fresh.tokens,
            old.spaced[:restart] + fresh.spaced,
            old.starts[:restart] + fresh.starts,
            old.indents[:restart] + fresh.indents,
        )
        new_ids = self._ids[:restart] + [intern(t) for t in fresh.tokens]
        self._recount(self._ids, new_ids, restart)
        self.text, self.hash_comments, self._lexed, self._ids = text, hash_comments, new, new_ids

    def _recount(self, old: list[int], new: list[int], same: int) -> None:
        """Apply the count changes of the n-grams that overlap the changed tokens."""
        limit = min(len(old), len(new))
        while same < limit and old[same] == new[same]:
            same += 1
        tail = 0
        while tail < limit - same and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        order = self.store.order
        start = max(same - order + 1, 0)
        removed = [Counter[int]() for _ in range(order + 1)]
        added = [Counter[int]() for _ in range(order + 1)]
        count_grams(gram_keys(old[start : len(old) - tail + order - 1], order), removed)
        count_grams(gram_keys(new[start : len(new) - tail + order - 1], order), added)
        for j in range(1, order + 1):
            added[j].subtract(removed[j])
            self.store.apply(j, added[j])


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix, comparing slices so the work happens in C."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo
