"""Document store: positions in every encoding, line endings, edits, history and snapshots."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from ai_lsp.documents import MAX_EDIT_CHARS, MAX_EDITS, Document, DocumentStore
from ai_lsp.text import common_affixes

UTF8, UTF16, UTF32 = (
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf32,
)
ENCODINGS = [UTF8, UTF16, UTF32]
CODECS = {UTF8: ("utf-8", 1), UTF16: ("utf-16-le", 2), UTF32: ("utf-32-le", 4)}
THUMB = "👍🏽"  # thumbs up + skin tone: 2 code points, 4 UTF-16 units, 8 UTF-8 bytes
FAMILY = "👨\u200d👩\u200d👧"  # ZWJ sequence: 5 code points, 8 UTF-16 units, 18 UTF-8 bytes
E_ACUTE = "e\u0301"  # e + combining acute: 2 code points, 2 UTF-16 units, 3 UTF-8 bytes


# -- an independent reference: scan characters one by one, measure by encoding prefixes --


def reference_lines(text: str) -> list[tuple[int, int]]:
    """(start, end before terminator) of every line, by a plain character scan."""
    spans, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            spans.append((start, i))
            i += 2
            start = i
        elif text[i] in "\r\n":
            spans.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return spans


def units(prefix: str, encoding: types.PositionEncodingKind) -> int:
    codec, size = CODECS[encoding]
    return len(prefix.encode(codec)) // size


def client_position(text: str, offset: int, encoding: types.PositionEncodingKind) -> types.Position:
    """What a client sends for a code-point offset that starts a character within a line."""
    for line, (start, end) in enumerate(reference_lines(text)):
        if start <= offset <= end:
            return types.Position(line, units(text[start:offset], encoding))
    raise AssertionError("offset inside a line terminator")


def lines_of(doc: Document) -> list[str]:
    return [doc.line_text(i) for i in range(doc.line_count)]


def change(sl: int, sc: int, el: int, ec: int, text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=text
    )


# -- conversions --

LINE = f"a{THUMB}漢{E_ACUTE}{FAMILY}z"
# Code-point offsets at each character boundary of LINE and their width in each encoding.
BOUNDARIES = list(range(13))
WIDTHS = {
    UTF8: [0, 1, 5, 9, 12, 13, 15, 19, 22, 26, 29, 33, 34],
    UTF16: [0, 1, 3, 5, 6, 7, 8, 10, 11, 13, 14, 16, 17],
    UTF32: BOUNDARIES,
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_character_boundary_converts_both_ways(encoding: types.PositionEncodingKind) -> None:
    doc = Document("file:///a", "python", 1, f"first\n{LINE}\nlast", encoding=encoding)
    base = len("first\n")
    for offset, width in zip(BOUNDARIES, WIDTHS[encoding], strict=True):
        assert doc.position_at(base + offset) == types.Position(1, width)
        assert doc.offset_at(types.Position(1, width)) == base + offset


@pytest.mark.parametrize(
    ("encoding", "character", "offset"),
    [
        (UTF16, 2, 1),  # between the surrogates of 👍: snaps to its start
        (UTF16, 4, 2),  # between the surrogates of 🏽
        (UTF8, 2, 1),  # inside the 4 bytes of 👍
        (UTF8, 4, 1),
        (UTF8, 6, 2),  # inside 🏽
        (UTF8, 10, 3),  # inside 漢
        (UTF8, 14, 5),  # inside the 2 bytes of U+0301
        (UTF8, 16, 6),  # inside 👨
    ],
)
def test_position_inside_a_character_snaps_to_its_start(
    encoding: types.PositionEncodingKind, character: int, offset: int
) -> None:
    doc = Document("file:///a", "python", 1, LINE, encoding=encoding)
    assert doc.offset_at(types.Position(0, character)) == offset


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a\r\nb", ["a", "b"]),
        ("a\rb", ["a", "b"]),
        ("a\n", ["a", ""]),
        ("a\r", ["a", ""]),
        ("\r\n\r\n", ["", "", ""]),
        ("a\r\rb", ["a", "", "b"]),
        ("a\n\rb", ["a", "", "b"]),
        ("a\r\nb\rc\nd", ["a", "b", "c", "d"]),
        (
            "x\x0cy\u2028z\u2029w\x85v\x0bu\x1c\x1d\x1et",
            ["x\x0cy\u2028z\u2029w\x85v\x0bu\x1c\x1d\x1et"],
        ),
    ],
)
def test_only_lsp_terminators_end_lines(text: str, lines: list[str]) -> None:
    doc = Document("file:///a", "python", 1, text)
    assert doc.line_count == len(lines)
    assert lines_of(doc) == lines


def test_form_feed_does_not_split_lines_as_pygls_splitlines_does() -> None:
    text = "import os\n\x0c\ndef f():\x0c    return 1\nx = 2\n"
    doc = Document("file:///a.py", "python", 1, text)
    assert doc.line_count == 5
    assert doc.line_text(2) == "def f():\x0c    return 1"
    assert doc.offset_at(types.Position(3, 0)) == text.index("x = 2")
    doc.apply_change(change(3, 0, 3, 1, "y"))
    assert doc.text == text.replace("x = 2", "y = 2")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_out_of_range_positions_clamp(encoding: types.PositionEncodingKind) -> None:
    text = f"ab{THUMB}\r\ncd\rlast"
    doc = Document("file:///a", "python", 1, text, encoding=encoding)
    line0_end = text.index("\r\n")
    assert doc.offset_at(types.Position(0, 999)) == line0_end  # before the \r\n
    assert doc.offset_at(types.Position(1, 3)) == text.index("\rlast")  # before the lone \r
    assert doc.offset_at(types.Position(2, 99)) == len(text)
    assert doc.offset_at(types.Position(3, 0)) == len(text)  # line past the end
    assert doc.offset_at(types.Position(99, 5)) == len(text)
    assert doc.position_at(line0_end + 1) == doc.position_at(line0_end)  # inside \r\n
    assert doc.position_at(10_000) == types.Position(2, 4)
    assert doc.position_at(-1) == types.Position(0, 0)
    assert doc.line_text(3) == ""


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_empty_document(encoding: types.PositionEncodingKind) -> None:
    doc = Document("file:///a", "python", 0, "", encoding=encoding)
    assert doc.line_count == 1
    assert doc.line_text(0) == ""
    assert doc.offset_at(types.Position(0, 0)) == 0
    assert doc.offset_at(types.Position(5, 5)) == 0
    assert doc.position_at(0) == types.Position(0, 0)
    assert doc.prefix_suffix(types.Position(0, 3)) == ("", "")
    doc.apply_change(change(0, 0, 0, 0, "hi\r\n"))
    assert (doc.text, doc.line_count) == ("hi\r\n", 2)


def test_range_prefix_suffix_and_reversed_range() -> None:
    doc = Document("file:///a", "python", 1, f"x = {THUMB}\ny = 2", encoding=UTF16)
    rng = types.Range(types.Position(0, 4), types.Position(1, 1))
    assert doc.range_to_offsets(rng) == (4, 8)
    assert doc.range_to_offsets(types.Range(rng.end, rng.start)) == (4, 8)
    assert doc.prefix_suffix(types.Position(0, 8)) == (f"x = {THUMB}", "\ny = 2")


def test_edits_that_join_and_part_crlf_keep_lines_right() -> None:
    doc = Document("file:///a", "python", 1, "a\rb\nc")
    doc.apply_change(change(0, 1, 1, 0, "\r\n"))  # replace the lone \r with \r\n
    assert lines_of(doc) == ["a", "b", "c"]
    doc.apply_change(change(1, 1, 1, 1, "\r"))  # b\r\n: the \r joins the \n
    assert doc.text == "a\r\nb\r\nc"
    assert doc.line_count == 3
    doc.apply_change(change(1, 1, 2, 0, "\rX\n"))  # parts them again around an X
    assert lines_of(doc) == ["a", "b", "X", "c"]
    doc.apply_change(change(2, 0, 2, 1, ""))  # deleting X joins \r and \n into one terminator
    assert lines_of(doc) == ["a", "b", "c"]


def test_documents_module_does_not_import_pygls() -> None:
    code = "import sys, ai_lsp.documents; print('pygls' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# -- random edits against the reference, in every encoding --

PIECES = ["a", "b", " ", "\t", "é", E_ACUTE, "漢字", THUMB, FAMILY, "\u200d", "\x0c", "\u2028"]
PIECES += ["\x85", "\r", "\n", "\r\n"]
texts = st.lists(st.sampled_from(PIECES), max_size=25).map("".join)
# Long enough that line starts are computed in several steps (Document computes 512 at a time).
long_texts = st.tuples(texts, st.integers(600, 900)).map(lambda t: (t[0] + "\r\n") * t[1])


@st.composite
def line_point(draw: st.DrawFn, spans: list[tuple[int, int]]) -> int:
    """A code-point offset a client can address: a line and a column within its content."""
    start, end = draw(st.sampled_from(spans))
    return draw(st.integers(start, end))


def reference_line_of(spans: list[tuple[int, int]], offset: int) -> int:
    return max(i for i, (start, _) in enumerate(spans) if start <= offset)


def check_random_edits(
    encoding: types.PositionEncodingKind, initial: str, data: st.DataObject, steps: int
) -> None:
    """Apply random client edits to a Document and to a plain string; they must agree."""
    doc = Document("file:///r", "text", 0, initial, encoding=encoding)
    expected, spans = initial, reference_lines(initial)
    for _ in range(data.draw(st.integers(1, steps), label="steps")):
        a, b = sorted(data.draw(st.tuples(line_point(spans), line_point(spans)), label="range"))
        inserted = data.draw(texts, label="inserted")
        before, expected = expected, expected[:a] + inserted + expected[b:]
        kind = data.draw(st.sampled_from(["partial"] * 8 + ["whole", "new"]), label="kind")
        change: types.TextDocumentContentChangeEvent
        if kind == "partial":
            rng = types.Range(
                client_position(before, a, encoding), client_position(before, b, encoding)
            )
            change = types.TextDocumentContentChangePartial(range=rng, text=inserted)
        else:
            expected = inserted if kind == "new" else expected
            change = types.TextDocumentContentChangeWholeDocument(text=expected)
        done = doc.apply_change(change)
        assert doc.text == expected
        spans = reference_lines(expected)
        assert doc.line_count == len(spans)
        assert [doc.line_text(i) for i in range(len(spans))] == [expected[s:e] for s, e in spans]
        old_end = done.start + len(done.old_text)
        assert before[: done.start] + done.new_text + before[old_end:] == expected
        assert before[done.start : old_end] == done.old_text
        assert done.old_text[:1] != done.new_text[:1] or not done.old_text
        assert done.start_line == reference_line_of(spans, done.start)
        probe = data.draw(line_point(spans), label="probe")
        assert doc.position_at(probe) == client_position(expected, probe, encoding)
        assert doc.offset_at(client_position(expected, probe, encoding)) == probe


@pytest.mark.parametrize("encoding", ENCODINGS)
@settings(max_examples=100, deadline=None)
@given(initial=texts, data=st.data())
def test_random_edits_match_the_reference(
    encoding: types.PositionEncodingKind, initial: str, data: st.DataObject
) -> None:
    check_random_edits(encoding, initial, data, steps=12)


@pytest.mark.parametrize("encoding", ENCODINGS)
@settings(max_examples=8, deadline=None)
@given(initial=long_texts, data=st.data())
def test_random_edits_in_a_long_document_match_the_reference(
    encoding: types.PositionEncodingKind, initial: str, data: st.DataObject
) -> None:
    check_random_edits(encoding, initial, data, steps=6)


@given(
    shared=st.tuples(st.text("ab\r\n", max_size=9000), st.text("ab\r\n", max_size=9000)),
    middles=st.tuples(st.text("abc\r\n", max_size=6), st.text("abc\r\n", max_size=6)),
)
def test_common_affixes_agree_with_a_character_loop(
    shared: tuple[str, str], middles: tuple[str, str]
) -> None:
    old, new = shared[0] + middles[0] + shared[1], shared[0] + middles[1] + shared[1]
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    assert common_affixes(old, new) == (prefix, suffix)


# -- the store --


def store_with(text: str, uri: str = "file:///s.py") -> DocumentStore:
    store = DocumentStore()
    store.open(uri, "python", 1, text)
    return store


def type_text(store: DocumentStore, uri: str, line: int, column: int, text: str) -> None:
    doc = store.get(uri)
    assert doc is not None
    for i, char in enumerate(text):
        store.change(uri, doc.version + 1, [change(line, column + i, line, column + i, char)])


def test_open_get_iterate_close() -> None:
    store = store_with("x")
    store.open("file:///t.py", "python", 3, "y")
    assert store.uris() == ["file:///s.py", "file:///t.py"]
    assert [doc.text for doc in store] == ["x", "y"]
    assert "file:///t.py" in store
    assert len(store) == 2
    store.close("file:///s.py")
    assert store.get("file:///s.py") is None
    assert store.uris() == ["file:///t.py"]
    store.close("file:///never-opened.py")


def test_change_to_unknown_uri_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    store = store_with("x")
    with caplog.at_level(logging.WARNING, logger="ai_lsp.documents"):
        assert store.change("file:///other.py", 2, [change(0, 0, 0, 0, "y")]) is None
    assert "file:///other.py" in caplog.text
    assert store.recent_edits() == []


def test_version_going_back_is_accepted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    store = store_with("x")
    store.change("file:///s.py", 5, [change(0, 1, 0, 1, "y")])
    with caplog.at_level(logging.DEBUG, logger="ai_lsp.documents"):
        doc = store.change("file:///s.py", 2, [change(0, 2, 0, 2, "z")])
    assert doc is not None
    assert (doc.version, doc.text) == (2, "xyz")
    assert "went back" in caplog.text


def test_changes_in_one_notification_apply_in_order() -> None:
    store = store_with("abc\ndef")
    store.change("file:///s.py", 2, [change(0, 0, 0, 3, "X\nY"), change(1, 1, 2, 1, "")])
    doc = store.get("file:///s.py")
    assert doc is not None
    assert doc.text == "X\nYef"


def test_encoding_is_negotiated_at_initialize_and_reaches_open_documents() -> None:
    store = store_with(f"{THUMB}x")
    store.encoding = "utf-8"
    doc = store.get("file:///s.py")
    assert doc is not None
    assert doc.offset_at(types.Position(0, 8)) == 2
    assert store.open("file:///t.py", "python", 1, THUMB).encoding == UTF8
    with pytest.raises(ValueError, match="'utf-7'; expected one of utf-8, utf-16, utf-32"):
        store.encoding = "utf-7"
    store.encoding = types.PositionEncodingKind.Utf32
    assert doc.offset_at(types.Position(0, 2)) == 2


def test_typing_coalesces_into_one_edit() -> None:
    store = store_with("def f():\n    pass\n")
    type_text(store, "file:///s.py", 1, 4, "return 1  # ")
    [edit] = store.recent_edits()
    assert (edit.start_line, edit.old_text, edit.new_text) == (1, "", "return 1  # ")
    for column in range(16, 13, -1):  # three backspaces
        store.change("file:///s.py", 99, [change(1, column - 1, 1, column, "")])
    [edit] = store.recent_edits()
    assert edit.new_text == "return 1 "
    assert edit.version == 99


def test_typing_elsewhere_or_a_newline_starts_a_new_edit() -> None:
    store = store_with("a = 1\nb = 2\n")
    type_text(store, "file:///s.py", 0, 5, "0")
    type_text(store, "file:///s.py", 1, 0, "#")
    type_text(store, "file:///s.py", 1, 1, "\n")
    type_text(store, "file:///s.py", 2, 0, "c")
    assert [(e.start_line, e.old_text, e.new_text) for e in store.recent_edits()] == [
        (0, "", "0"),
        (1, "", "#"),
        (1, "", "\n"),
        (2, "", "c"),
    ]


def test_backspacing_over_old_text_grows_the_old_side() -> None:
    store = store_with("value = compute()\n")
    for column in range(17, 8, -1):
        store.change("file:///s.py", 2, [change(0, column - 1, 0, column, "")])
    type_text(store, "file:///s.py", 0, 8, "fetch()")
    [edit] = store.recent_edits()
    assert (edit.old_text, edit.new_text) == ("compute", "fetch")


def test_typed_then_deleted_leaves_no_edit() -> None:
    store = store_with("x\n")
    type_text(store, "file:///s.py", 0, 1, "y")
    store.change("file:///s.py", 3, [change(0, 1, 0, 2, "")])
    assert store.recent_edits() == []


def test_whole_document_sync_records_only_what_changed() -> None:
    store = store_with("one\ntwo\nthree\n")
    store.change(
        "file:///s.py", 2, [types.TextDocumentContentChangeWholeDocument("one\nTWO\nthree\n")]
    )
    [edit] = store.recent_edits()
    assert (edit.start_line, edit.old_text, edit.new_text) == (1, "two", "TWO")


def test_history_is_bounded_filtered_and_truncated() -> None:
    store = store_with("")
    store.open("file:///t.py", "python", 1, "")
    for i in range(MAX_EDITS + 20):
        uri = "file:///s.py" if i % 2 else "file:///t.py"
        store.change(uri, i + 2, [change(0, 0, 0, 0, f"{i}\n")])
    edits = store.recent_edits(limit=1000)
    assert len(edits) == MAX_EDITS
    assert edits[-1].new_text == f"{MAX_EDITS + 19}\n"
    assert [e.time for e in edits] == sorted(e.time for e in edits)
    mine = store.recent_edits(limit=3, uri="file:///t.py")
    assert [e.new_text for e in mine] == [
        f"{i}\n" for i in range(MAX_EDITS + 14, MAX_EDITS + 20, 2)
    ]
    store.change("file:///t.py", 999, [change(0, 0, 0, 0, "x" * (MAX_EDIT_CHARS + 1))])
    big = store.recent_edits(limit=1)[0]
    assert big.truncated
    assert len(big.new_text) == MAX_EDIT_CHARS


def test_snapshot_is_immutable_and_goes_stale_when_the_document_changes() -> None:
    store = store_with(f"x = {THUMB}1\n")
    snapshot = store.snapshot("file:///s.py", types.Position(0, 99))
    assert snapshot is not None
    assert (snapshot.uri, snapshot.version, snapshot.language_id) == ("file:///s.py", 1, "python")
    assert (snapshot.offset, snapshot.position) == (7, types.Position(0, 9))
    assert (snapshot.prefix, snapshot.suffix) == (f"x = {THUMB}1", "\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.offset = 0  # type: ignore[misc]
    assert store.is_current(snapshot)
    store.change("file:///s.py", 2, [change(0, 0, 0, 0, "#")])
    assert not store.is_current(snapshot)
    assert snapshot.text == f"x = {THUMB}1\n"
    assert store.snapshot("file:///missing.py", types.Position(0, 0)) is None
