"""A year of operation replayed on history: score every month, retrain every few months,
then check the gate with a deliberately broken challenger (shuffled outcomes) and a rollback.

Scoring is the one function `Score`; the scoring stage provides it through the command
line, so this training-stage module imports nothing of that stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.home import open_registry
from pipelines.settings import Settings
from pipelines.training.gate import window_text
from pipelines.training.run import Status, run_training

Score = Callable[[pd.Timestamp], pd.DataFrame]  # the scores table at an as-of, champion's


@dataclass
class Month:
    as_of: str
    scored_by: str  # the champion version that made this month's scores
    customers: int
    high_risk_share: float
    trained: str = ""  # the version trained this month, if any
    decision: str = ""
    challenger: dict[str, float | None] = field(default_factory=dict)
    champion: dict[str, float | None] = field(default_factory=dict)
    window: dict[str, Any] = field(default_factory=dict)  # what the gate judged both on


@dataclass
class GateCheck:
    as_of: str
    broken_version: str
    broken_refused: bool
    broken_reason: str
    new_version: str
    new_promoted: bool
    rolled_back_to: str
    rollback_scores_identical: bool


def replay_months(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    first: pd.Timestamp,
    months: int,
    train_every: int,
    score: Score,
    status: Status,
) -> list[Month]:
    """Month by month from `first`: train at as-of (every `train_every` months, the first
    month included), then score at as-of with whatever is champion."""
    walked = []
    for k in range(months):
        as_of = first + pd.DateOffset(months=k)
        trained: dict[str, Any] = {}
        if k % train_every == 0:
            outcome = run_training(con, settings, None, status, as_of)
            d = outcome.decision
            trained = {
                "trained": outcome.version,
                "decision": d.reason,
                "challenger": d.challenger or {},
                "champion": d.champion or {},
                "window": d.window or {},
            }
        scores = score(as_of)
        walked.append(
            Month(
                as_of=str(as_of.date()),
                scored_by=str(scores["model_version"].iloc[0]) if len(scores) else "",
                customers=len(scores),
                high_risk_share=float((scores["risk_tier"] == "high").mean()),
                **trained,
            )
        )
    return walked


def check(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    score: Score,
    status: Status,
) -> GateCheck:
    """At `as_of`: a challenger trained on shuffled outcomes must be refused; a proper one
    promoted; a rollback then gives exactly the scores the previous champion gave."""
    before = score(as_of)
    broken = run_training(con, settings, None, status, as_of, shuffle_labels=True)
    fresh = run_training(con, settings, None, status, as_of)
    registry = open_registry(settings)
    previous = registry.rollback() if fresh.decision.promoted else ""
    after = score(as_of)
    return GateCheck(
        as_of=str(as_of.date()),
        broken_version=broken.version,
        broken_refused=not broken.decision.promoted,
        broken_reason=broken.decision.reason,
        new_version=fresh.version,
        new_promoted=fresh.decision.promoted,
        rolled_back_to=previous,
        rollback_scores_identical=_same_scores(before, after),
    )


def _same_scores(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal scores, whenever they were made (scored_at aside)."""
    columns = [c for c in a.columns if c != "scored_at"]
    left = a[columns].sort_values("customer_id").reset_index(drop=True)
    right = b[columns].sort_values("customer_id").reset_index(drop=True)
    return bool(left.equals(right))


def _short(reason: str) -> str:
    return reason.split(":")[0] if reason else "-"


def _pair(metrics: dict[str, float | None]) -> str:
    pr, brier = metrics.get("churn_pr_auc"), metrics.get("churn_brier")
    return "-" if pr is None or brier is None else f"{pr:.4f} / {brier:.4f}"


@dataclass
class Walk:
    months: list[Month]
    gate: GateCheck | None
    monitor: list[str] = field(default_factory=list)  # `retain monitor`'s decision each month

    @property
    def table(self) -> str:
        """The walk as a Markdown table (docs/OPERATIONS.md), the gate check below it."""
        lines = [
            "| month | scored by version | customers | high risk | trained | decision "
            "| judged on | challenger PR-AUC / Brier | champion PR-AUC / Brier | monitor |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        watched = self.monitor or ["-"] * len(self.months)
        for m, seen in zip(self.months, watched, strict=True):
            lines.append(
                f"| {m.as_of} | {m.scored_by} | {m.customers:,} | {m.high_risk_share:.1%} "
                f"| {m.trained or '-'} | {_short(m.decision)} | {window_text(m.window) or '-'} "
                f"| {_pair(m.challenger)} "
                f"| {_pair(m.champion)} | {seen} |"
            )
        if self.gate is not None:
            lines += ["", *(f"- {k}: {v}" for k, v in asdict(self.gate).items())]
        return "\n".join(lines)

    def write(self, out: Path) -> list[Path]:
        """The table as Markdown at `out` and everything as JSON beside it."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.table + "\n")
        body = {
            "months": [asdict(m) for m in self.months],
            "gate": self.gate and asdict(self.gate),
            "monitor": self.monitor,
        }
        out.with_suffix(".json").write_text(json.dumps(body, indent=2))
        return [out, out.with_suffix(".json")]
