"""Completion overhead with the upstream sidecar context on versus off, end to end: the real
server over stdio, an instant fake model, jedi-language-server as the sidecar, `rich` (an
installed package) copied to a temporary workspace.

At each of N call sites `name(` whose callee jedi finds in another file of the workspace, as an
editor would: delete the rest of the line after `name(` (the call just typed), wait a typing
pause, time an invoked `textDocument/completion` (no debounce) at the cursor, read
`ai-lsp.context.explain` (did the prompt carry upstream definitions, how many tokens), put the
line back and let the edit settle. Same sites, same steps, one server with the sidecar and one
without upstream (PATH holds no known server, so none starts on its own), for several pauses:
0 ms (the completion right after the edit: the prefetch cannot have run), 150 ms (the
prefetch's own debounce), 400 ms and 1000 ms (the prefetch has had time to finish).

Run from the repository root: `python -m benchmarks.sidecar_overhead [--sites 150]`.
Writes benchmarks/results/sidecar_overhead.json and .png.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from ai_lsp.upstream.context import identifiers_near
from ai_lsp.upstream.known import known_servers
from benchmarks.completion_overhead import backend_ms, isolate, machine, save, summary
from benchmarks.upstream import CALL
from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text

PACKAGE = "rich"
FILES = (  # where the call sites are: the biggest modules, which call into the others
    "console.py", "progress.py", "table.py", "text.py", "syntax.py",
    "traceback.py", "pretty.py", "markdown.py", "live.py", "panel.py",
)  # fmt: skip
PAUSES_MS = (0, 150, 400, 1000)
SETTLE_S = 0.5
"""After putting a line back: the user moves elsewhere (and the edit's own prefetch runs)."""
WARMUP = 12
INDEX_NOTE = "full-text only (no embeddings): retrieval adds no embedding round trip"
UPSTREAM = "upstream:"
"""Prompt sections from the sidecar are named `upstream:<path>:<line>`."""


@dataclass(frozen=True, slots=True)
class Site:
    path: Path  # in the workspace
    line: int  # 0-based
    column: int  # just after `name(`
    name: str
    tail: str  # the rest of the line, deleted then put back
    defined_in: str  # workspace-relative file of the callee's definition


def workspace_copy() -> tuple[Path, Path]:
    """A workspace holding a copy of the installed package, and the package's copy."""
    import importlib

    source = Path(importlib.import_module(PACKAGE).__file__ or "").parent
    root = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (root / ".git").mkdir()
    shutil.copytree(source, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    return root, source


def pick_sites(root: Path, count: int, seed: int = 11) -> list[Site]:
    """`count` call sites, one per (file, callee), whose callee jedi resolves to another file
    of the workspace; ASCII lines only (columns then agree in every position encoding)."""
    import jedi

    project = jedi.Project(root)
    candidates: list[tuple[Path, str, int, int, str]] = []
    for name in FILES:
        path = root / PACKAGE / name
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.split("\n")):
            stripped = line.strip()
            if not line.isascii() or stripped.startswith(("def ", "class ", "#", "@")):
                continue
            for match in CALL.finditer(line):
                if line[match.end() :].strip():  # arguments follow on the same line
                    candidates.append((path, match[1], number, match.end(), line))
    random.Random(seed).shuffle(candidates)
    scripts: dict[Path, Any] = {}
    seen: set[tuple[Path, str]] = set()
    sites: list[Site] = []
    for path, name, number, end, line in candidates:
        if (path, name) in seen:
            continue
        if path not in scripts:
            scripts[path] = jedi.Script(
                path.read_text(encoding="utf-8"), path=path, project=project
            )
        start = end - 1 - len(name)
        try:
            found = scripts[path].goto(number + 1, start, follow_imports=True)
        except Exception:  # jedi gives up on some constructs
            continue
        where = [d.module_path for d in found if d.module_path is not None]
        inside = [p for p in where if Path(p).is_relative_to(root) and Path(p) != path]
        if not inside:
            continue
        seen.add((path, name))
        relative = str(Path(inside[0]).relative_to(root))
        sites.append(Site(path, number, end, name, line[end:], relative))
        if len(sites) == count:
            break
    return sites


def looked_up(site: Site) -> bool:
    """Whether the prefetch asks upstream about the site's callee at all (`print`, `self`,
    keywords and the like are skipped)."""
    text = site.path.read_text(encoding="utf-8")
    offset = sum(len(line) + 1 for line in text.split("\n")[: site.line]) + site.column
    typed = text[:offset] + text[offset + len(site.tail) :]
    return site.name in {usage.name for usage in identifiers_near(typed, offset)}


def without_known_servers(path: str) -> str:
    """PATH minus the folders holding a known upstream server (the venv's bin, cargo's)."""
    executables = {server.executable for server in known_servers()}
    kept = [
        folder
        for folder in path.split(os.pathsep)
        if folder and not any(shutil.which(e, path=folder) for e in executables)
    ]
    return os.pathsep.join(kept)


def child_commands(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
                found.append(" ".join([Path(argv[0]).name, *argv[1:3]]).strip())
        except (OSError, ValueError, IndexError):
            continue
    return sorted(found)


def change(uri: str, version: int, line: int, start: int, end: int, text: str) -> Any:
    where = types.Range(types.Position(line, start), types.Position(line, end))
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=where, text=text)],
    )


async def command(client: LanguageClient, name: str, argument: dict[str, Any]) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[argument])
    )


async def index_ready(client: LanguageClient, timeout_s: float = 180) -> str:
    """Wait for the background indexing to end (it runs in both modes alike)."""
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        status = await command(client, "ai-lsp.index.status", {})
        state = str(getattr(status, "state", None) or (status or {}).get("state", ""))
        if state not in ("not started", "opening", "indexing", ""):
            return state
        await asyncio.sleep(0.25)
    return f"still {state}"


def field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, dict) else getattr(record, key, None)


async def session(
    fake: FakeOpenAI, root: Path, sites: list[Site], warmup: list[Site], pause_s: float, on: bool
) -> dict[str, Any]:
    """One server: the warm-up sites (not kept), then every site; per-site measurements."""
    isolate()  # fresh index, cache and state: every session starts alike
    upstream = {"python": {"command": [JEDI], "mode": "sidecar"}} if on else {}
    options = fake_settings(
        fake.base_url,
        completion={"model": "fim", "debounce_ms": 0},
        index={"enabled": True},  # see INDEX_NOTE
        upstream=upstream,
    )
    rows: list[dict[str, Any]] = []
    texts = {s.path: s.path.read_text(encoding="utf-8") for s in [*warmup, *sites]}
    async with lsp_session(root, init_options=options) as client:
        uris = {path: open_document(client, path, text) for path, text in texts.items()}
        versions = dict.fromkeys(uris.values(), 1)
        index_state = await index_ready(client)
        for number, site in enumerate([*warmup, *sites]):
            uri = uris[site.path]
            end = site.column + len(site.tail)
            versions[uri] += 1
            typed = versions[uri]
            client.text_document_did_change(change(uri, typed, site.line, site.column, end, ""))
            # The warm-up waits long enough for jedi to start and parse the files.
            await asyncio.sleep(1.5 if number < len(warmup) else pause_s)
            first = len(fake.requests(COMPLETIONS))
            started = time.perf_counter()
            await client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri),
                    position=types.Position(site.line, site.column),
                    context=types.CompletionContext(
                        trigger_kind=types.CompletionTriggerKind.Invoked
                    ),
                )
            )
            latency = (time.perf_counter() - started) * 1000
            asked = len(fake.requests(COMPLETIONS)) > first
            record = await command(
                client,
                "ai-lsp.context.explain",
                {"uri": uri, "position": {"line": site.line, "character": site.column}},
            )
            versions[uri] += 1
            client.text_document_did_change(
                change(uri, versions[uri], site.line, site.column, site.column, site.tail)
            )
            sections = [
                (str(field(s, "section")), int(field(s, "tokens") or 0))
                for s in field(record, "sections") or []
            ]
            if field(record, "version") != typed:  # no model request: an older record
                sections = []
            upstream_tokens = sum(t for name, t in sections if name.startswith(UPSTREAM))
            if number >= len(warmup):
                rows.append(
                    {
                        "site": f"{site.path.name}:{site.line + 1} {site.name}(",
                        "latency_ms": latency,
                        "overhead_ms": latency - backend_ms(fake, first) if asked else None,
                        "model_asked": asked,
                        "record_is_this_request": field(record, "version") == typed,
                        "upstream_sections": sum(n.startswith(UPSTREAM) for n, _ in sections),
                        "upstream_tokens": upstream_tokens,
                        "callee_definition_shown": any(
                            n.startswith(f"{UPSTREAM}{site.defined_in}:") for n, _ in sections
                        ),
                        "prompt_tokens": sum(t for _, t in sections),
                        "server_timings_ms": dict(field(record, "timings_ms") or {}),
                    }
                )
            await asyncio.sleep(SETTLE_S)
        assert client._server is not None
        children = child_commands(client._server.pid)
    return {"index_state": index_state, "server_children": children, "rows": rows}


def code_version() -> str:
    """The commit of the ai-lsp tree measured, and whether ai_lsp/ had uncommitted changes."""
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "ai_lsp"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("AI_LSP_COMMIT", "unknown")
    return commit + (" with uncommitted changes in ai_lsp/" if dirty else "")


def report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    latency = [r["latency_ms"] for r in rows]
    with_context = [r for r in rows if r["upstream_sections"]]
    context_ms = [r["server_timings_ms"].get("context_ms", 0.0) for r in rows]
    return {
        "latency_ms": summary(latency),
        "overhead_ms": summary([r["overhead_ms"] for r in rows if r["overhead_ms"] is not None]),
        "server_context_ms": summary(context_ms),
        "model_asked": sum(r["model_asked"] for r in rows),
        "not_sent_to_the_model": [r["site"] for r in rows if not r["model_asked"]],
        "explain_matches_request": sum(r["record_is_this_request"] for r in rows),
        "with_upstream_definitions": round(len(with_context) / len(rows), 3) if rows else 0.0,
        "with_the_callees_file_shown": round(
            sum(r["callee_definition_shown"] for r in rows) / len(rows), 3
        )
        if rows
        else 0.0,
        "upstream_tokens_mean_when_present": round(
            sum(r["upstream_tokens"] for r in with_context) / len(with_context), 1
        )
        if with_context
        else 0.0,
        "upstream_sections_mean_when_present": round(
            sum(r["upstream_sections"] for r in with_context) / len(with_context), 2
        )
        if with_context
        else 0.0,
        "prompt_tokens_mean": round(sum(r["prompt_tokens"] for r in rows) / len(rows), 1),
    }


def paired(off: list[dict[str, Any]], on: list[dict[str, Any]]) -> dict[str, float]:
    """On minus off at the same site."""
    return summary([b["latency_ms"] - a["latency_ms"] for a, b in zip(off, on, strict=True)])


def draw(path: Path, runs: dict[int, dict[str, dict[str, Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (cdf, bars) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=(2, 1))
    colours = {0: "#c84", 150: "#48c", 400: "#4a4", 1000: "#a4a"}
    for pause, modes in runs.items():
        for mode, style in (("off", ":"), ("on", "-")):
            values = sorted(r["latency_ms"] for r in modes[mode]["rows"])
            cdf.plot(
                values,
                [(i + 1) / len(values) for i in range(len(values))],
                style,
                color=colours.get(pause, "#888"),
                label=f"pause {pause} ms, sidecar {mode}",
            )
    cdf.set_xscale("log")
    cdf.set_xlabel("invoked completion, client latency (ms, instant fake model)")
    cdf.set_ylabel("fraction of completions")
    cdf.grid(alpha=0.3)
    cdf.legend(fontsize=8)
    pauses = list(runs)
    share = [100 * report(runs[p]["on"]["rows"])["with_upstream_definitions"] for p in pauses]
    bars.bar([f"{p} ms" for p in pauses], share, color=[colours.get(p, "#888") for p in pauses])
    for x, value in enumerate(share):
        bars.text(x, value + 1, f"{value:.0f}%", ha="center")
    bars.set_ylim(0, 110)
    bars.set_xlabel("pause between the edit and the completion")
    bars.set_ylabel("% of prompts with upstream definitions")
    figure.suptitle(f"Sidecar context (jedi-language-server) on vs off, {PACKAGE} workspace")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


async def run(count: int, pauses: tuple[int, ...]) -> dict[str, Any]:
    root, source = workspace_copy()
    picked = pick_sites(root, count + WARMUP)
    warmup, sites = picked[:WARMUP], picked[WARMUP:]
    eligible = sum(looked_up(s) for s in sites)
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    loads: list[dict[str, Any]] = []
    try:
        with FakeOpenAI() as fake:
            fake.set_default(COMPLETIONS, Text("value)\n"))
            for index, pause in enumerate(pauses):
                runs[pause] = {}
                # Alternate which mode goes first, so that a drift in load hits both.
                for on in (False, True) if index % 2 == 0 else (True, False):
                    mode = "on" if on else "off"
                    before = machine()
                    version = code_version()  # others may commit meanwhile: per server
                    began = time.perf_counter()
                    runs[pause][mode] = await session(fake, root, sites, warmup, pause / 1000, on)
                    fake.reset()
                    loads.append(
                        {
                            "run": f"pause {pause} ms, sidecar {mode}",
                            "ai_lsp": version,
                            "seconds": round(time.perf_counter() - began, 1),
                            "load_before": before["load_avg_1_5_15"],
                            "load_after": machine()["load_avg_1_5_15"],
                        }
                    )
                    print(loads[-1], file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results: dict[str, Any] = {
        "what": "invoked textDocument/completion at call sites `name(`, client wall time, "
        "real server over stdio, instant fake model; sidecar jedi-language-server on vs no upstream",
        "machine": {**machine(), "python": platform.python_version()},
        "ai_lsp": sorted({entry["ai_lsp"] for entry in loads}),
        "runs_load": loads,
        "workspace": {
            "source": f"{PACKAGE} {_version(PACKAGE)} from site-packages ({source})",
            "python_files": sum(1 for _ in source.rglob("*.py")),
            "site_files": sorted({s.path.name for s in sites}),
            "sites": len(sites),
            "warmup_sites_not_counted": len(warmup),
            "callees_defined_in": len({s.defined_in for s in sites}),
            "sites_whose_callee_the_prefetch_looks_up": eligible,
            "site_list": [f"{s.path.name}:{s.line + 1} {s.name}( -> {s.defined_in}" for s in sites],
        },
        "upstream": f"jedi-language-server {_version('jedi-language-server')}, mode sidecar",
        "steps": {
            "edit": "didChange deleting the line after `name(` (the call just typed)",
            "pauses_ms": list(pauses),
            "settle_after_restoring_s": SETTLE_S,
            "prefetch_debounce_s": 0.15,
            "off_run": "no upstream configured and no known server on PATH",
            "index": INDEX_NOTE,
        },
        "by_pause": {},
    }
    for pause, modes in runs.items():
        off, on = modes["off"], modes["on"]
        results["by_pause"][f"{pause}ms"] = {
            "off": report(off["rows"]),
            "on": report(on["rows"]),
            "on_minus_off_same_site_ms": paired(off["rows"], on["rows"]),
            "mean_difference_ms": round(
                report(on["rows"])["latency_ms"]["mean"]
                - report(off["rows"])["latency_ms"]["mean"],
                3,
            ),
            "index_state": {"off": off["index_state"], "on": on["index_state"]},
            "server_children": {"off": off["server_children"], "on": on["server_children"]},
        }
    results["per_site_upstream_tokens"] = {
        f"{pause}ms": [r["upstream_tokens"] for r in modes["on"]["rows"]]
        for pause, modes in runs.items()
    }
    results["raw_latency_ms"] = {
        f"{pause}ms/{mode}": [round(r["latency_ms"], 3) for r in modes[mode]["rows"]]
        for pause, modes in runs.items()
        for mode in ("off", "on")
    }
    results["_runs"] = runs
    return results


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


JEDI = shutil.which("jedi-language-server") or "jedi-language-server"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=150)
    parser.add_argument("--pauses", type=int, nargs="+", default=list(PAUSES_MS))
    args = parser.parse_args()
    if not Path(JEDI).is_file():
        print("jedi-language-server is not installed", file=sys.stderr)
        return 1
    isolate()
    # Both runs alike: no known upstream server on PATH (the on run names jedi by its path).
    os.environ["PATH"] = without_known_servers(os.environ.get("PATH", ""))
    results = asyncio.run(run(args.sites, tuple(args.pauses)))
    runs = results.pop("_runs")
    save("sidecar_overhead", results, lambda path: draw(path, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
