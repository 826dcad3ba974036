"""The read-only code tools as a model sees them: names, descriptions and JSON-schema parameters
in the OpenAI function-calling shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TOOLS", "Tool"]


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool a model may call."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    """A JSON schema of type "object"."""
    read_only: bool = True
    """Reads the workspace and asks servers; never writes nor runs anything."""
    requires_approval: bool = False
    """Whether the user must approve each call (shell and test tools do; these never)."""

    def schema(self) -> dict[str, Any]:
        """The tool as an entry of the `tools` list of a chat completion request."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


_PATH = {
    "type": "string",
    "description": "File path relative to the workspace root, e.g. `src/app/util.py`.",
}
_LINE = {"type": "integer", "minimum": 1, "description": "Line number, 1-based."}
_COLUMN = {
    "type": "integer",
    "minimum": 1,
    "description": "Column, 1-based, in characters. Optional when `symbol` is given.",
}
_SYMBOL = {
    "type": "string",
    "description": (
        "The identifier to ask about, e.g. `compute_total`. Found on `line` (the occurrence "
        "nearest `column`), or its first occurrence in the file when `line` is omitted."
    ),
}
_BY_NAME = (
    " Give `path` and `line` with `symbol` (or `column`), or `symbol` alone to look the "
    "name up in the whole workspace."
)


def _object(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": required,
        "additionalProperties": False,
    }


_POSITION = {"path": _PATH, "line": _LINE, "column": _COLUMN, "symbol": _SYMBOL}

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        Tool(
            "find_definition",
            "Where a symbol is defined, with the code of its definition (signature, docstring, "
            "body, up to 40 lines)." + _BY_NAME,
            _object(_POSITION, []),
        ),
        Tool(
            "find_type_definition",
            "Where the type of a variable, parameter or expression is defined, with its code.",
            _object(_POSITION, ["path"]),
        ),
        Tool(
            "hover",
            "The signature, type and documentation of a symbol, as the editor's hover shows it."
            + _BY_NAME,
            _object(_POSITION, []),
        ),
        Tool(
            "signature_help",
            "The signatures of the function called at a position and which parameter the "
            "position is at. Give `symbol` as the called function's name, or `column` inside "
            "the call's parentheses.",
            _object(_POSITION, ["path", "line"]),
        ),
        Tool(
            "find_references",
            "Every line in the workspace that refers to a symbol, as `path:line: code`." + _BY_NAME,
            _object(
                {
                    **_POSITION,
                    "include_declaration": {
                        "type": "boolean",
                        "description": "List the definition itself too (default true).",
                    },
                },
                [],
            ),
        ),
        Tool(
            "document_symbols",
            "The outline of a file: its classes, functions, methods and variables, nested, "
            "with their lines.",
            _object({"path": _PATH}, ["path"]),
        ),
        Tool(
            "workspace_symbols",
            "Find classes, functions and other symbols by name (or part of it) in the whole "
            "workspace, with where each is defined.",
            _object(
                {
                    "query": {"type": "string", "description": "The name or part of it."},
                    "path": {
                        **_PATH,
                        "description": (
                            "Optional: any file in the language to search; by default the "
                            "languages of the files open in the editor."
                        ),
                    },
                },
                ["query"],
            ),
        ),
        Tool(
            "diagnostics",
            "The errors and warnings the language server reports for a file.",
            _object({"path": _PATH}, ["path"]),
        ),
        Tool(
            "read_file",
            "Lines of a workspace file, numbered; the editor's unsaved text when the file is "
            "open. Use it to follow up on the other tools' results.",
            _object(
                {
                    "path": _PATH,
                    "start_line": {**_LINE, "description": "First line, 1-based (default 1)."},
                    "end_line": {
                        **_LINE,
                        "description": "Last line, 1-based, inclusive (default: the end).",
                    },
                },
                ["path"],
            ),
        ),
    ]
}
"""Every tool by name, in the order a model is offered them."""
