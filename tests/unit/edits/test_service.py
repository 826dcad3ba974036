"""The edit service with a scripted model: minimal changes, indentation and secrets restored,
refusals, and the apply step falling back to the apply model only when anchoring fails."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from ai_lsp.config import Settings
from ai_lsp.edits.offers import EditRequest
from ai_lsp.edits.service import EditError, EditService
from ai_lsp.prompting.edits import TextChange
from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.stream import Delta, ModelStream, StreamResult

SOURCE = """\
class Cart:
    def total(self):
        return sum(i.price for i in self.items)

    def count(self):
        return len(self.items)
"""


class ScriptedModel:
    """Endpoints answering every chat with the next scripted text (or error)."""

    def __init__(
        self, *answers: str | ProviderError, configured: tuple[str, ...] = ("edit",)
    ) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, list[dict[str, str]]]] = []
        self._configured = configured

    def configured(self, feature: str) -> bool:
        return feature in self._configured

    def chat(
        self,
        feature: str,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ModelStream:
        self.asked.append((feature, messages))
        answer = self.answers.pop(0)

        async def produce(result: StreamResult) -> AsyncGenerator[Delta, None]:
            if isinstance(answer, ProviderError):
                raise answer
            for at in range(0, len(answer), 7):
                yield Delta(0, answer[at : at + 7])

        return ModelStream(produce)


def service(model: ScriptedModel, root: Path, **settings: object) -> EditService:
    tree = {
        "providers": {"p": {"base_url": "http://127.0.0.1:9/v1"}},
        "models": {"m": {"provider": "p", "name": "m1"}, "a": {"provider": "p", "name": "a1"}},
        "chat": {"model": "m"},
        **settings,
    }
    loaded = Settings.model_validate(tree)
    return EditService(settings=lambda: loaded, endpoints=lambda: model, root=lambda: root)


def apply(text: str, changes: list[TextChange]) -> str:
    for change in sorted(changes, key=lambda c: c.start, reverse=True):
        text = text[: change.start] + change.text + text[change.end :]
    return text


def method(name: str) -> EditRequest:
    start = SOURCE.index(f"    def {name}")
    end = SOURCE.find("\n\n", start) + 1 or len(SOURCE)
    return EditRequest("edit", "AI: Edit", "use a generator", start, end)


async def test_an_unindented_answer_is_put_back_at_the_method_indentation(tmp_path: Path) -> None:
    answer = "```python\ndef total(self):\n    return sum(item.price for item in self.items)\n```"
    model = ScriptedModel(answer)
    draft = await service(model, tmp_path).draft(
        (tmp_path / "cart.py").as_uri(), SOURCE, "python", method("total")
    )
    assert draft.model == "m"
    assert draft.changes == [
        TextChange(
            SOURCE.index("        return sum"),
            SOURCE.index("\n\n") + 1,
            "        return sum(item.price for item in self.items)\n",
        )
    ]
    assert model.asked[0][0] == "edit"


async def test_an_answer_without_code_or_a_failing_provider_is_an_error_the_user_can_read(
    tmp_path: Path,
) -> None:
    failure = ProviderError("auth", "p", "ai-lsp: provider 'p' refused the key (401)")
    edits = service(ScriptedModel("I cannot help with that.", failure), tmp_path)
    uri = (tmp_path / "cart.py").as_uri()
    with pytest.raises(EditError, match="held no code"):
        await edits.draft(uri, SOURCE, "python", method("count"))
    with pytest.raises(EditError, match="refused the key"):
        await edits.draft(uri, SOURCE, "python", method("count"))


async def test_denied_files_never_reach_the_model(tmp_path: Path) -> None:
    model = ScriptedModel("```\nX=1\n```")
    with pytest.raises(EditError, match=r"does not send \.env"):
        await service(model, tmp_path).draft(
            (tmp_path / ".env").as_uri(), "X=0\n", "dotenv", EditRequest("edit", "t", "i", 0, 4)
        )
    assert model.asked == []


async def test_apply_anchors_without_a_model_and_asks_the_apply_model_only_when_that_fails(
    tmp_path: Path,
) -> None:
    uri = (tmp_path / "cart.py").as_uri()
    anchored = (
        "    # ... existing code ...\n    def count(self):\n        return len(self.items or [])\n"
    )
    merged_by_model = SOURCE.replace("len(self.items)", "0")
    model = ScriptedModel(f"```python\n{merged_by_model}```", configured=("edit", "apply"))
    edits = service(model, tmp_path, edit={"apply_model": "a"})
    draft = await edits.merge(uri, SOURCE, "python", anchored, None)
    assert draft.model == "merge"
    assert model.asked == []
    assert apply(SOURCE, draft.changes) == SOURCE.replace(
        "len(self.items)", "len(self.items or [])"
    )
    nowhere = "# ... existing code ...\ndef unrelated():\n    pass\n# ... existing code ...\n"
    fallback = await edits.merge(uri, SOURCE, "python", nowhere, None)
    assert fallback.model == "a"
    assert model.asked[0][0] == "apply"
    assert "def unrelated()" in model.asked[0][1][1]["content"]
    assert apply(SOURCE, fallback.changes) == merged_by_model


async def test_apply_without_an_apply_model_says_why_the_code_could_not_be_placed(
    tmp_path: Path,
) -> None:
    edits = service(ScriptedModel(configured=("edit",)), tmp_path)
    with pytest.raises(EditError, match="could not place the code"):
        await edits.merge(
            (tmp_path / "cart.py").as_uri(),
            SOURCE,
            "python",
            "# ... existing code ...\nx = 1\ny = 2\n# ... existing code ...\n",
            None,
        )


async def test_context_lines_the_model_repeats_around_the_region_are_not_doubled(
    tmp_path: Path,
) -> None:
    echoed = (
        "```python\n"
        "class Cart:\n"
        "    def total(self):\n"
        "        return sum(item.price for item in self.items)\n"
        "\n"
        "    def count(self):\n"
        "```"
    )
    model = ScriptedModel(echoed)
    draft = await service(model, tmp_path).draft(
        (tmp_path / "cart.py").as_uri(), SOURCE, "python", method("total")
    )
    assert apply(SOURCE, draft.changes) == SOURCE.replace(
        "i.price for i in", "item.price for item in"
    )


async def test_a_region_that_starts_like_the_code_before_it_keeps_its_lines(
    tmp_path: Path,
) -> None:
    text = "x = 1\n}\n}\nx = 1\n}\n"
    answer = "```\n}\n}\nx = 2\n}\n```"
    model = ScriptedModel(answer)
    region = EditRequest("edit", "t", "i", text.index("}\n}\nx"), len(text))
    draft = await service(model, tmp_path).draft((tmp_path / "a.txt").as_uri(), text, "", region)
    assert apply(text, draft.changes) == "x = 1\n}\n}\nx = 2\n}\n"
