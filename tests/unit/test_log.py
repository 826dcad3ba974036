"""Log hygiene: secrets redacted, the normal races of an editor session kept quiet."""

from __future__ import annotations

import io
import logging

import pytest

from ai_lsp.log import GonePeerFilter, RedactingFormatter, register_secret


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    handler.addFilter(GonePeerFilter())
    logger = logging.getLogger("tests.log-hygiene")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def test_secrets_and_key_shaped_strings_are_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    register_secret("hunter2-very-secret")
    logger.info("key is hunter2-very-secret and sk-%s", "a" * 24)
    assert out.getvalue() == "INFO key is [redacted] and [redacted]\n"


def test_a_cancel_crossing_its_answer_is_logged_at_debug_only(
    captured: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, out = captured
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.INFO)
    logger.warning('Cancel notification for unknown message id "%s"', 7)
    logger.warning("something else")
    monkeypatch.setattr(root, "level", logging.DEBUG)
    logger.warning('Cancel notification for unknown message id "%s"', 8)
    assert out.getvalue().splitlines() == [
        "WARNING something else",
        'WARNING Cancel notification for unknown message id "8"',
    ]


def test_an_error_answered_on_purpose_is_one_line_and_a_bug_keeps_its_traceback(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    from pygls.exceptions import JsonRpcContentModified

    logger, out = captured
    for error in (JsonRpcContentModified("the document changed"), TypeError("a bug")):
        try:
            raise error
        except Exception:
            logger.exception("Exception occurred for message %s", 1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "INFO answered with an error: JsonRpcContentModified: the document changed"
    assert lines[1] == "ERROR Exception occurred for message 1"
    assert "Traceback" in lines[2]
    assert lines[-1] == "TypeError: a bug"
