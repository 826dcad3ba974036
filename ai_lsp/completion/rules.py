"""Rules files of a feature: `.ai-lsp/rules/<feature>.md` (`completion.md`, `edit.md`), and
`.ai-lsp/rules/*.md` whose front matter says `applies_to: <feature>` (or a list holding it, or
`all`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ai_lsp.completion.context import RULES_ORDER, ContextRequest, Snippet

RULES_DIR = Path(".ai-lsp") / "rules"
RECHECK_S = 2.0
MAX_RULES_BYTES = 16_000
"""A rules file is cut to this size: rules are a few lines, not a manual."""
_SCORE = 100.0


def applies_to(feature: str, name: str, text: str) -> str | None:
    """The body of a rules file when it applies to `feature`, else None."""
    body, meta = text, {}
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            for line in text[4:end].splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip()
            body = text[end + 4 :].removeprefix("\n")
    targets = {
        part.strip().strip("'\"").lower()
        for part in meta.get("applies_to", "").strip("[]").split(",")
    }
    if name == f"{feature}.md" or targets & {feature, f"{feature}s", "all", "*"}:
        return body.strip() or None
    return None


class RulesProvider:
    """The workspace's rules for a feature, one snippet per file; the folder is read again at
    most every `RECHECK_S` seconds, and a file only when it changed."""

    name = "rules"

    def __init__(self, feature: str = "completion") -> None:
        self.feature = feature
        self._checked: dict[Path, float] = {}
        self._files: dict[Path, tuple[tuple[int, int], Snippet | None]] = {}
        self._current: dict[Path, list[Snippet]] = {}
        self._lock = threading.Lock()

    def snippets(self, request: ContextRequest) -> Sequence[Snippet]:
        return self.read(request.root)

    def read(self, root: Path | None) -> Sequence[Snippet]:
        """The rules of the workspace at `root`, in file name order."""
        if root is None:
            return []
        folder = root / RULES_DIR
        with self._lock:
            if time.monotonic() - self._checked.get(folder, float("-inf")) < RECHECK_S:
                return self._current.get(folder, [])
            self._checked[folder] = time.monotonic()
            found = self._read(folder)
            self._current[folder] = found
            return found

    def _read(self, folder: Path) -> list[Snippet]:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(
                    (e for e in listing if e.name.endswith(".md")), key=lambda e: e.name
                )
        except OSError:
            return []
        found: list[Snippet] = []
        for entry in entries:
            path = Path(entry.path)
            try:
                info = entry.stat()
            except OSError:
                continue
            signature = (info.st_mtime_ns, info.st_size)
            cached = self._files.get(path)
            if cached is None or cached[0] != signature:
                cached = (signature, self._load(path, entry.name))
                self._files[path] = cached
            if cached[1] is not None:
                found.append(cached[1])
        return found

    def _load(self, path: Path, name: str) -> Snippet | None:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_RULES_BYTES)
        except OSError:
            return None
        body = applies_to(self.feature, name, data.decode("utf-8", "replace"))
        if body is None:
            return None
        return Snippet("rules", (RULES_DIR / name).as_posix(), body, _SCORE, RULES_ORDER)
