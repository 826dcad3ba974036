"""Identifier-aware tokens for full-text search: ``parsePayload`` and ``parse_payload`` both
become ``parsepayload parse payload``, so code and queries match across naming styles.
"""

from __future__ import annotations

import functools
import re

__all__ = ["search_text", "split_identifiers"]

# Letters and digits, possibly joined by underscores: one identifier-like word.
_WORD_RE = re.compile(r"[^\W_]+(?:_+[^\W_]+)*")
# Parts of a word: an acronym before a capitalised word (HTTP|Server), a capitalised or
# lower-case run, a run of capitals, a run of digits. Non-ASCII letters count as lower case.
_LOWER = r"[^\W\dA-Z_]"
_PART_RE = re.compile(rf"[A-Z]+(?=[A-Z]{_LOWER})|[A-Z]?{_LOWER}+|[A-Z]+|\d+")


def split_identifiers(text: str) -> list[str]:
    """Lower-case search tokens of ``text``; a compound word yields itself joined, then its parts.

    >>> split_identifiers("HTTPServerError utf8Decode")
    ['httpservererror', 'http', 'server', 'error', 'utf8decode', 'utf', '8', 'decode']
    """
    tokens: list[str] = []
    for word in _WORD_RE.findall(text):
        tokens.extend(_expand(word))
    return tokens


def search_text(text: str) -> str:
    """``text`` as space-separated search tokens, for a BM25 full-text index and its queries."""
    return " ".join(split_identifiers(text))


@functools.lru_cache(maxsize=1 << 16)
def _expand(word: str) -> tuple[str, ...]:
    if word[0].isdigit() or (word.isalpha() and (word.islower() or word[1:].islower())):
        return (word.lower(),)  # a number, or a plain word: nothing to split
    parts = [part.lower() for part in _PART_RE.findall(word)]
    if len(parts) <= 1:
        return tuple(parts)
    return ("".join(parts), *parts)
