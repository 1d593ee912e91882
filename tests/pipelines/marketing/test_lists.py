"""Risk and due lists: stable control groups, budgets, and an XLSX a campaign manager can read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipelines.errors import InputError
from pipelines.files import EXCEL_MAX_ROWS, write_relation, write_xlsx
from pipelines.marketing.lists import (
    Selection,
    build_list,
    control_draw,
    description_sheet,
    order_probability_within,
    value_tier_wording,
    with_due_columns,
)
from pipelines.settings import Settings
from pipelines.warehouse import connect


def _scores(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, n)
    value = rng.gamma(2, 50, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "churn_probability": p,
            "value_at_risk": p * value,
            "risk_tier": np.where(p > 0.6, "high", np.where(p > 0.3, "medium", "low")),
            "value_tier": np.where(value > 200, "gold", "bronze"),
            "segment": np.where(np.arange(n) % 2 == 0, "premium", "standard"),
            "expected_days_to_next_order": rng.uniform(0, 90, n),
            "expected_value": value,
            # a consistent curve: F(7) <= F(14) <= F(30) <= 1, times P(order within 90 days)
            **{
                f"order_probability_{d}d": (1 - p) * share
                for d, share in zip(
                    (7, 14, 30), np.sort(rng.uniform(0, 1, (3, n)), axis=0), strict=True
                )
            },
        }
    )


def test_same_list_twice_is_identical_and_control_is_about_ten_percent() -> None:
    a = build_list(_scores(), "L1", Selection(top=1000), 0.10)
    b = build_list(_scores(), "L1", Selection(top=1000), 0.10)
    pd.testing.assert_frame_equal(a, b)
    assert 0.08 <= (a["group"] == "control").mean() <= 0.12
    assert (a.loc[a["group"] == "control", "contact"] == "no - control group").all()
    assert a["value_at_risk"].is_monotonic_decreasing


def test_group_depends_on_list_and_customer_only() -> None:
    full = build_list(_scores(), "L1", Selection(), 0.10).set_index("customer_id")["group"]
    high = build_list(_scores(), "L1", Selection(risk_tiers=["high"]), 0.10).set_index(
        "customer_id"
    )["group"]
    assert (full.loc[high.index] == high).all()
    other = build_list(_scores(), "L2", Selection(), 0.10).set_index("customer_id")["group"]
    assert (other != full).any()


def test_figures_are_rounded_for_people_after_ranking_on_exact_values() -> None:
    scores = _scores(4)
    scores["churn_probability"] = [0.30004, 0.30001, 0.29996, 0.5]
    scores["value_at_risk"] = [10.0, 10.0, 10.0, 10.004]
    scores["scored_at"] = pd.Timestamp("2026-01-05 03:04:05.678901")
    listed = build_list(scores, "L1", Selection(sort="churn_probability"), 0.0)
    assert listed["customer_id"].tolist() == ["C00003", "C00000", "C00001", "C00002"]
    assert listed["churn_probability"].tolist() == [0.5, 0.3, 0.3, 0.3]
    assert listed["value_at_risk"].iloc[0] == 10.0
    assert (listed["expected_days_to_next_order"] * 10).round(9).mod(1).eq(0).all()
    assert (listed["scored_at"] == pd.Timestamp("2026-01-05 03:04:05")).all()


def test_budget_counts_contacts_not_rows() -> None:
    listed = build_list(_scores(), "L1", Selection(budget=300), 0.10)
    assert (listed["group"] == "target").sum() == 300


def test_filters() -> None:
    sel = Selection(
        value_tiers=["gold"], segments=["premium"], min_probability=0.5, sort="churn_probability"
    )
    listed = build_list(_scores(), "L1", sel, 0.10)
    assert set(listed["value_tier"]) == {"gold"} and set(listed["segment"]) == {"premium"}
    assert (
        listed["churn_probability"].min() >= 0.5
        and listed["churn_probability"].is_monotonic_decreasing
    )
    sel = Selection(min_probability=0.3, max_probability=0.6, sort="churn_probability")
    ranged = build_list(_scores(), "L1", sel, 0.10)
    assert len(ranged) and ranged["churn_probability"].between(0.3, 0.6).all()
    assert "max_probability=0.6" in sel.describe()
    assert "max_probability" not in Selection(max_probability=1.0).describe()
    sel = Selection(within_days=10, sort="due_value")
    due = build_list(with_due_columns(_scores(), 10, 90), "L1", sel, 0.10)
    assert len(due) and (due["order_probability"] >= 0.5).all()
    assert (due["order_probability"] > due["churn_probability"]).all()  # never leaving
    assert due["due_value"].is_monotonic_decreasing


@settings(max_examples=50, deadline=None)
@given(days=st.floats(0, 120), seed=st.integers(0, 1000))
def test_order_probability_within_follows_the_curve(days: float, seed: int) -> None:
    scores = _scores(50)
    got = order_probability_within(scores, days, 90)
    later = order_probability_within(scores, days + 1, 90)
    assert (got <= later + 1e-12).all() and (got >= 0).all()
    assert (got <= 1 - scores["churn_probability"] + 1e-12).all()
    exact = order_probability_within(scores, 14, 90)
    np.testing.assert_allclose(exact, scores["order_probability_14d"])


def test_unknown_sort_is_refused() -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        build_list(_scores(), "L1", Selection(sort="name"), 0.10)


def test_xlsx_has_description_sheet_and_keeps_formulas_as_text(tmp_path: Path) -> None:
    scores = _scores(20)
    scores.loc[0, "customer_id"] = '=HYPERLINK("http://x")'
    listed = build_list(scores, "L1", Selection(), 0.10)
    out = write_xlsx(
        {
            "list": listed,
            "about": description_sheet(listed, {"model_version": "3"}, Settings().value_tiers),
        },
        tmp_path / "l.xlsx",
    )
    book = load_workbook(out)
    assert book.sheetnames == ["list", "about"]
    about = {row[0].value: row[1].value for row in book["about"].iter_rows(min_row=2)}
    assert "do not contact" in about["contact"] or "held back" in about["group"]
    assert about["model_version"] == "3"
    ids = [c.value for c in book["list"]["E"][1:]]
    assert '=HYPERLINK("http://x")' in ids
    assert all(c.data_type == "s" for c in book["list"]["E"][1:])


def test_readout_says_when_there_are_too_few_customers() -> None:
    from pipelines.marketing.campaign import readout

    listed = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "group": ["target", "target", "control"],
            "churn_probability": [0.9, 0.5, 0.7],
        }
    )
    orders = pd.DataFrame(
        {
            "customer_id": ["a"],
            "ordered_at": [pd.Timestamp("2024-02-01")],
            "amount": [10.0],
            "status": ["completed"],
        }
    )
    report = readout(listed, orders, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"))
    assert "too few customers" in report["overall"]["conclusion"]
    assert "difference" not in report["overall"]["share_ordered"]


def test_a_table_longer_than_an_excel_sheet_is_refused_before_writing(tmp_path: Path) -> None:
    too_long = connect().sql(f"SELECT range AS n FROM range({EXCEL_MAX_ROWS + 1})")
    with pytest.raises(InputError, match="1,048,576 rows do not fit an Excel sheet"):
        write_relation(too_long, tmp_path / "big.xlsx")
    with pytest.raises(InputError, match=r"write \.csv or \.parquet instead"):
        write_xlsx({"list": too_long.df()}, tmp_path / "big.xlsx")
    assert not list(tmp_path.iterdir())


def _full_sort_list(scores: pd.DataFrame, sel: Selection, share: float) -> pd.DataFrame:
    """The obvious way: sort everything, draw everyone, then cut (nothing at risk, no row)."""
    if sel.sort == "value_at_risk":
        scores = scores[scores["value_at_risk"] > 0]
    ranked = scores.sort_values([sel.sort, "customer_id"], ascending=[False, True])
    ranked = (ranked.head(sel.top) if sel.top is not None else ranked).reset_index(drop=True)
    control = control_draw(ranked["customer_id"], "L") < share
    if sel.budget is not None:
        ranked = ranked[np.cumsum(~control) <= sel.budget]
    return ranked


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.sampled_from([0.0, 1.0, 2.0, 2.0, 3.5, float("nan")]), min_size=1, max_size=120
    ),
    cut=st.sampled_from(["top", "budget", "none"]),
    size=st.integers(1, 130),
    share=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
)
def test_ranking_only_the_head_gives_the_full_sort_list(
    values: list[float], cut: str, size: int, share: float
) -> None:
    scores = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(len(values))][::-1],
            "value_at_risk": values,
            "churn_probability": 0.5,
        }
    )
    sel = Selection(top=size if cut == "top" else None, budget=size if cut == "budget" else None)
    got = build_list(scores, "L", sel, share)
    assert (
        got["customer_id"].tolist() == _full_sort_list(scores, sel, share)["customer_id"].tolist()
    )


def test_the_value_tier_wording_follows_the_settings() -> None:
    assert value_tier_wording(Settings().value_tiers) == (
        "Customer pyramid by last-12-month spend net of refunds: platinum top 1 %, gold next 4 %, "
        "silver next 15 %, bronze the rest."
    )
    tiers = {"vip": 0.1, "regular": 0.5, "occasional": 1.0}
    listed = build_list(_scores(20), "L1", Selection(), 0.10)
    about = description_sheet(listed, {}, tiers).set_index("column")["description"]
    assert about["value_tier"].endswith("vip top 10 %, regular next 40 %, occasional the rest.")
    assert value_tier_wording({"all": 1.0}).endswith("refunds: all (everyone).")
