"""One fixture set of tiny, hand-checkable tables (dates chosen around cutoff 2024-03-01)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from pipelines.ingest.sources import load_frames
from pipelines.warehouse import connect

# CI replays a fixed set of examples (a red build must be reproducible); locally they vary.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
# `make test-fast` (pytest --hypothesis-profile=fast): the properties on fewer examples each;
# a test that asks for N examples takes min(N, the profile's) (tests.conftest.examples).
hypothesis_settings.register_profile("fast", max_examples=10)


def _spark_missing() -> str | None:
    """Why the Spark tests cannot run here, or None when they can."""
    import importlib.util
    import shutil

    if any(importlib.util.find_spec(m) is None for m in ("pyspark", "sqlglot")):
        return "the spark extra is not installed (make spark)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Spark needs Java 17 (make java)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `spark` are skipped, with the reason, where Spark cannot run."""
    if (reason := _spark_missing()) is not None:
        for item in items:
            if item.get_closest_marker("spark"):
                item.add_marker(pytest.mark.skip(reason=reason))


def examples(wanted: int) -> int:
    """`wanted` examples, or fewer when the loaded profile allows fewer (the fast set)."""
    return min(wanted, hypothesis_settings.default.max_examples)


CUTOFF = pd.Timestamp("2024-03-01")
DATA_END = pd.Timestamp("2024-07-01")


@dataclass
class Tiny:
    orders: pd.DataFrame
    complaints: pd.DataFrame


def tiny_tables() -> Tiny:
    orders = pd.DataFrame(
        [
            ("o1", "c1", "2024-01-01", 10.0, "completed"),
            ("o2", "c1", "2024-02-01", 20.0, "completed"),
            ("o3", "c1", "2024-02-21", 30.0, "completed"),
            ("o4", "c1", "2024-03-01 00:00:00", 40.0, "completed"),  # at the cutoff: excluded
            ("o5", "c2", "2023-12-15", 100.0, "completed"),
            ("o6", "c2", "2024-02-15", 50.0, "returned"),  # not a completed order
            ("o7", "c3", "2022-06-01", 5.0, "completed"),  # lapsed at the cutoff
            ("o8", "c2", "2024-04-10", 60.0, "completed"),  # after the cutoff: label only
            ("o9", "c4", "2024-01-20", 25.0, "completed"),  # c4 never orders again
        ],
        columns=["order_id", "customer_id", "ordered_at", "amount", "status"],
    )
    complaints = pd.DataFrame(
        [
            ("k1", "c1", "2024-02-10", "2024-03-05"),  # resolved after the cutoff: open
            ("k2", "c1", "2023-11-01", "2023-11-03"),
            ("k3", "c2", "2024-02-20", None),
        ],
        columns=["complaint_id", "customer_id", "opened_at", "resolved_at"],
    )
    return Tiny(orders=orders, complaints=complaints)


@pytest.fixture
def tiny() -> Tiny:
    return tiny_tables()


def connect_tables(
    orders: pd.DataFrame, complaints: pd.DataFrame | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding validated copies of the given tables."""
    con = connect()
    frames = {"orders": orders}
    if complaints is not None:
        frames["complaints"] = complaints
    load_frames(con, frames)
    return con


@pytest.fixture
def tiny_con(tiny: Tiny) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect_tables(tiny.orders, tiny.complaints)
    yield con
    con.close()


@pytest.fixture(scope="session")
def lines_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with generated order lines with categories (3,000 customers, `data/`) and a home
    (`home/`) where they are trained and scored: the category tests share it (set
    `tests.cli_helpers.own_home` to it in the test)."""
    from tests.cli_helpers import own_home, run_ok

    root = tmp_path_factory.mktemp("categories")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    data = str(root / "data")
    try:
        run_ok("generate", "--out", data, "--customers", "3000", "--seed", "2", "--lines")
        run_ok("train", "--data", data)
        root.joinpath("scored.txt").write_text(run_ok("score"))
    finally:
        mp.undo()
    return root
