"""The built-in n-gram model's life: trained from the workspace in a daemon thread, persisted
in the user cache dir, kept current on saves and edits; `complete` never waits for training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ai_lsp import paths
from ai_lsp.index.ignore import FileRejected, WorkspaceFilter
from ai_lsp.index.languages import language_for_path
from ai_lsp.providers.ngram import NgramModel

log = logging.getLogger(__name__)

THRESHOLD = 0.3
"""Least confidence for a suggestion (the model's probability of the whole proposal)."""
MAX_TOKENS = 12
MAX_FILES = 5_000
MAX_BYTES = 48_000_000
"""Caps on what the initial training reads: a huge monorepo must not pin a core for long."""
WORK_SLICE_S, PAUSE_S = 0.02, 0.005
"""Training pauses this long after each slice of work: threads that answer requests would
otherwise wait for the GIL up to the interpreter's switch interval at every hand-over."""
SAVE_EVERY_S = 120.0
"""Updates from saves are written at most this often (a restart retrains what was missed)."""
_NOT_CODE = frozenset({"markdown", "rst", "text", "json", "yaml", "toml", "ini", "xml", "html"})
_PREFIX_CHARS = 2_048


def model_path(root: Path) -> Path:
    """Where the model of workspace `root` is persisted."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return paths.cache_dir() / "ngram" / f"{digest}.bin"


class LocalModel:
    """The n-gram model of one workspace."""

    def __init__(
        self,
        *,
        threshold: float = THRESHOLD,
        max_files: int = MAX_FILES,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.max_files, self.max_bytes = max_files, max_bytes
        self._clock = clock
        self._model: NgramModel | None = None
        self._root: Path | None = None
        self._max_file_bytes = 1_000_000
        self._thread: threading.Thread | None = None
        self._wake = threading.Condition()
        self._saves: dict[str, str] = {}
        self._buffers: dict[str, str | None] = {}
        self._manifest: dict[str, list[int]] = {}
        self._stop = False
        self._dirty = False
        self.trained = threading.Event()
        """Set once the initial training (or loading) has finished."""

    @property
    def started(self) -> bool:
        """Whether the background worker was started (the model is in use)."""
        return self._thread is not None

    def start(self, root: Path | None, *, max_file_bytes: int = 1_000_000) -> None:
        """Train on `root` in the background, unless `train_now` did already; then keep
        the model current. Later calls do nothing."""
        if self._thread is not None:
            return
        if not self.trained.is_set():
            self._root, self._max_file_bytes = root, max_file_bytes
        self._thread = threading.Thread(target=self._run, name="ngram-worker", daemon=True)
        self._thread.start()

    def train_now(
        self,
        root: Path | None,
        *,
        max_file_bytes: int = 1_000_000,
        editing: tuple[str, str] | None = None,
    ) -> None:
        """Load or train on `root` in this thread (for the CLI). `editing` is the
        `(path_key, text)` being completed: it counts as an open buffer, not as a workspace
        file, so the half-typed word at the cursor is not taken for a known one."""
        self._root, self._max_file_bytes = root, max_file_bytes
        self._train()
        model = self._model
        if editing is not None and model is not None:
            model.forget_file(editing[0])  # in memory only: the persisted model keeps it
            model.set_buffer(*editing)

    def complete(self, prefix: str, path_key: str | None) -> str | None:
        """The proposed text after `prefix`, or None (untrained, busy, or not confident)."""
        model = self._model
        if model is None:
            return None
        found = model.complete(
            prefix[-_PREFIX_CHARS:],
            path_key=path_key,
            max_tokens=MAX_TOKENS,
            threshold=self.threshold,
        )
        return None if found is None else found.text

    def file_saved(self, path_key: str, text: str) -> None:
        """A workspace file was saved with `text`: count it in the workspace model."""
        with self._wake:
            self._saves[path_key] = text
            self._wake.notify()

    def buffer_changed(self, path_key: str, text: str) -> None:
        """An open buffer's current text, for the model's per-file cache (the caller
        debounces: re-lexing a big buffer costs milliseconds)."""
        with self._wake:
            self._buffers[path_key] = text
            self._wake.notify()

    def buffer_closed(self, path_key: str) -> None:
        with self._wake:
            self._buffers[path_key] = None
            self._wake.notify()

    def close(self) -> None:
        """Stop the worker (what it was doing is finished first, in its thread)."""
        with self._wake:
            self._stop = True
            self._wake.notify()

    # -- worker thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if not self.trained.is_set():
                self._train()
            last_save = self._clock()
            while True:
                with self._wake:
                    while not (self._saves or self._buffers or self._stop):
                        self._wake.wait()
                    if self._stop:
                        return
                    saves, self._saves = self._saves, {}
                    buffers, self._buffers = self._buffers, {}
                self._apply(saves, buffers)
                if self._dirty and self._clock() - last_save >= SAVE_EVERY_S:
                    self._save()
                    last_save = self._clock()
        except Exception:
            log.exception("the local completion model stopped after an error")

    def _apply(self, saves: dict[str, str], buffers: dict[str, str | None]) -> None:
        model = self._model
        if model is None:
            return
        for key, text in saves.items():
            model.update_file(key, text)
            self._dirty = True
        for key, maybe_text in buffers.items():
            if maybe_text is None:
                model.close_buffer(key)
            else:
                model.set_buffer(key, maybe_text)

    def _train(self) -> None:
        started = time.perf_counter()
        root = self._root
        if root is None:
            self._model = NgramModel()
            self.trained.set()
            return
        path = model_path(root)
        manifest_path = path.with_suffix(".json")
        manifest = _read_manifest(manifest_path)
        model = NgramModel.load(path) if manifest else None
        if model is None:
            model, manifest = NgramModel(), {}
        else:
            self._model = model  # usable while the changed files are retrained
        seen, changed = self._scan(model, root, manifest)
        for gone in set(manifest) - seen:
            model.forget_file(gone)
            del manifest[gone]
            changed += 1
        model.flush()
        self._model = model
        log.info(
            "local completion model: %d files (%d changed) in %.1f s",
            model.file_count,
            changed,
            time.perf_counter() - started,
        )
        if changed or not path.exists():
            self._dirty = True
            self._save(manifest)
        self.trained.set()

    def _scan(
        self, model: NgramModel, root: Path, manifest: dict[str, list[int]]
    ) -> tuple[set[str], int]:
        """Train the files that changed since `manifest`; the keys seen and how many changed."""
        workspace = WorkspaceFilter(root, max_file_bytes=self._max_file_bytes)
        seen: set[str] = set()
        changed = total_bytes = 0
        worked_since = time.perf_counter()
        for found in workspace.scan():
            if self._stop or len(seen) >= self.max_files or total_bytes >= self.max_bytes:
                break
            language = language_for_path(found.rel)
            if language is None or language in _NOT_CODE:
                continue
            seen.add(found.rel)
            total_bytes += found.size
            signature = [found.mtime_ns, found.size]
            if manifest.get(found.rel) == signature:
                continue
            try:
                text = workspace.read_text(found.path)
            except FileRejected:
                seen.discard(found.rel)
                continue
            model.train_file(found.rel, text)
            manifest[found.rel] = signature
            changed += 1
            if time.perf_counter() - worked_since >= WORK_SLICE_S:
                time.sleep(PAUSE_S)  # let the event loop's thread have the GIL
                worked_since = time.perf_counter()
        self._manifest = manifest
        return seen, changed

    def _save(self, manifest: dict[str, list[int]] | None = None) -> None:
        model, root = self._model, self._root
        if model is None or root is None:
            return
        path = model_path(root)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
            _write_manifest(path.with_suffix(".json"), manifest or self._manifest)
            self._dirty = False
        except OSError as exc:
            log.warning("could not save the local completion model to %s: %s", path, exc)


def _read_manifest(path: Path) -> dict[str, list[int]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def _write_manifest(path: Path, manifest: dict[str, list[int]]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"version": 1, "files": manifest}), "utf-8")
    tmp.replace(path)
