"""Load a source into the warehouse with its accounting, and the `retain validate` report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.orders import amounts_known
from features.schema import GUEST_ORDER
from pipelines.errors import InputError
from pipelines.files import write_table
from pipelines.home import Home
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
    path = write_table(rejects, Home.of(settings).rejects) if len(rejects) else None
    return Loaded(reports, len(rejects), path)


def check_usable(loaded: Loaded, settings: Settings) -> None:
    """Stop (exit 2) when a table had more than `max_set_aside_share` of its rows set aside,
    or when not a single order is usable."""
    for report in loaded.reports:
        require_usable(report, settings.input.max_set_aside_share)
    require_orders(loaded.reports)


WARN_SET_ASIDE_SHARE = 0.05  # above this, a usable table still gets a warning


def set_aside_share(report: TableReport) -> float:
    return report.set_aside / report.read if report.read else 0.0


def require_usable(report: TableReport, max_share: float) -> None:
    """A table mostly set aside is not the user's data as they think of it: refuse it, name
    the largest reason and, where the pattern fits, the likely fix."""
    share = set_aside_share(report)
    if share <= max_share:
        return
    reason, count = next(iter(report.set_aside_by_reason.items()))
    message = (
        f"{share:.1%} of {report.read:,} rows set aside (more than input.max_set_aside_share "
        f"= {max_share}); largest reason: {reason} ({count:,} rows)"
    )
    if report.table == "orders" and reason.startswith("duplicate order_id"):
        message += (
            "; many order_ids repeat with different products or quantities: these look like "
            "order lines: name the table `order_lines` (README, 'Bring your own export')"
        )
    raise InputError(report.source, message)


def require_orders(reports: list[TableReport]) -> None:
    """Stop (exit 2) when not a single order could be used."""
    orders = next(r for r in reports if r.table == "orders")
    if orders.used == 0:
        raise InputError(
            orders.source, f"no usable orders: {orders.read:,} rows read, all set aside"
        )


def notes(con: duckdb.DuckDBPyConnection, reports: list[TableReport]) -> list[str]:
    """What the data cannot give, and what that costs: plain sentences for the report."""
    found = []
    if not amounts_known(con):
        found.append(
            "no amounts: spend features are absent (not zero), value at risk counts expected "
            "orders instead of money, and value tiers rank customers by orders in 12 months"
        )
    for report in reports:
        guests = report.set_aside_by_reason.get(GUEST_ORDER, 0)
        if guests:
            found.append(
                f"{guests:,} {report.table.replace('_', ' ')} ({guests / report.read:.1%}) have "
                "no customer id (guest orders): set aside, they cannot be scored"
            )
    return found


def quality_report(
    con: duckdb.DuckDBPyConnection,
    reports: list[TableReport],
    as_of: pd.Timestamp | None,
    run_date: pd.Timestamp,
    out: Path | None,
) -> dict[str, Any]:
    """The profile of the loaded tables and the notes on what is missing; with `out`, the
    JSON there and its HTML beside it (see profile_tables for the two dates)."""
    profile = profile_tables(con, as_of, run_date) | {"notes": notes(con, reports)}
    if out is not None:
        body = {"tables": {r.table: asdict(r) for r in reports}, "profile": profile}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(body, indent=2, default=str))
        out.with_suffix(".html").write_text(to_html(body))
    return profile
