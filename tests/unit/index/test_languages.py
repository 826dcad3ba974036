"""Language ids from file names and lazily loaded tree-sitter grammars."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ai_lsp.index.languages import GRAMMAR_LANGUAGES, language_for_path, load_language, parse


@pytest.mark.parametrize(
    ("path", "first_line", "language"),
    [
        ("src/app.py", "", "python"),
        ("types.pyi", "", "python"),
        ("web/App.TSX", "", "tsx"),
        ("web/index.mjs", "", "javascript"),
        ("lib/api.ts", "", "typescript"),
        ("main.go", "", "go"),
        ("src/lib.rs", "", "rust"),
        ("Main.java", "", "java"),
        ("include/buf.h", "", "c"),
        ("src/geo.hpp", "", "cpp"),
        ("Rakefile", "", "ruby"),
        ("init.lua", "", "lua"),
        ("Makefile", "", "make"),
        ("docs/guide.md", "", "markdown"),
        ("config.yaml", "", "yaml"),
        ("bin/deploy", "#!/usr/bin/env bash", "bash"),
        ("bin/tool", "#!/usr/bin/env -S python3 -u", "python"),
        ("bin/run", "#!/usr/bin/python3.11", "python"),
        ("bin/unknown", "#!/usr/bin/env perl", None),
        ("data.unknownext", "", None),
        (".env", "", None),
    ],
)
def test_language_for_path(path: str, first_line: str, language: str | None) -> None:
    assert language_for_path(path, first_line) == language


@pytest.mark.parametrize("language", sorted(GRAMMAR_LANGUAGES))
def test_every_grammar_loads_and_parses(language: str) -> None:
    tree = parse("x", language)

    assert load_language(language) is not None
    assert tree is not None
    assert tree.root_node.end_byte == 1


def test_parse_gives_a_tree_the_completions_can_inspect() -> None:
    tree = parse("def f(:\n    return 1\n", "python")

    assert tree is not None
    assert tree.root_node.has_error
    assert parse("plain words", "text") is None


def test_importing_the_index_modules_loads_no_grammar() -> None:
    code = (
        "import sys, ai_lsp.index.languages, ai_lsp.index.ignore, ai_lsp.index.tokens\n"
        "print(sorted(m for m in sys.modules if m.startswith('tree_sitter')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
