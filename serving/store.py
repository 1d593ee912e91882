"""The latest batch scores, held in memory and reloaded when the scoring run replaces them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import pandas as pd

from models.explain import split_reasons
from serving.schemas import CustomerScore, ScoreResponse

_FLOATS = (
    "churn_probability",
    "expected_days_to_next_order",
    "next_order_p10_days",
    "next_order_p90_days",
    "order_probability_7d",
    "order_probability_14d",
    "order_probability_30d",
    "value_at_risk",
)


class ScoreStore:
    """Lookups by customer_id in the Parquet written by `retain score` (atomic renames,
    so a reader never sees half a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._scores = pd.DataFrame()

    def _refresh(self) -> None:
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime:
            frame = pd.read_parquet(self.path) if mtime is not None else pd.DataFrame()
            self._scores = frame.set_index("customer_id") if len(frame) else frame
            self._mtime = mtime

    def lookup(self, customer_ids: list[str]) -> ScoreResponse:
        self._refresh()
        if self._scores.empty:
            error = "no scores yet: run `retain score`"
            return ScoreResponse(
                results=[
                    CustomerScore(customer_id=c, found=False, error=error) for c in customer_ids
                ]
            )
        first = self._scores.iloc[0]
        version, as_of = (
            str(first["model_version"]),
            pd.Timestamp(first["as_of"]).date().isoformat(),
        )
        return ScoreResponse(
            model_version=version,
            as_of=as_of,
            results=[self._one(c, version, as_of) for c in customer_ids],
        )

    def _one(self, customer_id: str, version: str, as_of: str) -> CustomerScore:
        if customer_id not in self._scores.index:
            return CustomerScore(
                customer_id=customer_id,
                found=False,
                error="unknown customer_id: not in the scored population (new, lapsed or misspelt)",
            )
        record = cast(pd.Series, self._scores.loc[customer_id])  # index is unique
        row: dict[str, Any] = {str(k): v for k, v in record.items()}
        floats: dict[str, Any] = {k: None if math.isnan(row[k]) else float(row[k]) for k in _FLOATS}
        return CustomerScore(
            customer_id=customer_id,
            found=True,
            **floats,
            risk_tier=str(row["risk_tier"]),
            next_order_date=pd.Timestamp(row["next_order_date"]).date().isoformat(),
            value_tier=str(row["value_tier"]),
            reasons=split_reasons(row["reasons"]),
            model_version=version,
            as_of=as_of,
        )
