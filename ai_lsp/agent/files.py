"""Workspace files as tools read them: paths confined to the workspace root (no `..`, absolute
path or symbolic link leads out), files the guard keeps from models refused, and the editor's
unsaved text used when the file is open."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ai_lsp.agent.context import FileGuard, OpenDocuments, ToolContext, ToolError
from ai_lsp.completion.guard import path_of
from ai_lsp.index.denylist import content_problem

__all__ = ["WorkspaceFile", "display_path", "editor_uri", "read_workspace_file", "resolve"]

_LIBRARY_DIRS = ("site-packages", "dist-packages", "node_modules", "typeshed")


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    """A file a tool may show to a model, with the text it has now."""

    rel: str
    """Workspace-relative, with `/` separators."""
    path: Path
    uri: str
    """The editor's URI when the file is open (so servers see its buffer), else a file URI."""
    text: str
    is_open: bool


def resolve(root: Path, raw: str) -> tuple[Path, str]:
    """The absolute path and workspace-relative name a model's `path` means.

    Raises `ToolError` for a path outside the workspace, also by a symbolic link.
    """
    given = raw.strip()
    if given.startswith("file:"):
        given = str(path_of(given) or "")
    if not given or "\0" in given:
        raise ToolError("`path` must name a file of the workspace, e.g. `src/app.py`")
    base = os.path.abspath(root)
    real_base = os.path.realpath(base)
    lexical = os.path.normpath(os.path.join(base, given))
    inside = next((b for b in (base, real_base) if _within(lexical, b)), None)
    if inside is None:
        raise ToolError(
            f"`{raw}` is outside the workspace; tools read workspace files only, named "
            "relative to the workspace root (e.g. `src/app.py`)"
        )
    if not _within(os.path.realpath(lexical), real_base):
        raise ToolError(
            f"`{raw}` is a symbolic link to a place outside the workspace; tools read "
            "workspace files only"
        )
    rel = Path(os.path.relpath(lexical, inside)).as_posix()
    return Path(base, rel), rel  # under the root as given, as the editor names it


async def read_workspace_file(context: ToolContext, raw: str) -> WorkspaceFile:
    """The file named by a model's `path`, if it may be shown to a model; else `ToolError`."""
    path, rel = resolve(context.root, raw)
    uri = editor_uri(context.documents, path) or path.as_uri()
    _check(context.guard, uri, "", rel)  # path rules first: a denied file is never read
    document = context.documents.get(uri)
    if document is not None:
        text = document.text
    else:
        text = await asyncio.to_thread(_read_disk, path, rel, context.guard.max_file_bytes)
    _check(context.guard, uri, text, rel)
    return WorkspaceFile(rel, path, uri, text, document is not None)


def editor_uri(documents: OpenDocuments, path: Path) -> str | None:
    """The URI under which the editor has `path` open (its spelling may differ from ours)."""
    uri = path.as_uri()
    if documents.get(uri) is not None:
        return uri
    for candidate in documents.uris():
        found = path_of(candidate)
        if found is not None and os.path.abspath(found) == str(path):
            return candidate
    return None


def display_path(uri: str, root: Path) -> str:
    """How answers name a file: workspace-relative; outside the workspace from its library
    folder (`site-packages/...`) or by name alone, never the user's home folder."""
    path = path_of(uri)
    if path is None:
        return uri
    absolute = os.path.abspath(path)
    for base in dict.fromkeys((os.path.abspath(root), os.path.realpath(root))):
        if _within(absolute, base):
            return Path(os.path.relpath(absolute, base)).as_posix()
    parts = Path(absolute).parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in _LIBRARY_DIRS:
            return "/".join(parts[index:])
    return f"{path.name} (outside the workspace)"


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _check(guard: FileGuard, uri: str, text: str, rel: str) -> None:
    reason = guard.refusal(uri, text)
    if reason is not None:
        raise ToolError(
            f"`{rel}` is not shown to models ({reason}); .gitignore, .ai-lspignore and "
            "ai-lsp's denylist of secret and generated files decide this"
        )


def _read_disk(path: Path, rel: str, max_bytes: int) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"`{rel}` is a directory; give the path of a file in it")
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"`{rel}` is not a regular file")
        if info.st_size > max_bytes:
            raise ToolError(
                f"`{rel}` is not shown to models (too large: {info.st_size} bytes, the limit "
                f"is {max_bytes})"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolError(
            f"there is no file `{rel}` in the workspace; workspace_symbols finds where a "
            "symbol is defined"
        ) from None
    except OSError as error:
        raise ToolError(f"cannot read `{rel}`: {error.strerror or error}") from None
    problem = content_problem(data)
    if problem is not None or len(data) > max_bytes:
        raise ToolError(f"`{rel}` is not shown to models ({problem or 'too large'})")
    return data.decode("utf-8").removeprefix("\ufeff")
