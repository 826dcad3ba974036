"""One website being ingested: robots.txt rules, page fetches with bounded concurrency,
conversion of each page to text, and the URL scope a crawl or sitemap stays within.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from ai_lsp.index.docs_fetch import MARKUP_TYPES, Fetched, FetchProblem, SafeFetcher
from ai_lsp.index.docs_text import markdown_title
from ai_lsp.index.docs_types import Harvest
from ai_lsp.index.html_text import html_to_text

__all__ = ["ROBOTS_AGENT", "Scope", "Site", "directory_of", "markdown_links"]

ROBOTS_AGENT = "ai-lsp"
ROBOTS_BYTES = 512 * 1024
_MD_LINK_RE = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def directory_of(path: str) -> str:
    """The directory a URL path stands for: ``/a/b.html`` -> ``/a/``, ``/a/b`` -> ``/a/b/``."""
    if not path or path.endswith("/"):
        return path or "/"
    head, _, last = path.rpartition("/")
    return f"{head}/" if "." in last else f"{path}/"


def markdown_links(text: str, base: str) -> list[str]:
    """Absolute http(s) targets of markdown links, fragments removed, in order, no repeats."""
    links: dict[str, None] = {}
    for target in _MD_LINK_RE.findall(text):
        parts = urlsplit(urljoin(base, target))
        if parts.scheme in ("http", "https"):
            links[urlunsplit(parts._replace(fragment=""))] = None
    return list(links)


@dataclass(frozen=True, slots=True)
class Scope:
    """Same scheme and host, path under a directory: where a crawl or a sitemap may go."""

    scheme: str
    netloc: str
    prefix: str

    @classmethod
    def of(cls, url: str) -> Scope:
        parts = urlsplit(url)
        return cls(parts.scheme, parts.netloc.lower(), directory_of(parts.path))

    def contains(self, url: str) -> bool:
        parts = urlsplit(url)
        return (
            parts.scheme == self.scheme
            and parts.netloc.lower() == self.netloc
            and (parts.path or "/").startswith(self.prefix)
        )


class Site:
    """Fetches pages into a `Harvest`, honouring robots.txt, at most ``concurrency`` at once."""

    def __init__(self, fetcher: SafeFetcher, harvest: Harvest) -> None:
        self.fetcher = fetcher
        self.harvest = harvest
        self.limits = harvest.limits
        self._robots: dict[str, RobotFileParser] = {}
        self._robots_lock = asyncio.Lock()

    async def robots(self, url: str) -> RobotFileParser:
        """The robots.txt rules of ``url``'s origin, fetched once.

        Missing (4xx) allows everything; 401/403, a server error or no answer disallow
        everything, as RFC 9309 asks; the reason is reported as an error of the source.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._robots_lock:
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(f"{origin}/robots.txt")
            return self._robots[origin]

    async def allowed(self, url: str) -> bool:
        return (await self.robots(url)).can_fetch(ROBOTS_AGENT, url)

    async def fetch(self, url: str, accept: Collection[str], max_bytes: int) -> Fetched | None:
        """A robots-allowed fetch whose failures are counted in the harvest; None if failed."""
        if not await self.allowed(url):
            self.harvest.skip(url, "robots", "disallowed by robots.txt")
            return None
        try:
            return await self.fetcher.fetch(url, max_bytes=max_bytes, accept=accept)
        except FetchProblem as problem:
            self.harvest.skip(problem.url, problem.kind, problem.reason)
            return None

    async def page(self, url: str) -> tuple[str, list[str]] | None:
        """Fetch and keep one page; (final URL, its links) or None when it was not fetched."""
        fetched = await self.fetch(url, MARKUP_TYPES, self.limits.max_page_bytes)
        if fetched is None:
            return None
        title, text, links = await asyncio.to_thread(page_text, fetched)
        self.harvest.add(fetched.url, title, text, fetched.size)
        return fetched.url, links

    async def pages(self, urls: Iterable[str]) -> list[tuple[str, list[str]]]:
        """Fetch ``urls`` in order with bounded concurrency until a limit is reached."""
        queue = iter(enumerate(urls))
        results: list[tuple[int, tuple[str, list[str]]]] = []

        async def worker() -> None:
            for index, url in queue:
                if not self.harvest.has_room():
                    return
                result = await self.page(url)
                if result is not None:
                    results.append((index, result))

        async with asyncio.TaskGroup() as group:
            for _ in range(max(self.limits.concurrency, 1)):
                group.create_task(worker())
        return [result for _, result in sorted(results, key=lambda item: item[0])]

    async def _load_robots(self, robots_url: str) -> RobotFileParser:
        parser = RobotFileParser(robots_url)
        try:
            fetched = await self.fetcher.fetch(
                robots_url, max_bytes=ROBOTS_BYTES, accept=("text/plain",)
            )
        except FetchProblem as problem:
            if _unreachable(problem):
                parser.parse(["User-agent: *", "Disallow: /"])
                reason = f"robots.txt unavailable ({problem.reason}): nothing fetched from here"
                self.harvest.skip(robots_url, "error", reason)
            else:  # missing, an HTML error page, or refused (each page then reports why)
                parser.parse([])
            return parser
        parser.parse(fetched.text.splitlines())
        return parser


def page_text(fetched: Fetched) -> tuple[str, str, list[str]]:
    """(title, text, links) of a fetched page of any accepted type."""
    fallback = urlsplit(fetched.url).path.rstrip("/").rpartition("/")[2] or fetched.url
    if fetched.media_type == "text/html":
        converted = html_to_text(fetched.text, fetched.url)
        return converted.title or fallback, converted.text, converted.links
    text = fetched.text  # markdown or plain text (llms files are often served as text/plain)
    return markdown_title(text, fallback), text, markdown_links(text, fetched.url)


def _unreachable(problem: FetchProblem) -> bool:
    """robots.txt forbidden or not answered (as opposed to missing or refused by us)."""
    if problem.status is not None:
        return problem.status in (401, 403) or problem.status >= 500
    return problem.kind == "error"
