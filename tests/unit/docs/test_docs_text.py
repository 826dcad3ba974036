"""Sections by heading path, reStructuredText titles, page titles."""

from __future__ import annotations

from ai_lsp.index.docs import DocPage, sections_of
from ai_lsp.index.docs_text import markdown_title, rst_to_markdown


def page(text: str) -> DocPage:
    return DocPage("src", "https://x.example/p", "Page", text)


def test_sections_carry_their_heading_path() -> None:
    text = (
        "Intro text.\n\n# Guide\n\n## Install\n\nRun it.\n\n```sh\n# a comment, not a heading\n"
        "pip install x\n```\n\n### Windows\n\nUse py.\n\n## Usage\n\nCall it.\n"
    )

    sections = [(s.heading, s.text) for s in sections_of(page(text))]

    assert sections == [
        ((), "Intro text."),
        (("Guide", "Install"), "Run it.\n\n```sh\n# a comment, not a heading\npip install x\n```"),
        (("Guide", "Install", "Windows"), "Use py."),
        (("Guide", "Usage"), "Call it."),
    ]


def test_setext_headings_and_front_matter() -> None:
    text = "---\ntitle: Front\n---\nTop\n===\n\nbody\n\nSub\n---\n\nmore\n"

    assert [(s.heading, s.text) for s in sections_of(page(text))] == [
        (("Top",), "body"),
        (("Top", "Sub"), "more"),
    ]
    assert markdown_title(text, "fallback") == "Front"


def test_long_sections_are_split_between_blocks_not_inside_code() -> None:
    code = "```py\n" + "\n\n".join(f"line_{n} = {n}" for n in range(20)) + "\n```"
    text = "# Big\n\n" + "\n\n".join(["word " * 30] * 6) + "\n\n" + code

    pieces = [s.text for s in sections_of(page(text), max_chars=400)]

    assert len(pieces) > 3
    assert all(s for s in pieces)
    assert any(code in piece for piece in pieces)
    assert all(len(piece) <= 400 for piece in pieces)
    assert all(p.count("```") in (0, 2) for p in pieces)


def test_titles() -> None:
    assert markdown_title("intro\n\n## Second\n\n# First\n", "f") == "First"
    assert markdown_title("## Only\n", "f") == "Only"
    assert markdown_title("plain text", "fallback") == "fallback"


def test_rst_titles_become_markdown_headings_by_order_of_appearance() -> None:
    rst = (
        "=====\nTitle\n=====\n\nIntro.\n\nSection\n-------\n\nText.\n\n"
        "Sub\n~~~\n\nMore.\n\nOther\n-------\n\n    indented\n    ----------\n"
    )

    assert rst_to_markdown(rst) == (
        "# Title\n\nIntro.\n\n## Section\n\nText.\n\n### Sub\n\nMore.\n\n## Other\n\n"
        "    indented\n    ----------"
    )
