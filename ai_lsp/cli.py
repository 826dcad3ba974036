"""The `ai-lsp` command: the server (default) and the verbs that run the same services.

Imports stay inside each verb so that `ai-lsp` starts serving as fast as possible.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ai_lsp import __version__


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _add_serve_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--tcp",
        type=_host_port,
        metavar="HOST:PORT",
        default=default,
        help="listen on TCP instead of stdio",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        default=default,
        help="use stdio (the default; accepted for editors that pass it)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-lsp", description="AI completions, edits and chat for every LSP editor."
    )
    parser.add_argument("--version", action="version", version=f"ai-lsp {__version__}")
    parser.add_argument("--log-file", type=Path, help="write logs here instead of stderr")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="log level (default info)",
    )
    parser.add_argument(
        "--config", type=Path, help="user config file (default $XDG_CONFIG_HOME/ai-lsp/config.toml)"
    )
    _add_serve_options(parser, None)
    verbs = parser.add_subparsers(dest="verb")
    # Subparser defaults would overwrite the main parser's values: suppress them.
    _add_serve_options(
        verbs.add_parser("serve", help="run the language server (the default verb)"),
        argparse.SUPPRESS,
    )
    config = verbs.add_parser(
        "config", help="print the effective configuration and where each value came from"
    )
    config.add_argument(
        "--schema", action="store_true", help="print the JSON schema of the configuration"
    )
    config.add_argument(
        "--workspace", type=Path, help="workspace root (default: the current directory's)"
    )
    doctor = verbs.add_parser(
        "doctor", help="check configuration, endpoints, tokenizer and state dirs"
    )
    doctor.add_argument(
        "--workspace", type=Path, help="workspace root (default: the current directory's)"
    )
    usage = verbs.add_parser(
        "usage", help="tokens and cost per provider and day, and the remaining budget"
    )
    usage.add_argument("--json", action="store_true", help="print JSON")
    from ai_lsp.completion.cli import add_arguments as add_complete_arguments
    from ai_lsp.index.cli import add_arguments as add_index_arguments
    from ai_lsp.index.docs_cli import add_arguments as add_docs_arguments

    add_index_arguments(verbs)
    add_docs_arguments(verbs)
    add_complete_arguments(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m ai_lsp`."""
    args = _parser().parse_args(argv)
    from ai_lsp.log import setup_logging

    setup_logging(args.log_level or "info", args.log_file)
    if args.verb in (None, "serve"):
        return _serve(args)
    if args.verb == "config":
        return _config(args)
    if args.verb == "doctor":
        from ai_lsp.doctor import run_doctor

        return run_doctor(_workspace(args.workspace), args.config)
    if args.verb == "usage":
        return _usage(args)
    if args.verb in ("index", "search"):
        from ai_lsp.index.cli import run_index, run_search

        return run_index(args) if args.verb == "index" else run_search(args)
    if args.verb == "complete":
        from ai_lsp.completion.cli import run_complete

        return run_complete(args)
    if args.verb == "docs":
        from ai_lsp import paths
        from ai_lsp.index.docs_cli import run_docs

        return run_docs(args, workspace=_workspace(args.workspace), state_dir=paths.state_dir())
    return 2


def _serve(args: argparse.Namespace) -> int:
    from ai_lsp.app import create_server

    server = create_server(user_config=args.config)
    if args.tcp:
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    return 0


def _workspace(given: Path | None) -> Path:
    """`--workspace`, else the nearest enclosing folder with a VCS or ai-lsp marker, else cwd."""
    from ai_lsp.index.cli import find_workspace

    return find_workspace(given)


def _config(args: argparse.Namespace) -> int:
    from ai_lsp.config import json_schema

    if args.schema:
        print(json.dumps(json_schema(), indent=2))
        return 0
    from ai_lsp.config_manager import ConfigManager
    from ai_lsp.notices import Notices

    manager = ConfigManager(Notices(), args.config)
    manager.set_root(_workspace(args.workspace))
    loaded = manager.reload()
    print(json.dumps(loaded.settings.model_dump(mode="json"), indent=2))
    if loaded.origins:
        print("\n# where each value came from", file=sys.stderr)
        for key, origin in sorted(loaded.origins.items()):
            print(f"{key} = {origin}", file=sys.stderr)
    for problem in loaded.problems:
        print(problem, file=sys.stderr)
    return 1 if loaded.problems else 0


def _usage(args: argparse.Namespace) -> int:
    from ai_lsp import paths
    from ai_lsp.config_manager import ConfigManager
    from ai_lsp.notices import Notices
    from ai_lsp.providers.ledger import Ledger
    from ai_lsp.providers.usage_report import format_report, report_json

    manager = ConfigManager(Notices(), args.config)
    manager.set_root(_workspace(None))
    settings = manager.reload().settings
    ledger = Ledger(paths.state_dir() / "ledger.sqlite3", settings.budget)
    report = ledger.report()
    try:
        print(json.dumps(report_json(report), indent=2) if args.json else format_report(report))
        sys.stdout.flush()
    except BrokenPipeError:  # `ai-lsp usage | head`: the reader is gone, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
