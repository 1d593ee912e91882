"""RETAIN_HOME and the model registry: the stores through which stages hand over their work.

One module knows the home's layout; stages, the API and the pages read and write through
`Home` (typed paths, readers and writers) and never build a path under the home themselves,
so `Settings` stays configuration only. The layout (relative to `RETAIN_HOME`):

    warehouse.duckdb               the embedded warehouse: one writing process at a time
    reference.parquet              training's feature sample, the drift reference
    metrics.json                   the last training's metrics and promotion decision
    figures/                       training's charts (logged to MLflow too)
    rejects.csv                    rows set aside by the last load, with their reason
    scores/latest.parquet          the newest scores (what lists and pages read)
    scores/latest_features.parquet the features those scores were made from
    scores/category_scores.parquet the category purchase curves of those scores
    scores/lookup.current          names the lookup file the scoring API reads
    scores/lookup-<run>.duckdb     the lookup files (the current one and the one before)
    monitor/latest.json            the newest `retain monitor` report
    evidently/                     Evidently's workspace (one snapshot per scoring run)
    lists/<id>.csv, <id>.json      saved lists and live audiences (their filters)
    campaigns/<id>.parquet         each list's groups and feature rows at list time
    api_keys.json                  salted hashes of the API keys, never the keys
    ui_sessions.sqlite, ui_secret  the pages' server-side sessions and their CSRF secret
    logs/errors.log                tracebacks of unforeseen errors, never on the screen

Readers and writers: DuckDB lets one process write a file and no other process read it
meanwhile, so the API and the pages never read the warehouse for what they serve: each run
publishes Parquet files and a lookup file swapped atomically, which readers open freely. The
two pages that need raw history (a customer's orders, a campaign readout) read the warehouse
read-only and say "unavailable right now" while a command writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from pipelines.errors import InputError
from pipelines.warehouse import connect

if TYPE_CHECKING:
    from models.registry import Registry
    from pipelines.settings import Settings

LOOKUP_TABLE = "lookup"  # the table of a lookup file
WAREHOUSE_BUSY = "another retain command is writing the warehouse; try again when it ends"


class WarehouseBusy(InputError):
    """Another process writes the warehouse (exit 2, try again when it ends)."""


@dataclass(frozen=True)
class Home:
    """The files under one RETAIN_HOME (see the module's docstring for the layout)."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Home:
        return cls(Path(settings.home))

    def resolved(self) -> Home:
        """The same home by its absolute path (a server keeps it whatever its cwd)."""
        return Home(self.root.resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def reference(self) -> Path:
        return self.root / "reference.parquet"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def rejects(self) -> Path:
        return self.root / "rejects.csv"

    @property
    def scores(self) -> Path:
        return self.root / "scores" / "latest.parquet"

    @property
    def features(self) -> Path:
        return self.root / "scores" / "latest_features.parquet"

    @property
    def category_scores(self) -> Path:
        """Per customer and category, the purchase curve of the latest `retain score`."""
        return self.root / "scores" / "category_scores.parquet"

    @property
    def lookup_pointer(self) -> Path:
        return self.root / "scores" / "lookup.current"

    @property
    def monitor_report(self) -> Path:
        return self.root / "monitor" / "latest.json"

    @property
    def evidently(self) -> Path:
        return self.root / "evidently"

    @property
    def lists(self) -> Path:
        return self.root / "lists"

    def saved_list(self, list_id: str, suffix: str = ".csv") -> Path:
        """A saved list's file (`.csv` rows, `.json` a live audience's filters)."""
        return self.lists / f"{list_id}{suffix}"

    def campaign_snapshot(self, list_id: str) -> Path:
        """A saved list's groups and feature rows at list time (what uplift learns from)."""
        return self.root / "campaigns" / f"{list_id}.parquet"

    @property
    def keys(self) -> Path:
        return self.root / "api_keys.json"

    @property
    def sessions(self) -> Path:
        return self.root / "ui_sessions.sqlite"

    @property
    def ui_secret(self) -> Path:
        """The pages' CSRF secret (made on first use, readable by the owner only)."""
        return self.root / "ui_secret"

    @property
    def crash_log(self) -> Path:
        return self.root / "logs" / "errors.log"

    def open_warehouse(self, memory_limit: str) -> duckdb.DuckDBPyConnection:
        """The warehouse for writing, DuckDB capped at `memory_limit` (it spills beyond). A
        second writing process stops with one line (exit 2) instead of waiting."""
        try:
            con = connect(self.warehouse)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise WarehouseBusy(str(self.warehouse), WAREHOUSE_BUSY) from None
        con.execute("SET memory_limit = ?", [memory_limit.strip()])
        return con

    @contextmanager
    def reading_warehouse(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse read-only, closed after use; WarehouseBusy while another process
        writes it (DuckDB's file lock admits no reader then)."""
        try:
            con = connect(self.warehouse, read_only=True)
        except duckdb.Error:
            raise WarehouseBusy(
                "warehouse", "unavailable right now: a command is writing it"
            ) from None
        try:
            yield con
        finally:
            con.close()

    def read_reference(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Training's feature sample; missing: one line saying which command makes it."""
        return _read_made(self.reference, "retain train", columns)

    def read_scores(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The newest scores; missing: one line saying which command makes them."""
        return _read_made(self.scores, "retain score", columns)

    def read_monitor_report(self) -> dict[str, Any]:
        """The newest monitor report, or {} before the first `retain monitor`."""
        try:
            return dict(json.loads(self.monitor_report.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def current_lookup(self) -> Path | None:
        """The lookup file the pointer names, or None before the first scoring run."""
        try:
            name = self.lookup_pointer.read_text().strip()
        except FileNotFoundError:
            return None
        path = self.lookup_pointer.parent / name
        return path if name and path.exists() else None


def _read_made(path: Path, made_by: str, columns: list[str] | None) -> pd.DataFrame:
    if not path.exists():
        raise InputError(str(path), f"not found; run `{made_by}` first")
    return pd.read_parquet(path, columns=columns)


UPLIFT_SUFFIX = "-uplift"  # the uplift model is registered as <model_name>-uplift


def open_registry(settings: Settings, uplift: bool = False) -> Registry:
    """The registered model of these settings in their MLflow tracking store (with `uplift`:
    the uplift model registered beside it); an unreachable store is a setting that cannot be
    used (exit 2)."""
    from models.registry import Registry, Unreachable

    name = settings.model_name + (UPLIFT_SUFFIX if uplift else "")
    try:
        return Registry(settings.mlflow_tracking_uri, settings.experiment_name, name)
    except Unreachable as exc:
        raise InputError("MLFLOW_TRACKING_URI", str(exc)) from None
