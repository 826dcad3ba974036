"""Token counting (exact, estimated, never hanging offline) and the prompt budget packer."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from pathlib import Path

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_lsp.config import ModelConfig
from ai_lsp.prompting import tokens
from ai_lsp.prompting.budget import PackedPrompt, Section, allot, fit_text, pack

SHARED = Path(__file__).resolve().parents[3] / "shared" / "tiktoken-cache"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_FILE = SHARED / hashlib.sha1(CL100K_URL.encode()).hexdigest()
needs_cl100k = pytest.mark.skipif(not CL100K_FILE.is_file(), reason="no cached cl100k_base")
CODE = (Path(tokens.__file__).parent / "budget.py").read_text()
REAL_DOWNLOAD = tokens._download


def model(name: str, encoding: str | None = None) -> ModelConfig:
    return ModelConfig(provider="p", name=name, encoding=encoding)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, timeout: float) -> bytes:
        raise OSError("no network in tests")

    monkeypatch.setattr(tokens, "_download", refuse)
    # The download itself is stubbed here, so let the code path that tries it run.
    monkeypatch.delenv(tokens.NO_DOWNLOAD_ENV, raising=False)


@pytest.fixture
def shared_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    if not CL100K_FILE.is_file():
        pytest.skip("no cached cl100k_base")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(SHARED))


@pytest.fixture
def reference(shared_cache: None) -> tiktoken.Encoding:
    """tiktoken itself, loaded from the shared cache: the truth counts are compared to."""
    return tiktoken.get_encoding("cl100k_base")


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tiktoken"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(folder))
    return folder


def exact_lines(encoding: tiktoken.Encoding, text: str) -> int:
    return sum(len(encoding.encode_ordinary(line)) for line in text.splitlines(keepends=True))


def unavailable(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is unavailable" in r.getMessage()]


# -- token counting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "native"),
    [
        ("gpt-4o-mini", "o200k_base", True),
        ("openai/gpt-4.1", "o200k_base", True),
        ("gpt-5.1-codex", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("o1", "o200k_base", True),
        ("gpt-4-turbo", "cl100k_base", True),
        ("gpt-35-turbo", "cl100k_base", True),
        ("text-embedding-3-small", "cl100k_base", True),
        ("qwen2.5-coder:1.5b-base", "cl100k_base", False),
        ("deepseek-coder-v2", "cl100k_base", False),
        ("codellama:7b-code", "cl100k_base", False),
        ("o1x", "cl100k_base", False),
    ],
)
def test_model_names_map_to_encodings(name: str, encoding: str, native: bool) -> None:
    assert tokens.encoding_for(model(name)) == (encoding, native)


def test_the_configured_encoding_wins(caplog: pytest.LogCaptureFixture) -> None:
    assert tokens.encoding_for(model("qwen2.5-coder", "o200k_base")) == ("o200k_base", True)
    assert tokens.encoding_for(model("my-model", "o200k_harmony")) == ("o200k_base", True)
    assert tokens.encoding_for(model("my-model", "bogus_base")) == ("cl100k_base", False)
    assert "unknown tiktoken encoding 'bogus_base' for model my-model" in caplog.text
    assert tokens.encoding_for(None) == ("cl100k_base", False)


@needs_cl100k
def test_counts_are_tiktoken_counts_line_by_line(reference: tiktoken.Encoding) -> None:
    counter = tokens.counter_for(model("gpt-4"))
    line = "def pack(sections: Sequence[Section], *, window: int) -> PackedPrompt:"
    assert counter.count(line) == len(reference.encode_ordinary(line))
    assert counter.exact
    assert counter.count(CODE) == exact_lines(reference, CODE)
    whole = len(reference.encode_ordinary(CODE))
    assert whole <= counter.count(CODE) <= whole * 1.05
    assert counter.count("say <|endoftext|> to stop") > 5  # special tokens are plain text here
    assert counter.count("") == 0


@needs_cl100k
def test_approximated_models_are_not_exact(shared_cache: None) -> None:
    counter = tokens.counter_for(model("qwen2.5-coder:7b"))
    assert counter.count("hello world") == 2
    assert not counter.exact


def test_missing_file_gives_an_over_estimate_at_once_while_the_download_hangs(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stalled = threading.Event()
    release = threading.Event()

    def hang(url: str, timeout: float) -> bytes:
        stalled.set()
        release.wait(10)
        raise TimeoutError("simulated stalled network")

    monkeypatch.setattr(tokens, "_download", hang)
    counter = tokens.counter_for(model("gpt-4"))
    started = time.monotonic()
    count = counter.count(CODE)
    assert time.monotonic() - started < 0.5
    assert count == tokens.estimate(CODE)
    assert not counter.exact
    assert stalled.wait(5)
    assert unavailable(caplog) == []  # said when the attempt is over, not while it runs
    release.set()
    assert not tokens.warm_up(model("gpt-4"))
    [warning] = unavailable(caplog)
    assert "tokenizer cl100k_base is unavailable" in warning
    assert "simulated stalled network" in warning
    assert f"as {empty_cache / CL100K_FILE.name}" in warning
    assert "set TIKTOKEN_CACHE_DIR" in warning


def test_one_warning_per_process_however_often_it_counts(
    empty_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = tokens.counter_for(None)

    def count_often() -> None:
        for _ in range(25):
            counter.count("x = 1\n")

    threads = [threading.Thread(target=count_often) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not tokens.warm_up()
    counter.count("y = 2\n")
    assert len(unavailable(caplog)) == 1
    assert "no network in tests" in unavailable(caplog)[0]


def test_downloads_can_be_switched_off(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(url: str, timeout: float) -> bytes:
        pytest.fail("downloaded although downloads are off")

    monkeypatch.setattr(tokens, "_download", fail)
    monkeypatch.setenv(tokens.NO_DOWNLOAD_ENV, "1")
    assert not tokens.warm_up(model("gpt-4o"))
    assert f"{tokens.NO_DOWNLOAD_ENV} is set" in unavailable(caplog)[0]


@needs_cl100k
def test_a_cached_file_is_found_by_tiktoken_s_own_name(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_cache.mkdir()
    (empty_cache / CL100K_FILE.name).write_bytes(CL100K_FILE.read_bytes())

    def fail(url: str, timeout: float) -> bytes:
        pytest.fail("downloaded a file that was in the cache")

    monkeypatch.setattr(tokens, "_download", fail)
    assert tokens.counter_for(model("gpt-4")).count("hello world") == 2
    assert tokens.tokenizer_status(model("gpt-4"))[0]


@needs_cl100k
def test_a_download_fills_the_cache_and_counts_become_exact(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []

    def fetch(url: str, timeout: float) -> bytes:
        fetched.append(url)
        return CL100K_FILE.read_bytes()

    monkeypatch.setattr(tokens, "_download", fetch)
    assert tokens.warm_up(model("gpt-4"))
    assert fetched == [CL100K_URL]
    assert (empty_cache / CL100K_FILE.name).read_bytes() == CL100K_FILE.read_bytes()
    assert tokens.counter_for(model("gpt-4")).exact


def test_a_corrupt_cached_file_is_not_used(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def hang(url: str, timeout: float) -> bytes:
        release.wait(10)
        raise TimeoutError("simulated stalled network")

    monkeypatch.setattr(tokens, "_download", hang)
    empty_cache.mkdir()
    (empty_cache / CL100K_FILE.name).write_bytes(b"not a tokenizer")
    counter = tokens.counter_for(model("gpt-4"))
    started = time.monotonic()
    assert counter.count("hello world") == tokens.estimate("hello world")
    assert time.monotonic() - started < 0.5
    release.set()
    assert not tokens.warm_up(model("gpt-4"))
    assert len(unavailable(caplog)) == 1


def test_the_download_gives_up_on_a_silent_server() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/cl100k_base.tiktoken"
        started = time.monotonic()
        with pytest.raises(OSError, match="timed out"):
            REAL_DOWNLOAD(url, 0.3)
        assert time.monotonic() - started < 3


@needs_cl100k
def test_the_estimate_is_high_on_real_code(reference: tiktoken.Encoding) -> None:
    site = Path(pytest.__file__).resolve().parents[1]
    files = [p for pkg in ("httpx", "pygls", "lsprotocol") for p in (site / pkg).rglob("*.py")]
    assert len(files) > 20
    ratios = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        if text.strip():
            ratios.append(tokens.estimate(text) / exact_lines(reference, text))
    assert min(ratios) >= 1.0
    assert sorted(ratios)[len(ratios) // 2] < 1.8
    for text in ("日本語のコード 変数 = 1", "emoji 🎉🚀✨", "x = [0.123, 4.56e-7, 0xFF]"):
        assert tokens.estimate(text) >= len(reference.encode_ordinary(text))


@needs_cl100k
def test_recounting_a_2000_line_file_takes_milliseconds(shared_cache: None) -> None:
    text = "".join(f"    value_{i} = compute(items[{i}], factor={i % 7})\n" for i in range(2000))
    counter = tokens.counter_for(model("gpt-4"))
    counter.count(text)
    started = time.perf_counter()
    counter.count(text + "tail = 1\n")
    assert time.perf_counter() - started < 0.05


# -- packing -------------------------------------------------------------------------------


class Words:
    """One token per whitespace-separated word: easy to reason about, additive over lines."""

    exact = True

    def count(self, text: str) -> int:
        return len(text.split())


class Estimate:
    """The offline estimate (additive over lines)."""

    exact = False

    def count(self, text: str) -> int:
        return tokens.estimate(text)


class Chars:
    """Not additive: joined lines cost more than the sum of the lines (the hard case)."""

    exact = False

    def count(self, text: str) -> int:
        return len(text) // 4 + max(0, text.count("\n") - 1)


def lines(prefix: str, count: int) -> str:
    return "".join(f"{prefix}{i} a b\n" for i in range(count))


def run(sections: list[Section], window: int, reserve: int = 0) -> PackedPrompt:
    return pack(sections, window=window, reserve_output=reserve, counter=Words())


def test_higher_priority_is_kept_and_the_original_order_too() -> None:
    packed = run(
        [
            Section("system", "you complete code", 9),
            Section("snippet", "one two three four five six", 1),
            Section("prefix", "def f ( x", 5),
        ],
        window=20,
        reserve=10,
    )
    assert [s.name for s in packed.sections] == ["system", "snippet", "prefix"]
    assert packed.dropped == ["snippet"]
    assert packed.total_tokens == 7
    assert packed.budget == 10
    assert packed.text("prefix") == "def f ( x"
    assert packed.sections[1].original_tokens == 6


def test_head_truncation_keeps_the_lines_nearest_the_cursor() -> None:
    prefix = lines("line", 10) + "    return"
    packed = run([Section("prefix", prefix, 5, truncate="head")], window=10)
    assert packed.text("prefix") == "line7 a b\nline8 a b\nline9 a b\n    return"
    assert packed.sections[0].truncated
    assert packed.total_tokens == 10


def test_tail_truncation_keeps_the_start() -> None:
    packed = run([Section("suffix", lines("line", 10), 5, truncate="tail")], window=10)
    assert packed.text("suffix") == "line0 a b\nline1 a b\nline2 a b\n"
    assert packed.total_tokens == 9


def test_a_line_longer_than_the_budget_is_cut_inside() -> None:
    text = " ".join(f"w{i}" for i in range(20))
    packed = run([Section("prefix", text, 5, truncate="head")], window=5)
    kept = packed.text("prefix")
    assert text.endswith(kept)
    assert kept.split()[-4:] == ["w16", "w17", "w18", "w19"]
    assert packed.total_tokens == 5


def test_all_or_nothing_sections_and_what_still_fits_after_them() -> None:
    packed = run(
        [
            Section("big", lines("x", 5), 3),
            Section("small", "a b c", 1),
            Section("prefix", lines("p", 2), 2, truncate="head"),
        ],
        window=10,
    )
    assert packed.dropped == ["big"]
    assert packed.text("small") == "a b c"
    assert packed.text("prefix") == lines("p", 2)


def test_a_section_cut_below_min_tokens_is_dropped() -> None:
    packed = run(
        [
            Section("prefix", lines("p", 3), 5, truncate="head"),
            Section("retrieved", lines("r", 10), 1, truncate="tail", min_tokens=6),
        ],
        window=14,
    )
    assert packed.dropped == ["retrieved"]
    assert packed.total_tokens == 9


def test_no_room_at_all() -> None:
    packed = run([Section("prefix", "a b", 1, truncate="head"), Section("e", "", 0)], 100, 100)
    assert packed.total_tokens == 0
    assert packed.dropped == ["prefix"]
    assert not packed.sections[1].dropped


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        run([Section("a", "x", 1), Section("a", "y", 2)], 10)
    with pytest.raises(ValueError, match="negative"):
        run([], 10, -1)


def test_fit_text_with_a_non_additive_counter_still_fits() -> None:
    text = "ab\n" * 50
    kept = fit_text(text, 10, "head", Chars())
    assert Chars().count(kept) <= 10
    assert text.endswith(kept)
    assert kept.endswith("\n")
    assert kept.startswith("ab")


section_texts = st.lists(
    st.text(alphabet=st.sampled_from("ab é变🎉\t=(){}.0123"), max_size=30), max_size=12
).map("\n".join)
sections = st.lists(
    st.tuples(
        section_texts,
        st.integers(0, 5),
        st.sampled_from(["head", "tail", "none"]),
        st.integers(0, 20),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    sections=sections,
    window=st.integers(0, 400),
    reserve=st.integers(0, 200),
    counter=st.sampled_from([Words(), Chars(), Estimate()]),
)
def test_packing_never_exceeds_the_budget(
    sections: list[tuple[str, int, str, int]],
    window: int,
    reserve: int,
    counter: tokens.TokenCounter,
) -> None:
    given_sections = [
        Section(f"s{i}", text, prio, truncate=cut, min_tokens=least)  # type: ignore[arg-type]
        for i, (text, prio, cut, least) in enumerate(sections)
    ]
    packed = pack(given_sections, window=window, reserve_output=reserve, counter=counter)
    budget = max(0, window - reserve)
    assert packed.total_tokens <= budget
    assert packed.total_tokens == sum(p.tokens for p in packed.sections)
    assert [p.name for p in packed.sections] == [s.name for s in given_sections]
    for original, result in zip(given_sections, packed.sections, strict=True):
        assert result.tokens == counter.count(result.text)
        if result.dropped:
            assert result.text == ""
        elif result.truncated:
            assert result.text
            assert result.tokens >= original.min_tokens
            keep = str.endswith if original.truncate == "head" else str.startswith
            assert keep(original.text, result.text)
        else:
            assert result.text == original.text
    if given_sections:
        first = max(given_sections, key=lambda s: s.priority)
        if counter.count(first.text) <= budget:
            assert packed.text(first.name) == first.text


def test_allot_gives_what_one_part_leaves_to_the_others() -> None:
    assert allot(1000, {"prefix": (5000, 3), "suffix": (100, 1)}) == {"prefix": 900, "suffix": 100}
    assert allot(1000, {"prefix": (5000, 3), "suffix": (5000, 1)}) == {"prefix": 750, "suffix": 250}
    assert allot(1000, {"prefix": (10, 3), "suffix": (20, 1)}) == {"prefix": 10, "suffix": 20}
    assert allot(0, {"prefix": (10, 1)}) == {"prefix": 0}
    with pytest.raises(ValueError, match="positive"):
        allot(10, {"prefix": (10, 0)})


@given(
    budget=st.integers(0, 10_000),
    wants=st.dictionaries(
        st.sampled_from(["prefix", "suffix", "snippets", "docs"]),
        st.tuples(st.integers(0, 8_000), st.floats(0.1, 10)),
    ),
)
def test_allot_never_overspends(budget: int, wants: dict[str, tuple[int, float]]) -> None:
    given_out = allot(budget, wants)
    assert sum(given_out.values()) <= budget
    assert all(0 <= given_out[name] <= want for name, (want, _) in wants.items())
    if sum(want for want, _ in wants.values()) <= budget:
        assert all(given_out[name] == want for name, (want, _) in wants.items())
    else:
        assert sum(given_out.values()) >= budget - len(wants)
