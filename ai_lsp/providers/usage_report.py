"""The ledger's usage report: per-day rows, totals and caps, as a table (`ai-lsp usage`) or as
JSON (the `ai-lsp.usage` command).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Usage of one model of one provider on one (local) day."""

    day: str
    provider: str
    model: str
    requests: int
    estimated: int
    """Requests whose token counts were estimated (the endpoint did not report usage)."""
    prompt_tokens: int
    completion_tokens: int
    usd: float


@dataclass(frozen=True, slots=True)
class Totals:
    """Usage summed over a period."""

    requests: int
    prompt_tokens: int
    completion_tokens: int
    usd: float

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens (what token caps count)."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class CapStatus:
    """One budget setting: its cap (None: no cap), what is spent and what is left."""

    setting: str
    period: Literal["day", "month"]
    unit: Literal["usd", "tokens"]
    limit: float | None
    spent: float
    remaining: float | None
    resets: str
    """Local time (ISO 8601) the period ends."""


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Usage of the last `days` days (newest first), today's and this month's totals, caps."""

    generated_at: str
    ledger: str
    days: int
    rows: list[UsageRow]
    today: Totals
    month: Totals
    caps: list[CapStatus]


def usd(value: float) -> str:
    """Dollars with cents, or with four decimals below one cent (completions cost fractions)."""
    return f"${value:,.2f}" if value == 0 or abs(value) >= 0.01 else f"${value:.4f}"


def report_json(report: UsageReport) -> dict[str, Any]:
    """The report as JSON-serialisable data (totals include `tokens`)."""
    data = dataclasses.asdict(report)
    for period in ("today", "month"):
        data[period]["tokens"] = getattr(report, period).tokens
    return data


def format_report(report: UsageReport) -> str:
    """A plain-text table for the terminal."""
    lines = [f"ai-lsp usage, last {report.days} days (ledger: {report.ledger})", ""]
    if report.rows:
        header = ("day", "provider", "model", "requests", "prompt", "output", "cost")
        body = [
            (
                row.day,
                row.provider,
                row.model,
                f"{row.requests:,}{'*' if row.estimated else ''}",
                f"{row.prompt_tokens:,}",
                f"{row.completion_tokens:,}",
                usd(row.usd),
            )
            for row in report.rows
        ]
        lines += _table([header, *body], right_from=3)
        if any(row.estimated for row in report.rows):
            lines.append("* some token counts are estimates (the endpoint reported no usage)")
    else:
        lines.append("no usage recorded")
    lines.append("")
    lines += _table(
        [
            (label, f"{t.requests:,} requests", f"{t.tokens:,} tokens", usd(t.usd))
            for label, t in (("today", report.today), ("this month", report.month))
        ],
        right_from=1,
    )
    lines += ["", "budget"]
    lines += _table([_cap_cells(cap) for cap in report.caps], right_from=99, indent="  ")
    return "\n".join(lines)


def _cap_cells(cap: CapStatus) -> tuple[str, ...]:
    if cap.limit is None or cap.remaining is None:
        return (cap.setting, "no cap")
    if cap.unit == "usd":
        used, left = f"{usd(cap.spent)} of {usd(cap.limit)}", f"{usd(cap.remaining)} left"
    else:
        used = f"{int(cap.spent):,} of {int(cap.limit):,} tokens"
        left = f"{int(cap.remaining):,} tokens left"
    return (cap.setting, used, left, f"resets {cap.resets.replace('T', ' ')}")


def _table(rows: list[tuple[str, ...]], *, right_from: int, indent: str = "") -> list[str]:
    """Rows padded into columns; columns from index `right_from` on are right-aligned."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    return [
        indent
        + "  ".join(
            cell.rjust(widths[i]) if i >= right_from else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
