"""Campaign outcomes as data: what each list contacted, what it held back, and what followed.

A list made by `retain risk-list` keeps a snapshot under RETAIN_HOME/campaigns/: list id,
as-of, campaign type, each customer's group (target or control, by the stable hash) and
their feature row at list time. Once the readout window has passed, `retain campaigns
collect` adds the outcomes (a completed order in the window; spend in it net of refunds)
and appends the rows to the warehouse table `campaign_outcomes`, one campaign per list id
(collecting again replaces that campaign's rows). The uplift model learns from that table.

All in DuckDB, whatever the size of the list: the snapshot is read with `read_parquet`, the
outcome rule is `features.labels.window_outcomes_sql`, the rows go from the file to the table
without passing through pandas, and what a command says of a campaign (its `Tally`) is a SQL
aggregate. Training reads a campaign whole up to `uplift_max_rows_per_campaign` rows, above it
a stratified sample by a stable hash of the customer id (`read_campaign`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from features.hashing import stable_unit_sql
from features.labels import filled_outcomes_sql, window_outcomes_sql
from features.schema import FEATURE_COLUMNS
from features.sql import sql_text
from pipelines.errors import InputError
from pipelines.files import read_rows_of, write_table
from pipelines.home import Home
from pipelines.settings import Settings
from pipelines.warehouse import data_end, has_table, scalar

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


def snapshot_path(home: Home, list_id: str) -> Path:
    """Where a saved list's snapshot is; InputError when there is none."""
    path = home.campaign_snapshot(list_id)
    if not path.exists():
        raise InputError("--list-id", f"no saved list {list_id!r} under {path.parent}")
    return path


def load_snapshot(home: Home, list_id: str) -> pd.DataFrame:
    return pd.read_parquet(snapshot_path(home, list_id))


def collect(
    con: duckdb.DuckDBPyConnection, snapshot: Path, since: pd.Timestamp, until: pd.Timestamp
) -> Tally:
    """The snapshot's rows with `ordered` and `spend_net` in [since, until), written to the
    warehouse with their place in the list (`list_row`, the order reads give them back in; SQL
    statements: no row passes through pandas), and the campaign's tally; ValueError when the
    window has not passed in the data yet."""
    end = data_end(con)
    if until > end:
        raise ValueError(
            f"until: the readout window ends {until.date()}, after the data ({end.date()}); "
            "collect once it has passed"
        )
    snap = f"read_parquet({sql_text(str(snapshot))}, file_row_number = true)"
    at = [pd.Timestamp(t).isoformat(sep=" ") for t in (since, until)]
    keys = ", ".join(f"s.{k}" for k in SNAPSHOT_KEYS[:4])
    rows = f"""
        SELECT {keys}, TIMESTAMP '{at[0]}' AS readout_since, TIMESTAMP '{at[1]}' AS readout_until,
               s.* EXCLUDE ({", ".join(SNAPSHOT_KEYS[:4])}, file_row_number),
               s.file_row_number AS list_row, {filled_outcomes_sql("w")}
        FROM {snap} s LEFT JOIN _window_outcomes w USING (customer_id)
    """
    list_ids = [str(r[0]) for r in con.execute(f"SELECT DISTINCT list_id FROM {snap}").fetchall()]
    if len(list_ids) != 1:
        raise InputError(str(snapshot), f"expected the rows of one list, found {len(list_ids)}")
    # The outcomes first (three narrow columns, the window's buyers only), then the wide rows
    # joined to them unsorted: a join and a sort of ten million feature rows at once, then
    # the outcomes grouped over all ten million ids, did not fit the memory limit.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _window_outcomes AS {window_outcomes_sql(since, until)}"
    )
    try:
        store(con, rows, list_ids)
    finally:
        con.execute("DROP TABLE IF EXISTS _window_outcomes")
    return tallies(con, list_ids=list_ids)[0]


def store(con: duckdb.DuckDBPyConnection, rows: str, list_ids: list[str]) -> None:
    """Keep the rows of the SELECT `rows` (campaigns `list_ids`) in the warehouse, replacing
    those campaigns' earlier rows; a feature column new to the table is added to it."""
    described = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {rows}").fetchall()]
    if not has_table(con, OUTCOMES_TABLE):
        columns = ", ".join(f'"{name}" {kind}' for name, kind in described)
        con.execute(f"CREATE TABLE {OUTCOMES_TABLE} ({columns})")
    have = set(con.table(OUTCOMES_TABLE).columns)
    for name, kind in described:
        if name not in have:  # e.g. a category feature the earlier campaigns did not have
            con.execute(f'ALTER TABLE {OUTCOMES_TABLE} ADD COLUMN "{name}" {kind}')
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {OUTCOMES_TABLE} WHERE list_id IN (SELECT unnest(?))", [list_ids])
        con.execute(f"INSERT INTO {OUTCOMES_TABLE} BY NAME {rows}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Tally:
    """One collected campaign as the warehouse counts it (a SQL aggregate, never the rows)."""

    list_id: str
    as_of: pd.Timestamp
    contacted: int
    held_back: int
    ordered_contacted: float | None  # share of the target group that ordered in the window
    ordered_held_back: float | None  # the same of the control group

    @property
    def rows(self) -> int:
        return self.contacted + self.held_back

    @property
    def too_small(self) -> str | None:
        return too_small(self.contacted, self.held_back)

    def shares(self) -> str:
        """E.g. `control 31.0% ordered, target 35.2% ordered` (groups with customers)."""
        seen = [("control", self.held_back, self.ordered_held_back),
                ("target", self.contacted, self.ordered_contacted)]  # fmt: skip
        return ", ".join(f"{g} {share or 0:.1%} ordered" for g, n, share in seen if n)


def tallies(
    con: duckdb.DuckDBPyConnection,
    campaign_type: str | None = None,
    list_ids: list[str] | None = None,
) -> list[Tally]:
    """The collected campaigns (of a type, or these list ids), oldest first."""
    if not has_table(con, OUTCOMES_TABLE):
        return []
    where, params = _where(campaign_type, list_ids)
    found = con.execute(
        f"""
        SELECT list_id::VARCHAR, min(as_of),
               count(*) FILTER (WHERE "group" = 'target'),
               count(*) FILTER (WHERE "group" = 'control'),
               avg(ordered::DOUBLE) FILTER (WHERE "group" = 'target'),
               avg(ordered::DOUBLE) FILTER (WHERE "group" = 'control')
        FROM {OUTCOMES_TABLE} {where} GROUP BY list_id ORDER BY min(as_of), list_id
        """,
        params,
    ).fetchall()
    return [Tally(r[0], pd.Timestamp(r[1]), int(r[2]), int(r[3]), r[4], r[5]) for r in found]


def _where(campaign_type: str | None, list_ids: list[str] | None) -> tuple[str, list[object]]:
    parts: list[str] = []
    params: list[object] = []
    if campaign_type:
        parts.append("campaign_type = ?")
        params.append(campaign_type)
    if list_ids is not None:
        parts.append("list_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list_ids)
    return ("WHERE " + " AND ".join(parts)) if parts else "", params


def read_outcomes(
    con: duckdb.DuckDBPyConnection,
    campaign_type: str | None = None,
    list_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Collected rows as a frame, all of them: for small warehouses and tests; training reads
    each campaign bounded (`read_campaign`)."""
    if not has_table(con, OUTCOMES_TABLE):
        return pd.DataFrame(columns=[*SNAPSHOT_KEYS, "ordered", "spend_net"])
    where, params = _where(campaign_type, list_ids)
    return con.execute(
        f"SELECT * FROM {OUTCOMES_TABLE} {where} ORDER BY as_of, list_id{_by_row(con, ', ')}",
        params,
    ).df()


def _by_row(con: duckdb.DuckDBPyConnection, lead: str) -> str:
    """`list_row` after `lead`: the list's order (rows collected before it was kept, and
    frames without it, are in the order they were stored)."""
    return f"{lead}list_row" if "list_row" in con.table(OUTCOMES_TABLE).columns else ""


def too_small(contacted: int, held_back: int) -> str | None:
    """Why a campaign of this many contacted and held-back customers cannot teach the uplift
    model (None: enough of each group)."""
    if contacted < MIN_CONTACTED or held_back < MIN_HELD_BACK:
        return (
            f"{contacted:,} contacted and {held_back:,} held back; learning needs at least "
            f"{MIN_CONTACTED:,} and {MIN_HELD_BACK:,}"
        )
    return None


SAMPLE_KEY = "uplift-sample:"  # salts the stable hash, so the sample is not the control draw


def read_campaign(con: duckdb.DuckDBPyConnection, tally: Tally, max_rows: int) -> pd.DataFrame:
    """A campaign's rows in the order they were collected: all of them up to `max_rows`, above
    it a stratified sample of `max_rows` (each group in its share, at least one held back), the
    customers with the lowest stable hash of their id: the same rows on every run."""
    where = f"FROM {OUTCOMES_TABLE} WHERE list_id = ?"
    if tally.rows <= max_rows:
        return con.execute(f"SELECT * {where}{_by_row(con, ' ORDER BY ')}", [tally.list_id]).df()
    unit = stable_unit_sql(f"'{SAMPLE_KEY}' || customer_id")
    held_back = min(tally.held_back, max(1, round(max_rows * tally.held_back / tally.rows)))
    cuts = {}
    for group, keep in (("target", max_rows - held_back), ("control", held_back)):
        cuts[group] = scalar(
            con,
            f'SELECT max(u) FROM (SELECT {unit} AS u {where} AND "group" = ? ORDER BY u LIMIT ?)',
            [tally.list_id, group, keep],
        )
    return con.execute(
        f"SELECT * {where} AND {unit} <= CASE \"group\" WHEN 'target' THEN ? ELSE ? END"
        + _by_row(con, " ORDER BY "),
        [tally.list_id, *(-1.0 if cuts[g] is None else cuts[g] for g in ("target", "control"))],
    ).df()
