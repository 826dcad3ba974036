"""Compact n-gram counts: per order, sorted chunks of hashed keys in `array`s (12 bytes a gram).

A key packs a 42-bit hash of the context (most recent token first) above the 22-bit token id,
so the successors of one context are contiguous and can be read without an index.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

WORD_BITS = 22
MAX_WORDS = 1 << WORD_BITS
WORD_MASK = MAX_WORDS - 1
UNKNOWN = WORD_MASK
"""Id for tokens outside the vocabulary (or past its MAX_WORDS capacity); never proposed."""
_MASK64 = (1 << 64) - 1
_CONTEXT_MASK = _MASK64 ^ WORD_MASK
_MULTIPLIER = 0x9E3779B97F4A7C15
_CHUNK = 2048
_FEW = 16
"""Contexts with more successors than this are cached between queries (until counts change)."""
_DICT_LIMIT = 64
"""Contexts with more successors than this are not copied into a dict; counts are looked up."""
_CACHED_CONTEXTS = 4096
_TOP = 16


def push(state: int, word: int) -> int:
    """Extend a context hash state with the next older token of the context."""
    return ((state ^ (word + 1)) * _MULTIPLIER) & _MASK64


def gram_key(state: int, word: int) -> int:
    """Key of `word` following the context hashed in `state`."""
    return (state & _CONTEXT_MASK) | word


def gram_keys(ids: Sequence[int], order: int) -> list[list[int]]:
    """Keys of all n-grams of `ids`; list `j - 1` holds the order-`j` keys, aligned to their ends."""
    out = [list(ids)]
    states = [0] * len(ids)
    for j in range(1, order):
        states = [
            ((s ^ (w + 1)) * _MULTIPLIER) & _MASK64 for s, w in zip(states[1:], ids, strict=False)
        ]
        out.append([(s & _CONTEXT_MASK) | w for s, w in zip(states, ids[j:], strict=True)])
    return out


@dataclass(slots=True)
class Context:
    """Counts of what followed one context."""

    total: int
    distinct: int
    successors: dict[int, int] | None
    """Every successor and its count, unless there are many (then `CountStore.count` looks up)."""
    base: int
    order: int
    top: list[int] | None = None
    """The most frequent successors, best first, once `CountStore.top` ranked them."""


class CountStore:
    """N-gram counts for orders 1..`order`, updated in place by signed deltas."""

    def __init__(self, order: int) -> None:
        self.order = order
        self._keys: list[list[array[int]]] = [[] for _ in range(order + 1)]
        self._counts: list[list[array[int]]] = [[] for _ in range(order + 1)]
        self._firsts: list[list[int]] = [[] for _ in range(order + 1)]
        self.distinct = [0] * (order + 1)
        self.total = [0] * (order + 1)
        self.version = 0
        self._contexts: dict[tuple[int, int], tuple[int, Context]] = {}

    def __len__(self) -> int:
        return sum(self.distinct)

    def get(self, order: int, key: int) -> int:
        firsts = self._firsts[order]
        chunk = bisect_right(firsts, key) - 1
        if chunk < 0:
            return 0
        keys = self._keys[order][chunk]
        i = bisect_left(keys, key)
        return self._counts[order][chunk][i] if i < len(keys) and keys[i] == key else 0

    def context(self, order: int, state: int) -> Context | None:
        """What followed the context hashed in `state`, as order-`order` grams; None if unseen."""
        base = state & _CONTEXT_MASK
        cached = self._contexts.get((order, base))
        if cached is not None and cached[0] == self.version:
            return cached[1]
        pieces = self._range(order, base, base + MAX_WORDS)
        distinct = sum(b - a for _, _, a, b in pieces)
        if not distinct:
            return None
        if distinct <= _DICT_LIMIT:
            successors = {
                k & WORD_MASK: c
                for keys, counts, a, b in pieces
                for k, c in zip(keys[a:b], counts[a:b], strict=True)
            }
            found = Context(sum(successors.values()), distinct, successors, base, order)
        else:
            total = sum(sum(counts[a:b]) for _, counts, a, b in pieces)
            found = Context(total, distinct, None, base, order)
            if cached is not None and abs(cached[1].total - total) * 4 <= total:
                found.top = cached[1].top  # only proposes candidates: slightly stale is fine
        if distinct > _FEW:
            if len(self._contexts) >= _CACHED_CONTEXTS:
                self._contexts.clear()
            self._contexts[(order, base)] = (self.version, found)
        return found

    def count(self, context: Context, word: int) -> int:
        """How often `word` followed `context`."""
        if context.successors is not None:
            return context.successors.get(word, 0)
        return self.get(context.order, context.base | word)

    def top(self, context: Context) -> list[int]:
        """The most frequent successors of `context`, best first (ranked once, then kept)."""
        if context.top is None:
            successors = context.successors
            if successors is not None:
                context.top = heapq.nlargest(_TOP, successors, key=successors.__getitem__)
            else:
                pieces = self._range(context.order, context.base, context.base + MAX_WORDS)
                grams = (
                    (c, k)
                    for keys, counts, a, b in pieces
                    for k, c in zip(keys[a:b], counts[a:b], strict=True)
                )
                context.top = [k & WORD_MASK for _, k in heapq.nlargest(_TOP, grams)]
        return context.top

    def apply(self, order: int, deltas: Mapping[int, int]) -> None:
        """Add signed count changes; grams whose count drops to zero are removed."""
        keys = sorted(k for k, d in deltas.items() if d)
        if not keys:
            return
        self.version += 1
        if not self._keys[order]:
            self._keys[order].append(array("Q"))
            self._counts[order].append(array("I"))
        firsts = self._firsts[order] or [0]
        if len(keys) < len(firsts):

            def chunk_of(key: int) -> int:
                return max(bisect_right(firsts, key) - 1, 0)

            for chunk, group in itertools.groupby(keys, key=chunk_of):
                self._merge(order, chunk, list(group), deltas)
        else:
            start = 0
            for chunk in range(len(firsts)):
                end = bisect_left(keys, firsts[chunk + 1]) if chunk + 1 < len(firsts) else len(keys)
                if end > start:
                    self._merge(order, chunk, keys[start:end], deltas)
                start = end
        self._rebalance(order)

    def prune_singletons(self, min_order: int) -> None:
        """Drop grams seen once at orders >= `min_order` (lossy; bounds memory)."""
        self.version += 1
        for order in range(min_order, self.order + 1):
            for i, (keys, counts) in enumerate(
                zip(self._keys[order], self._counts[order], strict=True)
            ):
                keep = [(k, c) for k, c in zip(keys, counts, strict=True) if c > 1]
                self._keys[order][i] = array("Q", [k for k, _ in keep])
                self._counts[order][i] = array("I", [c for _, c in keep])
            self._recount(order)
            self._rebalance(order)

    def arrays(self, order: int) -> tuple[array[int], array[int]]:
        """All keys and counts of one order, concatenated (for saving)."""
        keys, counts = array("Q"), array("I")
        for k, c in zip(self._keys[order], self._counts[order], strict=True):
            keys.extend(k)
            counts.extend(c)
        return keys, counts

    def load_arrays(self, order: int, keys: array[int], counts: array[int]) -> None:
        """Replace one order with sorted, deduplicated keys and their positive counts."""
        self._keys[order] = [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
        self._counts[order] = [counts[i : i + _CHUNK] for i in range(0, len(counts), _CHUNK)]
        self._firsts[order] = [k[0] for k in self._keys[order]]
        self._recount(order)
        self.version += 1

    def _range(self, order: int, lo: int, hi: int) -> list[tuple[array[int], array[int], int, int]]:
        firsts = self._firsts[order]
        chunk = max(bisect_right(firsts, lo) - 1, 0)
        pieces = []
        while chunk < len(firsts) and firsts[chunk] < hi:
            keys = self._keys[order][chunk]
            a = bisect_left(keys, lo) if keys[0] < lo else 0
            b = bisect_left(keys, hi) if keys[-1] >= hi else len(keys)
            if a < b:
                pieces.append((keys, self._counts[order][chunk], a, b))
            chunk += 1
        return pieces

    def _merge(self, order: int, chunk: int, keys: list[int], deltas: Mapping[int, int]) -> None:
        old_keys, old_counts = self._keys[order][chunk], self._counts[order][chunk]
        if len(keys) <= _FEW:
            for key in keys:
                i = bisect_left(old_keys, key)
                old = old_counts[i] if i < len(old_keys) and old_keys[i] == key else 0
                new = max(old + deltas[key], 0)
                if old and new:
                    old_counts[i] = new
                elif old:
                    del old_keys[i], old_counts[i]
                elif new:
                    old_keys.insert(i, key)
                    old_counts.insert(i, new)
                self._tally(order, old, -1)
                self._tally(order, new, 1)
            return
        self._tally_chunk(order, old_keys, old_counts, -1)
        merged = dict(zip(old_keys, old_counts, strict=True))
        for key in keys:
            merged[key] = merged.get(key, 0) + deltas[key]
        kept = sorted(merged)
        counts = [merged[k] for k in kept]
        if min(counts) <= 0:
            kept = [k for k, c in zip(kept, counts, strict=True) if c > 0]
            counts = [c for c in counts if c > 0]
        new_keys = self._keys[order][chunk] = array("Q", kept)
        new_counts = self._counts[order][chunk] = array("I", counts)
        self._tally_chunk(order, new_keys, new_counts, 1)

    def _tally(self, order: int, count: int, sign: int) -> None:
        if count:
            self.distinct[order] += sign
            self.total[order] += sign * count

    def _tally_chunk(self, order: int, keys: array[int], counts: array[int], sign: int) -> None:
        self.distinct[order] += sign * len(keys)
        self.total[order] += sign * sum(counts)

    def _recount(self, order: int) -> None:
        self.distinct[order] = self.total[order] = 0
        for keys, counts in zip(self._keys[order], self._counts[order], strict=True):
            self._tally_chunk(order, keys, counts, 1)

    def _rebalance(self, order: int) -> None:
        keys_out: list[array[int]] = []
        counts_out: list[array[int]] = []
        for keys, counts in zip(self._keys[order], self._counts[order], strict=True):
            if len(keys) <= 2 * _CHUNK:
                if keys:
                    keys_out.append(keys)
                    counts_out.append(counts)
                continue
            for i in range(0, len(keys), _CHUNK):
                keys_out.append(keys[i : i + _CHUNK])
                counts_out.append(counts[i : i + _CHUNK])
        self._keys[order], self._counts[order] = keys_out, counts_out
        self._firsts[order] = [k[0] for k in keys_out]


def count_grams(key_lists: Iterable[list[int]], into: list[Counter[int]]) -> None:
    """Count order-`j` keys (list `j - 1`) into `into[j]`."""
    for order, keys in enumerate(key_lists, start=1):
        into[order].update(keys)
