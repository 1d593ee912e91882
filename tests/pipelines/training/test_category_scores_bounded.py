"""The category scores of `retain score` are bounded like scoring: the curve learns from a
fixed customer sample, and the pairs are scored a hash share of the customers per pass."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.ingest.sources import load_frames
from pipelines.settings import Settings
from pipelines.synthetic.generate import simulate
from pipelines.training.categories import category_scores
from pipelines.warehouse import connect

AS_OF = pd.Timestamp("2025-09-01")


def _scores(con, settings: Settings, out: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    written = category_scores(con, settings, AS_OF, out)
    frame = pd.read_parquet(out).sort_values(["customer_id", "category"], ignore_index=True)
    assert written == (len(frame), frame["customer_id"].nunique())
    return frame


def test_passes_and_a_training_sample_score_every_pair(tmp_path: Path) -> None:
    tables = simulate(1_500, 730, 3, pd.Timestamp("2024-01-01"), lines=True)
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if not k.endswith("truth")})
    whole = _scores(con, Settings(), tmp_path / "whole.parquet")
    # validation's minimums are for users; a test goes below them to force passes
    in_passes = Settings().model_copy(update={"score_part_orders": 20_000})
    pd.testing.assert_frame_equal(_scores(con, in_passes, tmp_path / "passes.parquet"), whole)
    sampled = Settings().model_copy(update={"training_max_customers": 2_000})  # 400 of 1,500
    thin = _scores(con, sampled, tmp_path / "sampled.parquet")
    pd.testing.assert_frame_equal(
        thin[["customer_id", "category"]], whole[["customer_id", "category"]]
    )
    assert not thin["probability_30d"].equals(whole["probability_30d"])  # learned from fewer
    assert not list(tmp_path.glob("*.partial"))
