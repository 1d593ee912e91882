"""CDNOW import: the public benchmark's format into the contract, with accounting."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.ingest.importers import read_cdnow
from pipelines.ingest.sources import load_source
from pipelines.warehouse import connect

SAMPLE = """ customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00002 19970328  4   20.76
 00003 1997xx01  1    5.00
"""
# Line 4 repeats line 3 exactly: an exact duplicate for validation to collapse.
WITH_COPY = SAMPLE.replace(" 00002 19970328", " 00002 19970112  5   77.00\n 00002 19970328")


def test_every_line_is_an_order_and_identical_lines_share_an_id(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    path.write_text(WITH_COPY)
    got = read_cdnow(path)
    assert (got.lines_read, len(got.orders), got.merged_same_day, len(got.skipped)) == (6, 5, 0, 1)
    ids = got.orders.sort_values(["order_id", "amount"])["order_id"].tolist()
    assert ids == [
        "00001-19970101-1",
        "00002-19970112-1",
        "00002-19970112-2",
        "00002-19970112-2",
        "00002-19970328-1",
    ]
    got.orders.to_parquet(tmp_path / "orders.parquet")
    (tmp_path / "orders.txt").unlink()
    con = connect()
    (report,) = load_source(con, tmp_path)
    assert (report.read, report.used, report.duplicates_collapsed) == (5, 4, 1)
    assert report.reconciles


def test_same_day_rows_merge_and_bad_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "cdnow.txt"
    path.write_text(SAMPLE)
    got = read_cdnow(path, merge_same_day=True)
    assert got.lines_read == 5
    assert (len(got.orders), got.merged_same_day, len(got.skipped)) == (3, 1, 1)
    assert got.lines_read == len(got.orders) + got.merged_same_day + len(got.skipped)
    merged = got.orders.set_index("order_id").loc["00002-19970112"]
    assert merged["amount"] == pytest.approx(89.0)
    assert merged["ordered_at"] == pd.Timestamp("1997-01-12")
    assert set(got.orders["status"]) == {"completed"}


def test_not_cdnow_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello world\nfoo bar\n")
    with pytest.raises(InputError, match=r"x\.txt"):
        read_cdnow(path)
