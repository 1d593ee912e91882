"""The spend forecast on a generated world, beside BG/NBD x Gamma-Gamma and today's two
heuristics, as `retain evaluate` reports it (issue 29's must-shows)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.synthetic.campaign import generate_dataset
from pipelines.training.evaluate import evaluate
from pipelines.warehouse import connect

ANCHORS = ("bgnbd_gamma_gamma", "spend_rate", "bgnbd_orders_x_order_value")


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float | None]]:
    folder: Path = tmp_path_factory.mktemp("value")
    # 20,000 customers, the eval suite's generated world: on 8,000 a decile's realised spend
    # has a standard error of 5-8 %, so 10 % is below the noise of the largest of six deciles
    # (docs/EVALUATION.md, "Value")
    generate_dataset(folder, 20_000, 730, 5, "2024-01-01", False)
    con = connect()
    load_source(con, folder)
    report, _ = evaluate(con, Settings(), pd.Timestamp("2025-09-01"), 0)
    return dict(report["metrics"])


@pytest.mark.slow
@pytest.mark.integration
def test_the_forecast_ranks_and_errs_better_than_every_anchor(metrics) -> None:
    model = metrics["model"]
    for anchor in ANCHORS:
        assert model["value_gini"] > metrics[anchor]["value_gini"], anchor
        assert model["value_mae"] < metrics[anchor]["value_mae"], anchor
    assert 0 < model["value_top_decile_capture"] < 1


@pytest.mark.slow
@pytest.mark.integration
def test_the_interval_covers_about_80_percent(metrics) -> None:
    assert 0.75 <= metrics["model"]["value_interval_coverage"] <= 0.85


@pytest.mark.slow
@pytest.mark.integration
def test_every_material_decile_is_within_10_percent(metrics) -> None:
    """Predicted and realised total spend per decile of the forecast, for every decile holding
    at least 5 % of the realised spend (models.value_metrics.worst_decile_error)."""
    assert metrics["model"]["value_decile_error"] <= 0.10
