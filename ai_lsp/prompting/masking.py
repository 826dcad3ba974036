"""Reversible redaction for prompts whose answer is written back into the file: each secret
becomes a placeholder the model copies, and the placeholders become the secrets again."""

from __future__ import annotations

from ai_lsp.log import secrets_in

__all__ = ["Masked", "mask"]


class Masked:
    """A text with its secrets replaced by `[secret-N]`, and the way back."""

    def __init__(self, text: str, placeholders: dict[str, str]) -> None:
        self.text = text
        self._secrets = placeholders

    def unmask(self, answer: str) -> str:
        """`answer` with every placeholder it kept turned back into its secret."""
        for placeholder, secret in self._secrets.items():
            answer = answer.replace(placeholder, secret)
        return answer


def mask(text: str) -> Masked:
    """`text` without its secrets; a placeholder never collides with text already there."""
    placeholders: dict[str, str] = {}
    number = 0
    for secret in secrets_in(text):
        number += 1
        placeholder = f"[secret-{number}]"
        while placeholder in text:
            number += 1
            placeholder = f"[secret-{number}]"
        placeholders[placeholder] = secret
        text = text.replace(secret, placeholder)
    return Masked(text, placeholders)
