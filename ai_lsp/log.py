"""Logging setup: stderr or a file (stdout is the protocol), with secrets redacted.

API keys are registered with `register_secret` as soon as they are read, and every log
record is scrubbed of them and of strings shaped like well-known keys.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from pathlib import Path

_KEY_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|AKIA[0-9A-Z]{16}|xox[baprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{12,})"
)
_CANCEL_RACE = 'Cancel notification for unknown message id "%s"'
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Never let `value` appear in a log line."""
    if len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` with registered secrets and key-shaped strings replaced by `[redacted]`."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return _KEY_SHAPES.sub("[redacted]", text)


def secrets_in(text: str) -> list[str]:
    """The registered secrets and key-shaped strings `text` holds, longest first."""
    with _lock:
        found = {secret for secret in _secrets if secret in text}
    found.update(match.group() for match in _KEY_SHAPES.finditer(text))
    return sorted(found, key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts secrets from the whole line (message and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class GonePeerFilter(logging.Filter):
    """The editor closing its pipe first (it often exits right after `shutdown`) is not an
    error worth a traceback in the user's log: keep one short line instead; so is a request a
    handler answered with a JSON-RPC error on purpose (ContentModified because the document
    changed meanwhile, InvalidParams for a malformed request). A `$/cancelRequest`
    that crosses the answer on the wire (pygls warns "Cancel notification for unknown message
    id") is the normal race of cancelling, kept for debug logs only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _CANCEL_RACE:
            return logging.getLogger().getEffectiveLevel() <= logging.DEBUG
        exc = record.exc_info[1] if record.exc_info else None
        if _answered_as_error(exc):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "answered with an error: %s: %s",
                (type(exc).__name__, exc),
                None,
                None,
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        if isinstance(exc, BrokenPipeError | ConnectionResetError):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "the editor closed the connection; a message to it was dropped",
                (),
                None,
                None,
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _answered_as_error(exc: BaseException | None) -> bool:
    """Whether a handler raised pygls's JSON-RPC error (sent as the answer), not a bug."""
    return exc is not None and any(c.__name__ == "JsonRpcException" for c in type(exc).__mro__)


def setup_logging(level: str = "info", log_file: Path | None = None) -> None:
    """Configure the root logger once: stderr (or a file), redacted, at `level`."""
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(GonePeerFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    set_level(level)


def set_level(level: str) -> None:
    """Change the log level at run time (config `log.level`)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.getLogger().setLevel(numeric)
    # Libraries that echo whole messages (file text, prompts, headers) speak only at debug.
    quiet = logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "pygls"):
        logging.getLogger(noisy).setLevel(quiet)
