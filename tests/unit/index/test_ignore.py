"""The workspace filter: ignore files, the denylist, content checks, symlinks and the scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_lsp.index.ignore import FileRejected, WorkspaceFilter, is_boilerplate


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _scanned(root: Path, max_file_bytes: int = 1_000_000) -> set[str]:
    return {found.rel for found in WorkspaceFilter(root, max_file_bytes=max_file_bytes).scan()}


def test_nested_gitignore_negation_anchoring_and_directory_patterns(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "*.log\n/out.txt\ncache/\n",
            "app/.gitignore": "!keep.log\n/local.py\n",
            "app/keep.log": "kept by a deeper negation",
            "app/debug.log": "ignored by the root file",
            "app/local.py": "anchored to app/",
            "app/out.txt": "/out.txt is anchored to the root only",
            "out.txt": "ignored",
            "lib/local.py": "not under app/",
            "lib/cache/data.py": "inside an ignored directory",
            "lib/cache.py": "a file named like the directory pattern",
        },
    )

    assert _scanned(tmp_path) == {
        ".gitignore",
        "app/.gitignore",
        "app/keep.log",
        "app/out.txt",
        "lib/local.py",
        "lib/cache.py",
    }


def test_a_negation_cannot_reinclude_a_file_inside_an_ignored_directory(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "secret/\n!secret/ok.py\n", "secret/ok.py": "x"})
    ignore = WorkspaceFilter(tmp_path)

    assert _scanned(tmp_path) == {".gitignore"}
    assert ignore.check(tmp_path / "secret" / "ok.py") == "gitignored"


def test_git_info_exclude_and_ai_lspignore_are_honoured(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".git/info/exclude": "scratch.py\n",
            ".ai-lspignore": "fixtures/\n",
            "scratch.py": "x",
            "fixtures/big.json": "{}",
            "main.py": "x",
        },
    )
    ignore = WorkspaceFilter(tmp_path)

    assert _scanned(tmp_path) == {".ai-lspignore", "main.py"}
    assert ignore.check(tmp_path / "scratch.py") == "gitignored"
    assert ignore.check(tmp_path / "fixtures" / "big.json") == "ignored by .ai-lspignore"


def test_ai_lspignore_cannot_bring_back_a_gitignored_file(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "private.md\n", ".ai-lspignore": "!private.md\n"})
    _write(tmp_path, {"private.md": "notes"})

    assert WorkspaceFilter(tmp_path).check(tmp_path / "private.md") == "gitignored"


def test_gitignore_of_the_enclosing_repository_applies_to_a_subfolder_workspace(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            ".git/info/exclude": "*.draft\n",
            ".gitignore": "generated/\npackages/app/local.cfg\n",
            "packages/app/main.py": "x",
            "packages/app/local.cfg": "x",
            "packages/app/generated/api.py": "x",
            "packages/app/notes.draft": "x",
        },
    )

    assert _scanned(tmp_path / "packages" / "app") == {"main.py"}


def test_gitdir_file_of_a_worktree_points_to_its_exclude_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "main.git/info/exclude": "wip.py\n",
            "main.git/worktrees/feature/commondir": "../..\n",
            "feature/.git": "gitdir: ../main.git/worktrees/feature\n",
            "feature/wip.py": "x",
            "feature/done.py": "x",
        },
    )

    assert _scanned(tmp_path / "feature") == {"done.py"}


def test_editing_a_gitignore_takes_effect_without_a_new_filter(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "*.log\n", "notes.txt": "hello"})
    ignore = WorkspaceFilter(tmp_path)
    assert ignore.is_allowed(tmp_path / "notes.txt")

    (tmp_path / ".gitignore").write_text("*.log\nnotes.txt\n", encoding="utf-8")

    assert ignore.check(tmp_path / "notes.txt") == "gitignored"
    assert "notes.txt" not in {f.rel for f in ignore.scan()}


@pytest.mark.parametrize(
    "rel",
    [
        ".env",
        ".env.production",
        "config/.envrc",
        "id_rsa",
        "keys/id_ed25519.pub",
        "certs/server.pem",
        "tls/private.key",
        "credentials.json",
        "deploy/secrets.yaml",
        ".npmrc",
        "home/.netrc",
        "vault.kdbx",
        "package-lock.json",
        "sub/Cargo.lock",
        "static/app.min.js",
        "node_modules/left-pad/index.js",
        ".venv/lib/site.py",
        "pkg/__pycache__/mod.py",
        ".git/config",
        ".ai-lsp/chats/today.md",
        ".ssh/config",
        "web/dist/bundle.js",
        "target/debug/build.rs",
        "env/pyvenv.cfg",
        "env/lib/python3.11/os.py",
    ],
)
def test_denylisted_files_are_never_scanned_nor_allowed(tmp_path: Path, rel: str) -> None:
    _write(tmp_path, {rel: "TOKEN=abc", "env/pyvenv.cfg": "home = /usr/bin", "ok.py": "x"})
    ignore = WorkspaceFilter(tmp_path)

    assert _scanned(tmp_path) == {"ok.py"}
    assert ignore.check(tmp_path / rel) == "denylisted"
    with pytest.raises(FileRejected):
        ignore.read_text(tmp_path / rel)


def test_a_build_directory_that_is_a_python_package_is_kept(tmp_path: Path) -> None:
    _write(tmp_path, {"src/build/__init__.py": "", "src/build/env.py": "x", "build/out.js": "x"})

    assert _scanned(tmp_path) == {"src/build/__init__.py", "src/build/env.py"}
    assert WorkspaceFilter(tmp_path).check(tmp_path / "build" / "out.js") == "denylisted"


def test_binary_non_utf8_and_oversize_files_are_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "blob.dat": b"header\x00\x01\x02 more",
            "latin1.txt": "café".encode("latin-1"),
            "big.py": "x = 1\n" * 100,
            "logo.png": "not even an image",
            "ok.py": "print('hé')\n",
        },
    )
    ignore = WorkspaceFilter(tmp_path, max_file_bytes=200)

    assert ignore.check(tmp_path / "blob.dat") == "binary"
    assert ignore.check(tmp_path / "logo.png") == "binary"
    assert ignore.check(tmp_path / "latin1.txt") == "not utf-8"
    assert ignore.check(tmp_path / "big.py") == "too large"
    assert ignore.check(tmp_path / "ok.py") is None
    assert ignore.read_text(tmp_path / "ok.py") == "print('hé')\n"
    assert "big.py" not in _scanned(tmp_path, max_file_bytes=200)
    assert "logo.png" not in _scanned(tmp_path, max_file_bytes=200)


def test_a_byte_order_mark_is_dropped_on_read(tmp_path: Path) -> None:
    _write(tmp_path, {"bom.py": b"\xef\xbb\xbfx = 1\n"})

    assert WorkspaceFilter(tmp_path).read_text(tmp_path / "bom.py") == "x = 1\n"


def test_unsaved_buffer_text_is_judged_like_a_file(tmp_path: Path) -> None:
    ignore = WorkspaceFilter(tmp_path, max_file_bytes=50)

    assert ignore.check_text(tmp_path / "new.py", "x = 1\n") is None
    assert ignore.check_text(tmp_path / ".env.local", "KEY=1") == "denylisted"
    assert ignore.check_text(tmp_path / "big.py", "x" * 51) == "too large"
    assert ignore.check_text(tmp_path / "nul.py", "a\0b") == "binary"
    assert ignore.check_text(tmp_path.parent / "other.py", "x") == "outside workspace"


def test_names_with_quotes_spaces_and_non_ascii_work(tmp_path: Path) -> None:
    names = ['it\'s "quoted".py', "with space/file name.md", "données/café.py", "日本語.ts"]
    _write(tmp_path, dict.fromkeys(names, "x = 1\n"))
    _write(tmp_path, {".gitignore": "données/ignoré.py\n", "données/ignoré.py": "x"})
    ignore = WorkspaceFilter(tmp_path)

    found = {f.rel: f for f in ignore.scan()}

    assert set(found) == {*names, ".gitignore"}
    for name in names:
        assert found[name].path == tmp_path / name
        assert found[name].size == 6
        assert ignore.is_allowed(found[name].path)
    assert ignore.check(tmp_path / "données" / "ignoré.py") == "gitignored"


def test_a_file_name_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    fd = os.open(os.fsencode(tmp_path) + b"/bad-\xff.py", os.O_CREAT | os.O_WRONLY)
    os.close(fd)
    _write(tmp_path, {"good.py": "x"})

    assert _scanned(tmp_path) == {"good.py"}


def test_symlinks_to_outside_the_workspace_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    workspace = tmp_path / "workspace"
    _write(outside, {"secret.txt": "password", "lib/mod.py": "x"})
    _write(workspace, {"main.py": "x"})
    (workspace / "notes.txt").symlink_to(outside / "secret.txt")
    (workspace / "vendored").symlink_to(outside / "lib", target_is_directory=True)
    ignore = WorkspaceFilter(workspace)

    assert _scanned(workspace) == {"main.py"}
    assert ignore.check(workspace / "notes.txt") == "outside workspace"
    assert ignore.check(workspace / "vendored" / "mod.py") == "outside workspace"
    with pytest.raises(FileRejected, match="outside workspace"):
        ignore.read_text(workspace / "notes.txt")


def test_a_symlink_inside_is_judged_by_its_target_too(tmp_path: Path) -> None:
    _write(tmp_path, {".env": "KEY=1", "src/app.py": "x"})
    (tmp_path / "settings.txt").symlink_to(tmp_path / ".env")
    (tmp_path / "alias").symlink_to(tmp_path / "src", target_is_directory=True)
    ignore = WorkspaceFilter(tmp_path)

    assert ignore.check(tmp_path / "settings.txt") == "denylisted"
    assert ignore.check(tmp_path / "alias" / "app.py") is None
    (tmp_path / ".ai-lspignore").write_text("alias/\n", encoding="utf-8")
    assert ignore.check(tmp_path / "alias" / "app.py") == "ignored by .ai-lspignore"
    assert _scanned(tmp_path) == {".ai-lspignore", "src/app.py"}  # once, under its real path


def test_symlink_loops_neither_hang_the_scan_nor_pass_the_check(tmp_path: Path) -> None:
    _write(tmp_path, {"pkg/mod.py": "x"})
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    ignore = WorkspaceFilter(tmp_path)

    assert _scanned(tmp_path) == {"pkg/mod.py"}
    assert ignore.check(tmp_path / "a") is not None
    assert ignore.check(tmp_path / "pkg" / "again" / "again" / "mod.py") is None


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "dir.py").mkdir()
    ignore = WorkspaceFilter(tmp_path)

    assert ignore.check(tmp_path / "pipe.txt") == "not a regular file"
    assert ignore.check(tmp_path / "dir.py") == "not a regular file"
    assert ignore.check(tmp_path / "missing.py") == "not found"
    assert _scanned(tmp_path) == set()


def test_scan_reports_size_and_mtime_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path, {"b.py": "12345", "a/z.py": "1", "a/b/c.py": "1", "c.py": ""})
    os.utime(tmp_path / "b.py", ns=(1_000_000_000, 2_000_000_000))

    found = list(WorkspaceFilter(tmp_path).scan())

    assert [f.rel for f in found] == ["b.py", "c.py", "a/z.py", "a/b/c.py"]
    b = found[0]
    assert (b.size, b.mtime_ns, b.path) == (5, 2_000_000_000, tmp_path / "b.py")


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("LICENSE", True),
        ("LICENSE-MIT", True),
        ("COPYING.LESSER", True),
        ("docs/CHANGELOG.md", True),
        ("NOTICE.txt", True),
        ("AUTHORS.rst", True),
        ("LICENSES/Apache-2.0.txt", True),
        ("src/news.py", False),
        ("app/history.ts", False),
        ("README.md", False),
    ],
)
def test_boilerplate_files_are_recognised(rel: str, expected: bool) -> None:
    assert is_boilerplate(rel) is expected
