"""Configuration sources, their precedence, the workspace trust rule and per-part fallback.

defaults < user file < workspace file < initializationOptions < didChangeConfiguration.
A bad key or value is reported by name and that part falls back; loading never raises.
"""

from __future__ import annotations

import copy
import os
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from pydantic.alias_generators import to_snake

from ai_lsp.config import Settings

USER = "user file"
WORKSPACE = "workspace file"
INIT = "initializationOptions"
CLIENT = "workspace/didChangeConfiguration"

# Keys that can leak the API key or run code: honoured from a workspace file only when trusted.
SENSITIVE = (
    ("providers", "*", "base_url"),
    ("providers", "*", "api_key_env"),
    ("providers", "*", "api_key_cmd"),
    ("upstream", "*", "command"),
    ("agent", "allow"),
    ("index", "uri"),
)
USER_ONLY = ("trusted_workspaces",)


@dataclass(frozen=True)
class Problem:
    """A configuration problem the user should hear about."""

    key: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"ai-lsp config: `{self.key}` from {self.source}: {self.message}"


@dataclass
class Source:
    """One layer of configuration: where it came from and its raw (snake_case) data."""

    kind: str
    label: str
    data: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class LoadedSettings:
    """The effective settings, where each value came from, and what was wrong."""

    settings: Settings
    origins: dict[str, str]
    problems: list[Problem]


def user_config_path() -> Path:
    """`$XDG_CONFIG_HOME/ai-lsp/config.toml` (or the platform's user config dir)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "ai-lsp" / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("ai-lsp")) / "config.toml"


def _read_toml(path: Path, kind: str) -> Source | None:
    label = f"{kind} {path}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Source(kind, label, {}, [Problem("*", label, f"cannot be read ({exc.strerror})")])
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Source(kind, label, {}, [Problem("*", label, f"is not valid TOML: {exc}")])
    return Source(kind, label, data)


def user_source(path: Path | None = None) -> Source | None:
    """The user's own config file, if it exists."""
    return _read_toml(path or user_config_path(), USER)


def workspace_source(root: Path) -> Source | None:
    """`.ai-lsp.toml` in the workspace root, else `[tool.ai-lsp]` of its `pyproject.toml`."""
    source = _read_toml(root / ".ai-lsp.toml", WORKSPACE)
    if source is not None:
        return source
    pyproject = _read_toml(root / "pyproject.toml", WORKSPACE)
    if pyproject is None:
        return None
    tool = pyproject.data.get("tool", {})
    section = tool.get("ai-lsp") if isinstance(tool, dict) else None
    if section is None and not pyproject.problems:
        return None
    data = section if isinstance(section, dict) else {}
    return Source(WORKSPACE, pyproject.label + " [tool.ai-lsp]", data, pyproject.problems)


def json_source(kind: str, payload: object) -> Source | None:
    """initializationOptions or client settings (section `aiLsp`, camelCase accepted)."""
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        problem = Problem("*", kind, f"expected an object, got {type(payload).__name__}")
        return Source(kind, kind, {}, [problem])
    inner = payload.get("aiLsp", payload) if kind == CLIENT else payload
    return Source(kind, kind, dict(inner) if isinstance(inner, Mapping) else {})


def is_trusted(root: Path, trusted: list[str]) -> bool:
    """A workspace is trusted when its root equals or lies inside a trusted path."""
    try:
        resolved = root.expanduser().resolve()
    except OSError:
        return False
    for entry in trusted:
        try:
            base = Path(entry).expanduser().resolve()
        except OSError:
            continue
        if resolved == base or base in resolved.parents:
            return True
    return False


def _match(path: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(
        p in ("*", k) for k, p in zip(path, pattern, strict=True)
    )


def _leaves(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path


def _delete(data: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    node: Any = data
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    if isinstance(node, dict) and path[-1] in node:
        del node[path[-1]]
        return True
    return False


def _restrict(source: Source, trusted: bool) -> None:
    """Drop keys this source may not set (trust rule, user-only keys), saying so."""
    if source.kind != USER:
        for key in USER_ONLY:
            if source.data.pop(key, None) is not None:
                source.problems.append(
                    Problem(key, source.label, "is honoured only in the user file")
                )
    if source.kind != WORKSPACE or trusted:
        return
    for leaf in list(_leaves(source.data)):
        for pattern in SENSITIVE:
            if _match(leaf[: len(pattern)], pattern):
                _delete(source.data, leaf)
                source.problems.append(
                    Problem(
                        ".".join(leaf),
                        source.label,
                        "ignored because this workspace is not trusted; add its path to "
                        "`trusted_workspaces` in your user config file to allow it",
                    )
                )
                break


def _normalize(value: Any, annotation: Any) -> Any:
    """Rename camelCase keys to snake_case where they name model fields (not user dict keys)."""
    model = _model_of(annotation)
    if model is not None and isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if key in model.model_fields else to_snake(str(key))
            info = model.model_fields.get(name)
            name = name if info is not None else key
            out[name] = _normalize(item, info.annotation) if info is not None else item
        return out
    value_type = _dict_value_type(annotation)
    if value_type is not None and isinstance(value, Mapping):
        return {k: _normalize(v, value_type) for k, v in value.items()}
    return value


def _model_of(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _dict_value_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        return args[1] if len(args) == 2 else None
    return None


def _merge(
    base: dict[str, Any],
    top: Mapping[str, Any],
    origins: dict[str, str],
    label: str,
    prefix: tuple[str, ...] = (),
) -> None:
    for key, value in top.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, origins, label, path)
            continue
        base[key] = copy.deepcopy(value) if isinstance(value, Mapping | list) else value
        dotted = ".".join(path)
        for old in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
            del origins[old]
        for leaf in (
            _leaves({key: value}, prefix) if isinstance(value, Mapping) and value else [path]
        ):
            origins[".".join(leaf)] = label


def _origin_of(loc: tuple[str | int, ...], origins: Mapping[str, str]) -> str:
    dotted = ".".join(str(part) for part in loc)
    for key, label in origins.items():
        if key == dotted or key.startswith(dotted + ".") or dotted.startswith(key + "."):
            return label
    return "defaults"


def build(sources: list[Source], workspace_root: Path | None = None) -> LoadedSettings:
    """Merge sources in order (later wins), apply trust and validate with per-part fallback."""
    problems: list[Problem] = []
    user = next((s for s in sources if s.kind == USER), None)
    trusted_list = user.data.get("trusted_workspaces", []) if user else []
    trusted = (
        workspace_root is not None
        and isinstance(trusted_list, list)
        and is_trusted(workspace_root, [str(p) for p in trusted_list])
    )
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source in sources:
        source.data = _normalize(copy.deepcopy(source.data), Settings)
        _restrict(source, trusted)
        problems.extend(source.problems)
        _merge(merged, source.data, origins, source.label)
    for _ in range(50):
        try:
            settings = Settings.model_validate(merged)
        except pydantic.ValidationError as exc:
            if not _drop_invalid(exc, merged, origins, problems):
                break
            continue
        problems.extend(_dangling_references(settings, merged, origins))
        return LoadedSettings(settings, origins, problems)
    problems.append(Problem("*", "all sources", "could not be repaired; using defaults"))
    return LoadedSettings(Settings(), {}, problems)


def _drop_invalid(
    exc: pydantic.ValidationError,
    merged: dict[str, Any],
    origins: dict[str, str],
    problems: list[Problem],
) -> bool:
    dropped = False
    for error in exc.errors():
        loc = tuple(error["loc"])
        if error["type"] == "missing":
            loc = (*loc[:-1], to_snake(str(loc[-1])))
        # A missing required field invalidates its container (e.g. a provider without base_url).
        target = loc[:-1] if error["type"] == "missing" and len(loc) > 1 else loc
        key = ".".join(str(p) for p in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting; ignored"
        elif error["type"] == "missing":
            message = f"required; `{'.'.join(str(p) for p in target)}` is ignored"
        else:
            message = f"{message} (got {error.get('input')!r}); using the default"
        problems.append(Problem(key, _origin_of(loc, origins), message))
        dropped = _delete(merged, target) or dropped
    return dropped


def _dangling_references(
    settings: Settings, merged: dict[str, Any], origins: Mapping[str, str]
) -> list[Problem]:
    """Models must name a known provider; features must name a known model."""
    problems: list[Problem] = []
    for name, model in list(settings.models.items()):
        if model.provider not in settings.providers:
            key = f"models.{name}.provider"
            problems.append(
                Problem(
                    key,
                    _origin_of(tuple(key.split(".")), origins),
                    f"names unknown provider {model.provider!r}",
                )
            )
    for feature, key in (
        ("completion", "completion.model"),
        ("chat", "chat.model"),
        ("edit", "edit.model"),
        ("apply", "edit.apply_model"),
        ("embeddings", "index.embeddings"),
    ):
        section, leaf = key.split(".")
        name = merged.get(section, {}).get(leaf)
        if name is None or (feature == "completion" and name == "local"):
            continue
        if name not in settings.models:
            problems.append(
                Problem(
                    key,
                    _origin_of((section, leaf), origins),
                    f"names unknown model {name!r}; add it under [models.{name}]",
                )
            )
    return problems
