"""The local n-gram completion model: lexing, counting, completion, updates and persistence."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from ai_lsp.providers.ngram import NgramModel
from ai_lsp.providers.ngram_buffer import BufferCache
from ai_lsp.providers.ngram_lexer import DEDENT, INDENT, LONG_STRING, NEWLINE, tokenize
from ai_lsp.providers.ngram_store import CountStore, count_grams, gram_keys

SHOP = """\
def compute_total(items, discount=0.1):
    total = 0
    for item in items:
        total += item.price * item.quantity
    return total * (1 - discount)
"""

TESTS = "\n".join(
    f"def test_case_{i}(self):\n    result = run({i})\n    self.assertEqual(result, expected)\n"
    for i in range(12)
)


def filler(seed: int, lines: int = 40) -> str:
    """Plausible code that shares no identifiers with the tests' subjects."""
    rng = random.Random(seed)
    names = ["alpha", "beta", "gamma", "delta", "value", "index", "buffer", "node"]
    out = []
    for _ in range(lines):
        a, b, c = rng.sample(names, 3)
        out.append(rng.choice([f"{a} = {b} + {c}", f"{a}.append({b})", f"if {a}:\n    {b} = {c}"]))
    return "\n".join(out) + "\n"


@pytest.fixture
def model() -> NgramModel:
    trained = NgramModel()
    trained.train_file("src/shop.py", SHOP)
    trained.train_file("src/util.py", filler(1))
    trained.train_file("tests/test_shop.py", TESTS)
    return trained


def test_lexer_drops_comments_abstracts_long_strings_and_marks_indentation() -> None:
    source = (
        'def f(x):  # note\n    """A docstring that is long enough."""\n    return "ok"\ny = 1\n'
    )
    tokens = tokenize(source, hash_comments=True).tokens
    assert tokens == [
        NEWLINE, "def", "f", "(", "x", ")", ":", INDENT, LONG_STRING, NEWLINE,
        "return", '"ok"', DEDENT, "y", "=", "1", NEWLINE,
    ]  # fmt: skip
    c_like = tokenize("a = b // c;\n", hash_comments=False).tokens
    assert c_like == [NEWLINE, "a", "=", "b", NEWLINE]


def test_lexer_reports_the_word_being_typed() -> None:
    lexed = tokenize("x = obj.comp", hash_comments=True, at_cursor=True)
    assert lexed.tokens[-2:] == ["obj", "."]
    assert lexed.partial == "comp"
    assert tokenize("x = 1  # sum of", hash_comments=True, at_cursor=True).in_comment


def test_identifier_defined_in_another_file_completes(model: NgramModel) -> None:
    prefix = "from shop import x\n\ndef checkout(cart):\n    subtotal = compu"
    model.set_buffer("src/checkout.py", prefix)
    result = model.complete(prefix, path_key="src/checkout.py", threshold=0.3)
    assert result is not None
    assert result.text.startswith("te_total")


def test_rest_of_line_of_a_recurring_pattern(model: NgramModel) -> None:
    prefix = "def test_case_99(self):\n    result = run(99)\n    self."
    result = model.complete(prefix, path_key=None, threshold=0.3)
    assert result is not None
    assert result.text == "assertEqual(result, expected)"
    assert result.confidence >= 0.3


def test_word_then_rest_of_line(model: NgramModel) -> None:
    prefix = "def test_case_99(self):\n    result = run(99)\n    self.assertE"
    result = model.complete(prefix, path_key=None, threshold=0.3)
    assert result is not None
    assert result.text == "qual(result, expected)"


def test_max_tokens_bounds_the_continuation(model: NgramModel) -> None:
    prefix = "def test_case_99(self):\n    result = run(99)\n    self."
    result = model.complete(prefix, path_key=None, max_tokens=2, threshold=0.3)
    assert result is not None
    assert result.text == "assertEqual("


def test_nothing_is_offered_below_the_threshold() -> None:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)] + list("+-*/=(),.:[]")
    noisy = NgramModel()
    for n in range(4):
        noisy.train_file(f"noise{n}.txt", " ".join(rng.choice(words) for _ in range(3000)))
    prefix = " ".join(rng.choice(words) for _ in range(20)) + " "
    assert noisy.complete(prefix, path_key=None, threshold=0.3) is None
    # The model does have guesses; only the threshold keeps them back.
    assert noisy.complete(prefix, path_key=None, threshold=1e-9) is not None


def test_forgotten_and_renamed_identifiers_are_not_offered(model: NgramModel) -> None:
    prefix = "subtotal = compu"
    model.update_file("src/shop.py", SHOP.replace("compute_total", "compute_sum"))
    result = model.complete(prefix, path_key=None, threshold=0.3)
    assert result is not None
    assert result.text.startswith("te_sum")
    model.forget_file("src/shop.py")
    assert model.complete(prefix, path_key=None, threshold=0.3) is None


def test_incremental_updates_match_training_from_scratch() -> None:
    texts = {f"m{i}.py": filler(i) for i in range(5)}
    updated = NgramModel(order=4)
    for key, text in texts.items():
        updated.train_file(key, text)
    updated.update_file("m1.py", filler(11))
    updated.forget_file("m3.py")
    updated.train_file("m5.py", SHOP)
    texts.update({"m1.py": filler(11), "m5.py": SHOP})
    del texts["m3.py"]
    fresh = NgramModel(order=4)
    for key, text in texts.items():
        fresh.train_file(key, text)
    context = ["\n", "alpha", "="]
    assert updated.predict_next(context, 5) == fresh.predict_next(context, 5)
    assert updated.gram_count == fresh.gram_count


def test_buffer_defined_names_complete_before_saving(model: NgramModel) -> None:
    buffer = "very_local_name = 1\nprint(very_local_name)\nx = very_lo"
    assert model.complete(buffer, path_key="src/new.py", threshold=0.3) is None
    model.set_buffer("src/new.py", buffer)
    result = model.complete(buffer, path_key="src/new.py", threshold=0.3)
    assert result is not None
    assert result.text.startswith("cal_name")


def test_buffer_cache_edits_match_a_fresh_cache() -> None:
    vocabulary: dict[str, int] = {}

    def intern(token: str) -> int:
        return vocabulary.setdefault(token, len(vocabulary))

    rng = random.Random(5)
    edited = BufferCache(4)
    text = SHOP
    edited.update(text, intern)
    for _ in range(60):
        at = rng.randrange(len(text) + 1)
        cut = rng.randrange(0, 6)
        text = (
            text[:at] + rng.choice(["", "x", " ", "\n    ", "(a, b)", '"s', "#"]) + text[at + cut :]
        )
        edited.update(text, intern)
    fresh = BufferCache(4)
    fresh.update(text, intern)
    for order in range(1, 5):
        assert edited.store.arrays(order) == fresh.store.arrays(order)


def test_count_store_matches_a_counter() -> None:
    rng = random.Random(9)
    store = CountStore(3)
    expected = [Counter[int]() for _ in range(4)]
    for step in range(120):
        ids = [rng.randrange(40) for _ in range(rng.randrange(1, 2500 if step % 40 == 0 else 200))]
        grams = [Counter[int]() for _ in range(4)]
        count_grams(gram_keys(ids, 3), grams)
        sign = -1 if step % 3 == 0 else 1
        for order in range(1, 4):
            deltas = {k: max(sign * c, -expected[order][k]) for k, c in grams[order].items()}
            store.apply(order, deltas)
            expected[order].update(deltas)
            expected[order] = +expected[order]
    for order in range(1, 4):
        keys, counts = store.arrays(order)
        assert list(keys) == sorted(expected[order])
        assert list(counts) == [expected[order][k] for k in keys]
        assert store.total[order] == sum(expected[order].values())


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("y =", " foo(a, b)"), ("y = obj", ".attr"), ("z = 1 +", " foo(a, b)")],
)
def test_detokenized_spacing_follows_the_training_data(prefix: str, expected: str) -> None:
    styled = NgramModel()
    styled.train_file("a.py", "x = foo(a, b)\nw = obj.attr\nz = 1 + foo(a, b)\n" * 5)
    result = styled.complete(prefix, path_key=None, threshold=0.2)
    assert result is not None
    assert result.text == expected


def test_spacing_is_learned_not_hard_coded() -> None:
    styled = NgramModel()
    styled.train_file("a.txt", "x = foo( a , b ) ;\n" * 5)
    result = styled.complete("y = foo", path_key=None, threshold=0.2)
    assert result is not None
    assert result.text == "( a , b ) ;"


def test_memory_cap_prunes_rare_long_grams_but_keeps_patterns() -> None:
    capped, uncapped = NgramModel(max_grams=300), NgramModel()
    for trained in (capped, uncapped):
        trained.train_file("tests/test_shop.py", TESTS)
        trained.train_file("src/util.py", filler(2))
        trained.flush()
    assert capped.gram_count < uncapped.gram_count
    prefix = "def test_case_99(self):\n    result = run(99)\n    self."
    result = capped.complete(prefix, path_key=None, threshold=0.3)
    assert result is not None
    assert result.text == "assertEqual(result, expected)"


def test_complete_does_not_wait_for_training(
    model: NgramModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    lex_file = model._lex_file

    def slow_lex(text: str) -> object:
        started.set()
        release.wait(10)
        return lex_file(text)

    monkeypatch.setattr(model, "_lex_file", slow_lex)
    trainer = threading.Thread(target=model.train_file, args=("src/late.py", "late = 1\n"))
    trainer.start()
    assert started.wait(10)
    prefix = "subtotal = compu"
    assert model.complete(prefix, path_key=None, threshold=0.3) is None
    release.set()
    trainer.join(10)
    assert model.complete(prefix, path_key=None, threshold=0.3) is not None


def test_save_and_load_round_trip(model: NgramModel, tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.bin"
    model.save(target)
    loaded = NgramModel.load(target)
    assert loaded is not None
    assert loaded.file_count == model.file_count
    assert loaded.gram_count == model.gram_count
    context = ["\n", "total", "="]
    assert loaded.predict_next(context, 5) == model.predict_next(context, 5)
    prefix = "subtotal = compu"
    assert loaded.complete(prefix, path_key=None, threshold=0.3) == model.complete(
        prefix, path_key=None, threshold=0.3
    )
    loaded.forget_file("src/shop.py")
    assert loaded.complete(prefix, path_key=None, threshold=0.3) is None


def test_corrupt_truncated_or_other_version_files_are_ignored(
    model: NgramModel, tmp_path: Path
) -> None:
    target = tmp_path / "model.bin"
    model.save(target)
    good = target.read_bytes()
    header_end = good.index(b"}") + 1
    damaged = {
        "flipped": good[:-40] + bytes(b ^ 0xFF for b in good[-40:-20]) + good[-20:],
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "garbage": b"\x00" * 100,
        "future": good.replace(b'"format": 1', b'"format": 99', 1),
        "bad header": good[:header_end].replace(b'"sections"', b'"sectionz"') + good[header_end:],
    }
    for name, data in damaged.items():
        target.write_bytes(data)
        assert NgramModel.load(target) is None, name
    assert NgramModel.load(tmp_path / "missing.bin") is None
    assert json.loads(good[len(b"ai-lsp-ngram\n") + 4 : header_end])["format"] == 1
