"""The spend ledger: caps in USD and tokens per local day and month, warnings, reports, and
two processes writing at once."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ai_lsp.config import BudgetConfig, ModelConfig
from ai_lsp.notices import Level, Notices
from ai_lsp.providers.ledger import BudgetExceeded, Ledger, format_report, price, report_json

PAID = {"input_usd_per_mtok": 2.0, "output_usd_per_mtok": 8.0}
FREE = {"input_usd_per_mtok": 0.0, "output_usd_per_mtok": 0.0}
Make = Callable[[BudgetConfig], Ledger]


class Clock:
    """A settable local (naive) time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Said:
    """Collects what the ledger tells the user."""

    def __init__(self) -> None:
        self.messages: list[tuple[Level, str]] = []
        self.notices = Notices(lambda level, message: self.messages.append((level, message)))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 7, 14, 10, 0))


@pytest.fixture
def said() -> Said:
    return Said()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
def make(path: Path, clock: Clock, said: Said) -> Iterator[Make]:
    opened: list[Ledger] = []

    def factory(budget: BudgetConfig) -> Ledger:
        ledger = Ledger(path, budget, notices=said.notices, clock=clock)
        opened.append(ledger)
        return ledger

    yield factory
    for ledger in opened:
        ledger.close()


def spend(ledger: Ledger, usd: float = 0.0, tokens: int = 0, model: str = "gpt-4.1") -> None:
    ledger.record(
        provider="openai",
        model=model,
        feature="chat",
        prompt_tokens=tokens,
        completion_tokens=0,
        estimated=False,
        usd=usd,
    )


def ask(ledger: Ledger, prompt_tokens: int = 10, prices: dict[str, float] = PAID) -> None:
    ledger.check(provider="openai", model="gpt-4.1", prompt_tokens=prompt_tokens, **prices)


def test_daily_usd_cap_refuses_with_an_actionable_message(make: Make) -> None:
    ledger = make(BudgetConfig(daily_usd=2.0))
    spend(ledger, 1.5)
    ask(ledger)
    spend(ledger, 0.5)
    with pytest.raises(BudgetExceeded) as refused:
        ask(ledger)
    assert refused.value.message == (
        "ai-lsp: daily budget reached ($2.00 of $2.00, budget.daily_usd); requests are refused "
        "until tomorrow (00:00 local time). Raise budget.daily_usd to continue."
    )


def test_a_prompt_that_would_go_over_is_refused_before_it_is_sent(make: Make) -> None:
    ledger = make(BudgetConfig(daily_usd=2.0))
    spend(ledger, 1.9)
    ask(ledger, prompt_tokens=40_000)  # $0.08 at $2/Mtok: fits
    with pytest.raises(BudgetExceeded) as refused:
        ask(ledger, prompt_tokens=60_000)  # $0.12: would reach $2.02
    message = refused.value.message
    assert "openai/gpt-4.1 (60,000 prompt tokens, $0.12) would go over the daily budget" in message
    assert "($1.90 of $2.00 used, budget.daily_usd)" in message


def test_token_caps_count_prompt_and_completion(make: Make) -> None:
    ledger = make(BudgetConfig(daily_tokens=1_000))
    ledger.record(
        provider="ollama",
        model="qwen",
        feature="completion",
        prompt_tokens=600,
        completion_tokens=300,
        estimated=True,
        usd=0.0,
    )
    ask(ledger, prompt_tokens=100, prices=FREE)
    with pytest.raises(
        BudgetExceeded,
        match=r"\(101 prompt tokens\) would go over the daily token budget \(900 of 1,000 tokens used",
    ):
        ask(ledger, prompt_tokens=101, prices=FREE)


def test_usd_caps_do_not_stop_free_models(make: Make) -> None:
    ledger = make(BudgetConfig(daily_usd=1.0, monthly_tokens=5_000))
    spend(ledger, 1.0, tokens=4_000)
    with pytest.raises(BudgetExceeded, match=r"budget\.daily_usd"):
        ask(ledger)
    ask(ledger, prompt_tokens=900, prices=FREE)
    with pytest.raises(BudgetExceeded, match=r"budget\.monthly_tokens"):
        ask(ledger, prompt_tokens=1_001, prices=FREE)


def test_zero_means_no_cap(make: Make) -> None:
    ledger = make(BudgetConfig())
    spend(ledger, 1_000.0, tokens=10**9)
    ask(ledger, prompt_tokens=10**7)


def test_a_new_local_day_starts_from_zero_but_the_month_goes_on(make: Make, clock: Clock) -> None:
    ledger = make(BudgetConfig(daily_usd=1.0, monthly_usd=1.5))
    clock.now = datetime(2025, 7, 14, 23, 59)
    spend(ledger, 1.0)
    with pytest.raises(BudgetExceeded, match="daily budget reached"):
        ask(ledger)
    clock.now = datetime(2025, 7, 15, 0, 1)
    ask(ledger)
    spend(ledger, 0.5)
    with pytest.raises(BudgetExceeded) as refused:
        ask(ledger)
    assert refused.value.message.startswith(
        "ai-lsp: monthly budget reached ($1.50 of $1.50, budget.monthly_usd); "
        "requests are refused until 1 August (00:00 local time)."
    )


@pytest.mark.parametrize(
    ("last_minute", "first_minute", "reset"),
    [
        (datetime(2025, 1, 31, 23, 59), datetime(2025, 2, 1, 0, 0), "1 February"),
        (datetime(2024, 12, 31, 23, 59), datetime(2025, 1, 1, 0, 0), "1 January"),
    ],
)
def test_monthly_cap_resets_at_the_month_end(
    make: Make, clock: Clock, last_minute: datetime, first_minute: datetime, reset: str
) -> None:
    ledger = make(BudgetConfig(monthly_tokens=1_000))
    clock.now = last_minute - timedelta(days=20)
    spend(ledger, tokens=600)
    clock.now = last_minute
    spend(ledger, tokens=400)
    with pytest.raises(BudgetExceeded, match=f"refused until {reset} "):
        ask(ledger, prices=FREE)
    clock.now = first_minute
    ask(ledger, prompt_tokens=1_000, prices=FREE)


def test_warns_once_at_80_percent_and_says_once_when_the_cap_is_reached(
    make: Make, clock: Clock, said: Said
) -> None:
    ledger = make(BudgetConfig(daily_usd=10.0))
    spend(ledger, 7.9)
    assert said.messages == []
    spend(ledger, 0.1)
    spend(ledger, 0.5)
    spend(ledger, 0.5)
    assert said.messages == [
        (
            "warning",
            "ai-lsp: 80% of the daily budget used ($8.00 of $10.00, budget.daily_usd); "
            "at the cap, requests are refused until tomorrow (00:00 local time).",
        )
    ]
    spend(ledger, 1.0)
    spend(ledger, 1.0)
    assert said.messages[1:] == [
        (
            "error",
            "ai-lsp: daily budget reached ($10.00 of $10.00, budget.daily_usd); requests are "
            "refused until tomorrow (00:00 local time). Raise budget.daily_usd to continue.",
        )
    ]
    clock.now += timedelta(days=1)
    spend(ledger, 8.5)
    assert len(said.messages) == 3
    assert said.messages[2][0] == "warning"
    assert "85% of the daily budget used" in said.messages[2][1]


def test_budget_update_applies_without_restart(make: Make, said: Said) -> None:
    ledger = make(BudgetConfig(daily_usd=5.0))
    spend(ledger, 3.0)
    ask(ledger)
    ledger.update_budget(BudgetConfig(daily_usd=3.0))
    with pytest.raises(BudgetExceeded, match=r"\(\$3.00 of \$3.00, budget.daily_usd\)"):
        ask(ledger)
    assert [level for level, _ in said.messages] == ["error"]
    ledger.update_budget(BudgetConfig(daily_usd=4.0))
    ask(ledger)
    assert "75%" not in " ".join(m for _, m in said.messages)
    ledger.update_budget(BudgetConfig())
    spend(ledger, 100.0)
    ask(ledger)


def test_spend_persists_across_instances(make: Make) -> None:
    spend(make(BudgetConfig()), 2.0)
    with pytest.raises(BudgetExceeded):
        ask(make(BudgetConfig(daily_usd=2.0)))


def test_writes_by_another_connection_are_seen(make: Make) -> None:
    watcher = make(BudgetConfig(daily_tokens=1_000))
    ask(watcher, prices=FREE)  # totals now cached
    spend(make(BudgetConfig()), tokens=1_000)
    with pytest.raises(BudgetExceeded):
        ask(watcher, prices=FREE)


def _record_many(path: str, count: int) -> None:
    ledger = Ledger(Path(path), BudgetConfig(), clock=lambda: datetime(2025, 7, 14, 12, 0))
    for i in range(count):
        ledger.record(
            provider="openai",
            model="gpt-4.1",
            feature="completion" if i % 2 else "chat",
            prompt_tokens=100,
            completion_tokens=7,
            estimated=i % 3 == 0,
            usd=0.000123,
        )
    ledger.close()


def test_two_processes_recording_at_once_lose_nothing(path: Path, make: Make) -> None:
    """Both create the database, then write to it at the same time."""
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_record_many, args=(str(path), 300)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    report = make(BudgetConfig()).report()
    assert report.today.requests == 600
    assert report.today.prompt_tokens == 60_000
    assert report.today.completion_tokens == 4_200
    assert report.today.usd == pytest.approx(600 * 0.000123, abs=1e-12)
    assert sum(row.estimated for row in report.rows) == 200


def test_report_lists_days_models_totals_and_caps(make: Make, clock: Clock) -> None:
    ledger = make(BudgetConfig(daily_usd=2.0, monthly_tokens=100_000))
    clock.now = datetime(2025, 6, 1, 9, 0)  # 43 days before the report: left out
    spend(ledger, 5.0, tokens=1)
    clock.now = datetime(2025, 7, 1, 9, 0)
    spend(ledger, 0.25, tokens=1_000)
    clock.now = datetime(2025, 7, 14, 9, 0)
    spend(ledger, 0.5, tokens=2_000)
    spend(ledger, 0.25, tokens=1_000)
    spend(ledger, 0.00042, tokens=300, model="gpt-4.1-mini")
    report = ledger.report()
    assert [(r.day, r.model, r.requests, r.prompt_tokens) for r in report.rows] == [
        ("2025-07-14", "gpt-4.1", 2, 3_000),
        ("2025-07-14", "gpt-4.1-mini", 1, 300),
        ("2025-07-01", "gpt-4.1", 1, 1_000),
    ]
    assert report.today.usd == pytest.approx(0.75042)
    assert report.month.tokens == 4_300
    caps = {c.setting: c for c in report.caps}
    assert caps["budget.daily_usd"].remaining == pytest.approx(2.0 - 0.75042)
    assert caps["budget.daily_usd"].resets == "2025-07-15T00:00"
    assert caps["budget.monthly_tokens"].remaining == 100_000 - 4_300
    assert caps["budget.monthly_usd"].limit is None

    data = json.loads(json.dumps(report_json(report)))
    assert data["today"]["tokens"] == 3_300
    assert data["rows"][1]["model"] == "gpt-4.1-mini"

    table = format_report(report)
    assert "2025-07-14  openai    gpt-4.1-mini         1     300       0  $0.0004" in table
    budget_lines = table.split("\nbudget\n")[1].splitlines()
    assert budget_lines[0].split() == [
        *("budget.daily_usd", "$0.75", "of", "$2.00", "$1.25", "left"),
        *("resets", "2025-07-15", "00:00"),
    ]
    assert budget_lines[2].split() == ["budget.monthly_usd", "no", "cap"]
    assert "2025-06-01" not in table


def test_an_unusable_ledger_file_still_enforces_budgets_for_the_session(
    tmp_path: Path, clock: Clock, said: Said
) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    ledger = Ledger(folder, BudgetConfig(daily_usd=1.0), notices=said.notices, clock=clock)
    spend(ledger, 1.0)
    with pytest.raises(BudgetExceeded):
        ask(ledger)
    assert said.messages[0][0] == "warning"
    assert f"cannot open the spend ledger {folder}" in said.messages[0][1]
    ledger.close()


def test_price_uses_per_million_prices() -> None:
    model = ModelConfig(
        provider="openai", name="gpt-4.1", input_usd_per_mtok=2.0, output_usd_per_mtok=8.0
    )
    assert price(model, 1_000_000, 500_000) == pytest.approx(6.0)
    assert price(model, 0, 0) == 0.0


def test_state_and_cache_dirs_honour_overrides_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_lsp import paths

    monkeypatch.setenv("AI_LSP_STATE_DIR", str(tmp_path / "override"))
    assert not (tmp_path / "override").exists()  # created on use, not before
    assert paths.state_dir() == tmp_path / "override"
    assert (tmp_path / "override").is_dir()
    monkeypatch.delenv("AI_LSP_STATE_DIR")
    monkeypatch.delenv("AI_LSP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.state_dir() == tmp_path / "state" / "ai-lsp"
    assert paths.cache_dir() == tmp_path / "cache" / "ai-lsp"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.state_dir().is_relative_to(tmp_path / "home")
