"""The Spark job: the feature catalogue on Spark SQL, scored by the registered champion
through `mlflow.pyfunc.spark_udf`, Parquet (or a Spark table) out.

The features are the DuckDB catalogue's own SQL, transpiled (features.dialects), in one
pass: Spark spreads the customers over its executors itself. The scores are the registered
version's, computed in the executors by the same pyfunc a Python process loads, so they
equal the DuckDB path's for the same version. `spark-submit` runs this file (see `main`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import duckdb
import pandas as pd

from features.cutoffs import spaced_cutoffs, to_timestamp
from features.frame import feature_relation
from pipelines.errors import ProblemFound
from pipelines.home import open_registry
from pipelines.settings import Settings, load_settings
from pipelines.spark import SparkSQL, register_tables, session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

ONE_PASS = 2**62  # rows per pass: Spark needs no customer passes, it partitions the work


def data_end(spark: SparkSession) -> pd.Timestamp:
    """The day after the last order (as warehouse.data_end)."""
    (last,) = spark.sql("SELECT max(ordered_at) FROM orders").collect()[0]
    if last is None:
        raise ProblemFound("no orders to compute features from")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def spark_features(
    spark: SparkSession,
    settings: Settings,
    cutoffs: list[pd.Timestamp],
    end: pd.Timestamp | None = None,
) -> DataFrame:
    """The catalogue's features at `cutoffs` as a Spark DataFrame; with labels when the
    data's end `end` is given (as feature_relation)."""
    con = cast(duckdb.DuckDBPyConnection, SparkSQL(spark))  # answers what the catalogue asks
    relation = feature_relation(
        con,
        cutoffs,
        settings.activity_window_days,
        settings.horizon_days if end is not None else None,
        end,
        rows_per_pass=ONE_PASS,
    )
    return cast("DataFrame", relation.frame)


def spark_scores(
    spark: SparkSession, settings: Settings, as_of: pd.Timestamp, scored_at: pd.Timestamp
) -> tuple[DataFrame, str]:
    """Scores of the population at `as_of` by the champion, and its version."""
    import pyspark.sql.functions as F

    import mlflow

    version = open_registry(settings).champion_version()
    if version is None:
        raise ProblemFound(f"no champion for '{settings.model_name}': run `retain train` first")
    uri = f"models:/{settings.model_name}/{version}"
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    signature = mlflow.models.get_model_info(uri).signature
    result, times = _result_type(signature.outputs.as_spark_schema())
    high, medium = settings.risk_thresholds
    udf = mlflow.pyfunc.spark_udf(
        spark,
        uri,
        result_type=result,
        env_manager="local",
        params={"high_risk_threshold": high, "medium_risk_threshold": medium},
    )
    features = spark_features(spark, settings, [as_of]).withColumnRenamed("cutoff_at", "as_of")
    inputs = [c.name for c in signature.inputs.inputs]
    scores = features.select(udf(*inputs).alias("s")).select("s.*")
    for name in times:
        scores = scores.withColumn(name, F.col(name).cast("timestamp"))
    scores = scores.withColumn("model_version", F.lit(version)).withColumn(
        "scored_at", F.lit(scored_at.to_pydatetime())
    )
    return scores, version


def categories_note(spark: SparkSession) -> str:
    """What the Spark scores lack when the data has categories: the category curves (and so
    `next_categories`, left empty) are fitted on the DuckDB engine only, so far."""
    if spark.table("category_events").limit(1).count() == 0:
        return ""
    return (
        "; next_categories left empty: the category curves run on the DuckDB engine "
        "(`retain score`), not on Spark yet"
    )


def _result_type(schema: StructType) -> tuple[StructType, list[str]]:
    """The scores' struct as spark_udf can return it (times as text, cast back after; every
    field nullable, as pandas gives them), and the names of those time columns."""
    from pyspark.sql.types import StringType, StructField, StructType, TimestampType

    times = [f.name for f in schema.fields if isinstance(f.dataType, TimestampType)]
    fields = [
        StructField(f.name, StringType() if f.name in times else f.dataType, nullable=True)
        for f in schema.fields
    ]
    return StructType(fields), times


def write(frame: DataFrame, out: str) -> None:
    """Parquet in the folder `out`, or the Spark table `spark:DB.TABLE` (replaced)."""
    if out.startswith("spark:"):
        frame.write.mode("overwrite").saveAsTable(out.removeprefix("spark:"))
    else:
        frame.write.mode("overwrite").parquet(out)


@dataclass(frozen=True)
class SparkRun:
    """One `features` or `score` run on Spark, as the CLI and `spark-submit` ask for it."""

    job: str  # "features" or "score"
    data: str  # folder of canonical Parquet tables, or spark:DATABASE
    out: str  # Parquet folder, or spark:DB.TABLE
    as_of: str | None = None
    cutoffs: int = 1
    with_labels: bool = False
    scored_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp(0))


def run(job: SparkRun, settings: Settings) -> str:
    """Run `job` in a Spark session; what it wrote where."""
    spark = session(settings.spark_master, settings.spark_shuffle_partitions)
    register_tables(spark, job.data)
    last = to_timestamp(job.as_of) if job.as_of else data_end(spark)
    if job.job == "score":
        scores, version = spark_scores(spark, settings, last, job.scored_at)
        write(scores, job.out)
        return f"scores of version {version} at {last.date()} to {job.out}{categories_note(spark)}"
    chosen = (
        [last] if job.cutoffs == 1 else spaced_cutoffs(last, job.cutoffs, settings.cutoff_step_days)
    )
    end = data_end(spark) if job.with_labels else None
    write(spark_features(spark, settings, chosen, end), job.out)
    what = "features and labels" if job.with_labels else "features"
    return f"{what} at {len(chosen)} cutoff(s) ending {last.date()} to {job.out}"


def main(argv: list[str] | None = None) -> None:
    """`spark-submit pipelines/scoring/spark_job.py score --data ... --out ...` (settings
    from RETAIN_* variables and retain.toml, as for the CLI)."""
    p = argparse.ArgumentParser(prog="spark_job.py", description=__doc__.split("\n\n")[0])
    p.add_argument("job", choices=["features", "score"])
    p.add_argument("--data", required=True, help="folder of Parquet tables, or spark:DATABASE")
    p.add_argument("--out", required=True, help="Parquet folder, or spark:DB.TABLE")
    p.add_argument("--as-of", default=None, help="cutoff date (default: after the last order)")
    p.add_argument("--cutoffs", type=int, default=1)
    p.add_argument("--labels", action="store_true")
    args = p.parse_args(argv)
    job = SparkRun(
        args.job, args.data, args.out, args.as_of, args.cutoffs, args.labels, scored_at=_now()
    )
    print(run(job, load_settings()))


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


if __name__ == "__main__":
    main()
