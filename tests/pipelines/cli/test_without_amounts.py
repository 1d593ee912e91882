"""A purchase log without amounts (a grocery retailer's dates only) trains, scores and lists:
spend features absent, value at risk counted in expected orders, tiers by orders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli_helpers import own_home, run_ok

pytestmark = pytest.mark.integration


def test_a_log_without_amounts_runs_end_to_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    own_home(monkeypatch, tmp_path)
    monkeypatch.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    run_ok("generate", "--out", "gen", "--customers", "2000", "--seed", "9")
    data = tmp_path / "log"
    data.mkdir()
    orders = pd.read_parquet("gen/orders.parquet").drop(columns=["amount"])
    orders.to_csv(data / "orders.csv", index=False)
    validated = run_ok("validate", "--data", str(data))
    assert "no amounts: spend features are absent" in validated
    run_ok("train", "--data", str(data))
    run_ok("score", "--out", "scores.parquet")
    out = run_ok("risk-list", "--top", "200", "--list-id", "L", "--out", "list.xlsx")
    assert "expected orders" in out
    run_ok("risk-list", "--top", "200", "--list-id", "L", "--out", "list.csv")
    about = pd.read_excel("list.xlsx", sheet_name="about")
    assert "orders" in about["description"].astype(str).tolist()  # value_unit on the about sheet
    features = pd.read_parquet(tmp_path / "home" / "scores" / "latest_features.parquet")
    assert features["spend_365d"].isna().all() and features["avg_order_value"].isna().all()
    assert features["orders_365d"].gt(0).all()
    scores = pd.read_parquet("scores.parquet")
    assert scores["expected_value"].between(0, 50).all()  # expected orders in 90 days
    assert (scores["value_at_risk"] <= scores["expected_value"] + 1e-12).all()
    assert scores["value_tier"].nunique() >= 3  # the pyramid ranks by orders
    listed = pd.read_csv("list.csv")
    assert len(listed) == 200 and listed["reasons"].fillna("").str.len().gt(0).all()
    assert not listed["reasons"].str.contains("spent|spend|average order", regex=True).any()
