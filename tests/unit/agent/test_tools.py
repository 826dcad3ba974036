"""The agent's code tools with a scripted upstream server: schemas, argument checks, what files
a model may see, positions, budgets, timeouts and redaction."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from ai_lsp.agent.tools import TOOLS, ToolContext, ToolResult, definitions, run
from ai_lsp.completion.guard import PromptGuard
from ai_lsp.documents import DocumentStore
from ai_lsp.index.ignore import WorkspaceFilter
from ai_lsp.prompting.tokens import estimate
from ai_lsp.upstream.manager import UpstreamUnavailable
from ai_lsp.upstream.transport import UpstreamCrashed
from tests.unit.upstream.conftest import UTIL

MAIN = """\
from util import Order, compute_total

orders = [Order()]
print(compute_total(orders), compute_total([]))
"""
KEY = "sk-proj" + "A1b2C3d4E5f6G7h8I9j0K1l2"
SECRET = "hunter2-do-not-show"
ALL_METHODS = frozenset(
    {
        types.TEXT_DOCUMENT_DEFINITION,
        types.TEXT_DOCUMENT_TYPE_DEFINITION,
        types.TEXT_DOCUMENT_HOVER,
        types.TEXT_DOCUMENT_SIGNATURE_HELP,
        types.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
        types.WORKSPACE_SYMBOL,
        types.TEXT_DOCUMENT_REFERENCES,
    }
)


def location(root: Path, name: str, line: int, end_line: int | None = None) -> types.Location:
    """A location of lines (0-based) in a workspace file."""
    end = types.Position(line if end_line is None else end_line, 3)
    return types.Location((root / name).as_uri(), types.Range(types.Position(line, 0), end))


def symbol(
    name: str, kind: types.SymbolKind, where: types.Location, container: str | None = None
) -> types.SymbolInformation:
    return types.SymbolInformation(name=name, kind=kind, location=where, container_name=container)


@dataclass
class FakeClient:
    """An upstream client whose answers the test scripts; it records what it was asked."""

    offered: frozenset[str] = ALL_METHODS
    encoding: types.PositionEncodingKind = types.PositionEncodingKind.Utf16
    name: str = "fake-ls"
    answers: dict[str, Any] = field(default_factory=dict)
    asked: list[tuple[str, str, types.Position | None]] = field(default_factory=list)
    hang: bool = False
    failure: Exception | None = None

    def supports(self, method: str) -> bool:
        return method in self.offered

    async def _answer(self, method: str, uri: str, position: types.Position | None = None) -> Any:
        self.asked.append((method, uri, position))
        if self.hang:
            await asyncio.Event().wait()
        if self.failure is not None:
            raise self.failure
        return self.answers.get(method)

    async def definition(self, uri: str, position: types.Position) -> list[Any]:
        return list(await self._answer(types.TEXT_DOCUMENT_DEFINITION, uri, position) or [])

    async def type_definition(self, uri: str, position: types.Position) -> list[Any]:
        return list(await self._answer(types.TEXT_DOCUMENT_TYPE_DEFINITION, uri, position) or [])

    async def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        result: types.Hover | None = await self._answer(types.TEXT_DOCUMENT_HOVER, uri, position)
        return result

    async def signature_help(self, uri: str, position: types.Position) -> Any:
        return await self._answer(types.TEXT_DOCUMENT_SIGNATURE_HELP, uri, position)

    async def document_symbols(self, uri: str) -> list[Any]:
        return list(await self._answer(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, uri) or [])

    async def workspace_symbols(self, query: str) -> list[Any]:
        return list(await self._answer(types.WORKSPACE_SYMBOL, query) or [])

    async def references(
        self, uri: str, position: types.Position, *, include_declaration: bool = True
    ) -> list[types.Location]:
        return list(await self._answer(types.TEXT_DOCUMENT_REFERENCES, uri, position) or [])

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        return list(await self._answer(types.TEXT_DOCUMENT_DIAGNOSTIC, uri) or [])


class FakeSource:
    """The upstream manager's side that tools use: files, open texts and the client."""

    def __init__(self, root: Path, documents: DocumentStore, client: FakeClient) -> None:
        self.root = root
        self.files = WorkspaceFilter(root)
        self.documents = documents
        self.client = client
        self.unavailable: str | None = None
        self.starting_forever = False

    def document_text(self, uri: str) -> str | None:
        document = self.documents.get(uri)
        return None if document is None else document.text

    async def client_for(self, uri: str, language_id: str | None = None) -> FakeClient:
        if self.unavailable is not None:
            raise UpstreamUnavailable(self.unavailable)
        if self.starting_forever:
            await asyncio.Event().wait()
        return self.client


@dataclass
class Workspace:
    root: Path
    outside: Path
    documents: DocumentStore
    client: FakeClient
    source: FakeSource

    def context(self, **changes: Any) -> ToolContext:
        context = ToolContext(
            self.root, self.documents, PromptGuard(self.root, 20_000), self.source, timeout=2.0
        )
        return replace(context, **changes)

    def open(self, name: str, text: str | None = None) -> str:
        uri = (self.root / name).as_uri()
        self.documents.open(
            uri, "python", 1, (self.root / name).read_text() if text is None else text
        )
        return uri


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "util.py").write_text(UTIL)
    (root / "main.py").write_text(MAIN)
    (root / ".env").write_text(f"PASSWORD={SECRET}\n")
    (root / "private.txt").write_text(f"{SECRET}\n")
    (root / ".ai-lspignore").write_text("private.txt\n")
    (root / "image.bin").write_bytes(b"\x00\x01\x02" * 100)
    (root / "huge.py").write_text("x = 1\n" * 10_000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text(f"{SECRET}\n")
    documents = DocumentStore()
    client = FakeClient()
    return Workspace(root, outside, documents, client, FakeSource(root, documents, client))


async def call(ws: Workspace, name: str, arguments: Any, **context: Any) -> ToolResult:
    return await run(name, arguments, ws.context(**context))


# --- schemas ---------------------------------------------------------------------------


def test_every_tool_is_an_openai_function_with_a_valid_parameter_schema() -> None:
    schemas = definitions()
    assert [schema["function"]["name"] for schema in schemas] == [
        "find_definition",
        "find_type_definition",
        "hover",
        "signature_help",
        "find_references",
        "document_symbols",
        "workspace_symbols",
        "diagnostics",
        "read_file",
    ]
    for schema in json.loads(json.dumps(schemas)):  # plain JSON, as sent to the endpoint
        assert schema["type"] == "function"
        function = schema["function"]
        assert set(function) == {"name", "description", "parameters"}
        assert len(function["description"]) > 20
        parameters = function["parameters"]
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False
        assert isinstance(parameters["required"], list)
        assert set(parameters["required"]) <= set(parameters["properties"])
        for name, prop in parameters["properties"].items():
            assert prop["type"] in {"string", "integer", "boolean"}, name
            assert prop["description"], name
            if prop["type"] == "integer":
                assert prop["minimum"] == 1
    assert TOOLS["read_file"].parameters["required"] == ["path"]
    assert TOOLS["workspace_symbols"].parameters["required"] == ["query"]
    assert TOOLS["signature_help"].parameters["required"] == ["path", "line"]


def test_every_tool_is_read_only_and_needs_no_approval() -> None:
    assert all(tool.read_only and not tool.requires_approval for tool in TOOLS.values())
    assert [schema["function"]["name"] for schema in definitions(["hover", "read_file"])] == [
        "hover",
        "read_file",
    ]


# --- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file", '{"path": "util.py"', "not valid JSON"),
        ("read_file", "[1, 2]", "must be a JSON object"),
        ("read_file", "{}", "read_file needs `path`"),
        ("read_file", {"path": 3}, "`path` of read_file must be a string, not 3"),
        ("hover", {"path": "main.py", "line": "4"}, '`line` of hover must be an integer, not "4"'),
        ("hover", {"path": "main.py", "line": True}, "must be an integer, not true"),
        ("hover", {"path": "main.py", "line": 0, "column": 1}, "must be at least 1"),
        ("hover", {"file": "main.py"}, "hover has no argument `file`; its arguments are `path`"),
        ("find_references", {"path": "main.py", "include_declaration": "no"}, "true or false"),
        ("find_definition", "", "give `symbol`, or `path` and `line`"),
        ("hover", {"path": "main.py", "line": 4}, "give `symbol` (or `column`) with `line`"),
        ("workspace_symbols", {"query": "  "}, "`query` is empty"),
        ("run_tests", "{}", "there is no tool `run_tests`; the tools are find_definition"),
    ],
)
async def test_bad_arguments_get_an_error_the_model_can_act_on(
    ws: Workspace, name: str, arguments: Any, expected: str
) -> None:
    result = await call(ws, name, arguments)
    assert result.is_error
    assert result.text.startswith("Error: ")
    assert expected in result.text
    assert ws.client.asked == []


async def test_a_whole_float_is_taken_as_an_integer(ws: Workspace) -> None:
    result = await call(ws, "read_file", {"path": "util.py", "start_line": 7.0, "end_line": 7})
    assert not result.is_error, result.text
    assert "7  class Order:" in result.text


# --- which files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["../outside/notes.txt", "pkg/../../outside/notes.txt", "OUTSIDE/notes.txt", "/etc/passwd"],
)
async def test_paths_outside_the_workspace_are_refused(ws: Workspace, path: str) -> None:
    path = path.replace("OUTSIDE", str(ws.outside))
    result = await call(ws, "read_file", {"path": path})
    assert result.is_error
    assert "outside the workspace" in result.text
    assert SECRET not in result.text


@pytest.mark.parametrize("link", ["notes.txt", "linked_dir/notes.txt"])
async def test_symbolic_links_leading_out_of_the_workspace_are_refused(
    ws: Workspace, link: str
) -> None:
    os.symlink(ws.outside / "notes.txt", ws.root / "notes.txt")
    os.symlink(ws.outside, ws.root / "linked_dir")
    result = await call(ws, "read_file", {"path": link})
    assert result.is_error
    assert "symbolic link to a place outside the workspace" in result.text
    assert SECRET not in result.text


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".env", "denylisted"),
        ("private.txt", "ignored by .ai-lspignore"),
        ("image.bin", "binary"),
        ("huge.py", "too large"),
    ],
)
async def test_files_kept_from_models_are_refused(ws: Workspace, path: str, reason: str) -> None:
    for tool, arguments in [
        ("read_file", {"path": path}),
        ("hover", {"path": path, "line": 1, "column": 1}),
        ("diagnostics", {"path": path}),
    ]:
        result = await call(ws, tool, arguments)
        assert result.is_error, tool
        assert f"`{path}` is not shown to models ({reason}" in result.text
        assert SECRET not in result.text
    assert ws.client.asked == []


async def test_a_refused_file_is_never_read(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[Path] = []
    read_bytes = Path.read_bytes

    def recording(path: Path) -> bytes:
        read.append(path)
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", recording)
    assert (await call(ws, "read_file", {"path": ".env"})).is_error
    assert not (await call(ws, "read_file", {"path": "util.py"})).is_error
    assert read == [ws.root / "util.py"]


async def test_an_open_denylisted_buffer_is_refused_too(ws: Workspace) -> None:
    ws.open(".env", f"PASSWORD={SECRET}-edited\n")
    result = await call(ws, "read_file", {"path": ".env"})
    assert result.is_error
    assert SECRET not in result.text


async def test_missing_files_and_directories_are_explained(ws: Workspace) -> None:
    missing = await call(ws, "read_file", {"path": "src/util.py"})
    assert missing.is_error
    assert "there is no file `src/util.py` in the workspace" in missing.text
    directory = await call(ws, "read_file", {"path": "pkg"})
    assert directory.is_error
    assert "`pkg` is a directory" in directory.text


# --- read_file -------------------------------------------------------------------------


async def test_read_file_shows_the_editors_unsaved_text(ws: Workspace) -> None:
    unsaved = UTIL.replace("discount=0.1", "discount=0.25")
    ws.open("util.py", unsaved)
    result = await call(ws, "read_file", {"path": "./util.py", "start_line": 1, "end_line": 2})
    assert not result.is_error
    assert result.text.splitlines() == [
        "util.py, lines 1-2 of 8, as open in the editor:",
        "```python",
        "1  def compute_total(items, discount=0.25):",
        '2      """Sum the prices of `items`, minus `discount`."""',
        "```",
    ]


async def test_read_file_takes_an_absolute_path_inside_the_workspace(ws: Workspace) -> None:
    result = await call(ws, "read_file", {"path": str(ws.root / "util.py"), "start_line": 7})
    assert not result.is_error
    assert "util.py, lines 7-8 of 8:" in result.text
    assert "8      price: float = 0.0" in result.text


async def test_a_workspace_reached_by_a_symbolic_link_takes_either_path(
    ws: Workspace, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    os.symlink(ws.root, link)
    for path in (link / "util.py", ws.root / "util.py"):
        result = await call(ws, "read_file", {"path": str(path), "end_line": 1}, root=link)
        assert not result.is_error, result.text
        assert result.text.startswith("util.py, lines 1-1 of 8:")


async def test_read_file_rejects_lines_past_the_end(ws: Workspace) -> None:
    result = await call(ws, "read_file", {"path": "util.py", "start_line": 20})
    assert result.is_error
    assert "util.py has 8 lines" in result.text


async def test_a_long_answer_is_cut_to_the_budget_with_a_note_on_what_was_left_out(
    ws: Workspace,
) -> None:
    (ws.root / "long.py").write_text("".join(f"value_{n} = {n}\n" for n in range(1, 501)))
    result = await call(ws, "read_file", {"path": "long.py"}, max_tokens=300)
    assert not result.is_error
    assert estimate(result.text) <= 300
    lines = result.text.splitlines()
    assert lines[:2] == ["long.py, lines 1-500 of 500:", "```python"]
    shown = lines[2:-2]
    last = len(shown)
    assert 10 < last < 500
    assert shown[-1] == f"{last:>3}  value_{last} = {last}"
    assert result.left_out == 500 - last
    assert lines[-2] == "```"  # the fence is closed before the note
    assert lines[-1] == (
        f"Lines {last + 1}-500 left out (over the token limit of a tool answer); "
        f"call read_file with start_line={last + 1} to read on."
    )


async def test_references_beyond_the_budget_are_counted_as_left_out(ws: Workspace) -> None:
    many = "".join(f"total_{n} = compute_total([])\n" for n in range(300))
    (ws.root / "calls.py").write_text(many)
    ws.client.answers[types.TEXT_DOCUMENT_REFERENCES] = [
        location(ws.root, "calls.py", n) for n in range(300)
    ]
    result = await call(
        ws,
        "find_references",
        {"path": "calls.py", "line": 1, "symbol": "compute_total"},
        max_tokens=400,
    )
    assert not result.is_error
    assert 0 < result.left_out < 300
    assert result.text.startswith("References to `compute_total` (calls.py:1:11): 300 in 1 file:")
    assert f"{result.left_out} more references left out" in result.text
    assert result.text.count("compute_total([])") == 300 - result.left_out


# --- positions -------------------------------------------------------------------------


async def test_a_symbol_is_found_on_the_line_nearest_the_given_column(ws: Workspace) -> None:
    ws.client.answers[types.TEXT_DOCUMENT_DEFINITION] = [location(ws.root, "util.py", 0)]
    line = MAIN.splitlines()[3]  # print(compute_total(orders), compute_total([]))
    second = line.rindex("compute_total")
    result = await call(
        ws,
        "find_definition",
        {"path": "main.py", "line": 4, "column": second - 3, "symbol": "compute_total"},
    )
    assert not result.is_error
    [(_, uri, position)] = ws.client.asked
    assert uri == (ws.root / "main.py").as_uri()
    assert position == types.Position(3, second)
    assert result.text.startswith(f"Definition of `compute_total` (main.py:4:{second + 1}):")
    assert "util.py:1-4\n```python\ndef compute_total(items, discount=0.1):" in result.text
    assert '"""Sum the prices of `items`, minus `discount`."""\n' in result.text


async def test_a_column_off_any_name_moves_to_the_nearest_name(ws: Workspace) -> None:
    ws.client.answers[types.TEXT_DOCUMENT_HOVER] = types.Hover("class Order()")
    result = await call(ws, "hover", {"path": "main.py", "line": 3, "column": 11})  # `[`
    assert not result.is_error
    [(_, _, position)] = ws.client.asked
    assert position == types.Position(2, 10)
    assert "`Order` (main.py:3:11)" in result.text
    result = await call(ws, "hover", {"path": "main.py", "line": 3, "column": 8})  # `=`
    assert ws.client.asked[-1][2] == types.Position(2, 0)
    assert "column 8 of line 3 is not on a name; used `orders` at column 1" in result.text


async def test_positions_are_sent_in_the_servers_encoding(ws: Workspace) -> None:
    (ws.root / "emoji.py").write_text('label = "🙂"; total = compute_total([])\n')
    column = len('label = "🙂"; total = ')
    for tool in ("hover", "find_references", "signature_help"):
        arguments = {"path": "emoji.py", "line": 1, "symbol": "compute_total"}
        ws.client.encoding = types.PositionEncodingKind.Utf16
        await call(ws, tool, arguments)
        utf16 = ws.client.asked[-1][2]
        ws.client.encoding = types.PositionEncodingKind.Utf8
        await call(ws, tool, arguments)
        utf8 = ws.client.asked[-1][2]
        inside_call = len("compute_total(") if tool == "signature_help" else 0
        assert utf16 == types.Position(0, column + 1 + inside_call), tool
        assert utf8 == types.Position(0, column + 3 + inside_call), tool


async def test_a_symbol_missing_from_the_line_says_where_it_is(ws: Workspace) -> None:
    result = await call(ws, "hover", {"path": "main.py", "line": 3, "symbol": "compute_total"})
    assert result.is_error
    assert (
        "`compute_total` is not on line 3 of main.py (`orders = [Order()]`); "
        "it occurs on lines 1, 4"
    ) in result.text
    past = await call(ws, "hover", {"path": "main.py", "line": 40, "symbol": "Order"})
    assert "main.py has 4 lines; there is no line 40" in past.text
    assert ws.client.asked == []


async def test_signature_help_asks_inside_the_calls_parentheses(ws: Workspace) -> None:
    ws.client.answers[types.TEXT_DOCUMENT_SIGNATURE_HELP] = types.SignatureHelp(
        [
            types.SignatureInformation(
                "compute_total(items, discount=0.1)",
                documentation=types.MarkupContent(types.MarkupKind.Markdown, "Sum the prices."),
                parameters=[
                    types.ParameterInformation([14, 19]),
                    types.ParameterInformation("discount=0.1"),
                ],
            )
        ],
        active_signature=0,
        active_parameter=0,
    )
    result = await call(
        ws, "signature_help", {"path": "main.py", "line": 4, "symbol": "compute_total"}
    )
    assert not result.is_error
    assert ws.client.asked[-1][2] == types.Position(3, len("print(compute_total("))
    assert "```python\ncompute_total(items, discount=0.1)\n```" in result.text
    assert "Active parameter: `items`" in result.text
    assert "Sum the prices." in result.text


async def test_a_symbol_alone_is_looked_up_in_the_workspace(ws: Workspace) -> None:
    ws.open("main.py")  # tells which language's server to ask
    ws.client.answers[types.WORKSPACE_SYMBOL] = [
        types.SymbolInformation(
            name="compute_total",
            kind=types.SymbolKind.Function,
            location=location(ws.root, "util.py", 0),
        )
    ]
    ws.client.answers[types.TEXT_DOCUMENT_REFERENCES] = [
        location(ws.root, "main.py", 3),
        location(ws.root, "util.py", 0),
    ]
    result = await call(ws, "find_references", {"symbol": "compute_total"})
    assert not result.is_error
    assert ws.client.asked[-1] == (
        types.TEXT_DOCUMENT_REFERENCES,
        (ws.root / "util.py").as_uri(),
        types.Position(0, 4),
    )
    assert result.text.splitlines() == [
        "References to `compute_total` (util.py:1:5): 2 in 2 files:",
        "main.py:4: print(compute_total(orders), compute_total([]))",
        "util.py:1: def compute_total(items, discount=0.1):",
    ]


async def test_a_symbol_alone_needs_an_open_file_to_pick_the_server(ws: Workspace) -> None:
    result = await call(ws, "find_definition", {"symbol": "compute_total"})
    assert result.is_error
    assert "no file is open in the editor" in result.text


# --- answers from the server -----------------------------------------------------------


async def test_workspace_symbols_from_hidden_files_are_left_out(ws: Workspace) -> None:
    ws.client.answers[types.WORKSPACE_SYMBOL] = [
        symbol("PASSWORD", types.SymbolKind.Variable, location(ws.root, ".env", 0)),
        symbol("Order", types.SymbolKind.Class, location(ws.root, "util.py", 6), "util.Order"),
        symbol("orders", types.SymbolKind.Variable, location(ws.root, "main.py", 2)),
    ]
    result = await call(ws, "workspace_symbols", {"query": "Order", "path": "main.py"})
    assert result.text.splitlines() == [
        "Symbols matching `Order` (1 more in files not shown to models):",
        "class util.Order: util.py:7",
        "variable orders: main.py:3",
    ]


async def test_diagnostics_name_line_column_and_the_code(ws: Workspace) -> None:
    ws.open("main.py")
    ws.client.answers[types.TEXT_DOCUMENT_DIAGNOSTIC] = [
        types.Diagnostic(
            types.Range(types.Position(2, 10), types.Position(2, 15)),
            "undefined name\n  `Order`",
            severity=types.DiagnosticSeverity.Warning,
            code="F821",
            source="lint",
        )
    ]
    result = await call(ws, "diagnostics", {"path": "main.py"})
    assert result.text.splitlines() == [
        "Diagnostics of main.py (1):",
        "main.py:3:11: warning: undefined name `Order` [lint F821]",
        "    orders = [Order()]",
    ]


async def test_diagnostics_of_a_closed_file_say_the_server_knows_none(ws: Workspace) -> None:
    result = await call(ws, "diagnostics", {"path": "util.py"})
    assert not result.is_error
    assert "`fake-ls` reports problems only for files open in the editor" in result.text


async def test_a_query_the_server_does_not_offer_is_an_error(ws: Workspace) -> None:
    ws.client.offered = ALL_METHODS - {types.TEXT_DOCUMENT_TYPE_DEFINITION}
    result = await call(
        ws, "find_type_definition", {"path": "main.py", "line": 3, "symbol": "orders"}
    )
    assert result.is_error
    assert "the language server `fake-ls` does not offer type definitions" in result.text


# --- failures --------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["query", "start"])
async def test_a_hung_server_gets_an_error_within_the_timeout(ws: Workspace, where: str) -> None:
    ws.client.hang = where == "query"
    ws.source.starting_forever = where == "start"
    began = time.monotonic()
    result = await call(
        ws, "hover", {"path": "main.py", "line": 4, "symbol": "compute_total"}, timeout=0.2
    )
    assert time.monotonic() - began < 1.0
    assert result.is_error
    assert "the language server did not answer within 0.2 s" in result.text


async def test_no_server_is_an_error_result(ws: Workspace) -> None:
    ws.source.unavailable = "no upstream language server installed or configured for python"
    result = await call(ws, "find_definition", {"path": "main.py", "line": 1, "symbol": "Order"})
    assert result.is_error
    assert "no upstream language server installed or configured for python" in result.text
    without = await call(
        ws, "hover", {"path": "main.py", "line": 1, "symbol": "Order"}, upstream=None
    )
    assert without.is_error
    assert "no upstream language server runs for this workspace" in without.text
    still = await call(ws, "read_file", {"path": "main.py"}, upstream=None)
    assert not still.is_error


async def test_a_crashed_server_or_a_bug_is_an_error_result(ws: Workspace) -> None:
    ws.client.failure = UpstreamCrashed("fake-ls exited with code -9")
    crashed = await call(ws, "hover", {"path": "main.py", "line": 1, "symbol": "Order"})
    assert crashed.is_error
    assert "the language server stopped (fake-ls exited with code -9)" in crashed.text
    ws.client.failure = KeyError("bug")
    bug = await call(ws, "hover", {"path": "main.py", "line": 1, "symbol": "Order"})
    assert bug.is_error
    assert "ai-lsp failed inside hover" in bug.text


# --- redaction -------------------------------------------------------------------------


async def test_secrets_in_shown_text_are_redacted(ws: Workspace) -> None:
    (ws.root / "settings.py").write_text(f'API_KEY = "{KEY}"\nDEBUG = True\n')
    read = await call(ws, "read_file", {"path": "settings.py"})
    assert 'API_KEY = "[redacted]"' in read.text
    ws.client.answers[types.TEXT_DOCUMENT_HOVER] = types.Hover(f"API_KEY: str = '{KEY}'")
    hover = await call(ws, "hover", {"path": "settings.py", "line": 1, "symbol": "API_KEY"})
    assert "API_KEY: str = '[redacted]'" in hover.text
    miss = await call(ws, "hover", {"path": "settings.py", "line": 1, "symbol": "DEBUG"})
    assert miss.is_error
    assert "[redacted]" in miss.text
    for result in (read, hover, miss):
        assert KEY not in result.text


async def test_a_result_becomes_a_tool_message(ws: Workspace) -> None:
    result = await call(ws, "read_file", {"path": "util.py", "end_line": 1})
    assert result.message("call_1") == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": result.text,
    }
