"""Lists read only the head of the ranking from DuckDB, and are exactly what ranking every
score in pandas gives: ties at the cut, NaN values, budgets that need the head widened."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.cli.common import settings_with
from pipelines.errors import InputError
from pipelines.files import write_table
from pipelines.marketing.assemble import make_list
from pipelines.marketing.lists import Selection, build_list
from pipelines.marketing.source import candidates


def _scores(n: int, seed: int) -> pd.DataFrame:
    """Few distinct values, so the cut falls inside ties; a few NaN values at risk."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 20, n) / 20
    value = rng.integers(1, 6, n) * 10.0
    at_risk = p * value
    at_risk[rng.uniform(size=n) < 0.02] = np.nan
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
        "as_of": pd.Timestamp("2025-06-30"),
        "churn_probability": p,
        "risk_tier": np.where(p >= 0.6, "high", np.where(p >= 0.3, "medium", "low")),
        "value_tier": np.where(value >= 40, "gold", "bronze"),
        "expected_value": value,
        "value_at_risk": at_risk,
        "reasons": "stored",
        "model_version": "3",
    })  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    top=st.one_of(st.none(), st.integers(1, 400)),
    budget=st.one_of(st.none(), st.integers(1, 400)),
    tiers=st.sampled_from([[], ["high"], ["high", "medium"]]),
    sort=st.sampled_from(["value_at_risk", "churn_probability"]),
    share=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    risk=st.sampled_from([(0.0, 1.0), (0.3, 0.75), (0.5, 0.5), (0.35, 1.0)]),
)
def test_the_head_from_duckdb_gives_the_list_of_the_whole_ranking(
    home: Path,
    seed: int,
    top: int | None,
    budget: int | None,
    tiers: list[str],
    sort: str,
    share: float,
    risk: tuple[float, float],
) -> None:
    scores = _scores(600, seed)
    write_table(scores, home / "scores" / "latest.parquet")
    selection = Selection(top=top, budget=budget, risk_tiers=tiers, sort=sort,
                          min_probability=risk[0], max_probability=risk[1])  # fmt: skip
    settings_ = settings_with(control_share=share)
    made = make_list(settings_, selection, "L", "risk list", explain=False)
    whole = build_list(pd.read_parquet(home / "scores" / "latest.parquet"), "L", selection, share)
    pd.testing.assert_frame_equal(made.listed, whole)
    assert made.listed["churn_probability"].between(*risk).all()


def test_a_narrow_head_reads_only_the_rows_it_needs(home: Path) -> None:
    scores = _scores(5000, 1)
    write_table(scores, home / "scores" / "latest.parquet")
    head = candidates(settings_with(), Selection(top=50, sort="churn_probability"), 50)
    cut = np.sort(scores["churn_probability"].to_numpy())[::-1][49]
    assert len(head) == int((scores["churn_probability"] >= cut).sum()) < len(scores)


def test_segment_and_region_filters_join_the_declared_columns(home: Path) -> None:
    scores = _scores(800, 3)
    features = pd.DataFrame({
        "customer_id": scores["customer_id"],
        "segment": np.where(np.arange(800) % 2 == 0, "premium", "standard"),
        "region": np.array(["north", "south", "east", "west"])[np.arange(800) % 4],
        "spend_365d": 1.0,
    })  # fmt: skip
    write_table(scores, home / "scores" / "latest.parquet")
    write_table(features, home / "scores" / "latest_features.parquet")
    selection = Selection(budget=60, segments=["premium"], regions=["north", "east"])
    made = make_list(settings_with(), selection, "L", "risk list", explain=False)
    stored = pd.read_parquet(home / "scores" / "latest.parquet")
    declared = features[["customer_id", "segment", "region"]]
    whole = build_list(stored.merge(declared), "L", selection, 0.1)
    pd.testing.assert_frame_equal(made.listed, whole)
    assert set(made.listed["region"]) == {"north", "east"} and set(made.listed["segment"]) == {
        "premium"
    }
    with pytest.raises(InputError, match="--region: unknown value 'mars'"):
        make_list(settings_with(), Selection(regions=["mars"]), "L", "risk list")


def test_a_selection_nobody_matches_is_an_empty_list_with_its_columns(home: Path) -> None:
    scores = _scores(300, 4)
    write_table(scores, home / "scores" / "latest.parquet")
    features = pd.DataFrame(
        {"customer_id": scores["customer_id"], "segment": "premium", "spend_365d": 1.0}
    )
    write_table(features, home / "scores" / "latest_features.parquet")
    made = make_list(settings_with(), Selection(min_probability=1.0), "L", "risk list")
    assert made.listed.empty and {"group", "segment", "churn_probability"} <= set(
        made.listed.columns
    )
