"""Real Emacs 28 in batch mode: eglot 1.9 with ai-lsp in proxy mode in front of
jedi-language-server as the only server, and lsp-mode 8 taking ai-lsp as an add-on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.answers import CHAT
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replies import Text
from tests.unit.upstream.conftest import MAIN, UTIL

pytestmark = pytest.mark.editor
HERE = Path(__file__).parent
HELPER = HERE.parents[1] / "editors" / "emacs" / "ai-lsp.el"
ELPA = Path("/usr/share/emacs/site-lisp/elpa")


def emacs(package: str) -> str:
    """The `emacs` executable, when it and the Debian package `elpa-<package>` are installed."""
    found = shutil.which("emacs")
    if found is None:
        pytest.skip("emacs is not installed (apt-get install emacs-nox elpa-eglot elpa-lsp-mode)")
    if not any(ELPA.glob(f"{package}-*")):
        pytest.skip(f"{package} is not installed (apt-get install elpa-{package})")
    return found


def run_batch(
    script: str, package: str, env: dict[str, str], cwd: Path
) -> tuple[dict[str, Any], str]:
    """What the script wrote to AI_LSP_OUT, and what Emacs said on stderr (`message`)."""
    out = cwd.parent / f"{Path(script).stem}.json"
    proc = subprocess.run(
        [emacs(package), "--batch", "-Q", "-l", str(HERE / "emacs" / script)],
        env={**os.environ, **env, "AI_LSP_EL": str(HELPER), "AI_LSP_OUT": str(out)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.exists(), f"emacs wrote no result: {proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result, proc.stderr


def processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder` (an upstream server runs in its root)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(
    shutil.which("jedi-language-server") is None, reason="jedi-language-server is not installed"
)
@pytest.mark.parametrize(
    "repository",
    [
        # eglot 1.9 answers ai-lsp's file watch registration with an error when `project-files`
        # fails, as it does on a bare `.git` folder (`git ls-files` finds no repository).
        "bare .git",
        pytest.param(
            "git init",
            marks=pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
        ),
    ],
)
def test_eglot_gets_upstream_hover_completions_and_code_actions(
    tmp_path: Path, repository: str, fake_openai: FakeOpenAI
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    if repository == "git init":
        subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    else:
        (workspace / ".git").mkdir()
    (workspace / "util.py").write_text(UTIL)
    (workspace / "main.py").write_text(MAIN)
    log_file = tmp_path / "server.log"
    fake_openai.set_default(CHAT, Text("```python\nprint(round(compute_total(orders), 2))\n```"))
    edits = {
        "providers": {"fake": {"base_url": fake_openai.base_url}},
        "models": {"chat": {"provider": "fake", "name": "fake-chat"}},
        "edit": {"model": "chat"},
    }
    result, said = run_batch(
        "eglot-proxy.el",
        "eglot",
        {
            "AI_LSP_CMD": json.dumps([sys.executable, "-m", "ai_lsp", "--log-file", str(log_file)]),
            "AI_LSP_UPSTREAM": json.dumps(["jedi-language-server"]),
            "AI_LSP_FILE": str(workspace / "main.py"),
            "AI_LSP_INIT": json.dumps(edits),
        },
        workspace,
    )
    assert result["status"] == "done", result
    assert (
        ':initializationOptions (:upstream (:python (:command ["jedi-language-server"] :mode "proxy"))'
        in result["contact"]
    )
    assert result["server_name"] == "ai-lsp"
    assert result["hover_provider"] is True  # jedi's capability, merged by ai-lsp
    assert "def compute_total(items, discount=0.1)" in result["hover"]
    assert "Sum the prices" in result["hover"]
    assert "compute_total" in result["completions"]  # jedi's item
    assert result["ai_completions"], f"no AI item next to jedi's: {result['completions']}"
    assert all(item["detail"].startswith("ai-lsp") for item in result["ai_completions"])
    assert all(item["label"].startswith("compute_total") for item in result["ai_completions"])
    assert "Extract expression into variable 'jls_extract_var'" in result["code_actions"]
    # jedi's refactorings and ai-lsp's action in one menu; choosing ai-lsp's edits the buffer.
    titles = result["ai_code_actions"]
    assert "AI: round the total to cents" in titles
    assert any(title.startswith("Extract expression") for title in titles), titles
    assert "print(round(compute_total(orders), 2))\n" in result["after_ai_edit"]
    assert "# ai:" not in result["after_ai_edit"]
    assert "round the total to cents" in json.dumps(fake_openai.requests(CHAT)[-1].body)
    # Watched files: eglot takes ai-lsp's globs in a repository and refuses the registration
    # on a bare `.git`; ai-lsp takes a refusal quietly, asks once, and follows saves instead.
    outcomes = {r["id"]: r["outcome"] for r in result["registrations"]}
    assert [r["id"] for r in result["registrations"]].count("ai-lsp.workspace-files") == 1
    accepted = outcomes["ai-lsp.workspace-files"] == "ok"
    assert accepted == (repository == "git init"), outcomes
    assert outcomes["ai-lsp.config-files"] == outcomes["ai-lsp.workspace-files"]
    assert result["server_errors"] == []
    assert "Error in server" not in said
    assert "Server reports (type=1)" not in said
    assert result["index_files_after"] == result["index_files_before"] + 1  # the saved file
    assert result["stopped"] is True
    deadline = time.monotonic() + 5
    while processes_in(workspace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_in(workspace) == [], "an upstream server outlived ai-lsp"
    assert "Traceback" not in log_file.read_text()


def test_lsp_mode_registers_ai_lsp_as_an_add_on_server(tmp_path: Path) -> None:
    result, _ = run_batch("lsp-mode-addon.el", "lsp-mode", {}, tmp_path)
    assert result == {
        "registered": True,
        "add_on": True,
        "priority": -2,
        "server_id": "ai-lsp",
        "python": True,  # prog-mode buffers get ai-lsp next to their own server
        "text": None,
    }
