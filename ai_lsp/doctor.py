"""`ai-lsp doctor`: effective configuration and its origins, endpoints, tokenizer, the index,
the upstream language servers, state dirs.

Each check prints one line starting with `ok`, `warn` or `FAIL`; the exit code is 1 when
any check failed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ai_lsp import __version__, paths
from ai_lsp.config import ModelConfig, Settings
from ai_lsp.config_manager import ConfigManager
from ai_lsp.config_sources import LoadedSettings, is_trusted
from ai_lsp.notices import Notices

FEATURES = ("completion", "chat", "edit", "apply", "embeddings")
PROBE_DEADLINE_S = 20.0


class Report:
    """Collects check lines and whether anything failed."""

    def __init__(self) -> None:
        self.failed = False

    def line(self, status: str, text: str) -> None:
        if status == "FAIL":
            self.failed = True
        print(f"{status:<4} {text}", flush=True)

    @staticmethod
    def section(title: str) -> None:
        print(f"\n== {title}", flush=True)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _config_section(report: Report, manager: ConfigManager, loaded: LoadedSettings) -> None:
    report.section("configuration")
    user = manager.user_path
    report.line("ok", f"user file: {user} ({'found' if user.exists() else 'not present'})")
    root = manager.root
    if root is not None:
        trusted = is_trusted(root, loaded.settings.trusted_workspaces)
        report.line("ok", f"workspace: {root} ({'trusted' if trusted else 'not trusted'})")
    for key, value in _flatten(loaded.settings.model_dump(mode="json")):
        origin = loaded.origins.get(key)
        if origin is None:
            origin = next(
                (o for k, o in loaded.origins.items() if k.startswith(key + ".")), "default"
            )
        print(f"       {key} = {value!r}   [{origin}]")
    for problem in loaded.problems:
        report.line("warn", str(problem))


def _routing_section(report: Report, settings: Settings) -> None:
    report.section("features")
    for feature in FEATURES:
        routed = settings.model_for(feature)
        if routed is not None:
            name, model = routed
            fim = f", fim={model.fim}" if model.fim else ""
            report.line("ok", f"{feature}: model {name} = {model.provider}/{model.name}{fim}")
        elif feature == "completion" and settings.completion.model == "local":
            report.line("ok", "completion: built-in local n-gram model (no endpoint needed)")
        else:
            report.line("warn", f"{feature}: no model configured")


async def _endpoints_section(report: Report, settings: Settings) -> None:
    from ai_lsp.prompting.tokens import count_for_model
    from ai_lsp.providers.errors import ProviderError
    from ai_lsp.providers.registry import ProviderRegistry

    report.section("endpoints")
    if not settings.providers:
        report.line("warn", "no providers configured; see README (Configuration)")
        return
    registry = ProviderRegistry(
        settings, ledger=_NoLedger(), notices=Notices(), token_counter=count_for_model
    )
    try:
        for name, provider in settings.providers.items():
            started = time.perf_counter()
            try:
                listed = await registry.list_models(name)
            except ProviderError as exc:
                report.line("FAIL", f"{name} ({provider.base_url}): {exc.user_message}")
                continue
            ms = (time.perf_counter() - started) * 1000
            report.line(
                "ok",
                f"{name} ({provider.base_url}): reachable in {ms:.0f} ms, {len(listed)} models",
            )
            for model_name, model in settings.models.items():
                if model.provider != name:
                    continue
                status = "ok" if not listed or model.name in listed else "warn"
                note = "listed" if model.name in listed else "not in the endpoint's model list"
                report.line(status, f"  model {model_name} ({model.name}): {note}")
                if model.fim:
                    await _probe_fim(report, registry, model_name, model)
    finally:
        await registry.aclose()


async def _probe_fim(report: Report, registry: Any, model_name: str, model: ModelConfig) -> None:
    """Ask for one tiny fill-in-the-middle completion: does the endpoint honour the template?"""
    from ai_lsp.prompting.fim import load_template, probe_prompt
    from ai_lsp.providers.errors import ProviderError

    prompt, looks_right = probe_prompt(load_template(model.fim or ""))
    stream = registry.endpoint(model.provider).stream_completion(
        model.name,
        prompt.prompt,
        suffix=prompt.suffix,
        max_tokens=24,
        stop=prompt.stop,
        temperature=0.0,
        deadline_s=PROBE_DEADLINE_S,
    )
    try:
        text = (await stream.collect())[0]
    except ProviderError as exc:
        report.line(
            "FAIL", f"  model {model_name}: fill-in-the-middle probe failed: {exc.user_message}"
        )
        return
    shown = text.strip().splitlines()[0][:40] if text.strip() else ""
    if looks_right(text):
        report.line("ok", f"  model {model_name}: honours fim = {model.fim!r} (answered {shown!r})")
    else:
        report.line(
            "warn",
            f"  model {model_name}: answer to a fim = {model.fim!r} probe looks wrong ({shown!r}); "
            "check that the endpoint serves a base (not chat) model and that `fim` names its template",
        )


class _NoLedger:
    """doctor only lists models: nothing is spent."""

    def check(self, **_: Any) -> None:
        return None

    def record(self, **_: Any) -> None:
        return None


def _tokenizer_section(report: Report, settings: Settings) -> None:
    from ai_lsp.prompting.tokens import tokenizer_status

    report.section("tokenizer")
    exact, text = tokenizer_status(*settings.models.values())
    report.line("ok" if exact else "warn", text)


def _index_section(report: Report, workspace: Path, settings: Settings) -> None:
    """The workspace's index as the server would open it (read-only here: never a writer)."""
    from ai_lsp.index.code_index import CodeIndex
    from ai_lsp.index.store import IndexCorrupt, index_folder

    report.section("index")
    if not settings.index.enabled:
        report.line("ok", "off (index.enabled = false)")
        return
    folder = index_folder(workspace.resolve())
    if settings.index.uri is None and not folder.exists():
        report.line(
            "warn", f"no index yet for {workspace} (the server builds it; or `ai-lsp index`)"
        )
        return
    try:
        index = CodeIndex.open(workspace, settings.index, read_only=True)
    except (IndexCorrupt, OSError) as exc:
        report.line("FAIL", f"{folder}: {exc} (the server rebuilds a damaged index)")
        return
    try:
        status = index.status()
        writing = index.lock.taken()
    finally:
        index.close()
    writer = f", being written by process {status.writer_pid}" if writing else ""
    vectors = "with vectors" if status.vectors else "full-text only"
    report.line(
        "ok",
        f"{status.location} ({status.backend}): {status.files} files, {status.chunks} chunks, "
        f"{vectors}{writer}",
    )
    if settings.index.embeddings and not status.vectors and status.chunks:
        report.line("warn", "index.embeddings is set but the index has no vectors: rebuild it")


def _upstream_section(report: Report, settings: Settings) -> None:
    """Which language server each language would get, and whether it is installed."""
    import shutil

    from ai_lsp.upstream.known import known_servers, resolve

    report.section("upstream language servers")
    languages = dict.fromkeys(
        [
            *(name for name in settings.upstream if name != "*"),
            *(language for server in known_servers() for language in server.languages),
        ]
    )
    missing = []
    for language in languages:
        if not settings.upstream_for(language).enabled:
            report.line("ok", f"{language}: off (enabled = false)")
            continue
        server = resolve(language, settings)
        if server is None:
            missing.append(language)
            continue
        found = shutil.which(server.command[0])
        status = "ok" if found else ("FAIL" if server.explicit else "warn")
        command = " ".join(server.command)
        report.line(
            status,
            f"{language}: {server.name} ({server.mode}) {command} -> {found or 'not found on PATH'}",
        )
    if missing:
        report.line("ok", f"no server installed (no upstream context) for: {', '.join(missing)}")


def _dirs_section(report: Report) -> None:
    report.section("state")
    for label, getter in (("state dir", paths.state_dir), ("cache dir", paths.cache_dir)):
        try:
            folder = getter()
            folder.mkdir(parents=True, exist_ok=True)
            writable = os.access(folder, os.W_OK)
            report.line(
                "ok" if writable else "FAIL",
                f"{label}: {folder}{'' if writable else ' (not writable)'}",
            )
        except OSError as exc:
            report.line("FAIL", f"{label}: {exc}")


def run_doctor(workspace: Path, user_config: Path | None) -> int:
    """Run every check, print the report, return the exit code."""
    print(f"ai-lsp {__version__} doctor")
    manager = ConfigManager(Notices(), user_config)
    manager.set_root(workspace)
    loaded = manager.reload()
    report = Report()
    _config_section(report, manager, loaded)
    _routing_section(report, loaded.settings)
    asyncio.run(_endpoints_section(report, loaded.settings))
    _tokenizer_section(report, loaded.settings)
    _index_section(report, workspace, loaded.settings)
    _upstream_section(report, loaded.settings)
    _dirs_section(report)
    return 1 if report.failed else 0
