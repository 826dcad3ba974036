"""The live configuration: keeps each source, rebuilds on change, tells subscribers and the user.

Configuration changes apply without a restart: every service subscribes and adapts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ai_lsp import config_sources as cs
from ai_lsp.config import Settings
from ai_lsp.notices import Notices

log = logging.getLogger(__name__)

Listener = Callable[[Settings], None]

# Files whose change means the configuration must be read again.
CONFIG_FILE_NAMES = (".ai-lsp.toml", "pyproject.toml", "config.toml")


class ConfigManager:
    """Holds the sources of configuration and the effective settings built from them."""

    def __init__(self, notices: Notices, user_path: Path | None = None) -> None:
        self._notices = notices
        self.user_path = user_path or cs.user_config_path()
        self.root: Path | None = None
        self._init: object = None
        self._client: object = None
        self._listeners: list[Listener] = []
        self._reported: set[str] = set()
        self.loaded = cs.LoadedSettings(Settings(), {}, [])

    @property
    def settings(self) -> Settings:
        """The effective settings now."""
        return self.loaded.settings

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(settings)` after every rebuild."""
        self._listeners.append(listener)

    def set_root(self, root: Path | None) -> None:
        """The workspace root whose `.ai-lsp.toml` / `pyproject.toml` is read."""
        self.root = root

    def set_init_options(self, options: object) -> None:
        """`initializationOptions` from the client."""
        self._init = options

    def set_client_settings(self, settings: object) -> None:
        """Settings from `workspace/didChangeConfiguration` or `workspace/configuration`."""
        self._client = settings

    def is_config_file(self, path: Path) -> bool:
        """Whether a change to `path` requires reloading the configuration."""
        if path == self.user_path:
            return True
        return self.root is not None and path.parent == self.root and path.name in CONFIG_FILE_NAMES

    def reload(self) -> cs.LoadedSettings:
        """Read every source again, rebuild, report new problems and notify subscribers."""
        sources = [
            cs.user_source(self.user_path),
            cs.workspace_source(self.root) if self.root is not None else None,
            cs.json_source(cs.INIT, self._init),
            cs.json_source(cs.CLIENT, self._client),
        ]
        self.loaded = cs.build([s for s in sources if s is not None], self.root)
        self._report(self.loaded.problems)
        for listener in self._listeners:
            try:
                listener(self.loaded.settings)
            except Exception:
                log.exception("a configuration listener failed")
        return self.loaded

    def _report(self, problems: list[cs.Problem]) -> None:
        current = {str(p) for p in problems}
        for text in sorted(current - self._reported):
            self._notices.once(f"config:{text}", "warning", text)
        for gone in self._reported - current:
            self._notices.clear(f"config:{gone}")
        self._reported = current
