"""Which buffers may be shown to a model (the workspace's ignore rules and denylist; outside
the workspace the denylist alone), and the workspace-relative names prompts use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from ai_lsp.index.denylist import is_binary_name, is_denied_name
from ai_lsp.index.ignore import BINARY, DENIED, OUTSIDE, TOO_LARGE, WorkspaceFilter

_CACHE = 512
RECHECK_S = 10.0


def path_of(uri: str) -> Path | None:
    """The file system path of a `file:` URI, None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def relative_name(uri: str, root: Path | None) -> str:
    """The name a prompt shows for `uri`: workspace-relative, else the file name alone
    (an absolute path would tell the model the user's home folder)."""
    path = path_of(uri)
    if path is None:
        return PurePosixPath(urlparse(uri).path).name or uri
    return workspace_key(uri, root) or path.name


def workspace_key(uri: str, root: Path | None) -> str | None:
    """The workspace-relative path of `uri`, None when it lies outside the workspace."""
    path = path_of(uri)
    if path is None or root is None:
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


class PromptGuard:
    """Decides whether a buffer's text may go into a prompt.

    The path rules (ignore files, denylist) are remembered per URI for `RECHECK_S`, so a
    keystroke costs no file system access; the content rules are checked every time.
    """

    def __init__(
        self, root: Path | None, max_file_bytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.root = root
        self.max_file_bytes = max_file_bytes
        self._clock = clock
        self._filter = WorkspaceFilter(root, max_file_bytes=max_file_bytes) if root else None
        self._paths: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def refusal(self, uri: str, text: str) -> str | None:
        """Why the buffer must stay out of prompts, or None when it may be used."""
        now = self._clock()
        with self._lock:
            cached = self._paths.get(uri)
        if cached is None or now - cached[0] >= RECHECK_S:
            cached = (now, self._path_refusal(uri))
            with self._lock:
                if len(self._paths) >= _CACHE:
                    self._paths.clear()
                self._paths[uri] = cached
        if cached[1] is not None:
            return cached[1]
        if "\0" in text:
            return BINARY
        if len(text) * 4 > self.max_file_bytes and (
            len(text) > self.max_file_bytes
            or len(text.encode("utf-8", "surrogatepass")) > self.max_file_bytes
        ):
            return TOO_LARGE
        return None

    def _path_refusal(self, uri: str) -> str | None:
        path = path_of(uri)
        if path is None:
            return None
        if self._filter is not None:
            reason = self._filter.check_path(path)
            if reason != OUTSIDE:
                return reason
        if any(is_denied_name(part) for part in path.parts):
            return DENIED
        return BINARY if is_binary_name(path.name) else None
