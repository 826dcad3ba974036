"""ai-lsp.usage: tokens and cost per provider and day, and the remaining budget."""

from __future__ import annotations

import asyncio
from typing import Any

from ai_lsp.server import AiLanguageServer


async def usage(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """Return the ledger's report as JSON."""
    from ai_lsp.providers.usage_report import report_json

    report = await asyncio.to_thread(ls.ledger.report)
    return report_json(report)
