"""A weighted search query from the code before the cursor: identifiers of the last lines
(recent ones weigh more), names being called right before the cursor, and the name of the
enclosing definition, each split into search tokens like the indexed text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ai_lsp.index.tokens import split_identifiers

__all__ = ["cursor_terms"]

WINDOW_LINES = 12  # lines before the cursor that feed the query
RECENCY_DECAY = 1.0  # weight of a line d lines above the cursor: 1 / (1 + decay * d)
CALL_BOOST = 2.0  # a name followed by "(" (a call) or "." (an object used)
CURSOR_CALL_BOOST = 3.0  # the call the cursor sits in, or the object whose member is typed
IMPORTED_BOOST = 1.5  # a name the file imports: defined in another file, likely indexed
ENCLOSING_WEIGHT = 0.8
PART_FACTOR = 0.5  # the parts of a compound identifier weigh half its joined form
BACKGROUND_WEIGHT = 0.3  # every other word of the window: the topic of the surrounding code
BACKGROUND_LINES = 15
MAX_TERMS = 32

_IDENT_RE = re.compile(r"[A-Za-z_$][\w$]*")
_CALL_RE = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:\(|\.|::|<)")
_OPEN_CALL_RE = re.compile(r"([A-Za-z_$][\w$]*)\s*\([^()]*$")
_MEMBER_AT_CURSOR_RE = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:\.|::|->)\s*[\w$]*$")
_DEFINITION_RE = re.compile(
    r"^\s*(?:(?:export|pub|public|private|protected|static|async|override|local)\s+)*"
    r"(?:def|function|func|fn|class|struct|interface|trait|impl|module|sub)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)"
)
_IMPORT_RE = re.compile(
    r"^\s*(?:from\s+\S+\s+import\s+(?P<names>.+)|import\s+(?P<modules>[\w.,\s]+?)\s*$"
    r"|import\s*\{(?P<braced>[^}]*)\}|(?:use|using)\s+(?P<path>[\w:.{}, ]+))",
    re.MULTILINE,
)
_STRING_RE = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")
# Words of every language's syntax that say nothing about which definition is needed.
_STOPWORDS = """
    and as assert async await break case catch class const continue def default defer del
    do elif else end enum except export extends false final finally fn for from func function
    go if impl import in instanceof interface is lambda let local match mod module mut new nil
    none not null or package pass private protected pub public raise return self static struct
    super switch then this throw throws trait true try type typeof use var void when where
    while with yield cls args kwargs str int float bool dict list tuple set len print string
    a an the to of be by on at it its that which are was has have will can should returns
    raises param see note
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def cursor_terms(prefix_text: str) -> list[tuple[str, float]]:
    """(search token, weight) pairs for the code before the cursor, heaviest first."""
    lines = prefix_text.split("\n")
    window = lines[-WINDOW_LINES:]
    weights: dict[str, float] = {}

    def add(identifier: str, weight: float) -> None:
        if identifier.lower() in STOPWORDS or len(identifier) < 2:
            return
        tokens = split_identifiers(identifier)
        for index, token in enumerate(tokens):
            factor = 1.0 if index == 0 or len(tokens) == 1 else PART_FACTOR
            if token not in STOPWORDS and not token.isdigit():
                weights[token] = weights.get(token, 0.0) + weight * factor

    imported = _imported_names(prefix_text)
    for distance, line in enumerate(reversed(window)):
        code = _STRING_RE.sub(" ", line)
        weight = 1.0 / (1.0 + RECENCY_DECAY * distance)
        called = {match.group(1) for match in _CALL_RE.finditer(code)}
        for identifier in _IDENT_RE.findall(code):
            boost = CALL_BOOST if identifier in called else 1.0
            add(identifier, weight * boost * (IMPORTED_BOOST if identifier in imported else 1.0))
    cursor_line = _STRING_RE.sub(" ", window[-1]) if window else ""
    for pattern in (_OPEN_CALL_RE, _MEMBER_AT_CURSOR_RE):
        at_cursor = pattern.search(cursor_line)
        if at_cursor is not None:
            add(at_cursor.group(1), CURSOR_CALL_BOOST)
    for token in set(split_identifiers("\n".join(lines[-BACKGROUND_LINES:]))):
        if token not in STOPWORDS and not token.isdigit():
            weights[token] = weights.get(token, 0.0) + BACKGROUND_WEIGHT
    enclosing = _enclosing_definition(lines)
    if enclosing is not None:
        add(enclosing, ENCLOSING_WEIGHT)
    ranked = sorted(weights.items(), key=lambda item: item[1], reverse=True)
    return ranked[:MAX_TERMS]


def _imported_names(text: str) -> set[str]:
    """Names bound by import statements (Python, JavaScript/TypeScript, Rust, C#)."""
    names: set[str] = set()
    for match in _IMPORT_RE.finditer(text):
        listed = next(group for group in match.groups() if group is not None)
        for item in re.split(r"[,{}]", listed):
            words = _IDENT_RE.findall(item.split("::")[-1])
            if words:  # "a as b" binds b; "import a.b" binds a
                names.add(words[-1] if "as" in words or "." not in item else words[0])
    return names


def _enclosing_definition(lines: Sequence[str]) -> str | None:
    """The name of the nearest definition above the cursor that is not more indented."""
    cursor_indent = _indent(lines[-1]) if lines else 0
    for line in reversed(lines[:-1]):
        match = _DEFINITION_RE.match(line)
        if match is not None and _indent(line) <= cursor_indent:
            return match.group(1)
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
