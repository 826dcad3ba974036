"""The agent: tools the model may call (read-only code queries answered by the upstream
language server and the workspace's files, run by `run`); approvals and command parsing come
with the tools that change things."""

from ai_lsp.agent.tools import TOOLS, Tool, ToolContext, ToolResult, definitions, run

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolResult", "definitions", "run"]
