"""Chunking: definitions per language, outlines, long and tiny pieces, markdown, fallbacks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from textwrap import dedent

import pytest

from ai_lsp.index.chunker import MAX_CHARS, Chunk, chunk_file
from tests.unit.index.samples import PYTHON, SAMPLES, Expected


def _summary(chunks: list[Chunk]) -> Expected:
    return [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks]


def _covered_lines(text: str, chunks: list[Chunk]) -> set[int]:
    """1-based lines whose text appears, in order, inside a chunk spanning them."""
    lines = text.split("\n")
    covered: set[int] = set()
    for chunk in chunks:
        row = chunk.start_line - 1
        for chunk_line in chunk.text.split("\n"):
            while row < chunk.end_line and lines[row] != chunk_line:
                row += 1
            assert row < chunk.end_line, f"{chunk.symbol}: {chunk_line!r} not in its line range"
            covered.add(row + 1)
            row += 1
    return covered


def _assert_covers(text: str, chunks: list[Chunk]) -> None:
    non_blank = {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}
    missing = non_blank - _covered_lines(text, chunks)
    assert not missing, f"lines lost: {sorted(missing)}"


@pytest.mark.parametrize(
    ("path", "language", "source", "expected"), SAMPLES, ids=[s[1] for s in SAMPLES]
)
def test_each_language_yields_its_definitions(
    path: str, language: str, source: str, expected: Expected
) -> None:
    chunks = chunk_file(path, source, language)

    assert _summary(chunks) == expected
    assert {c.language for c in chunks} == {language}
    assert {c.path for c in chunks} == {path}
    _assert_covers(source, chunks)


def test_plain_chunk_text_is_exactly_the_file_lines() -> None:
    chunks = chunk_file("billing/invoice.py", PYTHON, "python")
    load = next(c for c in chunks if c.symbol == "load")

    lines = PYTHON.split("\n")
    assert load.text == "\n".join(lines[load.start_line - 1 : load.end_line])


def test_class_outline_keeps_header_fields_small_members_and_signatures_only() -> None:
    outline = next(c for c in chunk_file("i.py", PYTHON, "python") if c.kind == "class")

    assert outline.text.startswith('class Invoice:\n    """An invoice with lines."""')
    assert 'currency = "EUR"' in outline.text
    assert "return len(self.lines)" in outline.text  # a 3-line property stays whole
    assert "def compute_total(self, discount" in outline.text
    assert "self.lines = lines" not in outline.text  # nor the first line of a body
    assert "total += Decimal" not in outline.text  # the body is in the method's chunk


def test_leading_comments_decorators_and_attributes_belong_to_the_definition() -> None:
    chunks = {
        (c.kind, c.symbol): c for lang in ("rust", "go", "python") for c in _sample_chunks(lang)
    }

    store = chunks["struct", "Store"].text
    assert store.startswith("/// A key-value store.\n#[derive(Debug, Default)]\npub struct")
    assert chunks["method", "Invoice.Total"].text.startswith("// Total sums the lines.\nfunc")
    assert chunks["class", "Invoice"].text.startswith("class Invoice:")


def test_only_comments_and_decorators_directly_above_belong_to_a_definition() -> None:
    source = dedent("""\
        LIMIT = 3  # a trailing comment, not documentation
        def compute(x):
            a = x
            b = a
            c = b
            return c

        # Section: helpers

        @functools.cache
        def helper(x):
            a = x
            b = a
            return b
        """)

    chunks = chunk_file("limits.py", source, "python")

    assert _summary(chunks) == [
        ("module", "", 1, 1),
        ("function", "compute", 2, 6),
        ("module", "", 8, 8),
        ("function", "helper", 10, 14),
    ]


def test_definitions_sharing_a_row_each_keep_their_chunk() -> None:
    source = dedent("""\
        class Pipeline {
          first(one,
                two,
                three,
                four,
                five) {} second() {
            six();
            seven();
            eight();
          }
        }
        function a() {
          one();
          two();
          three();
        } function b() {
          four();
          five();
          six();
        }
        """)

    chunks = chunk_file("pipeline.js", source, "javascript")

    assert _summary(chunks) == [
        ("class", "Pipeline", 1, 11),
        ("method", "Pipeline.first", 2, 6),
        ("method", "Pipeline.second", 6, 10),
        ("function", "a", 12, 16),
        ("function", "b", 16, 20),
    ]
    assert chunks[0].text.count("five) {} second() {") == 1
    _assert_covers(source, chunks)


def _sample_chunks(language: str) -> list[Chunk]:
    path, _, source, _ = next(s for s in SAMPLES if s[1] == language)
    return chunk_file(path, source, language)


def test_long_function_is_split_into_overlapping_windows_keeping_the_symbol() -> None:
    body = "".join(f"    total += {i}\n" for i in range(200))
    source = f"def big(total):\n{body}    return total\n"

    chunks = chunk_file("big.py", source, "python")

    assert len(chunks) >= 4
    assert {(c.kind, c.symbol) for c in chunks} == {("function", "big")}
    assert chunks[0].start_line == 1
    assert chunks[-1].end_line == 202
    assert all(c.end_line - c.start_line < 80 for c in chunks)
    for previous, following in pairwise(chunks):
        assert following.start_line <= previous.end_line  # windows overlap
    _assert_covers(source, chunks)


def test_tiny_functions_and_imports_are_merged_into_one_chunk() -> None:
    helpers = "".join(f"def get_{n}(x):\n    return x.{n}\n\n\n" for n in ("a", "b", "c", "d"))
    source = f"import os\nimport sys\n\n\n{helpers}"

    chunks = chunk_file("helpers.py", source, "python")

    assert _summary(chunks) == [("module", "get_a, get_b, get_c, get_d", 1, 18)]
    _assert_covers(source, chunks)


def test_merged_runs_stop_before_growing_past_the_merge_limit() -> None:
    source = "".join(f"def f{n}():\n    return {n}\n\n" for n in range(60))

    chunks = chunk_file("many.py", source, "python")

    assert len(chunks) > 1
    assert all(c.end_line - c.start_line < 40 for c in chunks)
    assert all(len(c.symbol) <= 210 for c in chunks)
    _assert_covers(source, chunks)


def test_syntax_errors_do_not_lose_the_rest_of_the_file() -> None:
    source = dedent("""\
        def broken(:
            return (

        class Fine:
            def method(self):
                a = 1
                b = 2
                return a + b
        """)

    chunks = chunk_file("broken.py", source, "python")

    assert chunks
    _assert_covers(source, chunks)


def test_a_file_the_parser_rejects_falls_back_to_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_parse(source: bytes, language: str) -> None:
        raise ValueError("parsing failed")

    monkeypatch.setattr("ai_lsp.index.chunker.parse", failing_parse)

    chunks = chunk_file("billing/invoice.py", PYTHON, "python")

    assert _summary(chunks) == [("window", "", 1, 36)]
    _assert_covers(PYTHON, chunks)


def test_markdown_is_chunked_by_headings() -> None:
    source = dedent("""\
        ---
        title: Guide
        ---
        Intro paragraph.

        # Install

        ```sh
        # not a heading
        pip install ai-lsp
        ```

        ## API

        ### parse()

        Parses text.

        Usage
        -----

        Call it.
        """)

    chunks = chunk_file("docs/guide.md", source, None)

    assert _summary(chunks) == [
        ("section", "", 1, 4),
        ("section", "Install", 6, 11),
        ("section", "parse()", 13, 17),  # the bare "## API" title is folded in
        ("section", "Usage", 19, 22),
    ]
    assert "pip install ai-lsp" in chunks[1].text
    _assert_covers(source, chunks)


def test_long_markdown_section_is_windowed_with_its_heading_as_symbol() -> None:
    source = "# Reference\n\n" + "".join(f"- item {n}\n" for n in range(150))

    chunks = chunk_file("REF.md", source, "markdown")

    assert len(chunks) > 1
    assert {(c.kind, c.symbol) for c in chunks} == {("section", "Reference")}
    _assert_covers(source, chunks)


def test_unknown_text_falls_back_to_overlapping_line_windows() -> None:
    source = "".join(f"line {n}\n" for n in range(1, 101))

    chunks = chunk_file("notes/data.log", source, None)

    assert _summary(chunks) == [
        ("window", "", 1, 40),
        ("window", "", 31, 70),
        ("window", "", 61, 100),
    ]
    assert {c.language for c in chunks} == {"text"}


def test_language_is_guessed_from_the_path_or_shebang_when_not_given() -> None:
    body = "".join(f"    {name} = 1\n" for name in "abcd")
    script = f"#!/usr/bin/env python3\n\ndef main():\n{body}"

    assert {c.language for c in chunk_file("src/app.py", PYTHON, None)} == {"python"}
    chunks = chunk_file("bin/tool", script, None)
    assert ("function", "main") in {(c.kind, c.symbol) for c in chunks}


def test_crlf_line_endings_do_not_leak_into_chunks() -> None:
    source = PYTHON.replace("\n", "\r\n")

    chunks = chunk_file("invoice.py", source, "python")

    assert _summary(chunks) == _summary(chunk_file("invoice.py", PYTHON, "python"))
    assert not any("\r" in c.text for c in chunks)


def test_a_huge_line_is_cut_so_no_chunk_exceeds_the_size_cap() -> None:
    source = "DATA = [" + "1, " * 10_000 + "]\n\ndef after():\n    return DATA\n"

    chunks = chunk_file("data.py", source, "python")

    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert "".join(c.text for c in chunks).count("1, ") >= 10_000


def test_blank_and_empty_files_give_no_chunks() -> None:
    assert chunk_file("empty.py", "", "python") == []
    assert chunk_file("blank.txt", "\n\n  \n", None) == []


def test_content_hash_follows_the_text_only() -> None:
    first = chunk_file("a.py", PYTHON, "python")
    moved = chunk_file("moved/b.py", PYTHON, "python")
    edited = chunk_file("a.py", PYTHON.replace("json.load", "json.loads"), "python")

    assert [c.content_hash for c in first] == [c.content_hash for c in moved]
    changed = {
        c.symbol for c, e in zip(first, edited, strict=True) if c.content_hash != e.content_hash
    }
    assert changed == {"load"}


def test_chunking_from_several_threads_gives_the_same_chunks() -> None:
    def chunk_all(_: int) -> list[list[Chunk]]:
        return [chunk_file(path, source, language) for path, language, source, _ in SAMPLES]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(chunk_all, range(16)))

    assert all(result == results[0] for result in results)
    assert [_summary(chunks) for chunks in results[0]] == [s[3] for s in SAMPLES]
