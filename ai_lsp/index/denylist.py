"""Built-in safety rules: secret and dependency names, binary sniffing, boilerplate files.

These apply in every workspace, whatever its ignore files say.
"""

from __future__ import annotations

import fnmatch
import re

# Matched case-insensitively against every path component (file or directory name).
SECRET_AND_GENERATED_NAMES: tuple[str, ...] = (
    # secrets and credentials
    ".env*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.tfstate",
    "*.tfstate.*",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials*",
    "secrets.*",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".htpasswd",
    # lockfiles and minified or generated bundles: large, repetitive, useless as context
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
    "Pipfile.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "*.min.js",
    "*.min.css",
    "*.js.map",
    "*.css.map",
    ".DS_Store",
)

# Directory names that are never descended into: version control, our own folder,
# credential stores of a home directory, dependency and tool caches.
DENIED_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".ai-lsp",
        ".ssh",
        ".gnupg",
        ".aws",
        ".kube",
        ".docker",
        ".password-store",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "site-packages",
        "__pycache__",
        ".eggs",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".next",
        ".nuxt",
        ".gradle",
        ".terraform",
    }
)

# Usually build output or vendored dependencies, but also legitimate Python package
# names: skipped unless the directory holds an ``__init__.py``.
BUILD_OUTPUT_DIRS: frozenset[str] = frozenset({"build", "dist", "target", "vendor"})

# A directory holding this file is a Python virtual environment, whatever its name.
VENV_MARKER = "pyvenv.cfg"
PACKAGE_MARKER = "__init__.py"

BINARY_SUFFIXES: frozenset[str] = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".icns",
        ".webp",
        ".tif",
        ".tiff",
        ".psd",
        ".pdf",
        ".svgz",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".tar",
        ".jar",
        ".war",
        ".ear",
        ".whl",
        ".egg",
        ".class",
        ".pyc",
        ".pyo",
        ".pyd",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".o",
        ".a",
        ".obj",
        ".lib",
        ".wasm",
        ".bin",
        ".mp3",
        ".mp4",
        ".m4a",
        ".wav",
        ".ogg",
        ".flac",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".sqlite",
        ".sqlite3",
        ".db",
        ".npy",
        ".npz",
        ".pkl",
        ".parquet",
    }
)

_NAME_RE = re.compile(
    "|".join(fnmatch.translate(pattern) for pattern in SECRET_AND_GENERATED_NAMES),
    re.IGNORECASE,
)
# A boilerplate stem, optional upper-case variants (LICENSE-MIT, COPYING.LESSER) and an
# optional documentation extension; ``news.py`` or ``history.py`` are code, not boilerplate.
_BOILERPLATE_RE = re.compile(
    r"(?i:licen[cs]es?|copying|notice|authors|contributors|changelog|changes|history|news"
    r"|patents|code[_-]of[_-]conduct|third[_-]party[_-]notices?)"
    r"(?:[-_.][A-Z0-9][A-Z0-9-]*)*"
    r"(?i:\.(?:md|markdown|txt|rst|adoc|org))?"
)
SNIFF_BYTES = 8192


def is_denied_name(name: str) -> bool:
    """True for a file or directory name on the built-in secret/generated denylist."""
    return _NAME_RE.match(name) is not None


def is_binary_name(name: str) -> bool:
    """True when the file extension alone says the file is binary."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in BINARY_SUFFIXES


def content_problem(data: bytes) -> str | None:
    """Why these file bytes cannot be used as text ("binary", "not utf-8"), or None."""
    if b"\0" in data[:SNIFF_BYTES]:
        return "binary"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "not utf-8"
    return None


def is_boilerplate(rel: str) -> bool:
    """True for license, notice, authors and changelog files, kept out of retrieval results."""
    parts = rel.split("/")
    if any(part.lower() in {"licenses", "licences"} for part in parts[:-1]):
        return True
    return _BOILERPLATE_RE.fullmatch(parts[-1]) is not None
