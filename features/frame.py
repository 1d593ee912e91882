"""Assemble the feature (and label) frame for a population at many cutoffs in one pass."""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from features.categories import CATEGORY_EVENTS, category_features, has_category_events
from features.complaints import complaint_features
from features.cutoffs import cutoffs_frame
from features.hashing import stable_unit_sql
from features.labels import labels
from features.orders import amounts_known, mix_sql, order_features
from features.schema import (
    CATEGORICAL_FEATURES,
    CATEGORY_FEATURES,
    COMPLAINT_COUNTS,
    COMPLAINT_FEATURES,
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    LABEL_COLUMNS,
    NUMERIC_FEATURES,
)
from features.sql import days_between, sql_text

# The tables a pass reads a share of, and the time before which their rows can matter.
PASS_TABLES = {"orders": "ordered_at", "complaints": "opened_at", "customers": None}
CATEGORY_PASS_TABLES = {CATEGORY_EVENTS: "ordered_at", "order_lines": "ordered_at"}


def _pass_tables(with_categories: bool) -> dict[str, str | None]:
    return {**PASS_TABLES, **(CATEGORY_PASS_TABLES if with_categories else {})}


class _Names:
    """Names of the temporary objects of one call, unique per call: a second call never
    replaces a table or view the caller still reads from the first."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:12]
        self.cutoffs, self.population = f"_cutoffs_{tag}", f"_population_{tag}"
        self.passes = {t: f"_{t}_pass_{tag}" for t in _pass_tables(True)}
        self.order_features = f"_order_features_{tag}"
        self.category_features = f"_category_features_{tag}"
        self.complaint_features = f"_complaint_features_{tag}"
        self.labels, self.categories = f"_labels_{tag}", f"_category_bits_{tag}"


def _set_cutoffs(con: duckdb.DuckDBPyConnection, cutoffs: list[pd.Timestamp], name: str) -> None:
    frame = cutoffs_frame(cutoffs)
    con.register(f"{name}_df", frame)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT cutoff_at FROM {name}_df")
    con.unregister(f"{name}_df")


def _complaint_columns() -> str:
    counts = [f"coalesce(k.{c}, 0) AS {c}" for c in COMPLAINT_COUNTS]
    rest = [
        f"k.{c}"
        for c in COMPLAINT_FEATURES
        if c not in COMPLAINT_COUNTS and c != "complaints_per_order"
    ]
    per_order = "coalesce(k.complaints_total, 0) / o.orders_total AS complaints_per_order"
    return ", ".join([*counts, *rest, per_order])


def _passes(
    con: duckdb.DuckDBPyConnection,
    n_cutoffs: int,
    rows_per_pass: int | None,
    customer_share: float,
) -> int:
    """How many passes keep orders x cutoffs per pass within `rows_per_pass` (None: one pass;
    the callers pass the settings `frame_part_rows` or `score_part_orders`)."""
    if rows_per_pass is None:
        return 1
    (orders,) = con.execute("SELECT count(*) FROM orders").fetchall()[0]
    return max(1, math.ceil(int(orders) * customer_share * n_cutoffs / rows_per_pass))


def customers_of(passes: int, k: int, customer_share: float = 1.0) -> str | None:
    """Which customers pass `k` covers: a hash share per pass (any hash splits; results do
    not depend on it), within a fixed sample chosen by the stable hash (salted apart, so the
    sample and the passes are independent) when `customer_share` < 1. None: everyone."""
    conditions = []
    if passes > 1:
        conditions.append(f"hash(customer_id) % {passes} = {k}")
    if customer_share < 1:
        sample_key = stable_unit_sql("customer_id || '#sample'")
        conditions.append(f"{sample_key} < {customer_share!r}")
    return " AND ".join(conditions) or None


def feature_relation(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    horizon_days: int | None = None,
    data_end: pd.Timestamp | None = None,
    rows_per_pass: int | None = None,
    on_pass: Callable[[int, int], None] | None = None,
    customer_share: float = 1.0,
) -> duckdb.DuckDBPyRelation:
    """Features for the scored population at each cutoff; labels too when `data_end` is given.

    In: connection holding validated `orders`, `complaints` and `customers` tables.
    Out: a relation with one row per (customer_id, cutoff_at), columns KEY + FEATURE
    (+ LABEL, then sorted so a fit is reproducible), over a temp table named for this call; numeric
    features are DOUBLE. It stays in DuckDB: `retain features` writes it without pandas.
    Population (docs/ARCHITECTURE.md, time rules): at least one completed order before the cutoff and
    the last one within `activity_window_days`; lapsed customers are not scored as churn.
    All cutoffs are computed together: events are joined to the cutoffs table once. When
    orders x cutoffs exceed `rows_per_pass`, customers are split by a hash of their id into
    passes that each fit in memory (each pass scans the orders again; nothing spills).
    `customer_share` < 1 keeps a fixed sample of the customers, chosen by a hash of their id,
    so the same customers appear at every cutoff (training frames of very large bases).
    """
    return _relation(
        con,
        cutoffs,
        activity_window_days,
        horizon_days,
        data_end,
        rows_per_pass,
        on_pass,
        customer_share,
    )[0]


def _relation(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    horizon_days: int | None,
    data_end: pd.Timestamp | None,
    rows_per_pass: int | None,
    on_pass: Callable[[int, int], None] | None,
    customer_share: float,
) -> tuple[duckdb.DuckDBPyRelation, _Names]:
    """`feature_relation` and the names of the temporary objects it stands on."""
    names = _Names()

    def into_table(k: int, select: str) -> None:
        into = (
            f"CREATE TEMP TABLE {names.population} AS"
            if k == 0
            else f"INSERT INTO {names.population}"
        )
        con.execute(f"{into} {select}")

    passes = _passes(con, len(cutoffs), rows_per_pass, customer_share)

    def filtered(k: int, table: str) -> str | None:
        share = customers_of(passes, k, customer_share)
        return None if share is None else f"FROM {table} WHERE {share}"

    _run_passes(con, names, cutoffs, activity_window_days, passes, into_table, filtered, on_pass)
    if data_end is None:
        return con.table(names.population), names
    if horizon_days is None:
        raise ValueError("labels need horizon_days together with data_end")
    labels(con, data_end, horizon_days, names.population).create_view(names.labels)
    rel = con.sql(
        f"SELECT p.*, {', '.join('l.' + c for c in LABEL_COLUMNS)} "
        f"FROM {names.population} p JOIN {names.labels} l USING (customer_id, cutoff_at) "
        "ORDER BY cutoff_at, customer_id"
    )
    return rel, names


def write_feature_parts(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    folder: Path,
    rows_per_pass: int | None = None,
    on_pass: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """The features of `feature_relation` (no labels) written as one Parquet file per pass
    into `folder`: the population is never held whole, in DuckDB or in pandas, so streaming
    scoring's memory is set by `rows_per_pass`, not by the size of the base."""
    names, parts = _Names(), []
    folder.mkdir(parents=True, exist_ok=True)
    passes = _passes(con, len(cutoffs), rows_per_pass, 1.0)
    tables = _pass_tables(has_category_events(con))
    staged = _stage(con, folder / "staged", passes, max(cutoffs), tables) if passes > 1 else None

    def into_file(k: int, select: str) -> None:
        parts.append(folder / f"part-{k:05d}.parquet")
        con.execute(f"COPY ({select}) TO {sql_text(str(parts[-1]))} (FORMAT parquet)")

    try:
        _run_passes(con, names, cutoffs, activity_window_days, passes, into_file, staged, on_pass)
    finally:
        _drop(con, names)
        shutil.rmtree(folder / "staged", ignore_errors=True)
    return parts


def _stage(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    passes: int,
    before: pd.Timestamp,
    tables: dict[str, str | None],
) -> Callable[[int, str], str]:
    """Split the tables once into `passes` hash shares of the customers on disk (Parquet, one
    folder per share), so each pass reads its share instead of scanning every table again:
    the whole run reads the data about twice, whatever the number of passes. Returns the
    source of table `t` in pass `k`."""
    at = sql_text(pd.Timestamp(before).isoformat(sep=" "))
    folder.mkdir(parents=True, exist_ok=True)
    for table, column in tables.items():
        keep = f"WHERE {column} < TIMESTAMP {at}" if column else ""
        con.execute(
            f"COPY (SELECT *, hash(customer_id) % {passes} AS _pass FROM {table} {keep}) "
            f"TO {sql_text(str(folder / table))} (FORMAT parquet, PARTITION_BY (_pass))"
        )

    def source(k: int, table: str) -> str:
        share = folder / table / f"_pass={k}"
        if not share.exists():  # nobody of this share has rows in that table
            return f"FROM {table} WHERE false"
        files = sql_text(str(share / "*.parquet"))
        return f"FROM read_parquet({files}, hive_partitioning = false)"

    return source


def _run_passes(
    con: duckdb.DuckDBPyConnection,
    names: _Names,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    passes: int,
    sink: Callable[[int, str], None],
    source: Callable[[int, str], str | None] | None,
    on_pass: Callable[[int, int], None] | None,
) -> None:
    """Compute the features in `passes` passes (a hash share of the customers each) and hand
    each pass's SELECT to `sink(k, select)`: a temp table or a Parquet file. Pass `k` reads
    table `t` from `source(k, t)` (a filter, or the staged share of _stage); None or no
    `source`: the whole table."""
    _set_cutoffs(con, cutoffs, names.cutoffs)
    mix, has_amounts = mix_sql(con, names.categories), amounts_known(con)
    with_categories = has_category_events(con)
    for k in range(passes):
        tables = {t: t for t in _pass_tables(with_categories)}
        for table in tables:
            view = names.passes[table]
            chosen = source(k, table) if source else None
            if chosen is not None:  # one share of the customers per pass: memory stays bounded
                con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {chosen}")
                tables[table] = view
        orders, complaints = tables["orders"], tables["complaints"]
        order_features(con, names.cutoffs, orders, mix, has_amounts).create_view(
            names.order_features, replace=True
        )
        complaint_features(con, names.cutoffs, complaints).create_view(
            names.complaint_features, replace=True
        )
        category_join = _category_join(con, names, tables, with_categories)
        sink(
            k,
            f"""
            SELECT {_feature_columns()} FROM (
                SELECT o.*, {_complaint_columns()}, {_category_columns(with_categories)},
                    u.segment, u.region,
                    CASE WHEN u.signed_up_at < o.cutoff_at
                         THEN {days_between("o.cutoff_at", "u.signed_up_at")} END AS days_since_signup
                FROM {names.order_features} o
                LEFT JOIN {names.complaint_features} k USING (customer_id, cutoff_at)
                LEFT JOIN {tables["customers"]} u USING (customer_id)
                {category_join}
                WHERE o.days_since_last_order <= {activity_window_days}
            ) p
            """,
        )
        if on_pass is not None:
            on_pass(k + 1, passes)


def _category_join(
    con: duckdb.DuckDBPyConnection,
    names: _Names,
    tables: dict[str, str],
    with_categories: bool,
) -> str:
    """The join of this pass's category features (features.categories), or nothing."""
    if not with_categories:
        return ""
    category_features(
        con, names.cutoffs, tables[CATEGORY_EVENTS], tables["order_lines"]
    ).create_view(names.category_features, replace=True)
    return f"LEFT JOIN {names.category_features} g USING (customer_id, cutoff_at)"


def _category_columns(with_categories: bool) -> str:
    """CATEGORY_FEATURES from the pass's join, or NULL (absent) without category events."""
    return ", ".join(
        f"g.{c}" if with_categories else f"CAST(NULL AS DOUBLE) AS {c}" for c in CATEGORY_FEATURES
    )


def build_frame(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    activity_window_days: int,
    horizon_days: int | None = None,
    data_end: pd.Timestamp | None = None,
    rows_per_pass: int | None = None,
    customer_share: float = 1.0,
) -> pd.DataFrame:
    """`feature_relation` as a pandas frame (for the models)."""
    rel, names = _relation(
        con,
        cutoffs,
        activity_window_days,
        horizon_days,
        data_end,
        rows_per_pass,
        None,
        customer_share,
    )
    # Through Arrow, one block per column: pandas' own consolidation of ~50 float columns
    # into one 2-D block costs more than the whole conversion.
    frame = rel.to_arrow_table().to_pandas(
        split_blocks=True, self_destruct=True, categories=list(CATEGORICAL_FEATURES)
    )
    _drop(con, names)  # the frame holds it all now
    return _with_label_dtypes(frame)


def _drop(con: duckdb.DuckDBPyConnection, names: _Names) -> None:
    """Drop the temporary tables and views one call made."""
    for view in (
        names.labels,
        names.order_features,
        names.complaint_features,
        names.category_features,
    ):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for view in names.passes.values():
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in (names.population, names.cutoffs, names.categories):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _feature_columns() -> str:
    """Key and feature columns, numeric ones as DOUBLE: models take float64 anyway, and
    DuckDB converts nullable BIGINT columns to pandas about 5x slower."""
    numeric = set(NUMERIC_FEATURES)
    return ", ".join(
        f"CAST({c} AS DOUBLE) AS {c}" if c in numeric else c
        for c in (*KEY_COLUMNS, *FEATURE_COLUMNS)
    )


def _with_label_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Features arrive typed (float64 with NaN = not defined; categories with NaN = unknown,
    light and cheap to encode); labels get nullable and boolean dtypes."""
    if "churned" in frame:
        frame["churned"] = frame["churned"].astype("Int8")
        frame["next_order_censored"] = frame["next_order_censored"].astype(bool)
        frame["spend_next_horizon"] = frame["spend_next_horizon"].astype("float64")
    return frame
