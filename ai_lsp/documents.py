"""The server's open documents, immutable snapshots of them, and recent edits across them.

The server routes didOpen/didChange/didClose here instead of pygls's workspace.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lsprotocol import types

from ai_lsp.text import Document, Encoding, Replacement, as_encoding, common_affixes

__all__ = [
    "MAX_EDITS",
    "MAX_EDIT_CHARS",
    "Document",
    "DocumentSnapshot",
    "DocumentStore",
    "Edit",
    "Replacement",
]

logger = logging.getLogger(__name__)

MAX_EDITS = 200
"""Edits kept by `DocumentStore.recent_edits`, across all documents."""
MAX_EDIT_CHARS = 2000
"""Longest old or new text kept per edit; longer texts are cut and the edit marked truncated."""


@dataclass(frozen=True, slots=True)
class DocumentSnapshot:
    """A document's text and a cursor, frozen for work that outlives the current version."""

    uri: str
    version: int
    text: str
    offset: int
    line: int
    character: int
    language_id: str

    @classmethod
    def of(cls, document: Document, position: types.Position) -> DocumentSnapshot:
        """Snapshot `document` with the cursor at `position` (clamped into the document)."""
        offset = document.offset_at(position)
        clamped = document.position_at(offset)
        return cls(
            document.uri,
            document.version,
            document.text,
            offset,
            clamped.line,
            clamped.character,
            document.language_id,
        )

    @property
    def position(self) -> types.Position:
        """The cursor as a fresh `Position`, in the encoding of the document it came from."""
        return types.Position(self.line, self.character)

    @property
    def prefix(self) -> str:
        """Text before the cursor."""
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        """Text after the cursor."""
        return self.text[self.offset :]


@dataclass(frozen=True, slots=True)
class Edit:
    """One recent edit: `old_text` starting on `start_line` (0-based) became `new_text`.

    Consecutive keystrokes (one character typed or deleted, not a line break) at adjacent
    places are merged into one edit. Texts longer than `MAX_EDIT_CHARS` are cut to that
    length and `truncated` is set.
    """

    uri: str
    version: int
    time: float
    start_line: int
    old_text: str
    new_text: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class _Open:
    """Where the newest edit, a run of keystrokes, sits in its document's current text."""

    uri: str
    start: int
    end: int


class DocumentStore:
    """The open documents, by URI, plus a bounded history of recent edits across them."""

    def __init__(self, encoding: str = Encoding.Utf16) -> None:
        self._encoding = as_encoding(encoding)
        self._documents: dict[str, Document] = {}
        self._edits: deque[Edit] = deque(maxlen=MAX_EDITS)
        self._open_edit: _Open | None = None

    @property
    def encoding(self) -> Encoding:
        """Position encoding negotiated at `initialize` (UTF-16 until then)."""
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = as_encoding(value)
        for document in self._documents.values():
            document.encoding = self._encoding

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        """Start tracking a document (`didOpen`); reopening replaces the old one."""
        if uri in self._documents:
            logger.debug("didOpen for %s, which is already open; replacing it", uri)
        document = Document(uri, language_id, version, text, encoding=self._encoding)
        self._documents[uri] = document
        self._forget_open_edit(uri)
        return document

    def change(
        self, uri: str, version: int, changes: Sequence[types.TextDocumentContentChangeEvent]
    ) -> Document | None:
        """Apply `didChange` content changes in order; an unknown URI is logged and ignored."""
        document = self._documents.get(uri)
        if document is None:
            logger.warning("didChange for %s, which is not open; ignored", uri)
            return None
        if version < document.version:
            logger.debug("%s went back from version %d to %d", uri, document.version, version)
        for change in changes:
            self._record(document, version, document.apply_change(change))
        document.version = version
        return document

    def close(self, uri: str) -> None:
        """Stop tracking a document (`didClose`); its recent edits stay in the history."""
        self._documents.pop(uri, None)
        self._forget_open_edit(uri)

    def get(self, uri: str) -> Document | None:
        """The open document at `uri`, if any."""
        return self._documents.get(uri)

    def uris(self) -> list[str]:
        """URIs of the open documents, in opening order."""
        return list(self._documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._documents.values()))

    def __len__(self) -> int:
        return len(self._documents)

    def __contains__(self, uri: object) -> bool:
        return uri in self._documents

    def snapshot(self, uri: str, position: types.Position) -> DocumentSnapshot | None:
        """An immutable copy of the document at `uri` with a cursor, or None if not open."""
        document = self._documents.get(uri)
        return None if document is None else DocumentSnapshot.of(document, position)

    def is_current(self, snapshot: DocumentSnapshot) -> bool:
        """Whether the document is still open at the snapshot's version and text."""
        document = self._documents.get(snapshot.uri)
        return (
            document is not None
            and document.version == snapshot.version
            and document.text is snapshot.text
        )

    def recent_edits(self, limit: int = 20, uri: str | None = None) -> list[Edit]:
        """Up to `limit` most recent edits, oldest first; only those to `uri` if given."""
        if limit <= 0:
            return []
        picked: list[Edit] = []
        for edit in reversed(self._edits):
            if uri is None or edit.uri == uri:
                picked.append(edit)
                if len(picked) == limit:
                    break
        picked.reverse()
        return picked

    def _forget_open_edit(self, uri: str) -> None:
        if self._open_edit is not None and self._open_edit.uri == uri:
            self._open_edit = None

    def _record(self, document: Document, version: int, replacement: Replacement) -> None:
        """Add a replacement to the history, merged into the newest edit when it continues it."""
        start, old, new = replacement.start, replacement.old_text, replacement.new_text
        if not old and not new:
            return
        previous, self._open_edit = self._open_edit, None
        keystroke = _keystroke(old, new)
        if keystroke and previous is not None and previous.uri == document.uri:
            merged = _merge(self._edits[-1], previous, start, old, new)
            if merged is not None:
                start, old, new = merged
                self._edits.pop()
                if not old and not new:
                    return
        truncated = len(old) > MAX_EDIT_CHARS or len(new) > MAX_EDIT_CHARS
        self._edits.append(
            Edit(
                uri=document.uri,
                version=version,
                time=time.monotonic(),
                start_line=replacement.start_line,
                old_text=old[:MAX_EDIT_CHARS],
                new_text=new[:MAX_EDIT_CHARS],
                truncated=truncated,
            )
        )
        if keystroke:
            self._open_edit = _Open(document.uri, start, start + len(new))


def _keystroke(old: str, new: str) -> bool:
    """A typed or deleted character within a line: the kind of edit that gets merged."""
    return len(old) <= 1 and len(new) <= 1 and not any(c in "\r\n" for c in old + new)


def _merge(
    last: Edit, previous: _Open, start: int, old: str, new: str
) -> tuple[int, str, str] | None:
    """`last` extended by a keystroke at `start` that touches it, or None if it does not.

    Offsets are in the text before the keystroke, where `last.new_text` occupies
    `[previous.start, previous.end)`; keystrokes stay on one line, and so does the result.
    """
    end = start + len(old)
    if start > previous.end or end < previous.start:
        return None
    low = min(start, previous.start)
    before, after = old[: max(previous.start - start, 0)], old[max(previous.end - start, 0) :]
    region = before + last.new_text + after  # the text the keystroke edited, from `low`
    merged_old = before + last.old_text + after
    merged_new = region[: start - low] + new + region[end - low :]
    if len(merged_old) > MAX_EDIT_CHARS or len(merged_new) > MAX_EDIT_CHARS:
        return None
    prefix, suffix = common_affixes(merged_old, merged_new)
    return (
        low + prefix,
        merged_old[prefix : len(merged_old) - suffix],
        merged_new[prefix : len(merged_new) - suffix],
    )
