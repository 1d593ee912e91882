"""Converters from public benchmark formats into the data contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.errors import InputError

CDNOW_COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]


@dataclass
class Imported:
    """Converted orders and the accounting: lines read = orders + merged + skipped."""

    orders: pd.DataFrame
    lines_read: int
    merged_same_day: int
    skipped: pd.DataFrame  # unusable lines with their line number and reason


def read_cdnow(path: Path) -> Imported:
    """CDNOW master (Fader & Hardie) as an `orders` table.

    The file is whitespace-separated: customer id, date (YYYYMMDD), CDs, dollars, with or
    without a header line. Rows of one customer on one day are merged into one order (the
    BTYD convention: the file has no order ids and same-day rows are parts of one visit).
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
    orders = pd.DataFrame(
        good.groupby(["customer_id", "ordered_at"], as_index=False)["amount"].sum()
    )
    orders.insert(
        0, "order_id", orders["customer_id"] + "-" + orders["ordered_at"].dt.strftime("%Y%m%d")
    )
    orders["status"] = "completed"
    return Imported(
        orders=orders.sort_values(["ordered_at", "customer_id"]).reset_index(drop=True),
        lines_read=len(body),
        merged_same_day=len(good) - len(orders),
        skipped=skipped,
    )
