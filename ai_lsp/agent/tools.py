"""The read-only code tools of chat and the agent: their schemas for the model, and `run` to
answer a call. A chat loop offers `definitions()` as `tools=` and, for each tool call,

    result = await run(call.function.name, call.function.arguments, context)
    messages.append(result.message(call.id))

`run` never raises (but for cancellation): every problem becomes an error answer the model reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ai_lsp.agent import code_tools, file_tools
from ai_lsp.agent.arguments import parse_arguments
from ai_lsp.agent.context import ToolContext, ToolError
from ai_lsp.agent.render import Answer
from ai_lsp.agent.specs import TOOLS, Tool
from ai_lsp.log import redact
from ai_lsp.upstream.manager import UpstreamUnavailable
from ai_lsp.upstream.transport import UpstreamCrashed, UpstreamError, UpstreamTimeout

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolResult", "definitions", "run"]

log = logging.getLogger(__name__)

_Implementation = Callable[[ToolContext, dict[str, Any]], Awaitable[Answer]]
_IMPLEMENTATIONS: dict[str, _Implementation] = {
    "find_definition": code_tools.find_definition,
    "find_type_definition": code_tools.find_type_definition,
    "hover": code_tools.hover,
    "signature_help": code_tools.signature_help,
    "find_references": code_tools.find_references,
    "document_symbols": file_tools.document_symbols,
    "workspace_symbols": file_tools.workspace_symbols,
    "diagnostics": file_tools.diagnostics,
    "read_file": file_tools.read_file,
}


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's answer for the model; `is_error` when the call did not get one."""

    name: str
    text: str
    is_error: bool = False
    left_out: int = 0
    """Results that did not fit in the token budget (the text says so too)."""

    def message(self, tool_call_id: str) -> dict[str, str]:
        """The `role: tool` chat message carrying this answer."""
        return {"role": "tool", "tool_call_id": tool_call_id, "content": self.text}


def definitions(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The tools (all, or those named) as a chat completion request's `tools` list."""
    wanted = TOOLS if names is None else {name: TOOLS[name] for name in names}
    return [tool.schema() for tool in wanted.values()]


async def run(name: str, arguments: str | Mapping[str, Any], context: ToolContext) -> ToolResult:
    """Answer the model's call of tool `name` with `arguments` (its JSON text, or a dict)."""
    tool = TOOLS.get(name)
    if tool is None:
        return _error(name, f"there is no tool `{name}`; the tools are {', '.join(TOOLS)}")
    try:
        args = parse_arguments(tool, arguments)
        async with asyncio.timeout(context.timeout):
            answer = await _IMPLEMENTATIONS[name](context, args)
    except ToolError as error:
        return _error(name, str(error))
    except UpstreamUnavailable as error:
        return _error(name, f"no language server can answer: {error}; read_file still works")
    except (TimeoutError, UpstreamTimeout):
        return _error(
            name,
            f"the language server did not answer within {context.timeout:g} s (it may still "
            "be starting or indexing the project); try again shortly, or use read_file",
        )
    except UpstreamCrashed as error:
        return _error(
            name, f"the language server stopped ({error}); ai-lsp restarts it, try again shortly"
        )
    except UpstreamError as error:
        return _error(name, f"the language server failed: {error}")
    except Exception:
        log.exception("tool %s failed", name)
        return _error(name, f"ai-lsp failed inside {name} (see its log); the other tools work")
    return ToolResult(name, answer.text, left_out=answer.left_out)


def _error(name: str, message: str) -> ToolResult:
    return ToolResult(name, redact(f"Error: {message}"), is_error=True)
