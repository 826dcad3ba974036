"""Single-line or multi-line, from the cursor's line and its tree-sitter parse; trees are
cached per document and re-parsed incrementally (`Tree.edit` with the change since the last).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ai_lsp.index.languages import language_for_path, load_language
from ai_lsp.text import common_affixes

if TYPE_CHECKING:
    import tree_sitter

_LSP_LANGUAGES = {
    "typescriptreact": "tsx",
    "javascriptreact": "javascript",
    "shellscript": "bash",
    "sh": "bash",
    "zsh": "bash",
    "c++": "cpp",
}
_BLOCK_OPENERS = re.compile(r"(?:[:{(\[,]|(?:=>|\bdo|\bthen|\belse)\s*)$")
_CACHED_TREES = 8
_INDENT_SAMPLE_LINES = 400


@dataclass(frozen=True, slots=True)
class Shape:
    """How much text a suggestion at the cursor may have, and the file's indentation."""

    multiline: bool
    reason: str
    indent_unit: str | None = None

    def describe(self) -> str:
        return f"{'multi' if self.multiline else 'single'}-line: {self.reason}"


@dataclass(slots=True)
class _Parsed:
    language: str
    text: str
    data: bytes
    tree: tree_sitter.Tree
    indent_unit: str | None


def grammar_for(language_id: str, path: str) -> str | None:
    """The tree-sitter language of a document from its LSP language id, else its name."""
    return _LSP_LANGUAGES.get(language_id, language_id) if language_id else language_for_path(path)


def indent_unit_of(text: str) -> str | None:
    """`"\\t"` or the commonest step of space indentation among the first indented lines."""
    steps: Counter[str] = Counter()
    previous = 0
    for line in text.split("\n", _INDENT_SAMPLE_LINES)[:_INDENT_SAMPLE_LINES]:
        if not line.strip():
            continue
        if line.startswith("\t"):
            steps["\t"] += 1
            continue
        width = len(line) - len(line.lstrip(" "))
        if width > previous:
            steps[" " * (width - previous)] += 1
        previous = width
    return steps.most_common(1)[0][0] if steps else None


class ShapeDecider:
    """Decides the shape of a suggestion; call from a worker thread (it parses)."""

    def __init__(self) -> None:
        self._parsed: OrderedDict[str, _Parsed] = OrderedDict()
        self._parsers: dict[str, tree_sitter.Parser] = {}
        self._lock = threading.Lock()

    def decide(self, uri: str, text: str, offset: int, language: str | None) -> Shape:
        """The shape for the cursor at code point `offset` of `text`."""
        line_start = text.rfind("\n", 0, offset) + 1
        line_end = text.find("\n", offset)
        line_prefix = text[line_start:offset]
        line_suffix = text[offset : len(text) if line_end == -1 else line_end].rstrip("\r")
        if line_suffix.strip():  # no parse needed: the rest of the line is all there is to fill
            with self._lock:
                known = self._parsed.get(uri)
            indent = known.indent_unit if known is not None else indent_unit_of(text)
            return Shape(False, "middle of a line", indent)
        parsed = self._parse(uri, text, language) if language else None
        indent = parsed.indent_unit if parsed is not None else indent_unit_of(text)
        if parsed is not None:
            where = self._inside_comment_or_string(parsed, text, offset, line_start)
            if where is not None:
                return Shape(False, f"in a {where}", indent)
        if not line_prefix.strip():
            return Shape(True, "empty line", indent)
        if _BLOCK_OPENERS.search(line_prefix):
            return Shape(True, "line opens a block", indent)
        code_start = line_start + len(line_prefix) - len(line_prefix.lstrip())
        if re.search(r"[\w.]$", line_prefix) or (
            parsed is not None and self._broken(parsed, text, offset, code_start)
        ):
            return Shape(False, "middle of an expression", indent)
        return Shape(True, "end of a statement", indent)

    def _inside_comment_or_string(
        self, parsed: _Parsed, text: str, offset: int, line_start: int
    ) -> str | None:
        cursor = _byte_offset(text, offset)
        if cursor == 0:
            return None
        node = parsed.tree.root_node.descendant_for_byte_range(cursor - 1, cursor - 1)
        line_start_byte = _byte_offset(text, line_start)
        while node is not None:
            kind = node.type
            if "comment" in kind and node.end_byte >= cursor:
                return "comment"
            if (
                "string" in kind
                and node.start_byte < cursor
                and (node.end_byte > cursor or node.has_error or node.is_missing)
            ):
                return "string"
            if node.start_byte < line_start_byte:
                break  # reached nodes that begin on earlier lines: no longer the cursor's token
            node = node.parent
        return None

    def _broken(self, parsed: _Parsed, text: str, offset: int, code_start: int) -> bool:
        """Whether the code on the cursor's line does not parse (an unfinished expression)."""
        start, cursor = _byte_offset(text, code_start), _byte_offset(text, offset)
        node = parsed.tree.root_node.descendant_for_byte_range(start, max(cursor - 1, start))
        return node is not None and (node.has_error or node.is_error or node.is_missing)

    def _parse(self, uri: str, text: str, language: str) -> _Parsed | None:
        with self._lock:
            parser = self._parser(language)
            if parser is None:
                return None
            cached = self._parsed.get(uri)
            if cached is not None and cached.language == language and cached.text is text:
                self._parsed.move_to_end(uri)
                return cached
            data = text.encode("utf-8", "surrogatepass")
            if cached is not None and cached.language == language:
                old = cached.tree.copy()
                _apply_edit(old, cached.text, text)
                tree = parser.parse(data, old)
                indent = cached.indent_unit
            else:
                tree = parser.parse(data)
                indent = indent_unit_of(text)
            parsed = _Parsed(language, text, data, tree, indent)
            self._parsed[uri] = parsed
            self._parsed.move_to_end(uri)
            while len(self._parsed) > _CACHED_TREES:
                self._parsed.popitem(last=False)
            return parsed

    def _parser(self, language: str) -> tree_sitter.Parser | None:
        parser = self._parsers.get(language)
        if parser is None:
            grammar = load_language(language)
            if grammar is None:
                return None
            import tree_sitter

            parser = self._parsers[language] = tree_sitter.Parser(grammar)
        return parser

    def forget(self, uri: str) -> None:
        with self._lock:
            self._parsed.pop(uri, None)


def _byte_offset(text: str, offset: int) -> int:
    head = text[:offset]
    return offset if head.isascii() else len(head.encode("utf-8", "surrogatepass"))


def _point(text: str, offset: int) -> tuple[int, int]:
    """(row, byte column) of a code-point offset, as tree-sitter counts them."""
    row = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    return row, len(text[line_start:offset].encode("utf-8", "surrogatepass"))


def _apply_edit(tree: tree_sitter.Tree, old: str, new: str) -> None:
    """Tell `tree` (parsed from `old`) about the one span where `new` differs."""
    prefix, suffix = common_affixes(old, new)
    start = prefix
    old_end, new_end = len(old) - suffix, len(new) - suffix
    start_byte = len(new[:start].encode("utf-8", "surrogatepass"))
    tree.edit(
        start_byte=start_byte,
        old_end_byte=start_byte + len(old[start:old_end].encode("utf-8", "surrogatepass")),
        new_end_byte=start_byte + len(new[start:new_end].encode("utf-8", "surrogatepass")),
        start_point=_point(new, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(new, new_end),
    )
