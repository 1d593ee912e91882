"""Canonical table contracts (docs/ARCHITECTURE.md, the data contract) and the feature list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableContract:
    """Required and optional columns of one input table, with their logical types."""

    name: str
    key: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    unique_key: bool = True  # order lines share their order's id

    @property
    def columns(self) -> dict[str, str]:
        return {**self.required, **self.optional}

    def sql_type(self, column: str) -> str:
        return SQL_TYPES[self.columns[column]]

    def ddl(self) -> str:
        """Column definitions of the canonical table: every contract column, always."""
        return ", ".join(f"{c} {self.sql_type(c)}" for c in self.columns)


DEFAULT_HORIZON_DAYS = 90  # churn = no order within this many days of the cutoff

SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}


ORDERS = TableContract(
    name="orders",
    key="order_id",
    required={
        "order_id": "text",
        "customer_id": "text",
        "ordered_at": "timestamp",
    },
    optional={
        "amount": "number",  # without it spend features are absent and value counts orders
        "status": "text",
        "channel": "text",
        "category": "text",
        "discount_amount": "number",
    },
)

ORDER_LINES = TableContract(
    name="order_lines",
    key="order_id",
    required={"order_id": "text", "customer_id": "text", "ordered_at": "timestamp"},
    optional={
        "quantity": "number",  # negative: a returned line
        "unit_price": "number",
        "line_amount": "number",  # instead of quantity x unit_price
        "product_id": "text",
        "category": "text",
        "channel": "text",
        "discount_amount": "number",
        "status": "text",
    },
    unique_key=False,
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

# Kept by the warehouse from order lines with categories (features.categories), not an input.
CATEGORY_EVENTS_TABLE = TableContract(
    name="category_events",
    key="order_id",
    required={
        "customer_id": "text",
        "category": "text",
        "order_id": "text",
        "ordered_at": "timestamp",
        "net_spend": "number",
        "net_quantity": "number",
        "purchase": "boolean",
    },
    unique_key=False,
)

CONTRACTS = {c.name: c for c in (ORDERS, ORDER_LINES, COMPLAINTS, CUSTOMERS)}
ORDER_TABLES = ("orders", "order_lines")  # a source gives exactly one of them
GUEST_ORDER = "no customer id (guest order)"  # why an order (line) without a customer is set aside
COMPLETED_STATUS = "completed"
RETURNED_STATUS = "returned"
CANCELLED_STATUS = "cancelled"
ORDER_STATUSES = (COMPLETED_STATUS, RETURNED_STATUS, CANCELLED_STATUS)
DEFAULT_STATUS_SYNONYMS = {
    "complete": COMPLETED_STATUS,
    "paid": COMPLETED_STATUS,
    "shipped": COMPLETED_STATUS,
    "delivered": COMPLETED_STATUS,
    "return": RETURNED_STATUS,
    "refunded": RETURNED_STATUS,
    "canceled": CANCELLED_STATUS,
    "cancel": CANCELLED_STATUS,
    "void": CANCELLED_STATUS,
}

ORDER_WINDOWS_DAYS = (30, 90, 180, 365)
COMPLAINT_WINDOWS_DAYS = (30, 90, 365)

ORDER_FEATURES: tuple[str, ...] = (
    "days_since_last_order",
    *(f"{kind}_{w}d" for w in ORDER_WINDOWS_DAYS for kind in ("orders", "spend")),
    "orders_total",
    "spend_total",
    "tenure_days",
    "avg_order_value",
    "max_order_value",
    "avg_order_value_90d",
    "spend_prev_90d",
    "spend_change_90d",
    "mean_days_between_orders",
    "median_days_between_orders",
    "std_days_between_orders",
    "last_gap_days",
    "overdue_ratio",
    "silent_share_of_tenure",
    "orders_per_30d_tenure",
    "spend_per_30d_tenure",
    "returns_total",
    "cancellations_total",
    "returned_value_total",
    "net_spend_total",
    "net_spend_365d",
    "net_avg_order_value",
    "return_cancel_share",
    "discount_share",
    "categories_total",
    "channels_total",
)
COMPLAINT_FEATURES: tuple[str, ...] = (
    *(f"complaints_{w}d" for w in COMPLAINT_WINDOWS_DAYS),
    "complaints_total",
    "open_complaints",
    "days_since_last_complaint",
    "mean_resolution_days",
    "max_severity",
    "mean_severity",
    "mean_satisfaction",
    "complaints_per_order",
)
COMPLAINT_COUNTS = (
    *(f"complaints_{w}d" for w in COMPLAINT_WINDOWS_DAYS),
    "complaints_total",
    "open_complaints",
)
CUSTOMER_FEATURES: tuple[str, ...] = ("days_since_signup",)
CATEGORY_TOP = 2  # recency and usual gap of the customer's top categories as features
# From order lines with categories (features.categories); absent (NULL) without them.
CATEGORY_FEATURES: tuple[str, ...] = (
    "products_total",
    "products_90d",
    "categories_bought_total",
    "categories_bought_90d",
    "top_category_spend_share",
    "category_concentration_hhi",
    "categories_dropped_90d",
    *(
        f"top{k}_category_{name}"
        for k in range(1, CATEGORY_TOP + 1)
        for name in ("days_since_purchase", "median_gap_days")
    ),
)
NUMERIC_FEATURES = (*ORDER_FEATURES, *COMPLAINT_FEATURES, *CUSTOMER_FEATURES, *CATEGORY_FEATURES)
CATEGORICAL_FEATURES: tuple[str, ...] = ("main_channel", "segment", "region")
FEATURE_COLUMNS: tuple[str, ...] = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)

KEY_COLUMNS = ("customer_id", "cutoff_at")
LABEL_COLUMNS = ("churned", "days_to_next_order", "next_order_censored", "spend_next_horizon")
