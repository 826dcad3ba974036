"""Token counting that never hangs offline: tiktoken when its encoding file is cached (or can be
fetched within seconds), otherwise a safe over-estimate and one warning in the log.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import string
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ai_lsp.config import ModelConfig

log = logging.getLogger(__name__)

DEFAULT_ENCODING = "cl100k_base"
"""Counts for models with an unknown tokenizer (local code models: qwen, deepseek, starcoder,
codellama, llama, mistral). Their own tokenizers differ: qwen and llama 3 are close to it; the
32k-vocabulary ones (codellama, deepseek-coder 1.x) need more tokens for the same code, so a
prompt packed to the last token may run slightly over their window."""
NO_DOWNLOAD_ENV = "AI_LSP_NO_TOKENIZER_DOWNLOAD"
"""Set to 1 to never fetch encoding files (the estimate is used unless the file is cached)."""
LOAD_WAIT_S = 3.0
"""A cached file loads in ~0.15 s; a request waits at most this long before estimating."""
DOWNLOAD_TIMEOUT_S = 10.0
"""One download attempt per encoding and process, in a background thread, at most this long."""
ESTIMATE_NOTE = "about 1.45x too high on code"
"""The estimate's median against cl100k_base on installed sources (see `estimate`)."""

_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
_SHA256 = {  # from tiktoken_ext/openai_public.py: a cached file must match to be used
    "r50k_base": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    "p50k_base": "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
# Encodings that count ordinary text exactly like one of the files above.
_ALIASES = {"gpt2": "r50k_base", "p50k_edit": "p50k_base", "o200k_harmony": "o200k_base"}
_O200K = re.compile(r"(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o[134])(?:[-:._]|$)")
_CL100K = re.compile(
    r"(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)(?:[-:_]|$)"
)
_SPARSE = (string.ascii_letters + " \t").encode()
_LINE_CACHE = 65_536
_CACHED_LINE_CHARS = 2_000


class TokenCounter(Protocol):
    """Counts the tokens of prompt text."""

    @property
    def exact(self) -> bool:
        """Whether counts come from the model's own tokenizer (else they are estimates)."""
        ...

    def count(self, text: str) -> int:
        """Tokens in `text`."""
        ...


def estimate(text: str) -> int:
    """Tokens by a rule that errs high: letters and blanks at 5 bytes a token, every other byte
    (digits, punctuation, non-ASCII) a token of its own. Against cl100k_base on ~17,000 installed
    files: median 1.46x on Python, 1.37x on C, 1.43x on JS; below 1x for 0.5% of files (data
    tables, base64), down to 0.4x."""
    return sum(map(_estimate_line, text.splitlines(keepends=True)))


def _estimate_line(line: str) -> int:
    data = line.encode()
    dense = len(data.translate(None, _SPARSE))
    return (len(data) + 4 * dense + 4) // 5


def encoding_for(model: ModelConfig | None) -> tuple[str, bool]:
    """The encoding that counts `model`'s tokens, and whether it is the model's own tokenizer.

    The model's `encoding` setting wins; else the name decides (`openai/gpt-4o` counts as `gpt-4o`);
    everything unknown is approximated with `DEFAULT_ENCODING`.
    """
    if model is None:
        return DEFAULT_ENCODING, False
    if model.encoding:
        return _configured(model.encoding, model.name)
    return _by_name(model.name)


@functools.lru_cache(maxsize=256)
def _by_name(name: str) -> tuple[str, bool]:
    base = name.lower().rsplit("/", 1)[-1].removeprefix("ft:")
    if _O200K.match(base):
        return "o200k_base", True
    if _CL100K.match(base):
        return "cl100k_base", True
    return DEFAULT_ENCODING, False


@functools.lru_cache(maxsize=64)
def _configured(encoding: str, model_name: str) -> tuple[str, bool]:
    name = _ALIASES.get(encoding, encoding)
    if name in _SHA256:
        return name, True
    log.warning(
        "ai-lsp: unknown tiktoken encoding %r for model %s (models.*.encoding); known: %s. "
        "Counting with %s as an approximation.",
        encoding,
        model_name,
        ", ".join(sorted([*_SHA256, *_ALIASES])),
        DEFAULT_ENCODING,
    )
    return DEFAULT_ENCODING, False


def tiktoken_cache_dir() -> str:
    """The folder tiktoken reads its encoding files from ("" means tiktoken caches nothing)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


class _Tokenizer:
    """One encoding: loaded at most once, in a background thread, from tiktoken's cache or a
    short download; until then (or if that fails) `line_counter` is None."""

    def __init__(self, name: str, cache_dir: str) -> None:
        self.name = name
        self.url = _URL.format(name)
        # tiktoken names cached files by the sha1 of their URL (tiktoken/load.py).
        key = hashlib.sha1(self.url.encode()).hexdigest()
        self.path = Path(cache_dir, key) if cache_dir else None
        self.problem = ""
        self._count_line: Callable[[str], int] | None = None
        self._settled = threading.Event()
        """Set once counts will not become exact soon: loaded, failed, or downloading."""
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._count_line is not None

    def line_counter(self) -> Callable[[str], int] | None:
        """The exact per-line counter, waiting briefly for a cached file to load."""
        if self._count_line is None and not self._settled.is_set():
            self._start()
            self._settled.wait(LOAD_WAIT_S)
        return self._count_line

    def wait(self, timeout: float) -> bool:
        """Start loading if needed and wait until it is over; True when exact counts are on."""
        self._start()
        self._done.wait(timeout)
        return self.loaded

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._load, name=f"tokenizer-{self.name}", daemon=True
            )
            self._thread.start()

    def _load(self) -> None:
        try:
            self._count_line = self._open()
        except Exception as exc:  # tokenizer trouble must never reach a request
            self.problem = f"loading it failed: {exc}"
        finally:
            if self._count_line is None:
                log.warning("%s", self.advice())
            else:
                log.debug("tokenizer %s loaded", self.name)
            self._settled.set()
            self._done.set()

    def _open(self) -> Callable[[str], int] | None:
        if self.path is None:
            self.problem = "TIKTOKEN_CACHE_DIR is empty, which turns tiktoken's file cache off"
            return None
        if not _verified(self.path, _SHA256[self.name]):
            if os.environ.get(NO_DOWNLOAD_ENV, "") not in ("", "0"):
                self.problem = (
                    f"not in the tiktoken cache {self.path.parent} ({NO_DOWNLOAD_ENV} is set)"
                )
                return None
            self._settled.set()  # a download may take seconds: estimate meanwhile
            try:
                data = _download(self.url, DOWNLOAD_TIMEOUT_S)
                if hashlib.sha256(data).hexdigest() != _SHA256[self.name]:
                    raise ValueError("the downloaded file has the wrong sha256")
                _store(self.path, data)
            except Exception as exc:
                self.problem = (
                    f"not in the tiktoken cache {self.path.parent}; download failed: {exc}"
                )
                return None
        import tiktoken

        encode = tiktoken.get_encoding(self.name).encode_ordinary

        @functools.lru_cache(maxsize=_LINE_CACHE)
        def cached(line: str) -> int:
            return len(encode(line))

        def count_line(line: str) -> int:
            return cached(line) if len(line) <= _CACHED_LINE_CHARS else len(encode(line))

        return count_line

    def advice(self) -> str:
        """What is wrong and what the user can do about it."""
        where = self.path or Path("<folder>", hashlib.sha1(self.url.encode()).hexdigest())
        return (
            f"ai-lsp: tokenizer {self.name} is unavailable ({self.problem}); token counts are "
            f"estimated on the safe side ({ESTIMATE_NOTE}), so prompts carry less context. "
            f"For exact counts offline, save {self.url} as {where} "
            f"(or into another folder under that name) and set TIKTOKEN_CACHE_DIR to its folder."
        )


def _verified(path: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _download(url: str, timeout: float) -> bytes:
    """The file at `url`, or an exception after about `timeout` seconds."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    with urllib.request.urlopen(url, timeout=timeout) as response:
        while chunk := response.read(1 << 16):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete file within {timeout:.0f} s")
    return b"".join(chunks)


def _store(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see half a file


_tokenizers: dict[tuple[str, str], _Tokenizer] = {}
_tokenizers_lock = threading.Lock()


def _tokenizer(name: str) -> _Tokenizer:
    key = (name, tiktoken_cache_dir())
    with _tokenizers_lock:
        found = _tokenizers.get(key)
        if found is None:
            found = _tokenizers[key] = _Tokenizer(*key)
        return found


class EncodingCounter:
    """Counts tokens with one encoding, line by line (repeated lines are cached, and the loaded
    encoding is shared by all counters of the same encoding).

    Counting lines separately over-counts by ~2% on code (at most 11% in ~17,000 files) compared
    with encoding the text whole, never under; in exchange a text's count is the sum of its
    lines' counts, and recounting a 2,000-line file after an edit takes ~0.4 ms instead of ~6.
    """

    def __init__(self, encoding: str, *, native: bool) -> None:
        self.encoding = encoding
        self._native = native
        self._tokenizer = _tokenizer(encoding)

    @property
    def exact(self) -> bool:
        """True once the encoding is loaded and it is the model's own tokenizer."""
        return self._native and self._tokenizer.loaded

    def count(self, text: str) -> int:
        """Tokens in `text`: exact per line when the encoding is loaded, else `estimate`."""
        count_line = self._tokenizer.line_counter()
        if count_line is None:
            return estimate(text)
        return sum(map(count_line, text.splitlines(keepends=True)))


def counter_for(model: ModelConfig | None) -> EncodingCounter:
    """The token counter for `model` (None: no model, counted with `DEFAULT_ENCODING`)."""
    encoding, native = encoding_for(model)
    return EncodingCounter(encoding, native=native)


def count_for_model(model: ModelConfig, text: str) -> int:
    """Tokens of `text` for `model` (the provider registry's counter)."""
    return counter_for(model).count(text)


def warm_up(*models: ModelConfig | None) -> bool:
    """Load the encodings of `models` (none given: `DEFAULT_ENCODING`) now, so the first request
    does not pay for it. Blocks up to ~13 s: call it from a worker thread. True if all are exact."""
    names = {encoding_for(model)[0] for model in models or (None,)}
    timeout = LOAD_WAIT_S + DOWNLOAD_TIMEOUT_S
    return all([_tokenizer(name).wait(timeout) for name in sorted(names)])


def tokenizer_status(*models: ModelConfig | None) -> tuple[bool, str]:
    """For `ai-lsp doctor`: whether counts for `models` are exact, and a line saying why."""
    warm_up(*models)
    names = sorted({encoding_for(model)[0] for model in models or (None,)})
    tokenizers = [_tokenizer(name) for name in names]
    if all(t.loaded for t in tokenizers):
        folder = tiktoken_cache_dir()
        return True, f"{', '.join(names)}: exact counts (tiktoken files in {folder})"
    return False, " ".join(t.advice() for t in tokenizers if not t.loaded)
