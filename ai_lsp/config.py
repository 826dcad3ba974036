"""The configuration model: one pydantic tree, a docstring per field (it becomes the schema).

Loading, merging sources and the workspace trust rule live in `config_sources.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

FimStyle = Literal[
    "qwen", "starcoder", "starcoder2", "deepseek", "codellama", "codestral", "openai-suffix"
]


class Section(BaseModel):
    """Base of every config section: snake_case keys, camelCase accepted, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel),
        use_attribute_docstrings=True,
        validate_default=True,
    )


class ProviderConfig(Section):
    """An OpenAI-compatible endpoint (OpenAI, Azure, OpenRouter, vLLM, llama.cpp, Ollama, ...)."""

    base_url: str
    """Base URL of the API, including the version path, e.g. `http://127.0.0.1:11434/v1`."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key, e.g. `OPENAI_API_KEY`."""
    api_key_cmd: str | list[str] | None = None
    """Command whose standard output is the API key, e.g. `pass show openai` (run without a shell)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers sent with every request (e.g. `HTTP-Referer` for OpenRouter)."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=5)] = 3.0
    """Seconds to wait for the TCP/TLS connection; at most 5."""
    read_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    """Seconds of silence tolerated between bytes of a response before giving up."""
    max_concurrent: Annotated[int, Field(ge=1, le=64)] = 4
    """Requests in flight at once to this endpoint; further requests wait for a slot."""
    max_retries: Annotated[int, Field(ge=0, le=2)] = 2
    """Retries for rate limits (429) and server errors (5xx); never for 400, 401, 403 or quota errors."""
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    """Consecutive failures after which the endpoint is considered down (circuit open)."""
    breaker_cooldown_s: Annotated[float, Field(gt=0)] = 30.0
    """Seconds the circuit stays open before one trial request is let through."""


class ModelConfig(Section):
    """A named model on a provider, referenced by features (`completion.model = "fast"`)."""

    provider: str
    """Name of the provider (a key of `providers`)."""
    name: str
    """The model name the endpoint expects, e.g. `qwen2.5-coder:1.5b-base` or `gpt-4.1`."""
    fim: FimStyle | None = None
    """Fill-in-the-middle template for `/v1/completions`; unset means the chat API is used."""
    context_window: Annotated[int, Field(ge=256)] = 8192
    """Context window of the model in tokens (prompt plus answer)."""
    max_output_tokens: Annotated[int, Field(ge=1)] = 1024
    """Upper bound of tokens the model may generate in one answer."""
    encoding: str | None = None
    """tiktoken encoding used to count tokens (e.g. `o200k_base`); guessed from the name if unset."""
    input_usd_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    """Price of one million prompt tokens in USD (0 for local models)."""
    output_usd_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    """Price of one million generated tokens in USD (0 for local models)."""


class CompletionConfig(Section):
    """Ghost text (`textDocument/inlineCompletion`) and completion items."""

    model: str = "local"
    """Model name (a key of `models`), or `local` for the built-in repository n-gram model."""
    debounce_ms: int | Literal["adaptive"] = "adaptive"
    """Wait before asking the model: `adaptive` follows typing speed; a number is fixed; 0 disables."""
    max_tokens: Annotated[int, Field(ge=1, le=4096)] = 256
    """Most tokens one suggestion may have."""
    deadline_ms: Annotated[int, Field(ge=50)] = 3000
    """A suggestion not finished by then is abandoned (the request answers empty)."""
    candidates: Annotated[int, Field(ge=1, le=8)] = 1
    """Number of candidates requested (`n`); completion items list them all."""
    trigger_characters: list[str] = Field(default_factory=lambda: [".", "(", " "])
    """Characters that trigger `textDocument/completion`."""
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    """Sampling temperature for completion models."""

    @field_validator("debounce_ms")
    @classmethod
    def _non_negative(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError("must be 'adaptive' or a number of milliseconds >= 0")
        return value


class ChatConfig(Section):
    """Chat with codebase context."""

    model: str | None = None
    """Model name (a key of `models`) used for chat; unset means chat explains how to configure one."""
    max_tokens: Annotated[int, Field(ge=1)] = 2048
    """Most tokens one answer may have."""
    deadline_s: Annotated[float, Field(gt=0)] = 120.0
    """An answer not finished by then is cut off."""


class EditConfig(Section):
    """AI edits (code actions) and the apply step."""

    model: str | None = None
    """Model name used to draft edits (AI code actions, `ai-lsp.edit`); unset means `chat.model`."""
    apply_model: str | None = None
    """Model name used to merge a drafted change into the file; defaults to `model`."""
    max_tokens: Annotated[int, Field(ge=1)] = 4096
    """Most tokens one drafted edit may have."""
    deadline_s: Annotated[float, Field(gt=0)] = 120.0
    """An edit not finished by then is abandoned."""


class IndexConfig(Section):
    """The LanceDB index of the workspace."""

    enabled: bool = True
    """Index the workspace in the background."""
    embeddings: str | None = None
    """Model name used for embeddings; unset means full-text search only."""
    rerank: str | None = None
    """Model name of a rerank endpoint (`POST /rerank`) that reorders search hits; optional."""
    uri: str | None = None
    """LanceDB URI of the index; default is a folder per workspace under the user cache dir."""
    max_file_bytes: Annotated[int, Field(ge=1024)] = 1_000_000
    """Files larger than this are not indexed nor sent to a model."""


class BudgetConfig(Section):
    """Spending caps, enforced locally before a request is sent. 0 means no cap."""

    daily_usd: Annotated[float, Field(ge=0)] = 0.0
    """Most USD spent per day over all providers."""
    monthly_usd: Annotated[float, Field(ge=0)] = 0.0
    """Most USD spent per calendar month over all providers."""
    daily_tokens: Annotated[int, Field(ge=0)] = 0
    """Most tokens (prompt plus output) per day over all providers."""
    monthly_tokens: Annotated[int, Field(ge=0)] = 0
    """Most tokens (prompt plus output) per calendar month over all providers."""
    warn_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.8
    """Warn once when spending reaches this fraction of a cap."""


class UpstreamConfig(Section):
    """A real language server for one language (`[upstream.python]`), driven by ai-lsp; or, under
    the key `"*"`, values for every language (`[upstream."*"]`) that a language's own section
    overrides key by key."""

    enabled: bool = True
    """Run an upstream server for this language; `false` turns it off, including the known server
    ai-lsp would otherwise find on PATH (in `"*"`: for every language that does not set it)."""
    command: list[str] | None = None
    """Command line of the server, e.g. `["pyright-langserver", "--stdio"]`; unset uses the known default."""
    mode: Literal["sidecar", "proxy"] = "sidecar"
    """`sidecar`: ai-lsp asks it for context; `proxy`: the editor talks to it through ai-lsp."""
    initialization_options: dict[str, object] = Field(default_factory=dict)
    """`initializationOptions` sent to the upstream server."""
    root_markers: list[str] = Field(default_factory=list)
    """Files that mark a project root for this server (e.g. `pyproject.toml`)."""
    request_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Proxy mode: seconds a request the editor sends to this server through ai-lsp may take
    before ai-lsp answers it with an error (at most 300)."""
    start_timeout_s: Annotated[float, Field(gt=0, le=30)] = 10.0
    """Proxy mode: seconds ai-lsp's `initialize` waits for this server; a slower one still starts,
    but the editor is not told its capabilities (at most 30: editors give up connecting)."""


ALL_LANGUAGES = "*"
"""The `upstream` key whose values apply to every language."""
PER_LANGUAGE_KEYS = ("command", "mode", "initialization_options")
"""`upstream` keys that name one server, so they cannot be set for every language."""


class AgentConfig(Section):
    """The agent's tools."""

    allow: list[str] = Field(default_factory=list)
    """Shell commands (exact argv prefixes, e.g. `pytest -q`) that run without asking each time."""


class LogConfig(Section):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level; prompt text and file content are never logged below `debug`."""


class Settings(Section):
    """The whole configuration of ai-lsp."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    """Named OpenAI-compatible endpoints."""
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    """Named models; features refer to them by name."""
    completion: CompletionConfig = Field(default_factory=CompletionConfig)
    """Ghost text and completion items."""
    chat: ChatConfig = Field(default_factory=ChatConfig)
    """Chat."""
    edit: EditConfig = Field(default_factory=EditConfig)
    """AI edits and apply."""
    index: IndexConfig = Field(default_factory=IndexConfig)
    """The workspace index."""
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    """Spending caps."""
    upstream: dict[str, UpstreamConfig] = Field(default_factory=dict)
    """Upstream language servers by language id (`python`, `rust`, ...); the key `"*"` holds
    values (`enabled`, timeouts, `root_markers`) for every language that does not set its own."""
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """The agent."""
    log: LogConfig = Field(default_factory=LogConfig)
    """Logging."""
    trusted_workspaces: list[str] = Field(default_factory=list)
    """Workspaces whose `.ai-lsp.toml` may set keys that can leak the key or run code (user file only)."""

    @field_validator("upstream")
    @classmethod
    def _shared_upstream_keys(cls, value: dict[str, UpstreamConfig]) -> dict[str, UpstreamConfig]:
        every = value.get(ALL_LANGUAGES)
        if every is None:
            return value
        wrong = [key for key in PER_LANGUAGE_KEYS if key in every.model_fields_set]
        if wrong:  # reported key by key, so that only these keys fall back
            raise ValidationError.from_exception_data(
                "upstream",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "per_language",
                            "names one server: set it under [upstream.<language>], not for every language",
                        ),
                        loc=(ALL_LANGUAGES, key),
                        input=getattr(every, key),
                    )
                    for key in wrong
                ],
            )
        return value

    def upstream_for(self, language: str) -> UpstreamConfig:
        """The effective `[upstream.<language>]`: its own keys over those of `"*"` over the defaults."""
        values: dict[str, object] = {}
        for section in (self.upstream.get(ALL_LANGUAGES), self.upstream.get(language)):
            if section is not None:
                values.update({key: getattr(section, key) for key in section.model_fields_set})
        return UpstreamConfig.model_validate(values)

    def model_for(self, feature: str) -> tuple[str, ModelConfig] | None:
        """The `(name, model)` a feature uses, or None when that feature has no model configured."""
        name: str | None
        match feature:
            case "completion":
                name = self.completion.model
            case "chat":
                name = self.chat.model
            case "edit":
                name = self.edit.model or self.chat.model
            case "apply":
                name = self.edit.apply_model or self.edit.model or self.chat.model
            case "embeddings":
                name = self.index.embeddings
            case _:
                raise ValueError(f"unknown feature {feature!r}")
        if name is None or name not in self.models:
            return None
        return name, self.models[name]


def json_schema() -> dict[str, object]:
    """The JSON schema of the configuration (printed by `ai-lsp config --schema`)."""
    return Settings.model_json_schema(by_alias=False)
