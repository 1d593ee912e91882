"""Bad rows are set aside with a reason; unusable tables stop with a named error."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.ingest.sources import load_frames, load_source
from pipelines.warehouse import connect

ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "amount", "status"]


def _orders(rows):
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def _validate(orders, complaints=None):
    con = connect()
    frames = {"orders": orders}
    if complaints is not None:
        frames["complaints"] = complaints
    reports = {r.table: r for r in load_frames(con, frames)}
    rejects = con.execute(
        "SELECT table_name, row, column_name, value, reason FROM rejects ORDER BY row"
    ).df()
    return con, reports, rejects


def test_bad_rows_are_set_aside_with_reason_and_counts_reconcile():
    orders = _orders(
        [
            ("o1", "c1", "2024-01-01", "10", "completed"),
            ("o2", "", "2024-01-02", "10", "completed"),
            ("o3", "c1", "2024-02-31", "10", "completed"),
            ("o4", "c1", "2024-01-04", "-5", "completed"),
            ("o5", "c1", "2024-01-05", "ten", "completed"),
            ("o6", "c1", "2024-01-06", "-5", "returned"),
            ("o7", "c1", "2024-01-07", "10", "lost"),
        ]
    )
    con, reports, rejects = _validate(orders)
    report = reports["orders"]
    assert (report.read, report.used, report.set_aside) == (7, 2, 5)
    assert report.reconciles
    assert rejects["reason"].tolist() == [
        "no customer id (guest order)",
        "unparseable ordered_at: expected a date or timestamp such as 2024-03-01 or 2024-03-01T10:15:00+01:00",
        "negative amount on a completed order",
        "unparseable amount: expected a number such as 12.50",
        "unknown status: expected one of completed, returned, cancelled",
    ]
    assert rejects["row"].tolist() == [2, 3, 4, 5, 7]
    assert rejects.loc[1, "column_name"] == "ordered_at"
    assert rejects.loc[1, "value"] == "2024-02-31"
    assert sorted(con.execute("SELECT order_id FROM orders").fetchall()) == [("o1",), ("o6",)]


def test_exact_duplicates_collapse_and_conflicting_ids_are_set_aside():
    orders = _orders(
        [
            ("o1", "c1", "2024-01-01", "10", "completed"),
            ("o1", "c1", "2024-01-01", "10", "completed"),
            ("o2", "c1", "2024-01-02", "10", "completed"),
            ("o2", "c1", "2024-01-02", "99", "completed"),
        ]
    )
    _, reports, _ = _validate(orders)
    report = reports["orders"]
    assert (report.used, report.set_aside, report.duplicates_collapsed) == (1, 3, 1)
    assert report.set_aside_by_reason == {
        "duplicate order_id with different content": 2,
        "exact duplicate": 1,
    }


def test_resolved_before_opened_is_set_aside():
    orders = _orders([("o1", "c1", "2024-01-01", "10", "completed")])
    complaints = pd.DataFrame(
        [("k1", "c1", "2024-01-05", "2024-01-03"), ("k2", "c1", "2024-01-05", None)],
        columns=["complaint_id", "customer_id", "opened_at", "resolved_at"],
    )
    _, reports, rejects = _validate(orders, complaints)
    assert reports["complaints"].used == 1
    assert rejects["reason"].tolist() == ["resolved_at before opened_at"]


def test_timestamps_with_offsets_are_stored_in_utc():
    orders = _orders([("o1", "c1", "2024-01-01T10:00:00+02:00", "10", "completed")])
    con, _, _ = _validate(orders)
    assert con.execute("SELECT ordered_at FROM orders").fetchone()[0] == pd.Timestamp(
        "2024-01-01 08:00"
    )


def test_missing_required_column_names_file_and_column(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,customer_id,amount\no1,c1,10\n")
    with pytest.raises(InputError) as err:
        load_source(connect(), tmp_path)
    assert "orders.csv" in str(err.value)
    assert "'ordered_at'" in str(err.value)


def test_whole_column_of_wrong_type_stops(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\no1,c1,yesterday,10\no2,c1,today,10\n"
    )
    with pytest.raises(InputError, match="column 'ordered_at': no value parses"):
        load_source(connect(), tmp_path)


def test_missing_orders_table_is_named(tmp_path):
    with pytest.raises(InputError, match=r"required table 'orders' \(or 'order_lines'\) not found"):
        load_source(connect(), tmp_path)


def test_folder_without_complaints_still_loads(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,10\n"
    )
    con = connect()
    reports = load_source(con, tmp_path)
    assert [r.table for r in reports] == ["orders"]
    assert con.execute("SELECT count(*) FROM complaints").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2024-01-01 10:00:00", "2024-01-01 10:00"),  # the common naive shape (no regex)
        ("2024-01-01T10:00:00", "2024-01-01 10:00"),
        ("2024-01-01", "2024-01-01 00:00"),
        ("2024-01-01 10:00:00.250", "2024-01-01 10:00:00.250"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01 08:00"),
        ("2024-01-01T10:00:00Z", "2024-01-01 10:00"),
        ("2024-01-01 10:00:00-0500", "2024-01-01 15:00"),
        ("2024-01-01 10:00:00-05", "2024-01-01 15:00"),
        ("2024-01-01T10:00+02", "2024-01-01 08:00"),  # 19 characters, yet not the naive shape
        ("2024-01-01 10:00:00 Europe/Paris", "2024-01-01 09:00"),  # a zone name is kept too
        ("2024-01-01 10:00:00 EST5EDT", "2024-01-01 15:00"),  # digits inside a zone name
        ('" 2024-01-01 10:00:00+02:00 "', "2024-01-01 08:00"),  # spaces around
    ],
)
def test_csv_timestamps_in_every_shape_are_stored_in_utc(tmp_path, written, utc):
    (tmp_path / "orders.csv").write_text(
        f"order_id,customer_id,ordered_at,amount\no1,c1,{written},10\n"
    )
    con = connect()
    (report,) = load_source(con, tmp_path)
    assert report.used == 1
    assert con.execute("SELECT ordered_at FROM orders").fetchone()[0] == pd.Timestamp(utc)


def test_ids_are_trimmed_and_blank_ids_are_empty(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n"
        'o1, c1 ,2024-01-01,10\n o2,c1,2024-01-02,10\no3,"  ",2024-01-03,10\no4,"",2024-01-04,10\n'
    )
    con = connect()
    (report,) = load_source(con, tmp_path)
    assert con.execute("SELECT order_id, customer_id FROM orders ORDER BY 1").fetchall() == [
        ("o1", "c1"),
        ("o2", "c1"),
    ]
    assert report.set_aside_by_reason == {"no customer id (guest order)": 2}


ROWS_WITH_DUPLICATES = [
    ("o1", "c1", "2024-01-01", "10", "completed"),
    ("o2", "c1", "2024-01-02", "10", "completed"),
    ("o2", "c1", "2024-01-02", "10", "completed"),  # an exact copy
    ("o3", "c1", "2024-01-03", "10", "completed"),
    ("o3", "c1", "2024-01-03", "99", "completed"),  # a conflict
    ("o4", "c1", "2024-01-04", "10", "completed"),
]


@pytest.mark.parametrize("order", ["sorted", "reversed", "shuffled"])
def test_duplicates_are_found_whatever_the_order_of_ids(order):
    """Ids in strictly monotonic order skip the uniqueness aggregation: sorted ids with
    adjacent repeats must still take it."""
    rows = {
        "sorted": ROWS_WITH_DUPLICATES,
        "reversed": ROWS_WITH_DUPLICATES[::-1],
        "shuffled": [ROWS_WITH_DUPLICATES[i] for i in (3, 0, 5, 2, 4, 1)],
    }[order]
    con, reports, _ = _validate(_orders(rows))
    assert reports["orders"].set_aside_by_reason == {
        "duplicate order_id with different content": 2,
        "exact duplicate": 1,
    }
    assert sorted(con.execute("SELECT order_id FROM orders").fetchall()) == [
        ("o1",),
        ("o2",),
        ("o4",),
    ]


@pytest.mark.parametrize("ids", [["o1", "o2", "o3"], ["o3", "o2", "o1"], ["o2", "o3", "o1"]])
def test_distinct_ids_in_any_order_are_all_used(ids):
    rows = [(i, "c1", "2024-01-01", "10", "completed") for i in ids]
    _, reports, _ = _validate(_orders(rows))
    assert (reports["orders"].used, reports["orders"].set_aside) == (3, 0)
