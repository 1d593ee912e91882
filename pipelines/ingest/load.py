"""Load a source into the warehouse with its accounting, and the `retain validate` report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.errors import InputError
from pipelines.files import write_table
from pipelines.ingest.profile import profile_tables, to_html
from pipelines.ingest.sources import load_source
from pipelines.ingest.validate import TableReport
from pipelines.settings import Settings


@dataclass
class Loaded:
    """What a load read, used and set aside; the set-aside rows are in `rejects_path`."""

    reports: list[TableReport]
    rejects: int
    rejects_path: Path | None


def load(con: duckdb.DuckDBPyConnection, data: str, settings: Settings) -> Loaded:
    """Load and validate `data` into `con`; keep the set-aside rows as CSV under the home."""
    reports = load_source(con, data, settings.input)
    rejects = con.execute("SELECT * FROM rejects").df()
    path = write_table(rejects, settings.home / "rejects.csv") if len(rejects) else None
    return Loaded(reports, len(rejects), path)


def require_orders(reports: list[TableReport]) -> None:
    """Stop (exit 2) when not a single order could be used."""
    orders = next(r for r in reports if r.table == "orders")
    if orders.used == 0:
        raise InputError(
            orders.source, f"no usable orders: {orders.read:,} rows read, all set aside"
        )


def quality_report(
    con: duckdb.DuckDBPyConnection,
    reports: list[TableReport],
    now: pd.Timestamp,
    out: Path | None,
) -> dict[str, Any]:
    """The profile of the loaded tables; with `out`, the JSON there and its HTML beside it."""
    profile = profile_tables(con, now)
    if out is not None:
        body = {"tables": {r.table: asdict(r) for r in reports}, "profile": profile}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(body, indent=2, default=str))
        out.with_suffix(".html").write_text(to_html(body))
    return profile
