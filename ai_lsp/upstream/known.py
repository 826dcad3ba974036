"""Known upstream language servers (data in `servers.toml`) and the choice of one per language.

An explicit `[upstream.<language>] command` wins; otherwise the first installed known server;
none when the language is turned off (`enabled = false`, for it or for `"*"`).
"""

from __future__ import annotations

import functools
import json
import shutil
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ai_lsp.config import Settings

__all__ = ["KnownServer", "ResolvedServer", "Which", "known_servers", "project_root", "resolve"]

Which = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class KnownServer:
    """One entry of `servers.toml`."""

    name: str
    languages: tuple[str, ...]
    command: tuple[str, ...]
    executable: str
    root_markers: tuple[str, ...]
    initialization_options: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResolvedServer:
    """The server to run for a language: command line, options and how ai-lsp uses it."""

    name: str
    command: tuple[str, ...]
    initialization_options: Mapping[str, Any]
    root_markers: tuple[str, ...]
    mode: Literal["sidecar", "proxy"] = "sidecar"
    explicit: bool = False
    """True when the command comes from `[upstream.<language>] command`."""

    @property
    def key(self) -> str:
        """Identity of the process: languages resolving to the same key share one server."""
        return json.dumps([self.command, self.initialization_options], sort_keys=True)


@functools.cache
def known_servers() -> tuple[KnownServer, ...]:
    """The known servers in order of preference (read once from `servers.toml`)."""
    data = tomllib.loads(resources.files(__package__).joinpath("servers.toml").read_text("utf-8"))
    return tuple(
        KnownServer(
            name=entry["name"],
            languages=tuple(entry["languages"]),
            command=tuple(entry["command"]),
            executable=entry["executable"],
            root_markers=tuple(entry["root_markers"]),
            initialization_options=entry["initialization_options"],
        )
        for entry in data["server"]
    )


def resolve(
    language: str, settings: Settings, *, which: Which = shutil.which
) -> ResolvedServer | None:
    """The server for `language`, or None when it is turned off, or none is configured nor
    installed (settings as `Settings.upstream_for` combines them)."""
    config = settings.upstream_for(language)
    if not config.enabled:
        return None
    if config.command:
        program = Path(config.command[0]).name
        base = next(
            (s for s in known_servers() if s.executable == program and language in s.languages),
            None,
        )
        return ResolvedServer(
            name=base.name if base else program,
            command=tuple(config.command),
            initialization_options=_merged(
                base.initialization_options if base else {}, config.initialization_options
            ),
            root_markers=tuple(config.root_markers or (base.root_markers if base else ())),
            mode=config.mode,
            explicit=True,
        )
    candidates = (server for server in known_servers() if language in server.languages)
    installed = next((s for s in candidates if which(s.executable) is not None), None)
    if installed is None:
        return None
    return ResolvedServer(
        name=installed.name,
        command=installed.command,
        initialization_options=_merged(
            installed.initialization_options, config.initialization_options
        ),
        root_markers=tuple(config.root_markers) or installed.root_markers,
        mode=config.mode,
    )


def project_root(path: Path, markers: Sequence[str], workspace: Path) -> Path:
    """The root a server gets for `path`: the topmost folder holding a marker, else `workspace`.

    Only folders from `workspace` down to the file's folder are considered; a file outside
    the workspace belongs to the workspace's server.
    """
    try:
        relative = path.parent.relative_to(workspace)
    except ValueError:
        return workspace
    folder = workspace
    for part in ("", *relative.parts):
        folder = folder / part if part else folder
        if any((folder / marker).exists() for marker in markers):
            return folder
    return workspace


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` merged into `base`, recursively for nested tables."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
