"""Monitoring: realized metrics use only the orders inside a run's horizon, expected metrics
follow from calibrated probabilities, and the retrain signal needs two breaches in a row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from pipelines.monitoring.performance import (
    decide,
    expected_roc_auc,
    outcomes,
    psi,
    realized,
)
from pipelines.settings import MonitorSettings
from pipelines.warehouse import connect

AS_OF = pd.Timestamp("2025-01-01")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.05, 0.2, 0.2, 0.5, 0.7, 0.9]), min_size=2, max_size=8))
def test_expected_roc_auc_is_the_pairwise_expectation(p: list[float]) -> None:
    """Brute force over pairs: P(i churns) P(j stays) for p_i > p_j, half for ties."""
    q = np.array(p)
    num = den = 0.0
    for i in range(len(q)):
        for j in range(len(q)):
            if i != j:
                w = q[i] * (1 - q[j])
                den += w
                num += w * (1.0 if q[i] > q[j] else 0.5 if q[i] == q[j] else 0.0)
    if den > 0:
        assert expected_roc_auc(q) == pytest.approx(num / den)


def test_expected_roc_auc_matches_realized_on_calibrated_draws() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(2, 2, 20_000)
    y = rng.uniform(size=p.size) < p
    assert expected_roc_auc(p) == pytest.approx(roc_auc_score(y, p), abs=0.01)


def _warehouse(orders: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    con = connect()
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "as_of": AS_OF,
            "churn_probability": [0.9, 0.2, 0.6, 0.1],
            "risk_tier": ["high", "low", "medium", "low"],
            "value_tier": "bronze",
            "next_order_p10_days": 1.0,
            "next_order_p90_days": 60.0,
            "model_version": "1",
        }
    )
    con.register("_s", scores)
    con.execute("CREATE TABLE scores AS SELECT * FROM _s")
    frame = pd.DataFrame(orders, columns=["customer_id", "ordered_at"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], format="mixed")
    frame["status"] = "completed"
    con.register("_o", frame)
    con.execute("CREATE TABLE orders AS SELECT * FROM _o")
    return con


def test_a_run_is_never_judged_on_orders_after_its_horizon() -> None:
    con = _warehouse(
        [
            ("b", "2025-01-10"),  # inside [as_of, as_of + 90 days): b stayed
            ("a", "2025-04-01"),  # as_of + 90 days exactly: outside, a churned
            ("c", "2024-12-31"),  # before as_of: not an outcome, c churned
            ("d", "2025-03-31 23:59"),  # the last minute inside
        ]
    )
    got = outcomes(con, AS_OF, 90).set_index("customer_id")
    assert got["churned"].to_dict() == {"a": 1, "b": 0, "c": 1, "d": 0}
    assert got.loc["b", "days_to_next_order"] == pytest.approx(9.0)


def test_realized_roc_auc_equals_a_direct_computation() -> None:
    con = _warehouse([("b", "2025-01-10"), ("d", "2025-02-01")])
    frame = outcomes(con, AS_OF, 90)
    got = realized(frame)
    assert got["roc_auc"] == pytest.approx(
        roc_auc_score(frame["churned"], frame["churn_probability"])
    )
    assert got["calibration_in_the_large"] == pytest.approx(frame["churn_probability"].mean() - 0.5)


def _run(as_of: str, cal: float, brier: float = 0.17, matured: bool = True) -> dict:
    return {
        "as_of": as_of,
        "model_version": "1",
        "matured": matured,
        "expected": {"brier": 0.2},
        "realized": {"customers": 5000, "brier": brier, "calibration_in_the_large": cal},
    }


@pytest.mark.parametrize(
    ("cals", "decision"),
    [
        ((0.0, 0.0, 0.0), "ok"),
        ((0.0, 0.0, -0.06), "watch"),
        ((0.0, -0.06, -0.06), "retrain"),
        ((-0.06, 0.0, -0.06), "watch"),  # not two in a row
    ],
)
def test_the_signal_needs_two_breaches_in_a_row(cals, decision) -> None:
    runs = [_run(f"2025-0{k + 1}-01", c) for k, c in enumerate(cals)]
    assert decide(runs, {"1": 0.17}, MonitorSettings())[0] == decision


def test_a_worse_brier_than_at_training_is_a_breach() -> None:
    runs = [_run("2025-01-01", 0.0, brier=0.2), _run("2025-02-01", 0.0, brier=0.2)]
    got, reasons = decide(runs, {"1": 0.17}, MonitorSettings())
    assert got == "retrain" and "realized Brier" in reasons[0]


def test_runs_not_matured_are_never_judged() -> None:
    runs = [_run("2025-01-01", -0.3, matured=False), _run("2025-02-01", -0.3, matured=False)]
    assert decide(runs, {"1": 0.17}, MonitorSettings())[0] == "ok"


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.beta(2, 5, 5000)
    assert psi(ref, rng.beta(2, 5, 5000)) < 0.02
    assert psi(ref, rng.beta(5, 2, 5000)) > 0.2


def test_the_signal_thresholds_are_settings() -> None:
    """A third breach needed when `consecutive = 3` (retain.toml [monitor])."""
    runs = [_run(f"2025-0{k + 1}-01", -0.06) for k in range(2)]
    assert decide(runs, {"1": 0.17}, MonitorSettings(consecutive=3))[0] == "watch"
    assert decide(runs, {"1": 0.17}, MonitorSettings(calibration_margin=0.1))[0] == "ok"
