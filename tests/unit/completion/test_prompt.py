"""Prompt assembly: shares, order, secrets, and never more than the model's window."""

from __future__ import annotations

from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_lsp.completion.context import OPEN_BUFFERS_ORDER, RULES_ORDER, Snippet
from ai_lsp.completion.prompt import build_prompt
from ai_lsp.config import FimStyle, ModelConfig
from ai_lsp.prompting.tokens import counter_for, estimate

FIM = ModelConfig(provider="p", name="qwen2.5-coder", fim="qwen", context_window=8192)
RULES = Snippet("rules", ".ai-lsp/rules/completion.md", "Use type hints.", 100.0, RULES_ORDER)
NEIGHBOUR = Snippet(
    "open-buffers", "app/util.py", "def helper():\n    pass", 0.5, OPEN_BUFFERS_ORDER, 3
)


class Estimate:
    exact = False

    def count(self, text: str) -> int:
        return estimate(text)


def test_stable_parts_come_first_and_sections_are_reported() -> None:
    prompt = build_prompt(
        prefix="import os\n\ndef main():\n    ",
        suffix="\n\nmain()\n",
        snippets=[NEIGHBOUR, RULES],
        path="app/main.py",
        language="python",
        repo="demo",
        model=FIM,
        max_output=128,
        counter=Estimate(),
    )
    assert prompt is not None
    assert prompt.fim is not None
    text = prompt.fim.prompt
    assert text.index("Use type hints.") < text.index("def helper()") < text.index("import os")
    assert text.startswith("<|repo_name|>demo\n<|file_sep|>.ai-lsp/rules/completion.md\n")
    names = [s.section for s in prompt.sections]
    assert names == [RULES.name, NEIGHBOUR.name, "prefix", "suffix", "template"]
    assert sum(s.tokens for s in prompt.sections) == prompt.tokens


def test_the_prefix_gets_the_larger_share_of_a_small_window() -> None:
    small = ModelConfig(provider="p", name="m", fim="starcoder", context_window=512)
    prefix = "".join(f"before_{i} = {i}\n" for i in range(400))
    suffix = "".join(f"after_{i} = {i}\n" for i in range(400))
    prompt = build_prompt(
        prefix=prefix,
        suffix=suffix,
        snippets=[NEIGHBOUR],
        path="a.py",
        language="python",
        repo=None,
        model=small,
        max_output=64,
        counter=Estimate(),
    )
    assert prompt is not None
    tokens = {s.section: s.tokens for s in prompt.sections}
    assert tokens["prefix"] > 2 * tokens["suffix"] > 0
    assert prompt.tokens + prompt.max_output <= 512
    assert prompt.fim is not None
    assert "before_399 = 399\n" in prompt.fim.prompt


def test_chat_models_get_rules_in_the_system_message_and_secrets_are_redacted() -> None:
    chat = ModelConfig(provider="p", name="gpt-4.1")
    key = "sk-" + "A1b2C3d4" * 4
    prompt = build_prompt(
        prefix=f'API = "{key}"\nx = ',
        suffix="\n",
        snippets=[RULES, NEIGHBOUR],
        path="a.py",
        language="python",
        repo=None,
        model=chat,
        max_output=64,
        counter=Estimate(),
    )
    assert prompt is not None
    assert prompt.messages is not None
    system, user = (m["content"] for m in prompt.messages)
    assert "Use type hints." in system
    assert "Use type hints." not in user
    assert "def helper()" in user
    assert key not in user
    assert "[redacted]" in user


text_strategy = st.lists(
    st.sampled_from([*"abc xyz_()=:\n\t\"'#{}", "é", "你", "🙂", "<|fim_prefix|>", "word" * 9]),
    max_size=1500,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=text_strategy,
    suffix=text_strategy,
    extras=st.lists(
        st.tuples(st.sampled_from(["a.py", "b/c.ts", "rules.md"]), text_strategy), max_size=4
    ),
    window=st.integers(256, 2048),
    max_output=st.integers(1, 1024),
    template=st.sampled_from([*get_args(FimStyle), None]),
    exact=st.booleans(),
)
def test_a_prompt_never_exceeds_the_window(
    prefix: str,
    suffix: str,
    extras: list[tuple[str, str]],
    window: int,
    max_output: int,
    template: str | None,
    exact: bool,
) -> None:
    model = ModelConfig(provider="p", name="m", fim=template, context_window=window)
    counter = counter_for(model) if exact else Estimate()
    snippets = [
        Snippet("x", path, text, float(i), i % 3, i) for i, (path, text) in enumerate(extras)
    ]
    prompt = build_prompt(
        prefix=prefix,
        suffix=suffix,
        snippets=snippets,
        path="src/main.py",
        language="python",
        repo="r",
        model=model,
        max_output=max_output,
        counter=counter,
    )
    if prompt is None:  # only chat's fixed instructions can outgrow a tiny window
        assert template is None
        assert window < 1024
        return
    if prompt.fim is not None:
        sent = counter.count(prompt.fim.prompt + (prompt.fim.suffix or ""))
    else:
        assert prompt.messages is not None
        sent = sum(counter.count(m["content"]) + 4 for m in prompt.messages)
    assert sent == prompt.tokens
    assert prompt.tokens + prompt.max_output <= window


def test_two_snippets_from_the_same_line_are_both_shown() -> None:
    # The sidecar can give a definition and a hover that both start on line 249 of a file.
    definition = Snippet("upstream", "rich/text.py", "append = output.append", 2.0, 1, 249)
    hover = Snippet("upstream", "rich/text.py", "output: list[str]", 1.0, 1, 249)
    prompt = build_prompt(
        prefix="def render(output):\n    append(",
        suffix=")\n",
        snippets=[definition, hover],
        path="rich/console.py",
        language="python",
        repo="rich",
        model=FIM,
        max_output=64,
        counter=Estimate(),
    )
    assert prompt is not None
    assert prompt.fim is not None
    assert "append = output.append" in prompt.fim.prompt
    assert "output: list[str]" in prompt.fim.prompt
    names = [s.section for s in prompt.sections]
    assert names[:2] == ["upstream:rich/text.py:249", "upstream:rich/text.py:249#2"]
