"""Split a file into index chunks: definitions found with tree-sitter, markdown sections,
and overlapping line windows for everything else. Lines are 1-based and inclusive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ai_lsp.index.definitions import Definition, find_definitions, has_query
from ai_lsp.index.languages import language_for_path, parse
from ai_lsp.index.markdown_chunks import markdown_sections

__all__ = ["Chunk", "chunk_file"]

MAX_LINES = 80  # a longer definition or section is split into windows
MAX_CHARS = 6_000  # about 1,500-2,000 tokens: the same, measured in characters
WINDOW_LINES = 60
WINDOW_OVERLAP = 10
TEXT_WINDOW_LINES = 40  # plain text and files without a grammar
TEXT_WINDOW_OVERLAP = 10
SMALL_LINES = 5  # definitions shorter than this are merged with their neighbours
MERGE_LINES = 40  # merged runs of small pieces stay within this many lines
MAX_SYMBOL = 200  # a merged chunk lists the symbols it holds up to this length


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a file for retrieval. ``content_hash`` depends on ``text`` only."""

    path: str
    language: str
    symbol: str
    kind: str
    start_line: int
    end_line: int
    text: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class _Piece:
    """Rows (0-based) that become one chunk, or several windows when too long."""

    kind: str
    symbol: str
    rows: Sequence[int]
    span: tuple[int, int] | None = None  # rows to report when ``rows`` skips some (outlines)


@dataclass(frozen=True, slots=True)
class _Unit:
    """A top-level stretch of rows: one definition, or the code between definitions."""

    start: int
    end: int
    definition: Definition | None


def chunk_file(rel_path: str, text: str, language: str | None) -> list[Chunk]:
    """Chunks covering every non-blank line of the file (outlines repeat member headers).

    ``language`` is a language id from `languages.language_for_path`; when None it is
    guessed from the path, and unknown files are cut into plain line windows.
    """
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    language = language or language_for_path(rel_path, lines[0]) or "text"
    if language == "markdown":
        pieces = [
            _Piece("section", title, range(first, last + 1))
            for title, first, last in markdown_sections(lines)
        ]
        return _chunks(rel_path, language, lines, pieces, WINDOW_LINES, WINDOW_OVERLAP)
    code_pieces = _code_pieces(text, lines, language) if has_query(language) else None
    if code_pieces is None:
        window = _Piece("window", "", range(len(lines)))
        return _chunks(rel_path, language, lines, [window], TEXT_WINDOW_LINES, TEXT_WINDOW_OVERLAP)
    return _chunks(rel_path, language, lines, code_pieces, WINDOW_LINES, WINDOW_OVERLAP)


def _code_pieces(text: str, lines: Sequence[str], language: str) -> list[_Piece] | None:
    """Pieces from the syntax tree, or None when the file cannot be parsed."""
    source = text.encode("utf-8", "surrogatepass")
    try:
        tree = parse(source, language)
        if tree is None:
            return None
        definitions = find_definitions(tree, language, source)
    except ValueError:  # tree_sitter.QueryError included: a grammar the query does not fit
        return None
    pieces: list[_Piece] = []
    run: list[_Unit] = []
    for unit in _top_level_units(definitions, lines):
        if unit.definition is None or unit.end - unit.start + 1 < SMALL_LINES:
            if run and unit.end - run[0].start + 1 > MERGE_LINES:
                pieces.append(_merged(run))
                run = []
            run.append(unit)
            continue
        if run:
            pieces.append(_merged(run))
            run = []
        pieces.extend(_definition_pieces(unit.definition, unit.start, unit.end))
    if run:
        pieces.append(_merged(run))
    return pieces


def _top_level_units(definitions: Sequence[Definition], lines: Sequence[str]) -> list[_Unit]:
    """Definitions and the non-blank gaps between them."""
    units: list[_Unit] = []

    def gap(first: int, last: int) -> None:
        if any(line.strip() for line in lines[first : last + 1]):
            units.append(_Unit(first, last, None))

    cursor = 0
    for definition in definitions:
        start = _first_row(definition, cursor)
        gap(cursor, start - 1)
        units.append(_Unit(start, definition.end, definition))
        cursor = definition.end + 1
    gap(cursor, len(lines) - 1)
    return units


def _first_row(definition: Definition, cursor: int) -> int:
    """Where a definition's chunk starts, given that rows before ``cursor`` are taken.

    Leading comments never reach into taken rows; a definition whose header shares a row
    with the end of the previous one (``} func next() {``) still starts at that row.
    """
    return definition.head if definition.head < cursor else max(definition.start, cursor)


def _merged(run: Sequence[_Unit]) -> _Piece:
    """One piece for a run of small units; a lone definition keeps its kind and symbol."""
    rows = range(run[0].start, run[-1].end + 1)
    named = [unit.definition for unit in run if unit.definition is not None]
    if len(run) == 1 and named:
        return _Piece(named[0].kind, named[0].symbol, rows)
    symbols: list[str] = []
    for definition in named:
        if sum(len(symbol) + 2 for symbol in symbols) + len(definition.symbol) > MAX_SYMBOL:
            symbols.append("...")
            break
        symbols.append(definition.symbol)
    return _Piece("module", ", ".join(symbols), rows)


def _definition_pieces(definition: Definition, start: int, end: int) -> list[_Piece]:
    """A definition whole, or for a container an outline plus one piece per large member.

    The outline keeps the container's own rows (header, fields, small members in full) and
    only the header rows of each large member, whose body goes to the member's own chunk.
    """
    large = [m for m in definition.members if m.end - m.start + 1 >= SMALL_LINES]
    if not large:
        return [_Piece(definition.kind, definition.symbol, range(start, end + 1))]
    outline: list[int] = []

    def keep(first: int, last: int) -> None:
        outline.extend(range(max(first, outline[-1] + 1 if outline else first), last + 1))

    member_pieces: list[_Piece] = []
    cursor = start
    for member in large:
        member_start = _first_row(member, cursor)
        keep(cursor, member_start - 1)
        keep(member.head, member.signature_end)
        member_pieces.extend(_definition_pieces(member, member_start, member.end))
        cursor = member.end + 1
    keep(cursor, end)
    return [_Piece(definition.kind, definition.symbol, outline, (start, end)), *member_pieces]


def _chunks(
    path: str,
    language: str,
    lines: Sequence[str],
    pieces: Iterable[_Piece],
    window_lines: int,
    window_overlap: int,
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for piece in pieces:
        segments = _segments(piece.rows, lines)
        if not segments:
            continue
        fits = len(segments) <= MAX_LINES and sum(len(t) + 1 for _, t in segments) <= MAX_CHARS
        if fits and piece.kind != "window":
            parts: Iterable[Sequence[tuple[int, str]]] = [segments]
            span = piece.span or (segments[0][0], segments[-1][0])
        else:
            parts = _windows(segments, window_lines, window_overlap)
            span = None
        for part in parts:
            first, last = span or (part[0][0], part[-1][0])
            text = "\n".join(segment for _, segment in part)
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
            chunks.append(
                Chunk(
                    path=path,
                    language=language,
                    symbol=piece.symbol,
                    kind=piece.kind,
                    start_line=first + 1,
                    end_line=last + 1,
                    text=text,
                    content_hash=digest.hexdigest(),
                )
            )
    return chunks


def _segments(rows: Sequence[int], lines: Sequence[str]) -> list[tuple[int, str]]:
    """(row, text) for the rows without leading or trailing blank lines; a line longer
    than MAX_CHARS becomes several segments so that no chunk exceeds the cap."""
    first, last = 0, len(rows) - 1
    while first <= last and not lines[rows[first]].strip():
        first += 1
    while last >= first and not lines[rows[last]].strip():
        last -= 1
    segments: list[tuple[int, str]] = []
    for row in rows[first : last + 1]:
        line = lines[row]
        if len(line) <= MAX_CHARS:
            segments.append((row, line))
        else:
            segments.extend((row, line[i : i + MAX_CHARS]) for i in range(0, len(line), MAX_CHARS))
    return segments


def _windows(
    segments: Sequence[tuple[int, str]], size: int, overlap: int
) -> Iterable[Sequence[tuple[int, str]]]:
    """Overlapping windows of at most ``size`` segments and MAX_CHARS characters."""
    start = 0
    while start < len(segments):
        stop, chars = start, 0
        while stop < len(segments) and stop - start < size:
            chars += len(segments[stop][1]) + 1
            if chars > MAX_CHARS and stop > start:
                break
            stop += 1
        window = _trimmed(segments[start:stop])
        if window:
            yield window
        if stop >= len(segments):
            return
        start = max(stop - min(overlap, (stop - start) // 3), start + 1)


def _trimmed(window: Sequence[tuple[int, str]]) -> Sequence[tuple[int, str]]:
    first, last = 0, len(window)
    while first < last and not window[first][1].strip():
        first += 1
    while last > first and not window[last - 1][1].strip():
        last -= 1
    return window[first:last]
