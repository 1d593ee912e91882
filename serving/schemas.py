"""Request and response bodies of the scoring API (pydantic, shown in the OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_IDS_PER_REQUEST = 10_000
MAX_ID_LENGTH = 128
MAX_ORDERS_PER_HISTORY = 5_000
MAX_COMPLAINTS_PER_HISTORY = 1_000

CustomerId = Field(min_length=1, max_length=MAX_ID_LENGTH)
# A day between 1900 and 2199 (pandas' timestamps end in 2262); an impossible day such as
# 2025-02-30 matches the pattern, breaks `format: date` and is refused with a 400
DAY_PATTERN = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class NextCategory(BaseModel):
    """One of a customer's categories most likely bought next (the category curves)."""

    category: str
    probability_30d: float = Field(description="P(buys the category within 30 days).")
    expected_days: float | None = Field(
        description="Days to the next purchase of it (the curve's median, given a purchase "
        "within the horizon)."
    )


class CustomerScore(BaseModel):
    """The scores of one customer, or why there are none."""

    customer_id: str
    found: bool
    error: str | None = None
    churn_probability: float | None = Field(
        None, description="Calibrated P(no order within the horizon)."
    )
    risk_tier: str | None = None
    percentile: int | None = Field(None, description="Churn rank in the scored base, 1-100.")
    permille: int | None = Field(None, description="Churn rank in the scored base, 1-1000.")
    expected_days_to_next_order: float | None = None
    next_order_p10_days: float | None = None
    next_order_p90_days: float | None = None
    next_order_date: str | None = None
    expected_date_of_next_order: str | None = None
    order_probability_7d: float | None = Field(None, description="P(an order within 7 days).")
    order_probability_14d: float | None = Field(None, description="P(an order within 14 days).")
    order_probability_30d: float | None = Field(None, description="P(an order within 30 days).")
    next_categories: list[NextCategory] = Field(
        default_factory=list,
        description="Up to three categories the customer is most likely to buy within 30 "
        "days, most likely first. Empty without category curves (order lines without "
        "categories, or a posted history, which holds orders).",
    )
    value_tier: str | None = None
    expected_value: float | None = Field(
        None, description="Spend expected over the horizon if the customer orders in it."
    )
    value_at_risk: float | None = None
    predicted_clv_365d: float | None = Field(
        None, description="Spend forecast over the next 365 days, net of refunds (orders "
        "without amounts)."
    )  # fmt: skip
    predicted_clv_365d_p10: float | None = Field(None, description="Its 10 % quantile.")
    predicted_clv_365d_p90: float | None = Field(None, description="Its 90 % quantile.")
    average_days_between_orders: float | None = None
    average_order_value: float | None = Field(
        None, description="Average order value, net of refunds."
    )
    historic_clv: float | None = Field(
        None, description="Total spend so far, net of refunds and credit notes."
    )
    reasons: list[str] = Field(
        default_factory=list,
        description="Up to three reasons, most important first, each ending in whether it "
        "raises or lowers the churn risk: 'last order 143 days ago, usually every 30 days "
        "(raises the risk)'. Empty when the scoring run did not explain this customer.",
    )
    reason_directions: list[Literal["raises", "lowers"]] = Field(
        default_factory=list,
        description="Per reason, in the same order: whether it raises or lowers the churn risk.",
    )
    model_version: str | None = None
    as_of: str | None = None
    scored_at: str | None = None


class ScoreResponse(BaseModel):
    model_version: str | None = Field(None, description="Registered model version of these scores.")
    as_of: str | None = Field(None, description="Cutoff the scores were computed at.")
    scored_at: str | None = Field(None, description="When the scores were computed.")
    results: list[CustomerScore]
    set_aside: list[str] = Field(
        default_factory=list,
        description="Rows of a posted history set aside as the batch would (`orders[2]."
        "ordered_at: unparseable ordered_at: ...`); the scores are of the other rows.",
    )


# Posted rows take JSON's types as the schema states them: no true for a number, no 1 for text
STRICT = ConfigDict(strict=True)


class OrderIn(BaseModel):
    """One order of a posted history (the data contract's columns)."""

    model_config = STRICT

    order_id: str = CustomerId
    ordered_at: str = Field(min_length=1, max_length=40)
    amount: float | None = None
    status: str | None = Field(None, max_length=32)
    channel: str | None = Field(None, max_length=64)
    category: str | None = Field(None, max_length=64)
    discount_amount: float | None = None


class ComplaintIn(BaseModel):
    model_config = STRICT

    complaint_id: str = CustomerId
    opened_at: str = Field(min_length=1, max_length=40)
    resolved_at: str | None = Field(None, max_length=40)
    category: str | None = Field(None, max_length=64)
    severity: int | None = None
    channel: str | None = Field(None, max_length=64)
    satisfaction: int | None = None


class CustomerIn(BaseModel):
    model_config = STRICT

    signed_up_at: str | None = Field(None, max_length=40)
    segment: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=64)
