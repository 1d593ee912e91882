"""Assemble the feature (and label) frame for a population at many cutoffs in one pass."""

from __future__ import annotations

import duckdb
import pandas as pd

from features.complaints import complaint_features
from features.cutoffs import cutoffs_frame
from features.labels import labels
from features.orders import order_features, order_gaps
from features.schema import (
    CATEGORICAL_FEATURES,
    COMPLAINT_COUNTS,
    COMPLAINT_FEATURES,
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    LABEL_COLUMNS,
    NUMERIC_FEATURES,
)

_DAYS = "86400.0"


def _set_cutoffs(con: duckdb.DuckDBPyConnection, cutoffs: list[pd.Timestamp]) -> None:
    con.register("_cutoffs_df", cutoffs_frame(cutoffs))
    con.execute("CREATE OR REPLACE TEMP TABLE cutoffs AS SELECT cutoff_at FROM _cutoffs_df")
    con.unregister("_cutoffs_df")


def _complaint_columns() -> str:
    counts = [f"coalesce(k.{c}, 0) AS {c}" for c in COMPLAINT_COUNTS]
    rest = [
        f"k.{c}"
        for c in COMPLAINT_FEATURES
        if c not in COMPLAINT_COUNTS and c != "complaints_per_order"
    ]
    per_order = "coalesce(k.complaints_total, 0) / o.orders_total AS complaints_per_order"
    return ", ".join([*counts, *rest, per_order])


def build_frame(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    horizon_days: int | None = None,
    data_end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Features for the scored population at each cutoff; labels too when `data_end` is given.

    In: connection holding validated `orders`, `complaints` and `customers` tables.
    Out: one row per (customer_id, cutoff_at), columns KEY + FEATURE (+ LABEL), sorted.
    Population (DESIGN.md section 2): at least one completed order before the cutoff and
    the last one within `activity_window_days`; lapsed customers are not scored as churn.
    All cutoffs are computed together: events are joined to the cutoffs table once.
    """
    _set_cutoffs(con, cutoffs)
    order_gaps(con)
    order_features(con).create_view("_order_features", replace=True)
    complaint_features(con).create_view("_complaint_features", replace=True)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE population AS
        SELECT o.*, {_complaint_columns()}, u.segment, u.region,
            CASE WHEN u.signed_up_at < o.cutoff_at
                 THEN epoch(o.cutoff_at - u.signed_up_at) / {_DAYS} END AS days_since_signup
        FROM _order_features o
        LEFT JOIN _complaint_features k USING (customer_id, cutoff_at)
        LEFT JOIN customers u USING (customer_id)
        WHERE o.days_since_last_order <= {activity_window_days}
        """
    )
    columns = [*KEY_COLUMNS, *FEATURE_COLUMNS]
    if data_end is None:
        rel = con.table("population").select(", ".join(columns))
    else:
        if horizon_days is None:
            raise ValueError("labels need horizon_days together with data_end")
        labels(con, data_end, horizon_days).create_view("_labels", replace=True)
        rel = con.sql(
            f"SELECT {', '.join('p.' + c for c in columns)}, "
            f"{', '.join('l.' + c for c in LABEL_COLUMNS)} "
            "FROM population p JOIN _labels l USING (customer_id, cutoff_at)"
        )
    # Training frames are sorted so a fit is reproducible; a scoring frame needs no order.
    frame = (rel.order("cutoff_at, customer_id") if data_end is not None else rel).df()
    return _with_dtypes(frame)


def _with_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes: float features (NaN = not defined), categories (NaN = unknown)."""
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["cutoff_at"] = pd.to_datetime(frame["cutoff_at"])
    for col in NUMERIC_FEATURES:
        frame[col] = frame[col].astype("float64")
    for col in CATEGORICAL_FEATURES:  # pandas categories: light, and cheap to encode
        frame[col] = frame[col].astype("category")
    if "churned" in frame:
        frame["churned"] = frame["churned"].astype("Int8")
        frame["next_order_censored"] = frame["next_order_censored"].astype(bool)
        frame["spend_next_horizon"] = frame["spend_next_horizon"].astype("float64")
    return frame
