"""API keys: read from an environment variable or the output of a command, cached per provider.

Every key is registered with the log redactor the moment it is read. A provider with neither
setting gets a placeholder, which local servers (Ollama, llama.cpp, vLLM) accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex

from ai_lsp.config import ProviderConfig
from ai_lsp.log import redact, register_secret
from ai_lsp.providers.errors import ProviderError

NO_KEY = "no-key"
COMMAND_TIMEOUT_S = 10.0


class KeyResolver:
    """The key of one provider; a new resolver is made whenever its config changes."""

    def __init__(self, provider: str, config: ProviderConfig) -> None:
        self._provider = provider
        self._config = config
        self._key: str | None = None
        self._lock = asyncio.Lock()

    def source(self) -> str:
        """Where the key comes from, in words for user messages (never the key itself)."""
        name = self._provider
        if self._config.api_key_env and os.environ.get(self._config.api_key_env):
            return f"${self._config.api_key_env} (providers.{name}.api_key_env)"
        if self._config.api_key_cmd:
            return f"the output of providers.{name}.api_key_cmd"
        if self._config.api_key_env:
            return f"${self._config.api_key_env} (providers.{name}.api_key_env)"
        return f"providers.{name}.api_key_env or providers.{name}.api_key_cmd (none is set)"

    def invalidate(self) -> None:
        """Forget the cached key (after a 401) so the next request reads it again."""
        self._key = None

    async def get(self) -> str:
        if self._key is not None:
            return self._key
        async with self._lock:
            if self._key is None:
                self._key = await self._resolve()
            return self._key

    async def _resolve(self) -> str:
        env, cmd = self._config.api_key_env, self._config.api_key_cmd
        if env:
            value = os.environ.get(env, "").strip()
            if value:
                register_secret(value)
                return value
            if not cmd:
                raise self._missing(
                    f"the environment variable ${env} (providers.{self._provider}.api_key_env) "
                    "is not set or empty. Set it in the environment ai-lsp is started from"
                )
        if cmd:
            return await self._run(cmd)
        return NO_KEY

    async def _run(self, cmd: str | list[str]) -> str:
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        setting = f"providers.{self._provider}.api_key_cmd"
        if not argv:
            raise self._missing(f"{setting} is empty")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise self._missing(f"{setting} could not be run ({argv[0]}: {exc.strerror})") from None
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                out, err = await proc.communicate()
        except TimeoutError:
            raise self._missing(
                f"{setting} did not finish within {COMMAND_TIMEOUT_S:g} s"
            ) from None
        finally:
            if proc.returncode is None:
                proc.kill()
                # Reap it even when we are being cancelled, so no zombie or warning is left.
                with contextlib.suppress(ProcessLookupError):
                    await asyncio.shield(proc.wait())
        key = out.decode(errors="replace").strip()
        if key:
            register_secret(key)
        if proc.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            said = f": {redact(lines[-1])[:200]}" if lines else ""
            raise self._missing(f"{setting} exited with status {proc.returncode}{said}")
        if not key:
            raise self._missing(f"{setting} printed nothing")
        return key

    def _missing(self, why: str) -> ProviderError:
        return ProviderError(
            "no_key",
            self._provider,
            f"ai-lsp: provider '{self._provider}' has no API key: {why}.",
        )
