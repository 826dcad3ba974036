"""Known servers as data, and which server a language gets."""

from __future__ import annotations

from pathlib import Path

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.upstream.known import Which, known_servers, project_root, resolve


def installed(*programs: str) -> Which:
    """A `shutil.which` that finds only `programs`."""
    return lambda name: f"/usr/bin/{name}" if name in programs else None


def test_known_servers_cover_the_documented_set() -> None:
    servers = {server.name: server for server in known_servers()}
    assert set(servers) == {
        "pyright",
        "basedpyright",
        "pylsp",
        "jedi-language-server",
        "rust-analyzer",
        "gopls",
        "typescript-language-server",
        "clangd",
    }
    assert servers["pyright"].command == ("pyright-langserver", "--stdio")
    assert servers["typescript-language-server"].command[-1] == "--stdio"
    assert "typescriptreact" in servers["typescript-language-server"].languages
    assert all(server.root_markers and server.executable for server in servers.values())


def test_first_installed_known_server_wins() -> None:
    settings = Settings()
    found = resolve("python", settings, which=installed("pylsp", "jedi-language-server"))
    assert found is not None
    assert found.name == "pylsp"
    assert not found.explicit
    assert resolve("python", settings, which=installed()) is None
    assert resolve("cobol", settings, which=installed("pylsp")) is None


def test_explicit_command_wins_and_keeps_known_defaults() -> None:
    settings = Settings(
        upstream={
            "rust": UpstreamConfig(
                command=["/opt/rust-analyzer"],
                initialization_options={"cargo": {"features": "all"}},
                mode="proxy",
            )
        }
    )
    found = resolve("rust", settings, which=installed())
    assert found is not None
    assert found.command == ("/opt/rust-analyzer",)
    assert found.explicit
    assert found.mode == "proxy"
    assert found.initialization_options == {"checkOnSave": False, "cargo": {"features": "all"}}
    assert "Cargo.toml" in found.root_markers


def test_options_merge_recursively_over_the_installed_server() -> None:
    settings = Settings(
        upstream={"typescript": UpstreamConfig(initialization_options={"preferences": {"a": 1}})}
    )
    found = resolve("typescript", settings, which=installed("typescript-language-server"))
    assert found is not None
    assert found.initialization_options == {"hostInfo": "ai-lsp", "preferences": {"a": 1}}


def test_same_server_for_two_languages_shares_a_key() -> None:
    which = installed("typescript-language-server")
    typescript = resolve("typescript", Settings(), which=which)
    javascript = resolve("javascript", Settings(), which=which)
    assert typescript is not None
    assert javascript is not None
    assert typescript.key == javascript.key


def test_project_root_is_the_topmost_marked_folder(tmp_path: Path) -> None:
    (tmp_path / "crates" / "a" / "src").mkdir(parents=True)
    (tmp_path / "crates" / "a" / "Cargo.toml").write_text("")
    file = tmp_path / "crates" / "a" / "src" / "lib.rs"
    assert project_root(file, ["Cargo.toml"], tmp_path) == tmp_path / "crates" / "a"
    (tmp_path / "Cargo.toml").write_text("")
    assert project_root(file, ["Cargo.toml"], tmp_path) == tmp_path
    assert project_root(Path("/elsewhere/x.rs"), ["Cargo.toml"], tmp_path) == tmp_path


def test_a_language_turned_off_gets_no_server_even_when_one_is_installed() -> None:
    which = installed("pylsp", "gopls")
    off = Settings(upstream={"python": UpstreamConfig(enabled=False, command=["pylsp"])})
    assert resolve("python", off, which=which) is None
    assert resolve("go", off, which=which) is not None


def test_the_star_section_applies_to_every_language_that_does_not_override_it() -> None:
    which = installed("pylsp", "gopls")
    settings = Settings(
        upstream={
            "*": UpstreamConfig(enabled=False, root_markers=[".git"]),
            "go": UpstreamConfig(enabled=True),
            "python": UpstreamConfig(enabled=True, root_markers=["setup.py"]),
        }
    )
    assert resolve("rust", settings, which=installed("rust-analyzer")) is None
    go = resolve("go", settings, which=which)
    assert go is not None
    assert go.root_markers == (".git",)
    python = resolve("python", settings, which=which)
    assert python is not None
    assert python.root_markers == ("setup.py",)
