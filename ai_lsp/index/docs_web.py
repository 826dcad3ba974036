"""Ingest a documentation website: ``llms-full.txt``, then ``llms.txt`` and the pages it
links, then the sitemap, then a breadth-first same-site crawl; first that works wins.
"""

from __future__ import annotations

import asyncio
import html
import re
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from ai_lsp.index.docs_fetch import Fetched, FetchProblem
from ai_lsp.index.docs_site import Scope, Site, directory_of, page_text

__all__ = ["ingest_site"]

LLMS_TYPES = frozenset({"text/plain", "text/markdown"})
SITEMAP_TYPES = frozenset({"application/xml", "text/xml", "text/plain"})
MAX_SITEMAPS = 20
MAX_PROBE_LEVELS = 4
_LOC_RE = re.compile(r"<loc>\s*(.*?)\s*</loc>", re.IGNORECASE | re.DOTALL)
# Assets and generated Sphinx/MkDocs files are not pages worth reading.
_NOT_PAGES = re.compile(
    r"\.(?:png|jpe?g|gif|svg|ico|webp|avif|css|js|mjs|map|json|xml|gz|zip|tar|tgz|whl|pdf"
    r"|mp4|webm|woff2?|ttf|eot)$|/_(?:sources|static|images|downloads)/",
    re.IGNORECASE,
)


async def ingest_site(site: Site, url: str) -> None:
    """Fill ``site.harvest`` from ``url``, setting its strategy as soon as one is chosen."""
    url = urldefrag(url).url
    if not (await _llms_full(site, url) or await _llms(site, url) or await _sitemap(site, url)):
        site.harvest.strategy = "crawl"
        await _crawl(site, url)


def _candidates(url: str, filename: str) -> list[str]:
    """``filename`` in the start URL's directory and its parents up to the site root."""
    parts = urlsplit(url)
    if parts.path.endswith("/" + filename):
        return [url]
    directories = [directory_of(parts.path)]
    while directories[-1] != "/" and len(directories) < MAX_PROBE_LEVELS:
        directories.append(directories[-1].rstrip("/").rpartition("/")[0] + "/")
    if directories[-1] != "/":
        directories.append("/")
    return [urlunsplit((parts.scheme, parts.netloc, d + filename, "", "")) for d in directories]


async def _probe(site: Site, url: str, max_bytes: int) -> Fetched | None:
    """An llms file, or None; a missing one is expected and not reported."""
    if not await site.allowed(url):
        return None
    try:
        fetched = await site.fetcher.fetch(url, max_bytes=max_bytes, accept=LLMS_TYPES)
    except FetchProblem as problem:
        if problem.kind == "size":  # it exists but is too large: that is worth knowing
            site.harvest.skip(problem.url, "size", problem.reason)
        return None
    if not fetched.text.strip() or fetched.text.lstrip().startswith("<"):
        return None  # an HTML error page served as text
    return fetched


async def _llms_full(site: Site, url: str) -> bool:
    if not urlsplit(url).path.endswith("/llms.txt"):
        for candidate in _candidates(url, "llms-full.txt"):
            fetched = await _probe(site, candidate, site.limits.max_bytes)
            if fetched is not None:
                site.harvest.strategy = "llms-full.txt"
                site.harvest.progress(f"using {fetched.url}")
                title, text, _ = await asyncio.to_thread(page_text, fetched)
                site.harvest.add(fetched.url, title, text, fetched.size)
                return True
    return False


async def _llms(site: Site, url: str) -> bool:
    for candidate in _candidates(url, "llms.txt"):
        fetched = await _probe(site, candidate, site.limits.max_page_bytes)
        if fetched is None:
            continue
        site.harvest.strategy = "llms.txt"
        site.harvest.progress(f"using {fetched.url}")
        title, text, links = await asyncio.to_thread(page_text, fetched)
        site.harvest.add(fetched.url, title, text, fetched.size)
        host = urlsplit(fetched.url).netloc.lower()
        same_site: list[str] = []
        for link in links:
            if urlsplit(link).netloc.lower() != host:
                site.harvest.skipped["off-site"] += 1
            elif link != fetched.url:
                same_site.append(link)
        await site.pages(same_site)
        return True
    return False


async def _sitemap(site: Site, url: str) -> bool:
    scope = Scope.of(url)
    robots = await site.robots(url)
    listed = [link for link in robots.site_maps() or [] if Scope.of(link).netloc == scope.netloc]
    candidates = dict.fromkeys([*listed, *_candidates(url, "sitemap.xml")])
    for candidate in candidates:
        pages = await _sitemap_pages(site, candidate, scope)
        if pages:
            site.harvest.strategy = "sitemap"
            site.harvest.progress(f"using {candidate} ({len(pages)} pages listed)")
            await site.pages(pages)
            return True
    return False


async def _sitemap_pages(site: Site, sitemap: str, scope: Scope) -> list[str]:
    """In-scope page URLs of a sitemap, following sitemap indexes; missing ones are silent."""
    pending, seen = [sitemap], {sitemap}
    pages: dict[str, None] = {}
    want = site.limits.max_pages * 2
    while pending and len(seen) <= MAX_SITEMAPS and len(pages) < want:
        current = pending.pop(0)
        if not await site.allowed(current):
            continue
        try:
            fetched = await site.fetcher.fetch(
                current, max_bytes=site.limits.max_page_bytes, accept=SITEMAP_TYPES
            )
        except FetchProblem as problem:
            if current != sitemap:  # a listed child sitemap that fails is worth reporting
                site.harvest.skip(problem.url, problem.kind, problem.reason)
            continue
        locations = [html.unescape(loc) for loc in _LOC_RE.findall(fetched.text)]
        if not locations and fetched.media_type == "text/plain":
            locations = [line.strip() for line in fetched.text.splitlines() if "://" in line]
        if "<sitemapindex" in fetched.text[:4096].lower():
            fresh = [urljoin(current, loc) for loc in locations if loc not in seen]
            seen.update(fresh)
            pending.extend(fresh)
            continue
        for loc in locations:
            link = urljoin(current, loc).split("#", 1)[0]
            if scope.contains(link) and not _NOT_PAGES.search(urlsplit(link).path):
                pages[link] = None
    return list(pages)


async def _crawl(site: Site, start: str) -> None:
    """Breadth first from ``start`` within the scope of where it landed, up to ``max_depth``."""
    site.harvest.progress(f"crawling {start}")
    seen = {start}
    frontier = [start]
    scope: Scope | None = None
    for _ in range(site.limits.max_depth + 1):
        following: list[str] = []
        for final_url, links in await site.pages(frontier):
            scope = scope or Scope.of(final_url)
            seen.add(final_url)
            for link in links:
                if link not in seen and scope.contains(link):
                    seen.add(link)
                    if not _NOT_PAGES.search(urlsplit(link).path):
                        following.append(link)
        frontier = following
        if not frontier or not site.harvest.has_room():
            return
