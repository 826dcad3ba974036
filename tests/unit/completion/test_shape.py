"""Single- or multi-line decisions, indentation, and the incremental parse cache."""

from __future__ import annotations

import random

import pytest

from ai_lsp.completion.shape import ShapeDecider, grammar_for, indent_unit_of
from ai_lsp.index.languages import parse


def decide(source: str, language: str = "python") -> str:
    offset = source.index("|")
    text = source.replace("|", "", 1)
    return ShapeDecider().decide("file:///x", text, offset, language).describe()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x):\n    |\n", "multi-line: empty line"),
        ("def f(x):|\n", "multi-line: line opens a block"),
        ("x = foo(a)|\n", "multi-line: end of a statement"),
        ("x = compute_to|\n", "single-line: middle of an expression"),
        ("return a +|\n", "single-line: middle of an expression"),
        ("print(|)\n", "single-line: middle of a line"),
        ("# a comment about |\n", "single-line: in a comment"),
        ('def f():\n    """Doc\n    |\n    """\n', "single-line: in a string"),
    ],
)
def test_python_shapes(source: str, expected: str) -> None:
    assert decide(source) == expected


@pytest.mark.parametrize(
    ("source", "language", "expected"),
    [
        ("function f() {|\n}\n", "javascript", "multi-line: line opens a block"),
        ("function f() {\n  |\n}\n", "javascript", "multi-line: empty line"),
        ("const s = `tmpl |`;\n", "javascript", "single-line: middle of a line"),
        ("func f() {\n\t// explain |\n}\n", "go", "single-line: in a comment"),
        ("fn main() {\n    let x = 1;|\n}\n", "rust", "multi-line: end of a statement"),
    ],
)
def test_brace_language_shapes(source: str, language: str, expected: str) -> None:
    assert decide(source, language) == expected


def test_unknown_languages_fall_back_to_the_line() -> None:
    assert decide("some text|\n", "plaintext") == "single-line: middle of an expression"
    assert decide("\n|\n", "plaintext") == "multi-line: empty line"


def test_language_ids_map_to_grammars() -> None:
    assert grammar_for("typescriptreact", "a.tsx") == "tsx"
    assert grammar_for("", "src/a.rs") == "rust"


def test_indentation_unit_is_found() -> None:
    assert indent_unit_of("if x:\n  y\n  if z:\n    w\n") == "  "
    assert indent_unit_of("if x:\n\ty\n") == "\t"
    assert indent_unit_of("x = 1\n") is None


def test_incremental_parses_match_full_parses() -> None:
    rng = random.Random(7)
    text = "".join(f"def f{i}(a, b):\n    return a + b  # 🙂 {i}\n\n" for i in range(60))
    decider = ShapeDecider()
    for _ in range(40):
        start = rng.randrange(len(text))
        end = min(len(text), start + rng.randrange(8))
        text = text[:start] + rng.choice(["", "x", "é(", "\n    pass\n", ":"]) + text[end:]
        line_end = text.find("\n", rng.randrange(len(text) + 1))  # line ends need a parse
        decider.decide("file:///x", text, len(text) if line_end == -1 else line_end, "python")
        cached = decider._parsed["file:///x"].tree
        full = parse(text, "python")
        assert full is not None
        assert str(cached.root_node) == str(full.root_node)
