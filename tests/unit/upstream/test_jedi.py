"""Against a real upstream server, jedi-language-server: context, tool queries and a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types

from ai_lsp.upstream.context import definitions_near_cursor
from ai_lsp.upstream.manager import UpstreamManager
from ai_lsp.upstream.queries import definition_of, hover_at, references_of
from ai_lsp.upstream.snippets import hover_text
from ai_lsp.upstream.transport import UpstreamCrashed
from tests.unit.upstream.conftest import MAIN, eventually, needs_jedi

pytestmark = needs_jedi
JEDI = ["jedi-language-server"]
MakeManager = Callable[..., UpstreamManager]
TYPED = MAIN + "total = compute_total("


async def test_definition_and_hover_resolve_across_files(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(JEDI)
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, MAIN)
    client = await manager.client_for(uri)
    call = types.Position(3, MAIN.splitlines()[3].index("compute_total") + 2)
    [target] = await client.definition(uri, call)
    assert isinstance(target, types.Location)
    assert target.uri == (workspace / "util.py").as_uri()
    assert target.range.start.line == 0
    assert "compute_total(items, discount=0.1)" in hover_text(await client.hover(uri, call))


async def test_definitions_near_cursor_include_the_definition_text(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(JEDI)
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, TYPED)
    await manager.client_for(uri)
    began = time.monotonic()
    snippets = await definitions_near_cursor(
        manager, uri, TYPED, len(TYPED), "python", budget_ms=3000
    )
    assert time.monotonic() - began < 3.5
    definition = next(s for s in snippets if s.symbol == "compute_total")
    assert (definition.path, definition.start_line, definition.end_line) == ("util.py", 1, 4)
    assert definition.text.startswith("def compute_total(items, discount=0.1):")
    assert "return total * (1 - discount)" in definition.text
    assert definition.kind == "definition"
    assert definition.source == "upstream"


async def test_prefetch_on_edit_feeds_the_cache_that_never_waits(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(JEDI)
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, MAIN)
    assert manager.context.cached_context(uri, TYPED, len(TYPED), 500) == []
    manager.change(uri, 2, TYPED)  # typing `compute_total(` schedules a prefetch
    await eventually(lambda: bool(manager.context.cached_context(uri, TYPED, len(TYPED), 500)))
    began = time.perf_counter()
    snippets = manager.context.cached_context(uri, TYPED, len(TYPED), 500)
    assert time.perf_counter() - began < 0.005
    assert any("def compute_total(items, discount=0.1):" in s.text for s in snippets)
    assert manager.context.cached_context(uri, TYPED, len(TYPED), 5) == []  # over the budget


async def test_tool_queries(make_manager: MakeManager, workspace: Path) -> None:
    manager = make_manager(JEDI)
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, MAIN)
    call = MAIN.index("compute_total(orders)") + 3
    [by_name] = await definition_of(manager, uri, symbol="compute_total")
    [by_position] = await definition_of(manager, uri, call)
    assert by_name.text == by_position.text
    assert by_position.symbol == "compute_total"
    assert "discount=0.1" in (await hover_at(manager, uri, call) or "")
    references = await references_of(manager, uri, call)
    assert {(r.path, r.start_line) for r in references} >= {("main.py", 1), ("main.py", 4)}


async def test_killing_the_server_mid_request(make_manager: MakeManager, workspace: Path) -> None:
    manager = make_manager(JEDI)
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, MAIN)
    client = await manager.client_for(uri)
    call = types.Position(3, 8)
    pid = client.transport.pid
    os.kill(pid, signal.SIGSTOP)  # the request below is in flight when the server dies
    request = asyncio.create_task(client.definition(uri, call))
    await asyncio.sleep(0.1)
    assert not request.done()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(UpstreamCrashed, match="exited with code -9"):
        await request
    await eventually(lambda: manager.status()[0].pid not in (None, pid))
    restarted = await manager.client_for(uri)
    [target] = await restarted.definition(uri, call)
    assert isinstance(target, types.Location)
    assert target.uri.endswith("util.py")
