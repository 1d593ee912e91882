"""Order lines as retail exports bring them (invoice lines, credit notes, guest orders),
mapped to the `order_lines` table: validated, orders derived, features checked against an
independent computation from the raw lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.frame import build_frame
from features.lines import derive_orders
from models.scorer import VALUE_METHODS, expected_value
from pipelines.ingest.sources import load_source
from pipelines.marketing.lists import Selection, build_list
from pipelines.settings import load_settings
from pipelines.warehouse import connect, first_row
from tests.cli_helpers import run_main

RETAIL_TOML = """
[input]
tables = { order_lines = "retail" }
timestamp_formats = ["%m/%d/%Y %H:%M"]
credit_note_pattern = "^C"

[input.columns.order_lines]
InvoiceNo = "order_id"
StockCode = "product_id"
Quantity = "quantity"
InvoiceDate = "ordered_at"
UnitPrice = "unit_price"
CustomerID = "customer_id"
"""
AS_OF = pd.Timestamp("2011-06-01")


def retail_export(seed: int = 0, invoices: int = 60) -> pd.DataFrame:
    """An export shaped like a UK online retailer's: 2-5 lines per invoice, shuffled through
    the file, guest invoices without CustomerID, credit notes ('C' + negative quantities),
    one invoice with a returned line, one line exported twice."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(invoices):
        customer = "" if i % 10 == 9 else f"{12000 + i % 7}.0"
        day = pd.Timestamp("2011-01-03") + pd.Timedelta(days=int(rng.integers(0, 140)))
        when = day + pd.Timedelta(minutes=int(rng.integers(480, 1080)))
        credit = i % 12 == 5
        invoice = f"C{560000 + i}" if credit else str(560000 + i)
        for k in range(int(rng.integers(2, 6))):
            quantity = int(rng.integers(1, 13)) * (-1 if credit else 1)
            if i == 20 and k == 0:
                quantity = -2  # a returned line inside a sale
            rows.append(
                {
                    "InvoiceNo": invoice,
                    "StockCode": f"P{int(rng.integers(10, 40))}",
                    "Description": "A THING",
                    "Quantity": quantity,
                    "InvoiceDate": f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}",
                    "UnitPrice": round(float(rng.uniform(0.5, 9.0)), 2),
                    "CustomerID": customer,
                    "Country": "United Kingdom",
                }
            )
    rows += _fully_credited("13000.0", "3/2/2011 10:00", "3/2/2011 16:30")
    frame = pd.DataFrame(rows)
    frame = pd.concat([frame, frame.iloc[[3]]])  # one line exported twice
    twin = frame.iloc[[4]].assign(Description="ANOTHER THING")  # equal but for an unmapped column
    frame = pd.concat([frame, twin])
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def _fully_credited(customer: str, bought: str, credited: str) -> list[dict[str, object]]:
    """A big invoice and the credit note that refunds all of it the same day."""
    lines = [("P90", 400, 120.0), ("P91", 50, 583.66)]
    return [
        {
            "InvoiceNo": invoice,
            "StockCode": code,
            "Description": "BIG ORDER",
            "Quantity": sign * quantity,
            "InvoiceDate": when,
            "UnitPrice": price,
            "CustomerID": customer,
            "Country": "United Kingdom",
        }
        for invoice, sign, when in (("570001", 1, bought), ("C570001", -1, credited))
        for code, quantity, price in lines
    ]


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    (tmp_path / "retail.toml").write_text(RETAIL_TOML)
    (tmp_path / "data").mkdir()
    raw = retail_export()
    raw.to_csv(tmp_path / "data" / "retail.csv", index=False)
    return raw


def _use(toml: str) -> None:
    Path("retain.toml").write_text(toml)


def expected_per_customer(raw: pd.DataFrame) -> pd.DataFrame:
    """orders_total and spend_total from the raw lines, by hand: a sale is an invoice's
    positive lines (not a credit note), its amount their quantity x price."""
    lines = raw.drop_duplicates()
    lines = lines[lines["CustomerID"].fillna("").astype(str) != ""]
    stamp = pd.to_datetime(lines["InvoiceDate"], format="%m/%d/%Y %H:%M")
    sold = lines[
        ~lines["InvoiceNo"].str.startswith("C") & (lines["Quantity"] > 0) & (stamp < AS_OF)
    ]
    per_invoice = (
        sold.assign(value=sold["Quantity"] * sold["UnitPrice"])
        .groupby(["CustomerID", "InvoiceNo"])["value"]
        .sum()
    )
    return per_invoice.groupby(level=0).agg(orders_total="count", spend_total="sum")


def test_lines_validate_and_derive_one_order_per_invoice(export: pd.DataFrame) -> None:
    _use(RETAIL_TOML)
    con = connect()
    reports = {r.table: r for r in load_source(con, "data", load_settings().input)}
    lines = reports["order_lines"]
    assert lines.read == len(export) and lines.reconciles
    guests = int((export["CustomerID"] == "").sum())
    assert lines.set_aside_by_reason == {
        "no customer id (guest order)": guests,
        "exact duplicate": 1,
    }
    orders = con.execute("SELECT * FROM orders").df().set_index("order_id")
    usable = export[export["CustomerID"] != ""].drop_duplicates()
    sales = usable[~usable["InvoiceNo"].str.startswith("C") & (usable["Quantity"] > 0)]
    for invoice, its in sales.groupby("InvoiceNo"):
        key = (
            f"{invoice}/completed" if (usable["InvoiceNo"] == invoice).sum() > len(its) else invoice
        )
        assert orders.loc[key, "status"] == "completed"
        assert orders.loc[key, "amount"] == pytest.approx(
            (its["Quantity"] * its["UnitPrice"]).sum()
        )
        first = pd.to_datetime(its["InvoiceDate"], format="%m/%d/%Y %H:%M").min()
        assert orders.loc[key, "ordered_at"] == first
    credits = orders[orders.index.str.startswith("C")]
    assert (
        len(credits) and (credits["status"] == "returned").all() and (credits["amount"] > 0).all()
    )
    assert orders.loc["560020/returned", "status"] == "returned"  # the returned line of a sale
    assert "derived from" in reports["orders"].line()


def test_features_match_an_independent_computation_from_the_lines(export: pd.DataFrame) -> None:
    _use(RETAIL_TOML)
    con = connect()
    load_source(con, "data", load_settings().input)
    got = build_frame(con, [AS_OF], 365).set_index("customer_id").sort_index()
    want = expected_per_customer(export).sort_index()
    assert list(got.index) == list(want.index)
    assert (got["orders_total"] == want["orders_total"]).all()
    np.testing.assert_allclose(got["spend_total"], want["spend_total"], rtol=1e-9)
    assert (got["returns_total"] > 0).any()  # credit notes count as returns, never purchases


def _validate(monkeypatch, capsys) -> tuple[int, str]:
    code, out = run_main(monkeypatch, capsys, "validate", "--data", "data")
    return code, " ".join(out.split())


def test_validate_reports_lines_and_guest_orders(export, monkeypatch, capsys) -> None:
    _use(RETAIL_TOML)
    code, out = _validate(monkeypatch, capsys)
    assert code == 0, out
    assert f"order_lines: rows read {len(export):,}" in out and "derived from" in out
    assert "guest orders" in out and "cannot be scored" in out


def test_the_same_export_mapped_as_orders_is_refused_naming_order_lines(
    export, monkeypatch, capsys
) -> None:
    as_orders = RETAIL_TOML.replace("order_lines", "orders").replace(
        'UnitPrice = "unit_price"', 'UnitPrice = "amount"'
    )
    as_orders = as_orders.replace('StockCode = "product_id"\n', "").replace(
        'Quantity = "quantity"\n', ""
    )
    _use(as_orders.replace('credit_note_pattern = "^C"\n', ""))
    code, out = _validate(monkeypatch, capsys)
    assert code == 2, out
    assert "these look like order lines" in out and "order_lines" in out and "retail.csv" in out


def test_orders_and_order_lines_together_are_refused(export, tmp_path, monkeypatch, capsys):
    _use(RETAIL_TOML)
    (tmp_path / "data" / "orders.csv").write_text(
        "order_id,customer_id,ordered_at\no1,c1,2024-01-01\n"
    )
    code, out = _validate(monkeypatch, capsys)
    assert code == 2 and "not both" in out


def test_lines_equal_but_for_an_unmapped_column_are_both_kept(export: pd.DataFrame) -> None:
    """Only a line equal in every column of the raw row, mapped or not, is a duplicate."""
    _use(RETAIL_TOML)
    con = connect()
    load_source(con, "data", load_settings().input)
    twin = export[export["Description"] == "ANOTHER THING"].iloc[0]
    same = (export["InvoiceNo"] == twin["InvoiceNo"]) & (export["StockCode"] == twin["StockCode"])
    same &= (export["Quantity"] == twin["Quantity"]) & (export["UnitPrice"] == twin["UnitPrice"])
    kept = con.execute(
        "SELECT count(*) FROM order_lines WHERE order_id = ? AND product_id = ? AND quantity = ?",
        [twin["InvoiceNo"], twin["StockCode"], float(twin["Quantity"])],
    ).fetchall()[0][0]
    assert kept == int(same.sum()) - int(export[same].duplicated().sum())
    assert kept >= 2


def test_value_is_net_of_refunds_and_a_fully_credited_customer_has_none_at_risk(
    export: pd.DataFrame,
) -> None:
    """Net spend per customer equals the raw lines' signed sum (sales minus credit notes and
    returned lines); the customer credited all they bought is worth 0 and is on no risk list."""
    _use(RETAIL_TOML)
    con = connect()
    load_source(con, "data", load_settings().input)
    got = build_frame(con, [AS_OF], 365).set_index("customer_id").sort_index()
    lines = export.drop_duplicates()
    lines = lines[lines["CustomerID"] != ""]
    signed = (lines["Quantity"] * lines["UnitPrice"]).groupby(lines["CustomerID"]).sum()
    want = signed.clip(lower=0).reindex(got.index)
    np.testing.assert_allclose(got["net_spend_total"], want, rtol=1e-9, atol=1e-9)
    credited = got.loc["13000.0"]
    assert credited["spend_total"] == pytest.approx(77_183) and credited["net_spend_total"] == 0
    frame = got.reset_index().assign(bgnbd_expected_orders=12.3)
    for method in VALUE_METHODS:
        value = expected_value(frame, method, 90)
        assert value[frame["customer_id"] == "13000.0"][0] == 0
    scores = frame[["customer_id"]].assign(
        churn_probability=0.06, value_at_risk=0.06 * expected_value(frame, "spend_rate", 90)
    )
    listed = build_list(scores, "l1", Selection(top=1_000), control_share=0.1)
    assert "13000.0" not in set(listed["customer_id"])
    assert len(listed) == int((scores["value_at_risk"] > 0).sum())


def test_profile_counts_completed_orders_and_dates_the_data_not_the_run(
    export, tmp_path, monkeypatch, capsys
) -> None:
    """'orders each' counts completed orders only (returns apart); quality.json carries the
    data's as-of (its last order's day) and the run date separately."""
    _use(RETAIL_TOML)
    report = tmp_path / "quality.json"
    code, out = run_main(monkeypatch, capsys, "validate", "--data", "data", "--report", str(report))
    assert code == 0, out
    profile = json.loads(report.read_text())["profile"]
    orders = profile["orders"]
    completed = orders["status_counts"]["completed"]
    assert orders["completed_orders"] == completed
    assert orders["orders_per_customer"] == round(completed / orders["customers"], 3)
    assert orders["status_counts"]["returned"] > 0
    assert profile["as_of"] == pd.Timestamp(orders["last_ordered_at"]).date().isoformat()
    assert profile["as_of"] < "2012-01-01" and profile["run_date"] > "2025-01-01"
    assert f"{orders['orders_per_customer']} completed orders each" in " ".join(out.split())


def test_orders_derive_from_many_lines_within_a_small_memory_limit() -> None:
    """3M lines (1M orders, a return line in every 50th) under a 60 MB DuckDB limit: deriving
    the orders spills to disk instead of failing (a window over the orders did not: a 76M-line
    export failed to load at the default 2 GB)."""
    con = connect()
    con.execute(
        "CREATE TABLE order_lines AS SELECT 'O' || lpad((i // 3)::VARCHAR, 9, '0') AS order_id, "
        "'C' || (i // 30)::VARCHAR AS customer_id, TIMESTAMP '2024-01-01' + to_seconds(i) "
        "AS ordered_at, 'cat' || (i % 7)::VARCHAR AS category, 1.0 AS quantity, "
        "2.5 AS unit_price, CAST(NULL AS DOUBLE) AS line_amount, CASE WHEN i % 50 = 0 "
        "THEN 'returned' ELSE 'completed' END AS status, 'web' AS channel, "
        "CAST(NULL AS DOUBLE) AS discount_amount FROM range(3000000) t(i)"
    )
    con.execute("SET memory_limit = '60MB'")
    derive_orders(con, None, "derived")
    split, returned = first_row(
        con, "SELECT count(*) FILTER (WHERE order_id LIKE '%/%'), count(*) FILTER (WHERE status "
        "= 'returned') FROM derived",
    )  # fmt: skip
    assert con.execute("SELECT count(*) FROM derived").fetchone() == (1_060_000,)
    assert (split, returned) == (120_000, 60_000)  # each mixed order: a part per status


def test_two_million_lines_load_within_a_small_memory_limit(tmp_path: Path) -> None:
    """Validation's duplicate checks over 2M lines under a 60 MB DuckDB limit: aggregates and
    joins that spill, not windows over every line (a 10M-customer export with categories failed
    to load at the default 2 GB)."""
    con = connect()
    (tmp_path / "order_lines").mkdir()
    con.execute(
        "COPY (SELECT 'O' || lpad((i // 3)::VARCHAR, 9, '0') AS order_id, "
        "'C' || (i // 30)::VARCHAR AS customer_id, TIMESTAMP '2024-01-01' + to_seconds(i) "
        "AS ordered_at, 'P' || (i % 97)::VARCHAR AS product_id, 'cat' || (i % 7)::VARCHAR "
        "AS category, 1.0 AS quantity, 2.5 AS unit_price, 'completed' AS status "
        f"FROM range(2000000) t(i)) TO '{tmp_path}/order_lines/part-0.parquet' (FORMAT parquet)"
    )
    con.execute("SET memory_limit = '60MB'")
    load_source(con, tmp_path)
    assert first_row(con, "SELECT count(*) FROM orders") == (666_667,)
