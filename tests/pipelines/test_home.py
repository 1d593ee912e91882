"""RETAIN_HOME's layout and its readers: one module knows where each handed-over file lives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.home import WAREHOUSE_BUSY, Home, WarehouseBusy
from pipelines.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_home_follows_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "h"))
    home = Home.of(load_settings())
    assert home.warehouse == tmp_path / "h" / "warehouse.duckdb"
    assert home.scores == tmp_path / "h" / "scores" / "latest.parquet"
    assert home.lookup_pointer.parent == home.scores.parent
    assert home.saved_list("q4", ".json") == tmp_path / "h" / "lists" / "q4.json"
    assert home.resolved().root.is_absolute()


def test_missing_files_name_the_command_that_makes_them(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with pytest.raises(InputError, match="run `retain score` first"):
        home.read_scores()
    with pytest.raises(InputError, match="run `retain train` first"):
        home.read_reference()
    assert home.read_monitor_report() == {} and home.current_lookup() is None


def test_readers_read_back_what_was_written(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.scores.parent.mkdir(parents=True)
    pd.DataFrame({"customer_id": ["a"], "churn_probability": [0.25]}).to_parquet(home.scores)
    assert home.read_scores(["churn_probability"]).iloc[0, 0] == 0.25
    home.monitor_report.parent.mkdir(parents=True)
    home.monitor_report.write_text('{"decision": "ok"}')
    assert home.read_monitor_report() == {"decision": "ok"}


def test_a_writer_elsewhere_makes_writers_stop_and_readers_wait(tmp_path: Path) -> None:
    """DuckDB's file lock: while another process writes, a second writer stops with the one
    line, and a reader gets WarehouseBusy (the pages say "unavailable right now")."""
    Home(tmp_path).open_warehouse("256MB").close()
    holder = (
        "import sys; from pathlib import Path; from pipelines.home import Home; "
        f"con = Home(Path({str(tmp_path)!r})).open_warehouse('256MB'); "
        "print('held', flush=True); sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == b"held"
        with pytest.raises(WarehouseBusy, match=WAREHOUSE_BUSY):
            Home(tmp_path).open_warehouse("256MB")
        with (
            pytest.raises(WarehouseBusy, match="unavailable right now"),
            Home(tmp_path).reading_warehouse(),
        ):
            pass
        proc.stdin.close()
    with Home(tmp_path).reading_warehouse() as con:  # the writer ended: readers read
        assert con.execute("SELECT 1").fetchone() == (1,)
