"""What every command shares: the console, common options, settings, the warehouse."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from features.schema import DEFAULT_HORIZON_DAYS
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.settings import Settings, load_settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from pipelines.ingest.load import Loaded

console = Console()


def date_of(option: str) -> Callable[[str], str]:
    """A parser for a date option: a value that is not a date stops with one line (exit 2)
    when the options are read, before any work."""

    def check(value: str) -> str:
        import pandas as pd

        try:
            valid = pd.notna(pd.Timestamp(value))
        except (ValueError, TypeError, OverflowError):
            valid = False
        if not valid:
            raise InputError(option, f"{value!r} is not a date; expected YYYY-MM-DD")
        return value

    return check


def writable(option: str, folder: bool = False) -> Callable[[str | Path], Path]:
    """A parser for an output option: a file (or `folder`) that cannot be written stops with
    one line (exit 2) when the options are read, before any work. Creates missing folders."""

    def check(value: str | Path) -> Path:
        path = Path(value)
        where = path if folder else path.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=where):
                pass
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise InputError(option, f"cannot write to {where} ({reason})") from None
        if path.is_dir() and not folder:
            raise InputError(option, f"{path} is a folder; expected a file name")
        return path

    return check


DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Folder of orders/complaints/customers (.parquet/.csv), a DuckDB file or a "
        "postgresql:// URL. Default: the data last loaded into the warehouse.",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        parser=date_of("--as-of"),
        help="Cutoff date (default: the day after the last order).",
    ),
]


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="duckdb (this machine, the warehouse) or spark (the `spark` extra and Java 17; "
        "--data is then a folder of Parquet tables in the data contract, or spark:DATABASE, "
        "and --out a Parquet folder or spark:DB.TABLE).",
    ),
]
HorizonOpt = Annotated[
    int | None,
    typer.Option("--horizon-days", help=f"Churn horizon in days (default {DEFAULT_HORIZON_DAYS})."),
]


def settings_with(**overrides: Any) -> Settings:
    """The one settings object: options given here override environment and retain.toml."""
    return load_settings(**overrides)


def done(message: str) -> None:
    """The last line of every command: what it wrote where."""
    console.print(f"[bold green]done[/] {message}")


def show_load(loaded: Loaded) -> None:
    """`rows read = used + set aside` per table, the reasons, and where the rejects are."""
    from pipelines.ingest.load import WARN_SET_ASIDE_SHARE, set_aside_share

    for report in loaded.reports:
        console.print(f"  {report.line()}")
        for reason, n in report.set_aside_by_reason.items():
            console.print(f"    {n:,} x {reason}")
        if set_aside_share(report) > WARN_SET_ASIDE_SHARE:
            console.print(
                f"  [yellow]warning:[/] {set_aside_share(report):.1%} of {report.table} set "
                "aside; the rows and reasons are in the rejects file"
            )
    if loaded.rejects_path is not None:
        console.print(
            f"  [yellow]{loaded.rejects:,} rows set aside, with reasons:[/] {loaded.rejects_path}"
        )


@contextlib.contextmanager
def warehouse(
    settings: Settings, data: str | None, before_load: Callable[[], None] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB warehouse, (re)loaded from `data` when given; `before_load` runs once the
    warehouse is held and before any data is read (a check that saves a long load)."""
    from pipelines.ingest.load import check_usable, load
    from pipelines.warehouse import has_table

    home = Home.of(settings)
    con = home.open_warehouse(settings.duckdb_memory_limit)
    try:
        if before_load is not None:
            before_load()
        if data is not None:
            with console.status(f"reading and validating {data}"):
                loaded = load(con, data, settings)
            show_load(loaded)
            check_usable(loaded, settings)
        elif not has_table(con, "orders"):
            raise InputError(str(home.warehouse), "no data loaded yet; pass --data SRC")
        yield con
    finally:
        con.close()


def as_of_or_end(con: duckdb.DuckDBPyConnection, as_of: str | None) -> pd.Timestamp:
    """The given cutoff, or the day after the last order."""
    from features.cutoffs import to_timestamp
    from pipelines.warehouse import data_end

    return to_timestamp(as_of) if as_of else data_end(con)


def print_metrics(metrics: dict[str, dict[str, Any]], title: str) -> None:
    """Scorers side by side, one metric per row."""
    table = Table(title=title)
    table.add_column("metric")
    for who in metrics:
        table.add_column(who, justify="right")
    for name in next(iter(metrics.values())):
        cells = (values.get(name) for values in metrics.values())
        table.add_row(name, *("-" if v is None else f"{v:.4f}" for v in cells))
    console.print(table)


def on_spark(settings: Settings, job: str, data: str | None, out: str, **options: Any) -> None:
    """Run a `features` or `score` job on Spark (pipelines.scoring.spark_job.SparkRun), or say
    in one line what is missing for it (exit 2)."""
    if not data or not out:
        raise InputError(
            "--engine spark", "give --data (Parquet folder or spark:DATABASE) and --out"
        )
    try:
        from pipelines.scoring.spark_job import SparkRun, run
        from pipelines.spark import check_source
    except ImportError as exc:
        raise InputError(
            "--engine spark",
            f"{exc.name} is missing: install the spark extra (make spark, or pip install 'retain[spark]')",
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise InputError(
            "--engine spark", "Spark needs Java 17: install openjdk-17-jre-headless (make java)"
        )
    check_source(data)
    with console.status(f"{job} on Spark"):
        written = run(SparkRun(job, data, out, **options), settings)
    done(f"wrote {written}")
