"""Which AI edits are offered at a range, and which lines each one rewrites."""

from __future__ import annotations

from ai_lsp.edits.offers import MAX_DEFINITION_ROWS, Problem, offers, region_for

PYTHON = """\
import os


class Store:
    \"\"\"Items on the shelves.\"\"\"

    def count(self):
        return len(self.items)

    def path(self):
        \"\"\"Where the store keeps its data.\"\"\"
        return os.path.join(self.root, "store.db")


def load(name):
    # ai: read the file with a context manager
    data = open(name).read()
    return data
"""
RUST = """\
/// Adds one.
fn inc(x: i32) -> i32 {
    x + 1
}

fn dec(x: i32) -> i32 {
    x - 1
}
"""


def at(text: str, row: int, column: int = 0) -> int:
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:row]) + column


def rows(text: str, start: int, end: int) -> tuple[int, int]:
    """First and last row of `start..end` (whole lines)."""
    return text.count("\n", 0, start), text.count("\n", 0, end) - 1


def test_a_fix_rewrites_the_method_holding_the_problem() -> None:
    problem = Problem(
        'Cannot access attribute "items"', 7, 7, "pyright", "reportAttributeAccessIssue"
    )
    cursor = at(PYTHON, 7, 8)
    [fix, *_] = offers(PYTHON, "python", "store.py", cursor, cursor, [problem])
    assert fix.kind == "fix"
    assert rows(PYTHON, fix.start, fix.end) == (6, 7)
    assert PYTHON[fix.start : fix.end] == "    def count(self):\n        return len(self.items)\n"
    assert "line 8: [pyright reportAttributeAccessIssue]" in fix.instruction
    assert fix.problems == (problem,)


def test_a_fix_in_a_long_function_rewrites_only_the_rows_around_the_problem() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_DEFINITION_ROWS + 10))
    text = f"def long():\n{body}    return x0\n"
    problem = Problem("bad", 80, 80)
    [fix] = offers(text, "python", "long.py", at(text, 80), at(text, 80), [problem])
    assert rows(text, fix.start, fix.end) == (72, 88)


def test_docstring_is_offered_only_on_the_header_of_an_undocumented_definition() -> None:
    def titles(row: int) -> list[str]:
        cursor = at(PYTHON, row, 4)
        return [o.title for o in offers(PYTHON, "python", "store.py", cursor, cursor)]

    assert titles(6) == ["AI: Add docstring to count"]
    assert titles(7) == ["AI: Add docstring to count"], "the first body line still counts"
    assert titles(9) == [], "path has a docstring"
    assert titles(3) == [], "the class has one too"
    assert titles(0) == [], "not inside a definition"


def test_docstring_rewrites_the_whole_definition_and_says_what_to_add() -> None:
    cursor = at(PYTHON, 6, 4)
    [doc] = offers(PYTHON, "python", "store.py", cursor, cursor)
    assert PYTHON[doc.start : doc.end].startswith("    def count(self):")
    assert "docstring" in doc.instruction
    assert "`count`" in doc.instruction


def test_doc_comments_above_count_as_documentation_in_other_languages() -> None:
    def titles(row: int) -> list[str]:
        cursor = at(RUST, row, 3)
        return [o.title for o in offers(RUST, "rust", "lib.rs", cursor, cursor)]

    assert titles(1) == []
    assert titles(5) == ["AI: Add doc comment to dec"]


def test_an_ai_comment_becomes_an_instruction_over_its_function() -> None:
    cursor = at(PYTHON, 15, 6)
    found = offers(PYTHON, "python", "store.py", cursor, cursor)
    instruction = next(o for o in found if o.kind == "instruction")
    assert instruction.title == "AI: read the file with a context manager"
    assert rows(PYTHON, instruction.start, instruction.end) == (14, 17)
    assert "remove that comment" in instruction.instruction


def test_an_ai_comment_in_a_multi_line_selection_rewrites_the_selection() -> None:
    start, end = at(PYTHON, 15), at(PYTHON, 17)
    found = offers(PYTHON, "python", "store.py", start, end)
    instruction = next(o for o in found if o.kind == "instruction")
    assert rows(PYTHON, instruction.start, instruction.end) == (15, 16)


def test_other_comment_styles_and_plain_text_without_a_grammar() -> None:
    text = "intro\n// AI: translate to French\nhello world\nbye\n\nlast\n"
    [found] = offers(text, "plaintext", "notes.txt", at(text, 1), at(text, 1))
    assert found.title == "AI: translate to French"
    assert rows(text, found.start, found.end) == (1, 3), "the comment's paragraph"


def test_region_for_an_empty_range_is_the_definition_else_the_selected_lines() -> None:
    cursor = at(PYTHON, 16, 5)
    around = region_for(PYTHON, "python", "store.py", cursor, cursor)
    assert (around.first, around.last) == (14, 17)
    selected = region_for(PYTHON, "python", "store.py", at(PYTHON, 15, 2), at(PYTHON, 16, 3))
    assert (selected.first, selected.last) == (15, 16)
