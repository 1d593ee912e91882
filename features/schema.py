"""Canonical table contracts (DESIGN.md section 1) and the feature list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableContract:
    """Required and optional columns of one input table, with their logical types."""

    name: str
    key: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, str]:
        return {**self.required, **self.optional}


ORDERS = TableContract(
    name="orders",
    key="order_id",
    required={
        "order_id": "text",
        "customer_id": "text",
        "ordered_at": "timestamp",
        "amount": "number",
    },
    optional={
        "status": "text",
        "channel": "text",
        "category": "text",
        "discount_amount": "number",
    },
)

COMPLAINTS = TableContract(
    name="complaints",
    key="complaint_id",
    required={"complaint_id": "text", "customer_id": "text", "opened_at": "timestamp"},
    optional={
        "resolved_at": "timestamp",
        "category": "text",
        "severity": "integer",
        "channel": "text",
        "satisfaction": "integer",
    },
)

CUSTOMERS = TableContract(
    name="customers",
    key="customer_id",
    required={"customer_id": "text"},
    optional={"signed_up_at": "timestamp", "segment": "text", "region": "text"},
)

CONTRACTS = {c.name: c for c in (ORDERS, COMPLAINTS, CUSTOMERS)}
REQUIRED_TABLES = ("orders",)
COMPLETED_STATUS = "completed"

ORDER_WINDOWS_DAYS = (30, 90, 365)

FEATURE_COLUMNS: tuple[str, ...] = (
    "days_since_last_order",
    *(f"orders_{w}d" for w in ORDER_WINDOWS_DAYS),
    "orders_total",
    *(f"spend_{w}d" for w in ORDER_WINDOWS_DAYS),
    "spend_total",
    "tenure_days",
    "mean_days_between_orders",
    "overdue_ratio",
    "complaints_90d",
    "complaints_total",
    "open_complaints",
    "days_since_last_complaint",
)

KEY_COLUMNS = ("customer_id", "cutoff_at")
LABEL_COLUMNS = ("churned", "days_to_next_order", "next_order_censored")
