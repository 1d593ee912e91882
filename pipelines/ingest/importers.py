"""Converters from public benchmark formats into the data contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.schema import COMPLETED_STATUS
from pipelines.errors import InputError
from pipelines.files import write_table

CDNOW_COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]


@dataclass
class Imported:
    """Converted orders and the accounting: lines read = orders + merged + skipped."""

    orders: pd.DataFrame
    lines_read: int
    merged_same_day: int
    skipped: pd.DataFrame  # unusable lines with their line number and reason


def read_cdnow(path: Path, merge_same_day: bool = False) -> Imported:
    """CDNOW master (Fader & Hardie) as an `orders` table.

    The file is whitespace-separated: customer id, date (YYYYMMDD), CDs, dollars, with or
    without a header line, and has no order ids. By default every line is an order, as a
    user would bring it: its id is customer-date-n, n numbering the distinct (CDs, dollars)
    contents of that customer's day, so identical lines share an id and validation collapses
    them as exact duplicates (255 in the master file). `merge_same_day` sums one customer's
    lines of one day into one order instead (the BTYD convention: parts of one visit).
    """
    try:
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=CDNOW_COLUMNS, dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(path), f"cannot be read as the CDNOW format: {exc}") from exc
    first_is_header = len(raw) > 0 and not str(raw.iloc[0]["date"]).isdigit()
    body = raw.iloc[1:] if first_is_header else raw
    if body.empty:
        raise InputError(
            str(path), "has no records; expected lines 'customer_id YYYYMMDD cds dollars'"
        )
    ordered = pd.to_datetime(body["date"], format="%Y%m%d", errors="coerce")
    amount = pd.to_numeric(body["dollar_value"], errors="coerce")
    bad = ordered.isna() | amount.isna() | (amount < 0) | body["customer_id"].isna()
    if bad.all():
        raise InputError(
            str(path), "no line has a YYYYMMDD date and a dollar amount", column="date"
        )
    skipped = body[bad].assign(
        line=body.index[bad] + 1, reason="expected customer_id YYYYMMDD cds dollars>=0"
    )
    good = pd.DataFrame(
        {"customer_id": body["customer_id"], "ordered_at": ordered, "amount": amount}
    )[~bad]
    day_id = good["customer_id"] + "-" + good["ordered_at"].dt.strftime("%Y%m%d")
    if merge_same_day:
        orders = pd.DataFrame(
            good.assign(order_id=day_id)
            .groupby(["order_id", "customer_id", "ordered_at"], as_index=False)["amount"]
            .sum()
        )
    else:
        content = (
            body["number_of_cds"][~bad].str.strip() + "/" + body["dollar_value"][~bad].str.strip()
        )
        n = content.groupby(day_id).rank(method="dense").astype(int)
        orders = good.assign(order_id=day_id + "-" + n.astype(str))[
            ["order_id", "customer_id", "ordered_at", "amount"]
        ]
    orders["status"] = COMPLETED_STATUS
    return Imported(
        orders=orders.sort_values(["ordered_at", "customer_id"]).reset_index(drop=True),
        lines_read=len(body),
        merged_same_day=len(good) - len(orders),
        skipped=skipped,
    )


def import_cdnow(path: Path, out: Path, merge_same_day: bool = False) -> Imported:
    """`read_cdnow`, written as `out/orders.parquet` (and the skipped lines beside it)."""
    imported = read_cdnow(path, merge_same_day)
    write_table(imported.orders, out / "orders.parquet")
    if len(imported.skipped):
        write_table(imported.skipped, out / "skipped_lines.csv")
    return imported
