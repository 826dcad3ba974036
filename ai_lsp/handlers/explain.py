"""ai-lsp.context.explain: exactly which context the last completion for a document used."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ai_lsp.handlers.arguments import command_argument
from ai_lsp.handlers.completion import completions
from ai_lsp.server import AiLanguageServer


async def explain(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`{uri, position?}` → the model, shape, prompt sections with tokens, timings, outcome."""
    uri = command_argument(args).get("uri")
    if not isinstance(uri, str):
        return {"error": "ai-lsp.context.explain needs {uri}"}
    record = completions(ls).last_context(uri)
    if record is None:
        return {"uri": uri, "explanation": "no completion has been requested for this document yet"}
    data = asdict(record)
    lines = [f"model {record.model}, {record.shape}, outcome {record.outcome or 'pending'}"]
    lines += [f"  {s.section}: {s.tokens} tokens" for s in record.sections]
    lines += [f"  {name}: {ms:.1f} ms" for name, ms in record.timings_ms.items()]
    data["explanation"] = "\n".join(lines)
    return data
