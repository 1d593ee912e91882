"""The latest scores as a list needs them, read with DuckDB: filters pushed down, and for a
list with a top or a budget only the head of its ranking (every row tied with the last
included), so a list from ten million scores reads thousands of rows, not the whole file.

`build_list` then ranks and draws on that head exactly as on the whole selection; the caller
widens the head when the list reached its end (see `assemble.make_list`).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from features.sql import sql_text
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.marketing.lists import DECLARED_COLUMNS, Selection, filters
from pipelines.settings import Settings


def _scan(settings: Settings) -> str:
    path = Home.of(settings).scores
    if not path.exists():
        raise InputError(str(path), "no scores yet; run `retain score` first")
    return f"read_parquet({sql_text(str(path))})"


def run_facts(settings: Settings) -> tuple[pd.Timestamp, str]:
    """(as_of, model_version) of the latest scoring run."""
    row = (
        duckdb.connect()
        .execute(f"SELECT as_of, model_version FROM {_scan(settings)} LIMIT 1")
        .fetchone()
    )
    return (pd.Timestamp(row[0]), str(row[1])) if row else (pd.Timestamp(0), "")


def declared_values(settings: Settings, column: str) -> tuple[str, ...] | None:
    """The values of a declared customer column (segment, region) among the scored customers
    (None: `retain score` kept no features)."""
    path = Home.of(settings).features
    if not path.exists():
        return None
    found = (
        duckdb.connect()
        .execute(
            f"SELECT DISTINCT {column} FROM read_parquet({sql_text(str(path))}) "
            f"WHERE {column} IS NOT NULL ORDER BY 1"
        )
        .fetchall()
    )
    return tuple(str(s) for (s,) in found)


def candidates(settings: Settings, selection: Selection, head: int | None) -> pd.DataFrame:
    """The selection's scores (with `segment` / `region` when it filters on them); with `head`, only
    the first `head` rows by its sort key and every row tied with the last of them."""
    where, params = _where(selection)
    source = f"{_scan(settings)} s"
    columns = "s.*"
    declared = [c for c, allowed in filters(selection) if allowed and c in DECLARED_COLUMNS]
    if declared:
        features = f"read_parquet({sql_text(str(Home.of(settings).features))})"
        kept = ", ".join(["customer_id", *declared])
        source += f" LEFT JOIN (SELECT {kept} FROM {features}) f USING (customer_id)"
        columns += "".join(f", f.{c}" for c in declared)
    con = duckdb.connect()
    if head is not None and selection.within_days is None:
        key = f"CASE WHEN isnan(s.{selection.sort}) THEN NULL ELSE s.{selection.sort} END"
        cut = con.execute(  # the head-th value of the key: one narrow pass
            f"SELECT {key} FROM {source} WHERE {where} ORDER BY {key} DESC NULLS LAST, "
            f"s.customer_id LIMIT 1 OFFSET {int(head) - 1}",
            params,
        ).fetchall()
        if cut and cut[0][0] is not None:
            where, params = f"{where} AND {key} >= ?", [*params, cut[0][0]]
    chosen = f"SELECT {columns} FROM {source} WHERE {where}"
    table: Any = con.sql(chosen, params=params).to_arrow_table()
    return _as_stored(table, settings).to_pandas()


def _as_stored(table: Any, settings: Settings) -> Any:
    """The rows with the types the scores file stores, and the pandas dtypes it records (DuckDB
    reads ms timestamps as us), so a list is the same from the head as from the whole file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stored = pq.read_schema(Home.of(settings).scores)
    fields = [
        stored.field(n) if n in stored.names else table.schema.field(n) for n in table.schema.names
    ]
    return table.cast(pa.schema(fields)).replace_schema_metadata(stored.metadata)


def _where(selection: Selection) -> tuple[str, list[Any]]:
    """The selection's filters as SQL (NaN probabilities never qualify, as in pandas)."""
    parts = ["NOT isnan(s.churn_probability)", "s.churn_probability BETWEEN ? AND ?"]
    params: list[Any] = [float(selection.min_probability), float(selection.max_probability)]
    for column, allowed in filters(selection):
        if allowed:
            table = "f" if column in DECLARED_COLUMNS else "s"
            parts.append(f"{table}.{column} IN ({', '.join('?' * len(allowed))})")
            params.extend(allowed)
    return " AND ".join(parts), params
