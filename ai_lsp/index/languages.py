"""Language ids from file names, and lazily loaded tree-sitter grammars and parsers.

Grammar modules are imported on first use only, so importing ai_lsp stays fast.
"""

from __future__ import annotations

import functools
import importlib
import threading
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

__all__ = [
    "GRAMMAR_LANGUAGES",
    "language_for_path",
    "load_language",
    "parse",
]

# language id -> (grammar module, function returning the TSLanguage pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "lua": ("tree_sitter_lua", "language"),
    "bash": ("tree_sitter_bash", "language"),
}
GRAMMAR_LANGUAGES: frozenset[str] = frozenset(_GRAMMARS)

_BY_SUFFIX: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".ipp": "cpp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".json": "json",
    ".jsonc": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".xml": "xml",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "scss",
    ".sql": "sql",
    ".kt": "kotlin",
    ".swift": "swift",
    ".cs": "csharp",
    ".php": "php",
    ".scala": "scala",
    ".ex": "elixir",
    ".exs": "elixir",
    ".hs": "haskell",
    ".vue": "vue",
    ".svelte": "svelte",
    ".proto": "protobuf",
    ".graphql": "graphql",
    ".tf": "terraform",
    ".cmake": "cmake",
    ".el": "elisp",
    ".vim": "vim",
}

_BY_NAME: dict[str, str] = {
    "Makefile": "make",
    "GNUmakefile": "make",
    "Dockerfile": "dockerfile",
    "CMakeLists.txt": "cmake",
    "Gemfile": "ruby",
    "Rakefile": "ruby",
    "Vagrantfile": "ruby",
    ".bashrc": "bash",
    ".bash_profile": "bash",
    ".zshrc": "bash",
    ".profile": "bash",
}

_BY_INTERPRETER: dict[str, str] = {
    "python": "python",
    "python3": "python",
    "node": "javascript",
    "bash": "bash",
    "sh": "bash",
    "zsh": "bash",
    "ruby": "ruby",
    "lua": "lua",
}

_local = threading.local()  # tree_sitter.Parser is not thread-safe: one per thread and language


def language_for_path(path: str | PurePath, first_line: str = "") -> str | None:
    """The language id for a file name, or from a ``#!`` line when the name says nothing."""
    name = PurePath(path).name
    if name in _BY_NAME:
        return _BY_NAME[name]
    dot = name.rfind(".")
    if dot > 0 and (language := _BY_SUFFIX.get(name[dot:].lower())) is not None:
        return language
    if first_line.startswith("#!"):
        words = first_line[2:].split()
        if words and words[0].endswith("/env"):
            words = [word for word in words[1:] if not word.startswith("-")]
        if words:
            return _BY_INTERPRETER.get(words[0].rsplit("/", 1)[-1].rstrip("0123456789."))
    return None


@functools.cache
def load_language(language: str) -> tree_sitter.Language | None:
    """The tree-sitter grammar for a language id, imported on first use; None if unavailable."""
    import tree_sitter

    spec = _GRAMMARS.get(language)
    if spec is None:
        return None
    module_name, function = spec
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return tree_sitter.Language(getattr(module, function)())


def parse(text: str | bytes, language: str) -> tree_sitter.Tree | None:
    """Parse source text with the grammar for ``language`` (None when there is none)."""
    import tree_sitter

    parsers: dict[str, tree_sitter.Parser] = _local.__dict__.setdefault("parsers", {})
    parser = parsers.get(language)
    if parser is None:
        grammar = load_language(language)
        if grammar is None:
            return None
        parser = parsers[language] = tree_sitter.Parser(grammar)
    source = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return parser.parse(source)
