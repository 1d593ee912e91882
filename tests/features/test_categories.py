"""Category features from order lines: hand-computed values, no leak, the map, and off."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.frame import build_frame
from features.schema import CATEGORY_FEATURES
from pipelines.ingest.sources import load_frames
from pipelines.settings import InputSettings
from pipelines.warehouse import connect
from tests.conftest import CUTOFF, examples

LINES = pd.DataFrame(
    [  # order, customer, at, product, category, quantity, unit price
        ("o1", "c1", "2024-01-01", "p1", "pet food", 2, 10.0),
        ("o1", "c1", "2024-01-01", "v1", "veg", 1, 5.0),
        ("o2", "c1", "2024-01-21", "p1", "pet food", 1, 10.0),
        ("o3", "c1", "2024-02-10", "p2", "pet food", 1, 12.0),
        ("o3", "c1", "2024-02-10", "v2", "veg", 1, 5.0),
        ("o3", "c1", "2024-02-10", "v2", "veg", -1, 5.0),  # returned: veg nets to nothing
        ("o4", "c1", "2024-03-01", "p1", "pet food", 1, 10.0),  # at the cutoff: excluded
        ("o5", "c2", "2023-10-01", "w1", "wine", 1, 15.0),  # 152 days before: dropped
        ("o6", "c2", "2024-02-01", "k1", "coffee", 1, 9.0),
    ],
    columns=[
        "order_id",
        "customer_id",
        "ordered_at",
        "product_id",
        "category",
        "quantity",
        "unit_price",
    ],
)


def _frame(lines: pd.DataFrame, opts: InputSettings | None = None) -> pd.DataFrame:
    con = connect()
    load_frames(con, {"order_lines": lines}, opts)
    return build_frame(con, [CUTOFF], 365).set_index("customer_id")


def test_hand_computed_category_features() -> None:
    c1, c2 = _frame(LINES).loc["c1"], _frame(LINES).loc["c2"]
    assert (c1["products_total"], c1["products_90d"]) == (4, 4)
    assert (c1["categories_bought_total"], c1["categories_bought_90d"]) == (2, 2)
    assert c1["top_category_spend_share"] == pytest.approx(42 / 47)
    assert c1["category_concentration_hhi"] == pytest.approx((42 / 47) ** 2 + (5 / 47) ** 2)
    assert c1["top1_category_days_since_purchase"] == 20  # pet food: 60, 40, 20 days ago
    assert c1["top1_category_median_gap_days"] == 20
    assert c1["top2_category_days_since_purchase"] == 60  # veg once (o3's veg nets to 0)
    assert math.isnan(c1["top2_category_median_gap_days"])
    assert (c1["categories_dropped_90d"], c2["categories_dropped_90d"]) == (0, 1)
    assert c2["categories_bought_90d"] == 1 and c2["top_category_spend_share"] == 15 / 24


def test_category_map_names_categories_the_lines_lack(tmp_path: Path) -> None:
    mapping = LINES[["product_id", "category"]].drop_duplicates()
    mapping.to_csv(tmp_path / "map.csv", index=False)
    opts = InputSettings(category_map=str(tmp_path / "map.csv"))
    mapped = _frame(LINES.drop(columns="category"), opts)
    pd.testing.assert_frame_equal(
        mapped[list(CATEGORY_FEATURES)], _frame(LINES)[list(CATEGORY_FEATURES)]
    )


def test_without_categories_the_features_are_absent() -> None:
    con = connect()
    reports = load_frames(con, {"order_lines": LINES.drop(columns="category")})
    assert "category features and curves are off" in reports[-1].note
    frame = build_frame(con, [CUTOFF], 365)
    assert frame[list(CATEGORY_FEATURES)].isna().all().all()
    assert len(frame) == 2  # everything else still runs


later_lines = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(0, 2000),
        st.sampled_from(["p1", "p9", "w1"]),
        st.sampled_from(["pet food", "veg", "wine", "toys"]),
        st.integers(-2, 3),
    ),
    max_size=8,
)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(later=later_lines)
def test_lines_at_or_after_the_cutoff_never_change_category_features(later) -> None:
    rows = [
        (f"x{i}", c, (CUTOFF + pd.Timedelta(hours=h)).isoformat(sep=" "), p, cat, q, 7.0)
        for i, (c, h, p, cat, q) in enumerate(later)
    ]
    moved = pd.concat([LINES, pd.DataFrame(rows, columns=LINES.columns)], ignore_index=True)
    base = _frame(LINES)[list(CATEGORY_FEATURES)]
    pd.testing.assert_frame_equal(base, _frame(moved).loc[base.index, list(CATEGORY_FEATURES)])
