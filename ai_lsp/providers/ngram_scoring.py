"""Probability estimates of the n-gram model, as in SLP-Core (Hellendoorn and Devanbu, FSE 2017).

Within one component, orders are interpolated Witten-Bell style from the shortest context up;
components are mixed with weights that double with each order whose context matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_lsp.providers.ngram_store import UNKNOWN, Context, CountStore, push


@dataclass(slots=True)
class Level:
    """One matched context of one component, with its Witten-Bell interpolation weight."""

    store: CountStore
    context: Context
    weight: float
    """count / (count + distinct successors): trust in this order over the shorter ones."""


def levels(store: CountStore, history: list[int]) -> list[Level]:
    """The contexts of `history` seen by `store`, shortest first, up to the first unseen one."""
    found: list[Level] = []
    state = 0
    for order in range(1, store.order + 1):
        context = store.context(order, state)
        if context is None:
            break
        found.append(Level(store, context, context.total / (context.total + context.distinct)))
        if order > len(history):
            break
        state = push(state, history[-order])
    return found


def probability(found: list[Level], word: int) -> float:
    """Interpolated Witten-Bell estimate of one component, normalised over its matched orders."""
    p = mass = 0.0
    for level in found:
        keep = 1 - level.weight
        context = level.context
        p = keep * p + level.store.count(context, word) / (context.total + context.distinct)
        mass = keep * mass + level.weight
    return p / mass if mass else 0.0


def mix(components: list[list[Level]], word: int) -> float:
    """Mix components left to right, each weighted by 2 ** (number of matched orders)."""
    p, hits = 0.0, 0
    for found in components:
        if not found:
            continue
        q = probability(found, word)
        if hits:
            mine, theirs = 2.0**hits, 2.0 ** len(found)
            p = (p * mine + q * theirs) / (mine + theirs)
        else:
            p = q
        hits = max(hits, len(found))
    return p


def candidates(components: list[list[Level]], limit: int) -> list[int]:
    """Likely next tokens: the top successors of each component's longest contexts first."""
    picked: dict[int, None] = {}
    for found in components:
        taken = 0
        for level in reversed(found):
            for word in level.store.top(level.context):
                if word not in picked and word != UNKNOWN:
                    picked[word] = None
                    taken += 1
                    if taken >= limit:
                        break
            if taken >= limit:
                break
    return list(picked)
