"""A model's tool arguments checked against the tool's schema, with messages it can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ai_lsp.agent.context import ToolError
from ai_lsp.agent.specs import Tool

__all__ = ["parse_arguments"]

_JSON_TYPES: dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
}


def parse_arguments(tool: Tool, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as a dict, each of the schema's type; raises `ToolError` saying what to fix.

    `arguments` is the JSON text a model sent (empty means no arguments) or an object.
    """
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as error:
            raise ToolError(
                f"the arguments of {tool.name} are not valid JSON ({error.msg} at character "
                f"{error.pos}); send one JSON object, e.g. {_example(tool)}"
            ) from None
    else:
        parsed = arguments
    if not isinstance(parsed, Mapping):
        raise ToolError(
            f"the arguments of {tool.name} must be a JSON object, e.g. {_example(tool)}"
        )
    properties: Mapping[str, Any] = tool.parameters["properties"]
    checked: dict[str, Any] = {}
    for name, value in parsed.items():
        schema = properties.get(name)
        if schema is None:
            raise ToolError(
                f"{tool.name} has no argument `{name}`; its arguments are "
                f"{_names(list(properties))}"
            )
        if value is not None:  # null is taken as "not given"
            checked[name] = _checked(tool, name, value, schema)
    missing = [name for name in tool.parameters["required"] if name not in checked]
    if missing:
        raise ToolError(f"{tool.name} needs {_names(missing)}; e.g. {_example(tool)}")
    return checked


def _checked(tool: Tool, name: str, value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema["type"]
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    valid = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }[kind]
    if not valid:
        raise ToolError(
            f"`{name}` of {tool.name} must be {_JSON_TYPES[kind]}, not {json.dumps(value)}"
        )
    minimum = schema.get("minimum")
    if minimum is not None and value < minimum:
        raise ToolError(
            f"`{name}` of {tool.name} must be at least {minimum} (lines and "
            f"columns count from 1), not {value}"
        )
    return value


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _example(tool: Tool) -> str:
    """A valid argument object for `tool`, to show in messages."""
    samples = {
        "path": "src/app.py",
        "line": 12,
        "column": 5,
        "symbol": "compute_total",
        "query": "Order",
        "start_line": 1,
        "end_line": 40,
    }
    required = tool.parameters["required"] or [
        name for name in ("symbol", "query") if name in tool.parameters["properties"]
    ]
    wanted = list(required)
    if "path" in wanted and "line" in tool.parameters["properties"]:
        wanted += [name for name in ("line", "symbol") if name not in wanted]
    return json.dumps({name: samples.get(name, "...") for name in wanted})
