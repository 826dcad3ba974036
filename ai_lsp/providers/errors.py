"""Provider failures as one exception with a kind and a message the user can act on.

Messages never contain a key, a prompt or a raw response body: at most the short
code and message of the JSON error object, redacted and truncated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ai_lsp.config import ProviderConfig
from ai_lsp.log import redact
from ai_lsp.providers.resilience import retry_after_s

ErrorKind = Literal[
    "no_key",
    "auth",
    "quota",
    "rate_limited",
    "bad_request",
    "server",
    "unreachable",
    "timeout",
    "circuit_open",
    "bad_response",
    "budget",
    "not_configured",
]

RETRYABLE: frozenset[ErrorKind] = frozenset({"rate_limited", "server"})
"""Kinds worth another attempt (quota and spend limits are 429s too, but never retried)."""

BREAKER_FAILURES: frozenset[ErrorKind] = frozenset({"unreachable", "timeout", "server"})
"""Kinds that mean the endpoint is down, counted by the circuit breaker."""

_DETAIL_CHARS = 160


class ProviderError(Exception):
    """A request to a model provider failed; `user_message` says what to do about it."""

    def __init__(
        self,
        kind: ErrorKind,
        provider: str,
        user_message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(user_message)
        self.kind: ErrorKind = kind
        self.provider = provider
        self.user_message = user_message
        self.retry_after = retry_after
        self.status = status

    @property
    def level(self) -> Literal["error", "warning"]:
        """How loudly to tell the user: errors need them to act, warnings may pass by themselves."""
        passing = {"rate_limited", "server", "timeout", "circuit_open"}
        return "warning" if self.kind in passing else "error"


def error_detail(body: object) -> tuple[str | None, str]:
    """`(code, short message)` of an OpenAI-style error object, redacted and truncated."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if not isinstance(body, Mapping):
        return None, ""
    code = body.get("code") or body.get("type")
    message = body.get("message")
    text = redact(" ".join(str(message).split())) if message else ""
    if len(text) > _DETAIL_CHARS:
        text = text[: _DETAIL_CHARS - 1] + "…"
    return (redact(str(code))[:60] if code else None), text


def is_quota(code: str | None, message: str) -> bool:
    """429s that waiting does not fix: exhausted quota, spend limits, billing."""
    code = (code or "").lower()
    return (
        code == "insufficient_quota"
        or code.endswith("_spend_limit_exceeded")
        or "billing" in code
        or "billing" in message.lower()
    )


def from_status(
    provider: str,
    status: int,
    body: object,
    *,
    model: str,
    key_source: str,
    retry_after: float | None = None,
    retries: int = 0,
) -> ProviderError:
    """Classify an HTTP error answer and word the message for the user."""
    code, detail = error_detail(body)
    what = f"{status} {code}" if code else str(status)
    said = f": {detail}" if detail else ""
    who = f"ai-lsp: provider '{provider}'"
    if status in (401, 403):
        verb = "rejected the API key" if status == 401 else "refused access"
        return ProviderError(
            "auth",
            provider,
            f"{who} {verb} ({what}){said}. Check the key in {key_source}"
            + (f" and that it may use model '{model}'." if status == 403 else "."),
            status=status,
        )
    if status == 429 and is_quota(code, detail):
        return ProviderError(
            "quota",
            provider,
            f"{who} refused the request: quota or spending limit reached ({what}). "
            "Check the plan and billing of that account, or point the feature at another model.",
            status=status,
        )
    if status == 429:
        after = f" after {retries} retries" if retries else ""
        return ProviderError(
            "rate_limited",
            provider,
            f"{who} is rate limiting requests (429){after}. Wait a moment, or lower "
            f"providers.{provider}.max_concurrent.",
            retry_after=retry_after,
            status=status,
        )
    if status >= 500:
        after = f" after {retries} retries" if retries else ""
        return ProviderError(
            "server",
            provider,
            f"{who} failed with a server error ({what}){after}{said}. "
            "The service may be down or overloaded; try again later.",
            retry_after=retry_after,
            status=status,
        )
    for_model = f" for model '{model}'" if model else ""
    return ProviderError(
        "bad_request",
        provider,
        f"{who} rejected the request{for_model} ({what}){said}. "
        "Check the model name in the `models` settings and that this endpoint serves it.",
        status=status,
    )


def failure(kind: ErrorKind, provider: str, what: str) -> ProviderError:
    """`ai-lsp: provider '<name>' <what>.` as a `ProviderError` of `kind`."""
    return ProviderError(kind, provider, f"ai-lsp: provider '{provider}' {what}.")


def from_exception(
    exc: Exception,
    *,
    provider: str,
    config: ProviderConfig,
    model: str,
    key_source: str,
    retries: int,
    deadline_s: float,
) -> ProviderError:
    """Classify a failed request (`openai`/`httpx2` errors, our deadline, unreadable data).

    Anything else is a bug, not a provider failure, and is raised again.
    """
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return failure("timeout", provider, f"did not finish within the {deadline_s:g} s deadline")
    import httpx2
    import openai

    setting = f"providers.{provider}"
    if isinstance(exc, openai.APIStatusError):
        return from_status(
            provider,
            exc.status_code,
            exc.body,
            model=model,
            key_source=key_source,
            retry_after=retry_after_s(exc.response.headers),
            retries=retries,
        )
    cause = exc.__cause__
    if isinstance(exc, openai.APITimeoutError):
        if isinstance(cause, httpx2.ConnectTimeout):
            return failure(
                "timeout",
                provider,
                f"could not connect to {redact(config.base_url)} within "
                f"{config.connect_timeout_s:g} s ({setting}.connect_timeout_s)",
            )
        return failure(
            "timeout",
            provider,
            f"sent nothing for {config.read_timeout_s:g} s ({setting}.read_timeout_s)",
        )
    if isinstance(exc, openai.APIConnectionError):
        if isinstance(cause, httpx2.ReadError | httpx2.WriteError | httpx2.RemoteProtocolError):
            return failure(
                "server", provider, "closed the connection before the answer was complete"
            )
        reason = redact(str(cause or exc))[:120]
        return failure(
            "unreachable",
            provider,
            f"cannot be reached at {redact(config.base_url)} ({reason}). Check that the server "
            f"is running and {setting}.base_url",
        )
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return failure(
            "bad_response",
            provider,
            "sent an answer ai-lsp cannot read (not OpenAI-compatible JSON). Check that "
            f"{setting}.base_url points at an OpenAI-compatible API (usually ending in /v1)",
        )
    if isinstance(exc, openai.APIError):
        # An error event inside a stream: no HTTP status, only the error object.
        code, detail = error_detail(exc.body)
        kind: ErrorKind = "quota" if is_quota(code, detail) else "server"
        said = f" ({code}: {detail})" if code else f" ({detail})" if detail else ""
        return failure(kind, provider, f"reported an error in the middle of the answer{said}")
    raise exc
