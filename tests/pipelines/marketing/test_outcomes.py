"""Campaign outcomes as data: snapshots, collection into the warehouse, the minimum to learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.home import Home
from pipelines.marketing.outcomes import (
    MIN_CONTACTED,
    MIN_HELD_BACK,
    collect,
    load_snapshot,
    read_outcomes,
    save_snapshot,
    snapshot,
    tallies,
    too_small,
)
from pipelines.marketing.saved_value import load, usable_campaigns
from pipelines.settings import load_settings
from pipelines.warehouse import connect

SINCE = pd.Timestamp("2025-01-01")
UNTIL = pd.Timestamp("2025-02-01")


def _warehouse():
    con = connect()
    orders = pd.DataFrame(  # noqa: F841 - read by DuckDB by name
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "ordered_at": pd.to_datetime(
                ["2025-01-05", "2025-01-06", "2024-12-30", "2025-01-10", "2025-03-01"]
            ),
            "amount": [30.0, 10.0, 50.0, 20.0, 5.0],
            "status": ["completed", "returned", "completed", "completed", "completed"],
        }
    )
    con.execute("CREATE TABLE orders AS SELECT * FROM orders")
    return con


def _snap(list_id: str) -> pd.DataFrame:
    listed = pd.DataFrame(
        {"list_id": list_id, "as_of": SINCE, "customer_id": ["a", "b", "c"],
         "group": ["target", "control", "target"]}
    )  # fmt: skip
    features = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "tenure_days": [100.0, 200.0, 300.0], "other": 1}
    )
    return snapshot(listed, features, "winback")


def test_a_snapshot_keeps_group_type_and_the_feature_row(tmp_path) -> None:
    snap = _snap("spring")
    assert list(snap.columns[:5]) == ["list_id", "as_of", "campaign_type", "customer_id", "group"]
    assert "tenure_days" in snap and "other" not in snap  # only model features
    save_snapshot(Home(tmp_path), snap)
    pd.testing.assert_frame_equal(load_snapshot(Home(tmp_path), "spring"), snap, check_dtype=False)


def _saved(tmp_path, list_id: str) -> Path:
    return save_snapshot(Home(tmp_path), _snap(list_id))


def test_collect_joins_net_outcomes_and_campaigns_accumulate(tmp_path) -> None:
    con = _warehouse()
    tally = collect(con, _saved(tmp_path, "spring"), SINCE, UNTIL)
    assert (tally.list_id, tally.contacted, tally.held_back) == ("spring", 2, 1)
    assert tally.shares() == "control 0.0% ordered, target 100.0% ordered"
    assert "2 contacted and 1 held back" in str(tally.too_small)
    rows = read_outcomes(con)
    assert rows["customer_id"].tolist() == ["a", "b", "c"]  # the snapshot's order
    assert list(rows.columns[:7]) == [
        "list_id", "as_of", "campaign_type", "customer_id", "readout_since", "readout_until",
        "group",
    ]  # fmt: skip
    rows = rows.set_index("customer_id")
    assert rows["ordered"].to_dict() == {"a": True, "b": False, "c": True}
    assert rows["spend_net"].to_dict() == {"a": 20.0, "b": 0.0, "c": 20.0}
    assert (rows["readout_until"] == UNTIL).all()
    collect(con, _saved(tmp_path, "summer"), SINCE, UNTIL)
    collect(con, _saved(tmp_path, "spring"), SINCE, UNTIL)  # again: replaces, never doubles
    stored = read_outcomes(con)
    assert stored.groupby("list_id").size().to_dict() == {"spring": 3, "summer": 3}
    assert set(read_outcomes(con, "winback")["campaign_type"]) == {"winback"}
    assert read_outcomes(con, "other").empty
    assert [t.list_id for t in tallies(con)] == ["spring", "summer"]


def test_a_feature_new_to_the_table_is_added_to_it(tmp_path) -> None:
    con = _warehouse()
    collect(con, _saved(tmp_path, "spring"), SINCE, UNTIL)
    wider = _snap("summer").assign(orders_30d=[1.0, 2.0, 3.0])
    collect(con, save_snapshot(Home(tmp_path), wider), SINCE, UNTIL)
    stored = read_outcomes(con).set_index(["list_id", "customer_id"])["orders_30d"]
    assert stored.loc["summer"].tolist() == [1.0, 2.0, 3.0]
    assert stored.loc["spring"].isna().all()


def test_collect_waits_until_the_window_has_passed(tmp_path) -> None:
    with pytest.raises(ValueError, match="after the data"):
        collect(_warehouse(), _saved(tmp_path, "spring"), SINCE, pd.Timestamp("2025-06-01"))


def _campaign(list_id: str, contacted: int, held_back: int, day: str) -> pd.DataFrame:
    groups = ["target"] * contacted + ["control"] * held_back
    return pd.DataFrame(
        {"list_id": list_id, "as_of": pd.Timestamp(day), "group": groups,
         "ordered": np.zeros(len(groups), bool)}
    )  # fmt: skip


def test_a_campaign_with_a_small_control_group_is_reported_and_left_out() -> None:
    assert too_small(MIN_CONTACTED, MIN_HELD_BACK) is None
    assert "299 held back" in str(too_small(MIN_CONTACTED * 2, MIN_HELD_BACK - 1))
    big = _campaign("big", MIN_CONTACTED, MIN_HELD_BACK, "2025-01-01")
    small = _campaign("small", MIN_CONTACTED * 2, MIN_HELD_BACK - 1, "2025-02-01")
    con = connect()
    collected = pd.concat([big, small])  # noqa: F841 - read by DuckDB by name
    con.execute("CREATE TABLE campaign_outcomes AS SELECT * FROM collected")
    kept, left_out = usable_campaigns(tallies(con))
    assert [k.list_id for k in kept] == ["big"]
    assert left_out["small"].startswith("control group too small to learn from")


def test_no_model_means_falling_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow/mlflow.db")
    model, reason = load(load_settings(home=tmp_path))
    assert model is None and "no uplift model yet" in str(reason)


def test_a_million_contacted_collect_within_a_small_memory_limit(tmp_path) -> None:
    """1M listed customers, a third with an order in the window, under an 80 MB DuckDB limit:
    the outcomes are grouped over the window's orders, not over every listed id (at 10M
    contacted that grouping failed at a 512 MB limit)."""
    con = connect(tmp_path / "warehouse.duckdb")
    con.execute(
        "CREATE TABLE orders AS SELECT 'C' || i::VARCHAR AS customer_id, "
        "TIMESTAMP '2025-01-02' + to_seconds(i) AS ordered_at, 10.0 AS amount, "
        "'completed' AS status FROM range(0, 1000000, 3) t(i) "
        "UNION ALL SELECT 'late', TIMESTAMP '2025-03-01', 1.0, 'completed'"  # the data's end
    )
    snap = tmp_path / "snap.parquet"
    con.execute(
        "COPY (SELECT 'big' AS list_id, TIMESTAMP '2025-01-01' AS as_of, 'winback' AS "
        "campaign_type, 'C' || i::VARCHAR AS customer_id, CASE WHEN i % 10 = 0 THEN 'control' "
        "ELSE 'target' END AS \"group\", i::DOUBLE AS tenure_days FROM range(1000000) t(i)) "
        f"TO '{snap}' (FORMAT parquet)"
    )
    con.execute("SET memory_limit = '80MB'")
    tally = collect(con, snap, SINCE, UNTIL)
    assert (tally.contacted, tally.held_back) == (900_000, 100_000)
    ordered, spend = con.execute(
        "SELECT count(*) FILTER (WHERE ordered), sum(spend_net) FROM campaign_outcomes"
    ).fetchone()
    assert (ordered, spend) == (333_334, 3_333_340.0)
