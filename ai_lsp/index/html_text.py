"""HTML page to clean markdown-like text (headings, paragraphs, lists, fenced code, rough
tables) plus its title and links; navigation, scripts and page chrome are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

__all__ = ["HtmlText", "html_to_text"]

# Never text: scripts and chrome. Their links are still collected (navigation is how a crawl
# finds pages); header/footer are chrome only outside the main content.
_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "aside", "iframe", "button"}
)
_CHROME = frozenset({"header", "footer"})
_MAIN = frozenset({"main", "article"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_BLOCKS = frozenset(
    {
        "address", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption", "figure",
        "form", "li", "ol", "p", "section", "summary", "table", "ul",
    }
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LANGUAGE_RE = re.compile(r"^(?:language|lang|highlight)-([\w+#.-]+)$")
_DROPPED_CLASSES = frozenset({"headerlink", "anchorjs-link", "sr-only", "visually-hidden"})


@dataclass(frozen=True, slots=True)
class HtmlText:
    """Text of a page, its title (``<title>``, else the first ``<h1>``) and its links."""

    title: str
    text: str
    links: list[str] = field(default_factory=list)


def html_to_text(html: str, url: str) -> HtmlText:
    """Convert ``html`` fetched from ``url``; links are absolute http(s) without fragments.

    When the page marks its main content (``<main>``, ``<article>``, ``role=main``) only that
    content is kept, which removes sidebars that are not marked up as navigation.
    """
    parser = _Parser(url)
    parser.feed(html)
    parser.close()
    return parser.result()


@dataclass(frozen=True, slots=True)
class _Open:
    tag: str
    dropped: bool
    main: bool
    language: str  # from a class such as ``language-python`` or ``highlight-python``


@dataclass(slots=True)
class _Block:
    text: str
    in_main: bool
    group: int  # items of one list or rows of one table (> 0) are joined by single newlines


class _Parser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self._base = url
        self._stack: list[_Open] = []
        self._dropped = 0
        self._main = 0
        self._blocks: list[_Block] = []
        self._inline: list[str] = []
        self._prefix = ""
        self._heading = 0
        self._lists: list[list[int]] = []  # per open list: [next number] or [] when unordered
        self._groups = 0
        self._pre: list[str] | None = None
        self._pre_language = ""
        self._cells: list[str] | None = None
        self._header_row = False
        self._title: list[str] | None = None
        self._titles: list[str] = []
        self._h1 = ""
        self._links: dict[str, None] = {}

    def result(self) -> HtmlText:
        self._flush()
        main = [block for block in self._blocks if block.in_main]
        parts: list[str] = []
        previous: _Block | None = None
        for block in main or self._blocks:
            if previous is not None:
                parts.append("\n" if block.group and block.group == previous.group else "\n\n")
            parts.append(block.text)
            previous = block
        title = " ".join("".join(self._titles).split()) or self._h1
        return HtmlText(title, "".join(parts), list(self._links))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("a", "area") and attributes.get("href"):
            self._link(attributes["href"] or "")
        if tag == "base" and attributes.get("href"):
            self._base = urljoin(self._base, attributes["href"] or "")
        if tag in _VOID:
            if tag in ("br", "hr") and not self._dropped:
                self._newline()
            return
        classes = (attributes.get("class") or "").split()
        role = attributes.get("role") or ""
        main = tag in _MAIN or role == "main"
        dropped = (
            tag in _DROPPED
            or (tag in _CHROME and not self._main)
            or role in ("navigation", "banner", "contentinfo")
            or "hidden" in attributes
            or attributes.get("aria-hidden") == "true"
            or not _DROPPED_CLASSES.isdisjoint(classes)
        )
        if tag == "title" and not self._dropped and not self._titles:
            self._title = []
        self._stack.append(_Open(tag, dropped, main, _language(classes)))
        self._dropped += dropped
        self._main += main
        if not self._dropped:
            self._open(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or all(element.tag != tag for element in self._stack):
            return
        while self._stack:
            element = self._stack.pop()
            if not self._dropped:
                self._close(element.tag)
            self._dropped -= element.dropped
            self._main -= element.main
            if element.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._titles.append(data)
        elif self._dropped:
            return
        elif self._pre is not None:
            self._pre.append(data)
        else:
            self._inline.append(data)

    def _open(self, tag: str) -> None:
        if tag == "pre":
            self._flush()
            self._pre = []
            # Sphinx and Pygments put the language on an enclosing <div>.
            self._pre_language = next((e.language for e in self._stack[::-1] if e.language), "")
        elif self._pre is not None:
            if tag == "code" and not self._pre_language:
                self._pre_language = self._stack[-1].language
        elif tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag in ("ul", "ol"):
            self._flush()
            self._groups += not self._lists
            self._lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self._flush()
            numbers = self._lists[-1] if self._lists else []
            marker = f"{numbers[0]}. " if numbers else "- "
            if numbers:
                numbers[0] += 1
            self._prefix = "  " * max(len(self._lists) - 1, 0) + marker
        elif tag == "table":
            self._flush()
            self._groups += 1
        elif tag == "tr":
            self._flush()
            self._cells = []
            self._header_row = False
        elif tag in ("td", "th") and self._cells is not None:
            self._inline.clear()
            self._header_row |= tag == "th"
        elif tag == "code":
            self._inline.append("`")
        elif tag in _BLOCKS:
            self._flush()

    def _close(self, tag: str) -> None:
        if tag == "title":
            self._title = None
        elif tag == "pre" and self._pre is not None:
            self._emit_code("".join(self._pre))
        elif self._pre is not None:
            return
        elif tag in _HEADINGS:
            text = " ".join("".join(self._inline).split()).rstrip("¶#").strip()
            self._inline.clear()
            if text:
                self._add("#" * _HEADINGS[tag] + " " + text)
                self._h1 = self._h1 or (text if tag == "h1" else "")
            self._heading = 0
        elif tag in ("ul", "ol"):
            self._flush()
            if self._lists:
                self._lists.pop()
        elif tag in ("td", "th") and self._cells is not None:
            self._cells.append(" ".join("".join(self._inline).split()).replace("|", "\\|"))
            self._inline.clear()
        elif tag == "tr" and self._cells is not None:
            cells, self._cells = self._cells, None
            if any(cells):
                self._add("| " + " | ".join(cells) + " |", grouped=True)
                if self._header_row:
                    self._add("|" + " --- |" * len(cells), grouped=True)
        elif tag == "code":
            self._inline.append("`")
        elif tag in _BLOCKS:
            self._flush()

    def _emit_code(self, code: str) -> None:
        self._pre = None
        code = code.strip("\n")
        if code.strip():
            longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
            fence = "`" * max(3, longest + 1)
            self._add(f"{fence}{self._pre_language}\n{code}\n{fence}")
        self._pre_language = ""

    def _newline(self) -> None:
        if self._pre is not None:
            self._pre.append("\n")
        elif self._cells is None:
            self._flush()

    def _flush(self) -> None:
        if self._cells is not None or self._heading:
            return
        text = " ".join("".join(self._inline).split())
        self._inline.clear()
        if text and text != "``":
            if text.startswith("#"):  # not a heading: keep the section structure honest
                text = "\\" + text
            self._add(self._prefix + text, grouped=bool(self._prefix))
            self._prefix = ""

    def _add(self, text: str, *, grouped: bool = False) -> None:
        self._blocks.append(_Block(text, self._main > 0, self._groups if grouped else 0))

    def _link(self, href: str) -> None:
        parts = urlsplit(urljoin(self._base, href.strip()))
        if parts.scheme in ("http", "https"):
            self._links[urlunsplit(parts._replace(fragment=""))] = None


def _language(classes: list[str]) -> str:
    for name in classes:
        if match := _LANGUAGE_RE.match(name):
            return match.group(1)
    return ""
