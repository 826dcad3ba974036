"""Built-in local completion model: a nested, cached n-gram model over code tokens (SLP-Core style).

A global model counts the whole workspace; a cache model nested inside it counts the open buffer.
Their estimates are mixed by how many orders of context each of them has seen.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from bisect import bisect_left, insort
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

from ai_lsp.providers.ngram_buffer import BufferCache
from ai_lsp.providers.ngram_format import read_model, write_model
from ai_lsp.providers.ngram_lexer import (
    LINE_ENDS,
    LONG_STRING,
    is_wordlike,
    tokenize,
    uses_hash_comments,
)
from ai_lsp.providers.ngram_scoring import Level, candidates, levels, mix
from ai_lsp.providers.ngram_store import (
    MAX_WORDS,
    UNKNOWN,
    CountStore,
    count_grams,
    gram_key,
    gram_keys,
    push,
)

_PENDING_LIMIT = 400_000
"""Buffered gram deltas from `train_file` before they are merged into the arrays."""
_WINDOW = 768
"""Characters before the cursor lexed by `complete`."""
_OPEN_BUFFERS = 8
_PREFIX_RANGE = 128
_PREFIX_CANDIDATES = 32
_UNPRINTABLE = LINE_ENDS | {LONG_STRING}


@dataclass(frozen=True, slots=True)
class Completion:
    """Text to insert at the cursor and how likely the model thinks it is."""

    text: str
    confidence: float


class NgramModel:
    """Workspace n-gram model; thread-safe, with `complete` never waiting for training."""

    def __init__(self, order: int = 6, *, max_grams: int = 30_000_000) -> None:
        self.order = order
        self.max_grams = max_grams
        self._global = CountStore(order)
        self._space = CountStore(2)
        self._ids: dict[str, int] = {}
        self._words: list[str] = []
        self._sorted: list[str] = []
        self._unsorted: list[str] = []
        self._files: dict[str, array[int]] = {}
        self._pending = [Counter[int]() for _ in range(order + 1)]
        self._pending_space = [Counter[int]() for _ in range(3)]
        self._buffers: OrderedDict[str, BufferCache] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def file_count(self) -> int:
        return len(self._files)

    @property
    def token_count(self) -> int:
        return sum(len(ids) for ids in self._files.values())

    @property
    def gram_count(self) -> int:
        """Distinct n-grams held by the global model (what its memory grows with)."""
        return len(self._global)

    def train_file(self, path_key: str, text: str) -> None:
        """Add a file's counts; counts are merged in batches (see `flush`)."""
        with self._lock:
            if path_key in self._files:
                self.update_file(path_key, text)
                return
            packed = self._lex_file(text)
            self._files[path_key] = packed
            self._count(packed, 1)
            if sum(len(c) for c in self._pending) > _PENDING_LIMIT:
                self.flush()

    def forget_file(self, path_key: str) -> None:
        """Remove a file's counts."""
        with self._lock:
            packed = self._files.pop(path_key, None)
            if packed is not None:
                self._count(packed, -1)
                self.flush()

    def update_file(self, path_key: str, text: str) -> None:
        """Replace a file's counts by those of its new text; unchanged n-grams cost nothing."""
        with self._lock:
            old = self._files.get(path_key)
            packed = self._lex_file(text)
            self._files[path_key] = packed
            if old is not None:
                self._count(old, -1)
            self._count(packed, 1)
            self.flush()

    def flush(self) -> None:
        """Merge buffered training counts into the model (queries also do this when needed)."""
        with self._lock:
            for order in range(1, self.order + 1):
                self._global.apply(order, self._pending[order])
                self._pending[order].clear()
            for order in (1, 2):
                self._space.apply(order, self._pending_space[order])
                self._pending_space[order].clear()
            if len(self._global) > self.max_grams:
                self._global.prune_singletons(3)
            self._sort_vocabulary()
            # Rank the successors of the commonest contexts now rather than inside a query.
            unigrams = self._global.context(1, 0)
            for word in self._global.top(unigrams) if unigrams is not None else []:
                bigrams = self._global.context(2, push(0, word))
                if bigrams is not None:
                    self._global.top(bigrams)

    def set_buffer(self, path_key: str, text: str) -> None:
        """Feed the current text of an open buffer to its cache component."""
        with self._lock:
            buffer = self._buffers.pop(path_key, None) or BufferCache(self.order)
            self._buffers[path_key] = buffer
            while len(self._buffers) > _OPEN_BUFFERS:
                self._buffers.popitem(last=False)
            buffer.update(text, self._intern)
            self._sort_vocabulary()

    def close_buffer(self, path_key: str) -> None:
        """Drop the cache of a buffer that was closed."""
        with self._lock:
            self._buffers.pop(path_key, None)

    def predict_next(
        self, context_tokens: Sequence[str], k: int = 10, *, path_key: str | None = None
    ) -> list[tuple[str, float]]:
        """The `k` likeliest next tokens after `context_tokens`, with their probabilities."""
        with self._lock:
            self._ready()
            history = [self._ids.get(t, UNKNOWN) for t in context_tokens[-self.order :]]
            found = self._levels(history, path_key)
            scored = sorted(
                ((mix(found, w), w) for w in candidates(found, max(k, 10))), reverse=True
            )
            return [(self._words[w], p) for p, w in scored[:k] if p > 0]

    def complete(
        self,
        prefix_text: str,
        *,
        path_key: str | None,
        max_tokens: int = 12,
        threshold: float,
    ) -> Completion | None:
        """Complete the word being typed and/or the rest of the line; None below `threshold`.

        Returns None at once, rather than waiting, while training holds the model.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._ready()
            return self._complete(prefix_text, path_key, max_tokens, threshold)
        finally:
            self._lock.release()

    def save(self, path: Path) -> None:
        """Write the model to `path` atomically, in the versioned format of `ngram_format`."""
        with self._lock:
            self._ready()
            write_model(path, self.order, self._words, self._files, self._global, self._space)

    @classmethod
    def load(cls, path: Path, *, max_grams: int = 30_000_000) -> NgramModel | None:
        """A model saved by `save`; None when the file is missing, corrupt or of another version."""
        loaded = read_model(path)
        if loaded is None:
            return None
        model = cls(loaded.order, max_grams=max_grams)
        model._words, model._files = loaded.words, loaded.files
        model._global, model._space = loaded.counts, loaded.spacing
        model._ids = {w: i for i, w in enumerate(loaded.words)}
        model._unsorted = [w for w in loaded.words if _searchable(w)]
        return model

    def _complete(
        self, prefix_text: str, path_key: str | None, max_tokens: int, threshold: float
    ) -> Completion | None:
        window = prefix_text[-_WINDOW:]
        if len(prefix_text) > _WINDOW and "\n" in window:
            window = window[window.index("\n") + 1 :]
        buffer = self._buffers.get(path_key) if path_key is not None else None
        hash_comments = buffer.hash_comments if buffer is not None else uses_hash_comments(window)
        lexed = tokenize(window, hash_comments=hash_comments, at_cursor=True)
        if lexed.in_comment or lexed.partial == LONG_STRING:
            return None
        history = [self._ids.get(t, UNKNOWN) for t in lexed.tokens]
        pieces: list[str] = []
        confidence, emitted = 1.0, 0
        if lexed.partial:
            picked = self._complete_word(lexed.partial, history, path_key)
            if picked is None or picked[1] < threshold:
                return None
            word, confidence = picked
            pieces.append(self._words[word][len(lexed.partial) :])
            history.append(word)
            emitted = 1
        after_space = not lexed.partial and prefix_text[-1:].isspace()
        while emitted < max_tokens:
            found = self._levels(history, path_key)
            p, best = max(((mix(found, w), w) for w in candidates(found, 4)), default=(0.0, 0))
            if confidence * p < threshold or self._words[best] in _UNPRINTABLE:
                break
            if not after_space and self._spaced(history[-1], best):
                pieces.append(" ")
            pieces.append(self._words[best])
            history.append(best)
            confidence *= p
            emitted += 1
            after_space = False
        text = "".join(pieces)
        return Completion(text, confidence) if text.strip() else None

    def _complete_word(
        self, partial: str, history: list[int], path_key: str | None
    ) -> tuple[int, float] | None:
        """The likeliest known token starting with `partial`, and its probability given that."""
        found = self._levels(history, path_key)
        lo = bisect_left(self._sorted, partial)
        hi = bisect_left(self._sorted, partial + "\U0010ffff", lo)
        pool: set[int] = set()
        if hi - lo <= _PREFIX_RANGE:
            in_range = [self._ids[w] for w in self._sorted[lo:hi]]
            by_count = sorted(in_range, key=lambda w: self._global.get(1, w), reverse=True)
            pool.update(by_count[:_PREFIX_CANDIDATES])
        for component in found:
            for level in component:
                successors = level.context.successors
                words = successors if successors is not None else level.store.top(level.context)
                pool.update(w for w in words if w != UNKNOWN and self._words[w].startswith(partial))
        typed = self._ids.get(partial)
        buffer = self._buffers.get(path_key) if path_key is not None else None
        # The buffer holds the half-typed word itself: only other occurrences make it a word.
        if (
            typed is not None
            and not self._global.get(1, typed)
            and (buffer is None or buffer.store.get(1, typed) < 2)
        ):
            pool.discard(typed)
        scored = [(mix(found, w), w) for w in pool]
        total = sum(p for p, _ in scored)
        if not total:
            return None
        p, word = max(scored)
        return word, p / total

    def _levels(self, history: list[int], path_key: str | None) -> list[list[Level]]:
        buffer = self._buffers.get(path_key) if path_key is not None else None
        stores = [self._global] if buffer is None else [self._global, buffer.store]
        return [levels(store, history) for store in stores]

    def _spaced(self, prev: int, word: int) -> bool:
        """Whether whitespace goes between two tokens, as the training data usually had it."""
        if is_wordlike(self._words[prev]) and is_wordlike(self._words[word]):
            return True
        pair = gram_key(push(0, prev), word)
        seen = self._global.get(2, pair)
        if seen:
            return 2 * self._space.get(2, pair) > seen
        rates = [
            self._space.get(1, key) / seen
            for key, seen in (
                (word, self._global.get(1, word)),
                (MAX_WORDS + prev, self._global.get(1, prev)),
            )
            if seen
        ]
        return bool(rates) and max(rates, key=lambda r: abs(r - 0.5)) > 0.5

    def _ready(self) -> None:
        """Make trained files visible (normally done already by `flush` or the next update)."""
        if any(self._pending) or any(self._pending_space):
            self.flush()
        self._sort_vocabulary()

    def _sort_vocabulary(self) -> None:
        if len(self._unsorted) > 64:
            self._unsorted.sort()
            self._sorted = list(heapq.merge(self._sorted, self._unsorted))
        else:
            for word in self._unsorted:
                insort(self._sorted, word)
        self._unsorted.clear()

    def _intern(self, token: str) -> int:
        found = self._ids.get(token)
        if found is not None:
            return found
        if len(self._words) >= UNKNOWN:
            return UNKNOWN
        self._ids[token] = len(self._words)
        self._words.append(token)
        if _searchable(token):
            self._unsorted.append(token)
        return self._ids[token]

    def _lex_file(self, text: str) -> array[int]:
        """Token ids of a file, each shifted left by one with its spacing bit below."""
        lexed = tokenize(text, hash_comments=uses_hash_comments(text))
        intern = self._intern
        return array(
            "I", [intern(t) << 1 | s for t, s in zip(lexed.tokens, lexed.spaced, strict=True)]
        )

    def _count(self, packed: array[int], sign: int) -> None:
        """Add (or with sign -1, remove) a file's grams and spacing to the pending deltas."""
        ids = [p >> 1 for p in packed]
        spaced = [p & 1 for p in packed]
        keys = gram_keys(ids, self.order)
        space_keys = [
            list(compress(keys[0], spaced)),
            [MAX_WORDS + w for w in compress(ids, spaced[1:])],
            list(compress(keys[1], spaced[1:])),
        ]
        if sign > 0:
            count_grams(keys, self._pending)
            count_grams(space_keys[:1] + space_keys[2:], self._pending_space)
            self._pending_space[1].update(space_keys[1])
        else:
            for order, order_keys in enumerate(keys, start=1):
                self._pending[order].subtract(order_keys)
            self._pending_space[1].subtract(space_keys[0] + space_keys[1])
            self._pending_space[2].subtract(space_keys[2])


def _searchable(token: str) -> bool:
    """Whether a token can be completed from a typed prefix (words, numbers, short strings)."""
    return is_wordlike(token) or token[:1] in "\"'`"
