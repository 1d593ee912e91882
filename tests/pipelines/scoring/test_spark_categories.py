"""Spark parity for the category features: the warehouse's category events and order lines
as canonical Parquet, the same features on Spark as on DuckDB."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

WHY = "the spark extra is not installed (make spark)"
pytest.importorskip("pyspark", reason=WHY)
pytest.importorskip("sqlglot", reason=WHY)
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Spark needs Java 17 (make java)", allow_module_level=True)

import pandas as pd  # noqa: E402

from features.frame import build_frame  # noqa: E402
from features.schema import CATEGORY_FEATURES  # noqa: E402
from pipelines.ingest.sources import load_frames  # noqa: E402
from pipelines.scoring.spark_job import categories_note, spark_features  # noqa: E402
from pipelines.settings import Settings  # noqa: E402
from pipelines.spark import register_tables, session  # noqa: E402
from pipelines.synthetic.generate import simulate  # noqa: E402
from pipelines.warehouse import connect  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]
TABLES = ("orders", "complaints", "customers", "category_events", "order_lines")


def test_category_features_equal_on_spark(tmp_path: Path) -> None:
    tables = simulate(400, 730, 8, pd.Timestamp("2024-01-01"), lines=True)
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if not k.endswith("truth")})
    for table in TABLES:
        con.execute(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    cutoffs = [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-09-15 06:00")]
    duck = build_frame(con, cutoffs, 365)
    spark = session("local[2]", 2)
    register_tables(spark, str(tmp_path))
    on_spark = spark_features(spark, Settings(), cutoffs).toPandas()
    assert "next_categories left empty" in categories_note(spark)  # said, never silent
    order = ["cutoff_at", "customer_id"]
    duck = duck.sort_values(order).reset_index(drop=True)
    on_spark = on_spark.sort_values(order).reset_index(drop=True)
    assert len(duck) == len(on_spark) and duck[list(CATEGORY_FEATURES)].notna().any().all()
    pd.testing.assert_frame_equal(
        duck[list(CATEGORY_FEATURES)],
        on_spark[list(CATEGORY_FEATURES)].astype(float),
        check_dtype=False,
        rtol=1e-9,
    )
