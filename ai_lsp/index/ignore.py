"""Which workspace files ai-lsp may index or send to a model, and a fast walk over them.

Layers: nested ``.gitignore`` files with ``.git/info/exclude``, ``.ai-lspignore`` files, the
built-in denylist, then binary, non-UTF-8 and oversize files are refused.
"""

from __future__ import annotations

import os
import stat as stat_mode
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from ai_lsp.index.denylist import (
    BUILD_OUTPUT_DIRS,
    DENIED_DIRS,
    PACKAGE_MARKER,
    VENV_MARKER,
    content_problem,
    is_binary_name,
    is_boilerplate,
    is_denied_name,
)

__all__ = ["FileRejected", "ScannedFile", "WorkspaceFilter", "is_boilerplate"]

GITIGNORE = ".gitignore"
OUTSIDE = "outside workspace"
DENIED = "denylisted"
BINARY = "binary"
TOO_LARGE = "too large"
NOT_A_FILE = "not a regular file"
NOT_FOUND = "not found"


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A file the scan found allowed by path rules and size; content is checked on read."""

    path: Path
    rel: str
    size: int
    mtime_ns: int


class FileRejected(Exception):
    """Raised by `WorkspaceFilter.read_text` for a file that must not be used."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Layer:
    prefix: str  # directory of the ignore file relative to the git base, "" or "a/b/"
    spec: pathspec.GitIgnoreSpec


# One chain of layers per ignore-file kind (.gitignore, .ai-lspignore, ...), outermost first.
_Rules = tuple[tuple[_Layer, ...], ...]
_Signature = tuple[int, int, int]


class WorkspaceFilter:
    """Path, size and content rules for one workspace root, with cached ignore specs."""

    def __init__(
        self,
        root: Path | str,
        *,
        max_file_bytes: int = 1_000_000,
        extra_ignore_files: Sequence[str] = (".ai-lspignore",),
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.max_file_bytes = max_file_bytes
        self._real_root = os.path.realpath(self.root)
        self._sources = (
            (GITIGNORE, "gitignored"),
            *((name, f"ignored by {name}") for name in extra_ignore_files),
        )
        self._specs: dict[str, tuple[_Signature, pathspec.GitIgnoreSpec | None]] = {}
        self._git_base, self._prefix, self._git_dir = _find_git_base(self._real_root)

    def check_path(self, path: Path | str) -> str | None:
        """Why the path rules refuse this file (without reading it), or None when allowed.

        A symlink is judged by both its own location and its resolved target.
        """
        lexical = os.path.abspath(path)
        real = os.path.realpath(lexical)
        real_rel = self._relative(real, self._real_root)
        if real_rel is None:
            return OUTSIDE
        reason = self._check_rel(real_rel)
        lexical_rel = self._relative(lexical, str(self.root))
        if lexical_rel is None:
            lexical_rel = self._relative(lexical, self._real_root)
        if reason is None and lexical_rel is not None and lexical_rel != real_rel:
            reason = self._check_rel(lexical_rel)
        return reason

    def check(self, path: Path | str) -> str | None:
        """Why this file must not be indexed or sent to a model, or None when it may."""
        try:
            self.read_text(path)
        except FileRejected as rejected:
            return rejected.reason
        return None

    def is_allowed(self, path: Path | str) -> bool:
        """True when the file may be indexed and its text sent to a model."""
        return self.check(path) is None

    def check_text(self, path: Path | str, text: str) -> str | None:
        """Like `check` for an editor buffer whose text is in memory, not on disk."""
        reason = self.check_path(path)
        if reason is None and "\0" in text:
            reason = BINARY
        if reason is None and len(text.encode("utf-8", "surrogatepass")) > self.max_file_bytes:
            reason = TOO_LARGE
        return reason

    def read_text(self, path: Path | str) -> str:
        """The file's text (BOM removed) if every rule allows it, else raise `FileRejected`."""
        file_path = Path(path)
        reason = self.check_path(file_path)
        if reason is not None:
            raise FileRejected(file_path, reason)
        try:
            info = os.stat(file_path)
            if not stat_mode.S_ISREG(info.st_mode):  # never open a FIFO or a device
                raise FileRejected(file_path, NOT_A_FILE)
            if info.st_size > self.max_file_bytes:
                raise FileRejected(file_path, TOO_LARGE)
            with open(file_path, "rb") as handle:
                data = handle.read(self.max_file_bytes + 1)
        except FileNotFoundError as error:
            raise FileRejected(file_path, NOT_FOUND) from error
        except OSError as error:
            raise FileRejected(file_path, error.strerror or "unreadable") from error
        if len(data) > self.max_file_bytes:  # grew since the stat
            raise FileRejected(file_path, TOO_LARGE)
        problem = content_problem(data)
        if problem is not None:
            raise FileRejected(file_path, problem)
        return data.decode("utf-8").removeprefix("\ufeff")

    def scan(self) -> Iterator[ScannedFile]:
        """Yield allowed files under the root in sorted depth-first order; symlinks are skipped.

        Symlinks are never followed: a target outside the workspace must stay unread, and a
        target inside it is reached under its real path anyway (so loops cannot occur).
        """
        stack: list[tuple[str, str, _Rules]] = [(str(self.root), "", self._rules_above_root())]
        while stack:
            dir_path, rel_dir, rules = stack.pop()
            try:
                with os.scandir(dir_path) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError:
                continue
            by_name = {entry.name: entry for entry in entries}
            if rel_dir and _is_dependency_dir(rel_dir.rsplit("/", 2)[-2], by_name.__contains__):
                continue
            rules = self._extend(rules, dir_path, self._prefix + rel_dir, by_name)
            subdirs: list[tuple[str, str, _Rules]] = []
            for entry in entries:
                name = entry.name
                if not _is_utf8(name):
                    continue
                rel = rel_dir + name
                if entry.is_dir(follow_symlinks=False):  # False for a symlink, as is_file
                    if self._dir_reason(name, rel + "/", rules) is None:
                        subdirs.append((entry.path, rel + "/", rules))
                elif (
                    entry.is_file(follow_symlinks=False)
                    and self._file_reason(name, rel, rules) is None
                ):
                    stat = entry.stat(follow_symlinks=False)
                    if stat.st_size <= self.max_file_bytes:
                        yield ScannedFile(self.root / rel, rel, stat.st_size, stat.st_mtime_ns)
            stack.extend(reversed(subdirs))

    def _check_rel(self, rel: str) -> str | None:
        if rel == "":
            return NOT_A_FILE
        parts = rel.split("/")
        rules = self._extend(self._rules_above_root(), str(self.root), self._prefix, None)
        dir_path = str(self.root)
        for depth, name in enumerate(parts[:-1]):
            dir_rel = "/".join(parts[: depth + 1]) + "/"
            reason = self._dir_reason(name, dir_rel, rules)
            dir_path = os.path.join(dir_path, name)
            if reason is None and _is_dependency_dir(name, _marker_exists(dir_path)):
                reason = DENIED
            if reason is not None:
                return reason
            rules = self._extend(rules, dir_path, self._prefix + dir_rel, None)
        return self._file_reason(parts[-1], rel, rules)

    def _dir_reason(self, name: str, rel: str, rules: _Rules) -> str | None:
        if name in DENIED_DIRS or name.endswith(".egg-info") or is_denied_name(name):
            return DENIED
        return self._ignored(rules, rel)

    def _file_reason(self, name: str, rel: str, rules: _Rules) -> str | None:
        if name in DENIED_DIRS or is_denied_name(name):
            return DENIED
        if is_binary_name(name):
            return BINARY
        return self._ignored(rules, rel)

    def _ignored(self, rules: _Rules, rel: str) -> str | None:
        """The reason of the ignore-file kind that excludes ``rel`` (trailing "/" for dirs)."""
        base_rel = self._prefix + rel
        for (_, reason), chain in zip(self._sources, rules, strict=True):
            for layer in reversed(chain):  # deeper ignore files take precedence, as in git
                include = layer.spec.check_file(base_rel[len(layer.prefix) :]).include
                if include is not None:
                    if include:
                        return reason
                    break
        return None

    def _rules_above_root(self) -> _Rules:
        """Layers from .git/info/exclude and ignore files between the git base and the root."""
        rules: _Rules = tuple(() for _ in self._sources)
        if self._git_dir is not None:
            exclude = self._spec(os.path.join(self._git_dir, "info", "exclude"), None)
            if exclude is not None:
                rules = ((_Layer("", exclude),), *rules[1:])
        if self._git_base is not None and self._prefix:
            dir_path, prefix = self._git_base, ""
            for name in self._prefix.rstrip("/").split("/"):
                rules = self._extend(rules, dir_path, prefix, None)
                dir_path, prefix = os.path.join(dir_path, name), f"{prefix}{name}/"
        return rules

    def _extend(
        self,
        rules: _Rules,
        dir_path: str,
        prefix: str,
        listing: dict[str, os.DirEntry[str]] | None,
    ) -> _Rules:
        """Add the ignore files found in ``dir_path`` (``listing`` spares the stat calls)."""
        extended = []
        for (name, _), chain in zip(self._sources, rules, strict=True):
            file_path = os.path.join(dir_path, name)
            if listing is None:
                spec = self._spec(file_path, None)
            elif (entry := listing.get(name)) is not None and entry.is_file():
                spec = self._spec(file_path, entry.stat())
            else:
                spec = None
            extended.append(chain if spec is None else (*chain, _Layer(prefix, spec)))
        return tuple(extended)

    def _spec(self, file_path: str, stat: os.stat_result | None) -> pathspec.GitIgnoreSpec | None:
        """The compiled ignore file at ``file_path``, cached until the file changes."""
        try:
            stat = stat or os.stat(file_path)
        except OSError:
            return None
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = self._specs.get(file_path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            with open(file_path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        spec = pathspec.GitIgnoreSpec.from_lines(lines) if any(lines) else None
        self._specs[file_path] = (signature, spec)
        return spec

    @staticmethod
    def _relative(path: str, root: str) -> str | None:
        """``path`` relative to ``root`` in POSIX form, or None when outside."""
        if path == root:
            return ""
        if not path.startswith(root.rstrip(os.sep) + os.sep):
            return None
        return os.path.relpath(path, root).replace(os.sep, "/")


def _find_git_base(real_root: str) -> tuple[str | None, str, str | None]:
    """(enclosing git work tree, root's prefix inside it "a/b/", its git directory)."""
    current = real_root
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.isdir(dot_git):
            git_dir: str | None = dot_git
            break
        if os.path.isfile(dot_git):  # worktree or submodule: "gitdir: <path>"
            git_dir = _read_gitdir_file(dot_git)
            break
        parent = os.path.dirname(current)
        if parent == current:
            return None, "", None
        current = parent
    prefix = os.path.relpath(real_root, current).replace(os.sep, "/")
    return current, "" if prefix == "." else prefix + "/", git_dir


def _read_gitdir_file(dot_git: str) -> str | None:
    try:
        with open(dot_git, encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    git_dir = os.path.join(os.path.dirname(dot_git), first.removeprefix("gitdir:").strip())
    try:  # a linked worktree keeps info/exclude in the common git directory
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    except OSError:
        return git_dir


def _is_dependency_dir(name: str, has_file: Callable[[str], bool]) -> bool:
    """A virtual environment, or build output / vendored code that is not a Python package."""
    if has_file(VENV_MARKER):
        return True
    return name in BUILD_OUTPUT_DIRS and not has_file(PACKAGE_MARKER)


def _marker_exists(dir_path: str) -> Callable[[str], bool]:
    return lambda name: os.path.exists(os.path.join(dir_path, name))


def _is_utf8(name: str) -> bool:
    """False for a file name that is not valid UTF-8 (os.scandir maps it to surrogates)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
