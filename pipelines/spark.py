"""Spark at the edge: the session, the canonical tables as views, and a connection that
answers the feature catalogue's DuckDB SQL with Spark SQL (transpiled by features.dialects).

Only imported for `--engine spark` (pyspark is the optional `spark` extra). The catalogue's
code stays the one definition: it is handed `SparkSQL` where it usually gets a DuckDB
connection, and every statement it sends is translated, or refused, on the way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.dialects import to_spark, to_spark_statement
from features.schema import (
    CATEGORY_EVENTS_TABLE,
    COMPLAINTS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    TableContract,
)
from features.sql import sql_text
from pipelines.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The warehouse's category events and order lines ride along when present (category features).
TABLES = (ORDERS, COMPLAINTS, CUSTOMERS, CATEGORY_EVENTS_TABLE, ORDER_LINES)
SPARK_TYPES = {
    "VARCHAR": "STRING",
    "TIMESTAMP": "TIMESTAMP",
    "DOUBLE": "DOUBLE",
    "INTEGER": "INT",
    "BOOLEAN": "BOOLEAN",
}
# The semantics the DuckDB SQL was written for: UTC, NULL (not an error) for an item past
# the end of a list or a division by zero.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
}


def session(master: str, shuffle_partitions: int) -> SparkSession:
    """The Spark session: the cluster's under `spark-submit` (its master is set), else
    `master` (e.g. local[2]); the UI off for local runs."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("retain")
    if not SparkConf().contains("spark.master"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers: this env
        builder = (
            builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
    builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    # One task, one core: each Python worker's LightGBM runs one OpenMP thread (with the
    # default, every worker spins a thread per core and they fight over the same cores).
    builder = builder.config("spark.executorEnv.OMP_NUM_THREADS", "1")
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def check_source(data: str) -> None:
    """Refuse, before any Spark starts, what `register_tables` cannot read."""
    if not data.startswith("spark:") and "://" not in data and not Path(data).is_dir():
        raise InputError(
            data,
            "--engine spark reads a folder (or s3://, hdfs://... URI) of Parquet tables or spark:DATABASE",
        )


def register_tables(spark: SparkSession, data: str) -> None:
    """Views `orders`, `complaints`, `customers` (and `category_events`, `order_lines`) over canonical tables (the data contract's
    columns and types, as `retain validate` checks them): Parquet files or folders named
    after the table in the folder (or URI) `data`, or the tables of the database `spark:DB`.
    Orders are required; a missing optional table or column is empty (NULL)."""
    for contract in TABLES:
        frame = _read(spark, data, contract.name)
        if frame is None and contract is ORDERS:
            raise InputError(data, "no orders table (orders.parquet or orders/ of Parquet)")
        _canonical(spark, frame, contract).createOrReplaceTempView(contract.name)


def _read(spark: SparkSession, data: str, table: str) -> DataFrame | None:
    if data.startswith("spark:"):
        name = f"{data.removeprefix('spark:')}.{table}"
        return spark.table(name) if spark.catalog.tableExists(name) else None
    from pyspark.errors import AnalysisException

    check_source(data)
    for path in (f"{data.rstrip('/')}/{table}.parquet", f"{data.rstrip('/')}/{table}"):
        if "://" not in data and not Path(path).exists():
            continue
        try:
            return spark.read.parquet(path)
        except AnalysisException:  # not there (a URI's folder cannot be checked beforehand)
            continue
    return None


def _canonical(spark: SparkSession, frame: DataFrame | None, contract: TableContract) -> DataFrame:
    """The contract's columns in its types; columns the source lacks are NULL."""
    present = set(frame.columns) if frame is not None else set()
    columns = [
        f"CAST({c if c in present else 'NULL'} AS {SPARK_TYPES[contract.sql_type(c)]}) AS {c}"
        for c in contract.columns
    ]
    if frame is None:
        return spark.sql(f"SELECT {', '.join(columns)} WHERE false")
    return frame.selectExpr(*columns)


def _literal(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        return sql_text(value)
    return repr(value)


def inline(sql: str, params: list[Any] | None) -> str:
    """`?` parameters written in as literals (Spark SQL takes none positionally here)."""
    if not params:
        return sql
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1:
        raise ValueError(f"{len(params)} parameters for {len(pieces) - 1} placeholders")
    return "".join(p + _literal(v) for p, v in zip(pieces, params, strict=False)) + pieces[-1]


class SparkRelation:
    """A translated query: what the catalogue does with a DuckDB relation."""

    def __init__(self, spark: SparkSession, sql: str) -> None:
        self.spark, self.text = spark, sql

    @property
    def frame(self) -> DataFrame:
        return self.spark.sql(self.text)

    def create_view(self, name: str, replace: bool = True) -> None:
        self.frame.createOrReplaceTempView(name)


class SparkRows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None


class SparkSQL:
    """The part of a DuckDB connection the feature catalogue uses, on Spark SQL."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def execute(self, sql: str, params: list[Any] | None = None) -> SparkRows:
        view, statement = to_spark_statement(inline(sql, params))
        if view is None:
            return SparkRows([tuple(r) for r in self.spark.sql(statement).collect()])
        self.spark.sql(statement).createOrReplaceTempView(view)
        return SparkRows([])

    def sql(self, sql: str) -> SparkRelation:
        return SparkRelation(self.spark, to_spark(sql))

    def table(self, name: str) -> SparkRelation:
        return SparkRelation(self.spark, f"SELECT * FROM {name}")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
