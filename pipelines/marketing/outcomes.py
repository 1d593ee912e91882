"""Campaign outcomes as data: what each list contacted, what it held back, and what followed.

A list made by `retain risk-list` keeps a snapshot under RETAIN_HOME/campaigns/: list id,
as-of, campaign type, each customer's group (target or control, by the stable hash) and
their feature row at list time. Once the readout window has passed, `retain campaigns
collect` adds the outcomes (a completed order in the window; spend in it net of refunds)
and appends the rows to the warehouse table `campaign_outcomes`, one campaign per list id
(collecting again replaces that campaign's rows). The uplift model learns from that table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from features.labels import window_outcomes
from features.schema import FEATURE_COLUMNS
from pipelines.errors import InputError
from pipelines.files import read_rows_of, write_table
from pipelines.home import Home
from pipelines.settings import Settings
from pipelines.warehouse import data_end, has_table

OUTCOMES_TABLE = "campaign_outcomes"
DEFAULT_CAMPAIGN_TYPE = "default"  # a list's campaign type unless told (`--campaign-type`)
SNAPSHOT_KEYS = ("list_id", "as_of", "campaign_type", "customer_id", "group")
# Fewer than these, a campaign cannot teach who is moved: it is reported, never used.
MIN_CONTACTED = 1000
MIN_HELD_BACK = 300


def snapshot(listed: pd.DataFrame, features: pd.DataFrame, campaign_type: str) -> pd.DataFrame:
    """The list's keys and group with each customer's feature row at list time."""
    keys = listed[["list_id", "as_of", "customer_id", "group"]].copy()
    keys["customer_id"] = keys["customer_id"].astype(str)
    keys["as_of"] = pd.to_datetime(keys["as_of"])
    keys.insert(2, "campaign_type", campaign_type)
    kept = [c for c in FEATURE_COLUMNS if c in features]
    rows = features[["customer_id", *kept]].drop_duplicates("customer_id")
    rows = rows.assign(customer_id=rows["customer_id"].astype(str))
    return keys.merge(rows, on="customer_id", how="left")


def save_snapshot(home: Home, frame: pd.DataFrame) -> Path:
    list_id = str(frame["list_id"].iloc[0]) if len(frame) else "empty"
    return write_table(frame, home.campaign_snapshot(list_id))


def keep_snapshot(settings: Settings, listed: pd.DataFrame, campaign_type: str) -> Path | None:
    """Snapshot a just-written list with the feature rows `retain score` kept (None: no
    rows or no features to keep)."""
    home = Home.of(settings)
    if listed.empty or not home.features.exists():
        return None
    features = read_rows_of(home.features, listed["customer_id"].astype(str).tolist())
    return save_snapshot(home, snapshot(listed, features, campaign_type))


def load_snapshot(home: Home, list_id: str) -> pd.DataFrame:
    path = home.campaign_snapshot(list_id)
    if not path.exists():
        raise InputError("--list-id", f"no saved list {list_id!r} under {path.parent}")
    return pd.read_parquet(path)


def collect(
    con: duckdb.DuckDBPyConnection,
    snap: pd.DataFrame,
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> pd.DataFrame:
    """The snapshot with `ordered` and `spend_net` in [since, until), written to the
    warehouse; ValueError when the window has not passed in the data yet."""
    end = data_end(con)
    if until > end:
        raise ValueError(
            f"until: the readout window ends {until.date()}, after the data ({end.date()}); "
            "collect once it has passed"
        )
    ids = snap[["customer_id"]].astype(str).drop_duplicates()
    con.register("_snap_ids", ids)
    try:
        orders = con.execute(
            "SELECT o.customer_id, o.ordered_at, o.amount, o.status FROM orders o "
            "JOIN _snap_ids USING (customer_id) WHERE o.ordered_at >= ? AND o.ordered_at < ?",
            [since, until],
        ).df()
    finally:
        con.unregister("_snap_ids")
    seen = window_outcomes(orders, ids["customer_id"], since, until)
    seen = seen.rename(columns={"revenue": "spend_net"})
    rows = snap.merge(seen, on="customer_id", how="left")
    rows.insert(4, "readout_since", since)
    rows.insert(5, "readout_until", until)
    store(con, rows)
    return rows


def store(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Keep collected rows in the warehouse, replacing their campaigns' earlier rows."""
    con.register("_outcomes", rows)
    try:
        if not has_table(con, OUTCOMES_TABLE):
            con.execute(f"CREATE TABLE {OUTCOMES_TABLE} AS SELECT * FROM _outcomes LIMIT 0")
        con.execute(
            f"DELETE FROM {OUTCOMES_TABLE} WHERE list_id IN (SELECT DISTINCT list_id FROM _outcomes)"
        )
        con.execute(f"INSERT INTO {OUTCOMES_TABLE} BY NAME SELECT * FROM _outcomes")
    finally:
        con.unregister("_outcomes")


def read_outcomes(con: duckdb.DuckDBPyConnection, campaign_type: str | None = None) -> pd.DataFrame:
    if not has_table(con, OUTCOMES_TABLE):
        return pd.DataFrame(columns=[*SNAPSHOT_KEYS, "ordered", "spend_net"])
    where, params = ("WHERE campaign_type = ?", [campaign_type]) if campaign_type else ("", [])
    return con.execute(
        f"SELECT * FROM {OUTCOMES_TABLE} {where} ORDER BY as_of, list_id", params
    ).df()


def too_small(outcomes: pd.DataFrame) -> str | None:
    """Why these campaign rows cannot teach the uplift model (None: enough of each group)."""
    contacted = int((outcomes["group"] == "target").sum())
    held_back = int((outcomes["group"] == "control").sum())
    if contacted < MIN_CONTACTED or held_back < MIN_HELD_BACK:
        return (
            f"{contacted:,} contacted and {held_back:,} held back; learning needs at least "
            f"{MIN_CONTACTED:,} and {MIN_HELD_BACK:,}"
        )
    return None
