"""Language-agnostic code lexer for the local n-gram model.

Words, numbers, operators and short string literals are tokens; long strings are abstracted,
comments dropped, and each line break becomes a token saying whether indentation grew or shrank.
"""

import re
from dataclasses import dataclass, field

NEWLINE = "\n"
INDENT = "\n+"
DEDENT = "\n-"
LINE_ENDS = frozenset({NEWLINE, INDENT, DEDENT})
LONG_STRING = "\x00str"
"""Stands for string literals longer than MAX_STRING or spanning lines (never a real token)."""
MAX_STRING = 24

_STRING = r"""[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*'|`[^`]*`)"""
_OPEN_STRING = r"""[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*|'''[\s\S]*|["'`][^\r\n]*)\Z"""
_OPERATORS = (
    r">>>=|<<=|>>=|\*\*=|//=|\.\.\.|===|!==|->|=>|==|!=|<=|>=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|%="
    r"|&=|\|=|\^=|::|\*\*|<<|>>|:=|\?\.|\?\?|//|[^\s\w]"
)
_TEMPLATE = r"""
    (?P<nl>(?:[ \t]*(?:\r\n|\n|\r))+[ \t\f]*)
  | (?P<ws>[ \t\f\v]+|\\\r?\n)
  | (?P<com>{comment})
  | (?P<str>{string})
  | (?P<open>{open_string})
  | (?P<num>\d(?:[eE][+-]\d|[\w.])*)
  | (?P<word>\w+)
  | (?P<op>{operators})
"""
_SLASH_COMMENTS = r"//[^\r\n]*|/\*[\s\S]*?\*/|\#(?:[ \t!#][^\r\n]*)?(?=[\r\n]|\Z)"
_HASH_COMMENTS = r"\#[^\r\n]*|/\*[\s\S]*?\*/"


def _compile(comment: str) -> re.Pattern[str]:
    source = _TEMPLATE.format(
        comment=comment, string=_STRING, open_string=_OPEN_STRING, operators=_OPERATORS
    )
    return re.compile(source, re.VERBOSE)


_SLASH_RE = _compile(_SLASH_COMMENTS)
_HASH_RE = _compile(_HASH_COMMENTS)
_HASH_LINE = re.compile(r"^[ \t]*#[ \t!]", re.MULTILINE)
_SLASH_LINE = re.compile(r"^[ \t]*//", re.MULTILINE)


def uses_hash_comments(text: str) -> bool:
    """Whether `#` starts comments (and `//` is an operator), judged from whole comment lines."""
    return _HASH_LINE.search(text) is not None and _SLASH_LINE.search(text) is None


@dataclass(slots=True)
class Lexed:
    """Tokens of a text, with what is needed to detokenize them and to resume lexing."""

    tokens: list[str] = field(default_factory=list)
    spaced: list[bool] = field(default_factory=list)
    """Whether whitespace preceded each token on its line."""
    starts: list[int] = field(default_factory=list)
    """Offset where each token begins (line-end tokens: where the line break begins)."""
    indents: list[int] = field(default_factory=list)
    """Indentation width in effect before each token."""
    partial: str = ""
    """Word or string literal still being typed at the end (`at_cursor` only)."""
    in_comment: bool = False
    """The text ends inside a comment (`at_cursor` only)."""


def is_wordlike(token: str) -> bool:
    """Whether two such tokens in a row need whitespace between them."""
    return token[:1].isalnum() or token[:1] == "_"


def tokenize(
    text: str,
    *,
    hash_comments: bool,
    pos: int = 0,
    indent: int = 0,
    spaced: bool = False,
    at_cursor: bool = False,
) -> Lexed:
    """Lex `text` from `pos`, given the indentation and spacing state there.

    With `at_cursor`, a word or unterminated string touching the end is returned as `partial`.
    """
    out = Lexed()
    tokens, spaces, starts, indents = out.tokens, out.spaced, out.starts, out.indents
    pending = pos == 0
    newline_start = width = 0
    last_kind = ""
    last_end = pos
    for match in (_HASH_RE if hash_comments else _SLASH_RE).finditer(text, pos):
        kind = match.lastgroup
        last_kind, last_end = kind or "", match.end()
        if kind == "nl":
            if not pending:
                pending, newline_start = True, match.start()
            chunk = match.group()
            width = len(chunk) - max(chunk.rfind("\n"), chunk.rfind("\r")) - 1
            continue
        if kind == "ws" or kind == "com":
            if pending and kind == "ws":
                width = len(match.group())
            else:
                spaced = True
            continue
        if pending:
            tokens.append(INDENT if width > indent else DEDENT if width < indent else NEWLINE)
            spaces.append(False)
            starts.append(newline_start)
            indents.append(indent)
            indent, pending, spaced = width, False, False
        token = match.group()
        if (kind == "str" or kind == "open") and (len(token) > MAX_STRING or "\n" in token):
            token = LONG_STRING
        tokens.append(token)
        spaces.append(spaced)
        starts.append(match.start())
        indents.append(indent)
        spaced = False
    if pending:
        tokens.append(INDENT if width > indent else DEDENT if width < indent else NEWLINE)
        spaces.append(False)
        starts.append(newline_start)
        indents.append(indent)
    if at_cursor and last_end == len(text):
        out.in_comment = last_kind == "com"
        if last_kind in ("word", "num", "open") and not pending:
            out.partial = tokens.pop()
            del spaces[-1], starts[-1], indents[-1]
    return out
