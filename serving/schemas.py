"""Request and response bodies of the scoring API (pydantic, shown in the OpenAPI spec)."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_IDS_PER_REQUEST = 10_000


class CustomerScore(BaseModel):
    """The latest batch scores of one customer, or why there are none."""

    customer_id: str
    found: bool
    error: str | None = None
    churn_probability: float | None = Field(
        None, description="Calibrated P(no order within the horizon)."
    )
    risk_tier: str | None = None
    expected_days_to_next_order: float | None = None
    next_order_p10_days: float | None = None
    next_order_p90_days: float | None = None
    next_order_date: str | None = None
    order_probability_7d: float | None = Field(None, description="P(an order within 7 days).")
    order_probability_14d: float | None = Field(None, description="P(an order within 14 days).")
    order_probability_30d: float | None = Field(None, description="P(an order within 30 days).")
    value_tier: str | None = None
    value_at_risk: float | None = None
    reasons: list[str] = Field(default_factory=list)
    model_version: str | None = None
    as_of: str | None = None


class ScoreResponse(BaseModel):
    model_version: str | None = Field(None, description="Registered model version of these scores.")
    as_of: str | None = Field(None, description="Cutoff the scores were computed at.")
    results: list[CustomerScore]
