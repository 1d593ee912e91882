"""Spark runs the same feature catalogue as DuckDB (transpiled, never copied): every feature
and label equal on hand-made, CDNOW and generated data, the time rules hold on Spark too.

One local Spark per test run (`local[2]`, UI off, loopback); the tables reach Spark the way a
user's do, as canonical Parquet files.
"""

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

import duckdb  # noqa: E402
import lifetimes  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from features.frame import build_frame  # noqa: E402
from features.schema import FEATURE_COLUMNS, KEY_COLUMNS, LABEL_COLUMNS  # noqa: E402
from pipelines.ingest.importers import read_cdnow  # noqa: E402
from pipelines.scoring.spark_job import spark_features  # noqa: E402
from pipelines.settings import Settings  # noqa: E402
from pipelines.spark import register_tables, session  # noqa: E402
from pipelines.synthetic.generate import GeneratorParams, simulate  # noqa: E402
from pipelines.warehouse import data_end  # noqa: E402
from tests.conftest import CUTOFF, DATA_END, connect_tables, tiny_tables  # noqa: E402
from tests.features.test_time_rules import extra_complaints, extra_orders  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.spark]
TABLES = ("orders", "complaints", "customers")
CDNOW = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    return session("local[2]", 2)  # one per test run: getOrCreate hands it to later modules


def canonical(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """The warehouse's canonical tables as Parquet files, what `--engine spark` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        con.execute(f"COPY {table} TO '{folder / table}.parquet' (FORMAT parquet)")
    return folder


def both(
    con: duckdb.DuckDBPyConnection,
    spark: SparkSession,
    folder: Path,
    cutoffs: list[pd.Timestamp],
    end: pd.Timestamp | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(DuckDB, Spark) features (and labels when `end` is given), in the same row order."""
    duck = build_frame(con, cutoffs, 365, 90 if end is not None else None, end)
    register_tables(spark, str(canonical(con, folder)))
    on_spark = spark_features(spark, Settings(), cutoffs, end).toPandas()
    order = ["cutoff_at", "customer_id"]
    return (
        duck.sort_values(order).reset_index(drop=True),
        on_spark.sort_values(order).reset_index(drop=True),
    )


def assert_equal(duck: pd.DataFrame, on_spark: pd.DataFrame) -> None:
    """Every column: integers and text exactly, floats to 1e-9 relative, NULL where NULL."""
    assert list(on_spark.columns) == list(duck.columns)
    assert len(on_spark) == len(duck)
    for column in duck.columns:
        want, got = duck[column], on_spark[column]
        if pd.api.types.is_float_dtype(want) and pd.api.types.is_float_dtype(got):
            np.testing.assert_allclose(
                got.to_numpy(float), want.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=column
            )
        else:
            same = (want.astype(object).where(want.notna()) == got.astype(object)) | (
                want.isna() & got.isna()
            )
            assert same.all(), (column, want[~same].head(3).tolist(), got[~same].head(3).tolist())


def test_tiny_fixtures_features_and_labels(spark: SparkSession, tmp_path: Path) -> None:
    tiny = tiny_tables()
    con = connect_tables(tiny.orders, tiny.complaints)
    duck, on_spark = both(con, spark, tmp_path, [CUTOFF], DATA_END)
    assert len(duck) >= 3  # c1, c2, c4 are active at the cutoff
    assert_equal(duck, on_spark)


def test_cdnow_at_four_cutoffs(spark: SparkSession, tmp_path: Path) -> None:
    """CDNOW (the full 23,570-customer log, from the lifetimes wheel)."""
    con = connect_tables(read_cdnow(CDNOW).orders)
    cutoffs = [pd.Timestamp(d) for d in ("1997-07-01", "1997-10-01", "1998-01-01", "1998-04-01")]
    duck, on_spark = both(con, spark, tmp_path, cutoffs, data_end(con))
    assert len(duck) > 20_000
    assert_equal(duck, on_spark)


def test_generated_base_with_complaints_and_customers(spark: SparkSession, tmp_path: Path) -> None:
    tables = simulate(1_500, 730, 7, pd.Timestamp("2024-01-01"), GeneratorParams())
    con = connect_tables(tables["orders"], tables["complaints"])
    con.register("_customers", tables["customers"])
    con.execute("DELETE FROM customers")
    con.execute("INSERT INTO customers BY NAME SELECT * FROM _customers")
    cutoffs = [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-06-01"), pd.Timestamp("2025-09-01")]
    duck, on_spark = both(con, spark, tmp_path, cutoffs, data_end(con))
    assert duck["segment"].notna().any() and duck["open_complaints"].gt(0).any()
    assert_equal(duck, on_spark)


_SPARK_EXAMPLES = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))


@_SPARK_EXAMPLES
@given(later=extra_orders(before=False), later_complaints=extra_complaints())
def test_on_spark_events_at_or_after_cutoff_never_change_features(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, later, later_complaints
) -> None:
    tiny = tiny_tables()
    features = list(KEY_COLUMNS) + list(FEATURE_COLUMNS)
    frames = []
    for orders, complaints in (
        (tiny.orders, tiny.complaints),
        (pd.concat([tiny.orders, later]), pd.concat([tiny.complaints, later_complaints])),
    ):
        con = connect_tables(orders, complaints)
        duck, on_spark = both(con, spark, tmp_path_factory.mktemp("t"), [CUTOFF], DATA_END)
        assert_equal(duck, on_spark)
        frames.append(on_spark[features])
    pd.testing.assert_frame_equal(frames[0], frames[1])


@_SPARK_EXAMPLES
@given(earlier=extra_orders(before=True))
def test_on_spark_events_before_cutoff_never_change_labels(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, earlier
) -> None:
    tiny = tiny_tables()
    labelled = []
    for orders in (tiny.orders, pd.concat([tiny.orders, earlier])):
        con = connect_tables(orders, tiny.complaints)
        duck, on_spark = both(con, spark, tmp_path_factory.mktemp("t"), [CUTOFF], DATA_END)
        assert_equal(duck, on_spark)
        labelled.append(on_spark.set_index("customer_id")[list(LABEL_COLUMNS)])
    common = labelled[0].index.intersection(labelled[1].index)
    pd.testing.assert_frame_equal(labelled[0].loc[common], labelled[1].loc[common])
