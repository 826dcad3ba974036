"""Work-done progress (`$/progress`) for long jobs, cancellable by the user.

Clients without `window.workDoneProgress` (eglot) get nothing: results never depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable

from lsprotocol import types

from ai_lsp.server import AiLanguageServer

log = logging.getLogger(__name__)

Report = Callable[[int, int, str], None]
REPORT_INTERVAL_S = 0.2


def shows_progress(ls: AiLanguageServer) -> bool:
    """Whether the client shows server-initiated work-done progress."""
    return bool(getattr(ls.client_capabilities.window, "work_done_progress", False))


@contextlib.asynccontextmanager
async def work_done(
    ls: AiLanguageServer, title: str
) -> AsyncIterator[tuple[Report, threading.Event]]:
    """Yield `(report(done, total, message), cancel)`; `report` may be called from any thread."""
    cancel = threading.Event()
    token = str(uuid.uuid4())
    loop = asyncio.get_running_loop()
    supported = shows_progress(ls)
    if supported:
        try:
            # Shielded: pygls 2.1 can break its loop if cancelled mid server-to-client request.
            await asyncio.shield(ls.work_done_progress.create_async(token))
            ls.work_done_progress.tokens[token].add_done_callback(lambda _: cancel.set())
            ls.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
            )
        except Exception as exc:
            log.debug("no progress for %s: %s", title, exc)
            supported = False
    last = 0.0

    def send(done: int, total: int, message: str) -> None:
        percentage = min(100, done * 100 // total) if total else None
        ls.work_done_progress.report(
            token,
            types.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True),
        )

    def report(done: int, total: int, message: str) -> None:
        nonlocal last
        now = time.monotonic()
        if not supported or (now - last < REPORT_INTERVAL_S and done < total):
            return
        last = now
        loop.call_soon_threadsafe(send, done, total, message)

    try:
        yield report, cancel
    finally:
        # After `shutdown` the editor may already be gone: nothing more is sent to it.
        if supported and not getattr(ls.protocol, "_shutdown", False):
            message = "cancelled" if cancel.is_set() else "done"
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
