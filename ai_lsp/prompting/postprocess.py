"""Clean-up of model completions before they are shown: chat artifacts, echoes of the code
around the cursor, degenerate loops, block truncation, and the text a suggestion replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
_QUOTES = frozenset("\"'`")
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n?", re.MULTILINE)
_PROSE_FORBIDDEN = frozenset('{}();=[]<>#/\\`"')
_MAX_ECHO_LINES = 200
_MIN_RETYPED_CHARS = 3
_MIN_PROSE_WORDS = 3
_MIN_LOOP_REPEATS = 4
_MIN_LOOP_CHARS = 32
_MAX_LOOP_UNIT = 64
_DEFAULT_TAB_SIZE = 4


def clean_completion(
    completion: str,
    prefix: str,
    suffix: str,
    *,
    multiline: bool,
    indent_unit: str | None = None,
    from_chat: bool = False,
) -> str | None:
    """The completion as it should be shown, or None when nothing is worth showing.

    `from_chat` is for instruction-tuned models, which wrap code in prose and fences and
    re-type the cursor line's start. The echoed prefix goes before the block cut (it would
    end the block early) and the echoed suffix after it (the cut can leave it at the end).
    """
    text = strip_chat_artifacts(completion) if from_chat else completion
    text = trim_prefix_echo(text, prefix)
    if from_chat:
        text = drop_retyped_start(text, prefix)
    text = truncate_to_block(text, prefix, multiline=multiline, indent_unit=indent_unit)
    text = trim_suffix_echo(text, suffix).rstrip()
    if not text.strip() or is_repetitive(text) or repeats_suffix(text, suffix):
        return None
    return text


def extract_fenced(text: str) -> str | None:
    """The content of the first fenced code block in `text` (to the end when unclosed)."""
    opening = _FENCE_OPEN.search(text)
    if opening is None:
        return None
    fence = opening.group(1)
    closing = re.compile(
        rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE
    ).search(text, opening.end())
    if closing is None:
        return text[opening.end() :]
    return text[opening.end() : closing.start()].removesuffix("\n")


def strip_chat_artifacts(text: str) -> str:
    """`text` without markdown fences and without the prose lines a chat model puts around
    code ("Here is the completion:", "This returns the sum.")."""
    fenced = extract_fenced(text)
    if fenced is not None:
        return fenced
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and (_is_prose(lines[start]) or (start > 0 and not lines[start].strip())):
        start += 1
    while end > start and (_is_prose(lines[end - 1]) or not lines[end - 1].strip()):
        end -= 1
    return "\n".join(lines[start:end])


def trim_overlap(completion: str, prefix: str, suffix: str) -> str:
    """`completion` without what it repeats of the code before and after the cursor."""
    return trim_suffix_echo(trim_prefix_echo(completion, prefix), suffix)


def trim_prefix_echo(completion: str, prefix: str) -> str:
    """`completion` without the end of `prefix` that it starts by repeating.

    Whole lines up to the cursor count (a model quoting the code before the hole), and so
    does the cursor's line typed again without its indentation when it has at least three
    visible characters (so a short legitimate start is never cut).
    """
    before = prefix.split("\n")[-_MAX_ECHO_LINES:]
    current = before[-1]
    lines = completion.split("\n")
    for count in range(min(len(before), len(lines)), 1, -1):
        echoed = before[-count:]
        if (
            "".join(echoed).strip()
            and _same_lines(lines[: count - 1], echoed[:-1])
            and lines[count - 1].startswith(current)
        ):
            return "\n".join([lines[count - 1][len(current) :], *lines[count:]])
    typed = current.lstrip(" \t")
    unindented = completion.lstrip(" \t")
    if len(typed.strip()) >= _MIN_RETYPED_CHARS and unindented.startswith(typed):
        return unindented[len(typed) :]
    return completion


def drop_retyped_start(completion: str, prefix: str) -> str:
    """`completion` without the cursor line's indentation or unfinished word typed again,
    as chat models do when they answer with whole lines."""
    current = prefix.rsplit("\n", 1)[-1]
    if current and not current.strip() and completion.startswith(current):
        return completion[len(current) :]
    word = re.search(r"\w+$", current)
    if word is not None and completion.startswith(word.group()):
        return completion[len(word.group()) :]
    return completion


def trim_suffix_echo(completion: str, suffix: str) -> str:
    """`completion` without the text after the cursor that it ends by repeating.

    Whole following lines count (blank lines aside). The rest of the cursor's line counts
    when it holds more than closing brackets and quotes: for those, `print(foo()` + `)` is
    as likely as an echo, and `replacement_end` decides.
    """
    rest_of_line, _, following = suffix.partition("\n")
    completion = _drop_echoed_lines(completion, following)
    rest = rest_of_line.rstrip()
    if rest.strip() and not set(rest.strip()) <= _CLOSERS | _QUOTES:
        trimmed = completion.rstrip()
        if trimmed.endswith(rest):
            return trimmed[: -len(rest)]
    return completion


def repeats_suffix(completion: str, suffix: str) -> bool:
    """Whether the completion's lines are only the lines that already follow the cursor."""
    mine = _content_lines(completion)
    return bool(mine) and mine == _content_lines(suffix)[: len(mine)]


def is_repetitive(text: str) -> bool:
    """Whether `text` is degenerate: one line three times in a row, or a short sequence
    looping at the end (what a model does when it runs out of ideas)."""
    return _has_repeated_line(text) or _has_looping_tail(text.rstrip())


def replacement_end(completion: str, line_suffix: str) -> int:
    """How many characters of `line_suffix` (the rest of the cursor's line) the completion
    supersedes.

    Editors auto-close brackets and quotes: in `print(|)` the completion `x)` writes the
    `)` itself, so the suggestion replaces one character instead of adding a second `)`.
    Only closers that close something opened before the cursor count, in order. The count
    is in code points.
    """
    first = line_suffix[:1]
    unescaped = len(re.findall(rf"(?<!\\){re.escape(first)}", completion)) if first else 0
    in_string = first in _QUOTES and unescaped % 2 == 1
    scanner = _BracketScanner(quote=first if in_string else None, in_outer_string=in_string)
    scanner.feed(completion)
    count = 0
    for closer in scanner.closers:
        if count == len(line_suffix) or line_suffix[count] != closer:
            break
        count += 1
    return count


def truncate_to_block(
    completion: str, prefix: str, *, multiline: bool, indent_unit: str | None
) -> str:
    """`completion` cut to what belongs at the cursor.

    Single-line mode keeps the text up to the first newline. Multi-line mode keeps the
    enclosing block: a line indented less than the cursor's line ends it, and so does a
    line back at that indentation after a deeper body (the next statement); such a line is
    kept when it only closes a bracket opened before the cursor (`}` ending a function).
    It also stops after a line that closes a bracket opened before the cursor.
    `indent_unit` is the document's indentation (`"\\t"` or spaces): tabs count as that
    many columns when it is spaces, else four.
    """
    if not multiline:
        return completion.split("\n", 1)[0]
    tab_size = _tab_size(indent_unit)
    current_line = prefix.rsplit("\n", 1)[-1]
    block = _indent_width(current_line, tab_size)
    scanner = _scanner_after(current_line)
    kept: list[str] = []
    body: int | None = None
    for index, line in enumerate(completion.split("\n")):
        if index > 0 and line.strip():
            width = _indent_width(line, tab_size)
            body = width if body is None else body
            if width < block or (body > block and width <= block):
                if not scanner.stack and line.lstrip()[:1] in _CLOSERS:
                    kept.append(line)
                break
        kept.append(line)
        scanner.feed(line + "\n")
        if any(closer in _CLOSERS for closer in scanner.closers):
            break
    while len(kept) > 1 and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


@dataclass
class _BracketScanner:
    """Follows brackets and string quotes through code (strings end at a line end) and
    records the closers that close something opened before the scanned text."""

    quote: str | None = None
    in_outer_string: bool = False
    stack: list[str] = field(default_factory=list)
    closers: list[str] = field(default_factory=list)
    escaped: bool = False

    def feed(self, text: str) -> None:
        for char in text:
            if self.quote is not None:
                self._feed_string(char)
            elif char in _QUOTES:
                self.quote = char
            elif char in _OPENERS:
                self.stack.append(_OPENERS[char])
            elif char in _CLOSERS:
                if self.stack:
                    self.stack.pop()
                else:
                    self.closers.append(char)

    def _feed_string(self, char: str) -> None:
        if self.escaped:
            self.escaped = False
        elif char == "\\":
            self.escaped = True
        elif char == self.quote:
            if self.in_outer_string:
                self.closers.append(char)
            self.quote, self.in_outer_string = None, False
        elif char == "\n":
            self.quote, self.in_outer_string = None, False


def _scanner_after(current_line: str) -> _BracketScanner:
    """A scanner for text typed at the end of `current_line`, inside its open string if any."""
    probe = _BracketScanner()
    probe.feed(current_line)
    return _BracketScanner(quote=probe.quote, in_outer_string=probe.quote is not None)


def _drop_echoed_lines(completion: str, following: str) -> str:
    """`completion` without its last non-blank lines when they are the first lines of
    `following`; at least one line of its own must stay."""
    lines = completion.split("\n")
    after = [line.rstrip() for line in following.split("\n") if line.strip()][:_MAX_ECHO_LINES]
    content = [index for index, line in enumerate(lines) if line.strip()]
    for count in range(min(len(after), len(content) - 1), 0, -1):
        if [lines[index].rstrip() for index in content[-count:]] == after[:count]:
            return "\n".join(lines[: content[-count - 1] + 1])
    return completion


def _same_lines(left: list[str], right: list[str]) -> bool:
    return [line.rstrip() for line in left] == [line.rstrip() for line in right]


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _is_prose(line: str) -> bool:
    """An unindented English sentence such as "Here is the completion:"."""
    return (
        line[:1].isupper()
        and len(line.split()) >= _MIN_PROSE_WORDS
        and line.rstrip()[-1:] in {".", ":", "!"}
        and not _PROSE_FORBIDDEN & set(line)
    )


def _has_repeated_line(text: str) -> bool:
    previous, run = None, 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        run = run + 1 if line == previous else 1
        previous = line
        if run >= 3 and _has_word(line):
            return True
    return False


def _has_looping_tail(text: str) -> bool:
    for size in range(1, min(_MAX_LOOP_UNIT, len(text) // _MIN_LOOP_REPEATS) + 1):
        unit = text[-size:]
        if not _has_word(unit):
            continue
        repeats, end = 1, len(text) - size
        while end >= size and text[end - size : end] == unit:
            repeats, end = repeats + 1, end - size
        if repeats >= _MIN_LOOP_REPEATS and repeats * size >= _MIN_LOOP_CHARS:
            return True
    return False


def _has_word(text: str) -> bool:
    """Letters, digits or emoji: a run of `=` or `-` is a ruler, not a loop."""
    return any(char.isalnum() or char >= "\U0001f000" for char in text)


def _indent_width(line: str, tab_size: int) -> int:
    whitespace = line[: len(line) - len(line.lstrip(" \t"))]
    return len(whitespace.expandtabs(tab_size))


def _tab_size(indent_unit: str | None) -> int:
    if indent_unit and set(indent_unit) == {" "}:
        return len(indent_unit)
    return _DEFAULT_TAB_SIZE
