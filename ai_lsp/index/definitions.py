"""Definitions (functions, classes, methods, ...) found in a syntax tree by the queries/*.scm files.

A query captures ``@definition.<kind>`` on the node and ``@name`` on its name; Go methods add
``@receiver``. Rows here are 0-based and inclusive.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import tree_sitter

from ai_lsp.index.languages import load_language

# Kinds whose body holds members that are chunked on their own; functions inside a type
# (not inside a module or namespace) are methods.
TYPE_KINDS = frozenset({"class", "interface", "struct", "enum", "trait", "impl"})
CONTAINER_KINDS = TYPE_KINDS | {"module"}

# Query files per language when it is not simply "<language>.scm".
_QUERY_FILES: dict[str, tuple[str, ...]] = {
    "typescript": ("javascript", "typescript"),
    "tsx": ("javascript", "typescript"),
    "cpp": ("c", "cpp"),
}
# Nodes that wrap a single definition (decorators, `export`, `const f = () => ...`, templates):
# the definition's text starts at the wrapper.
_WRAPPERS = frozenset(
    {
        "decorated_definition",
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "type_declaration",
        "template_declaration",
        "ambient_declaration",
        "expression_statement",
    }
)
_WRAPPER_EXTRAS = frozenset({"decorator", "template_parameter_list"})
_QUALIFIER_RE = re.compile(r"\s*(?:::|:|->)\s*")  # C++ `A::f`, Lua `M:f` -> `A.f`, `M.f`
_SPACE_RE = re.compile(r"\s+")
_MAX_SYMBOL = 200


@dataclass(slots=True)
class Definition:
    """One definition; ``members`` are the definitions chunked separately inside its body."""

    kind: str
    symbol: str
    start: int  # first row, including adjacent leading comments and attributes
    head: int  # first row of the definition itself (decorators included)
    end: int
    signature_end: int  # last row of the header, before the body
    members: list[Definition] = field(default_factory=list)


@dataclass(slots=True)
class _Found:
    node: tree_sitter.Node  # the captured node, whose fields name the body
    outer: tree_sitter.Node  # the node with its wrappers
    kind: str
    name: str
    pattern: int
    definition: Definition | None = None
    visible: bool = True  # False for definitions nested inside a function


def has_query(language: str) -> bool:
    """True when definitions can be extracted for this language."""
    return _query(language) is not None


def find_definitions(tree: tree_sitter.Tree, language: str, source: bytes) -> list[Definition]:
    """Top-level definitions of a parsed file, with their members nested inside."""
    query = _query(language)
    if query is None:
        return []
    by_span: dict[tuple[int, int], _Found] = {}
    for pattern, captures in tree_sitter.QueryCursor(query).matches(tree.root_node):
        found = _from_match(pattern, captures)
        if found is None:
            continue
        span = (found.outer.start_byte, found.outer.end_byte)
        previous = by_span.get(span)
        if previous is None or pattern < previous.pattern:
            by_span[span] = found
    ordered = sorted(by_span.values(), key=lambda f: (f.outer.start_byte, -f.outer.end_byte))
    top: list[Definition] = []
    stack: list[_Found] = []
    for found in ordered:
        while stack and stack[-1].outer.end_byte < found.outer.end_byte:
            stack.pop()
        parent = stack[-1] if stack else None
        stack.append(found)
        if parent is not None and not (parent.visible and _is_member(parent, found)):
            found.visible = False
            continue
        container = parent.definition if parent is not None else None
        found.definition = _definition(found, container, source)
        (container.members if container is not None else top).append(found.definition)
    return top


def _from_match(pattern: int, captures: dict[str, list[tree_sitter.Node]]) -> _Found | None:
    names = captures.get("name")
    if not names:
        return None
    for capture, nodes in captures.items():
        if capture.startswith("definition."):
            name = _name_text(names[0])
            receivers = captures.get("receiver")
            if receivers:
                name = f"{_name_text(receivers[0])}.{name}"
            node = nodes[0]
            return _Found(node, _unwrap(node), capture.removeprefix("definition."), name, pattern)
    return None


def _definition(found: _Found, container: Definition | None, source: bytes) -> Definition:
    kind = found.kind
    symbol = found.name
    if container is not None:
        symbol = f"{container.symbol}.{symbol}"
        if kind == "function" and container.kind in TYPE_KINDS:
            kind = "method"
    head = found.outer.start_point.row
    end = _end_row(found.outer)
    return Definition(
        kind=kind,
        symbol=symbol[:_MAX_SYMBOL],
        start=_leading_start(found.outer, source),
        head=head,
        end=end,
        signature_end=_signature_end(found.node, head, end, source),
    )


def _is_member(parent: _Found, child: _Found) -> bool:
    """True when ``child`` sits in the body of a container (not e.g. in a function)."""
    if parent.kind not in CONTAINER_KINDS:
        return False
    body = _body(parent.node)
    return body is not None and body.start_byte <= child.outer.start_byte < body.end_byte


def _body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    body = node.child_by_field_name("body")
    if body is None and (value := node.child_by_field_name("value")) is not None:
        body = value.child_by_field_name("body")  # `const Foo = class { ... }`
    return body


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    """Climb to wrappers that hold nothing but this definition (plus decorators)."""
    while (parent := node.parent) is not None and parent.type in _WRAPPERS:
        others = [
            child
            for child in parent.named_children
            if child.id != node.id and child.type not in _WRAPPER_EXTRAS and not _is_comment(child)
        ]
        if others:
            break
        node = parent
    return node


def _leading_start(outer: tree_sitter.Node, source: bytes) -> int:
    """First row of the comments and attributes directly above a definition."""
    start = outer.start_point.row
    sibling = outer.prev_named_sibling
    while (
        sibling is not None
        and (_is_comment(sibling) or sibling.type == "attribute_item")
        and _end_row(sibling) >= start - 1
        and _starts_line(sibling.start_byte, source)
    ):
        start = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return start


def _signature_end(node: tree_sitter.Node, head: int, end: int, source: bytes) -> int:
    """Last row of the header: the row before the body, or the row where ``{`` opens it."""
    body = _body(node)
    if body is None:
        return head
    row = body.start_point.row
    if _starts_line(body.start_byte, source):
        row -= 1
    return min(max(row, head), end)


def _end_row(node: tree_sitter.Node) -> int:
    """Last row holding text of the node (a trailing newline ends at column 0 of the next)."""
    end = node.end_point
    if end.column == 0 and end.row > node.start_point.row:
        return end.row - 1
    return end.row


def _starts_line(offset: int, source: bytes) -> bool:
    """True when only whitespace precedes ``offset`` on its line."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    return not source[line_start:offset].strip()


def _is_comment(node: tree_sitter.Node) -> bool:
    return "comment" in node.type


def _name_text(node: tree_sitter.Node) -> str:
    text = (node.text or b"").decode("utf-8", "replace")
    return _SPACE_RE.sub("", _QUALIFIER_RE.sub(".", text)).strip(".") or "?"


@functools.cache
def _query(language: str) -> tree_sitter.Query | None:
    grammar = load_language(language)
    if grammar is None:
        return None
    folder = resources.files("ai_lsp.index") / "queries"
    names = _QUERY_FILES.get(language, (language,))
    source = "\n".join((folder / f"{name}.scm").read_text(encoding="utf-8") for name in names)
    return tree_sitter.Query(grammar, source)
