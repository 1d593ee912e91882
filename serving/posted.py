"""Posted histories that validation would take as they are, recognised without DuckDB.

Validation (pipelines.ingest.validate) is the reference: it parses, sets rows aside and
collapses duplicates. Most posted histories need none of that: ISO timestamps, canonical
statuses, unique ids, values in range. `clean_history` recognises exactly those, row by row,
and hands their columns to features.one_customer; any row a check would touch (and any
setting that changes parsing: a time zone other than UTC, timestamp formats) returns None,
and the history goes through validation and the batch SQL like a file.
tests/serving/test_posted.py proves both routes give the same features and set-asides.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from features.one_customer import Complaints, Customer, Orders
from features.schema import COMPLETED_STATUS, ORDER_STATUSES
from pipelines.settings import InputSettings
from serving.schemas import ComplaintIn, CustomerIn, OrderIn

# What DuckDB's TIMESTAMP cast reads as the same naive time Python does: a date, or a date
# and a time to the second with up to 6 digits of fraction (no offset, no zone, no spaces).
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?", re.ASCII
)
_EPOCH = datetime(1970, 1, 1)


class _Unclean(Exception):
    """A row validation would parse differently, set aside or collapse."""


def _us(text: str) -> int:
    """Microseconds since the epoch of an ISO naive timestamp (UTC)."""
    found = _ISO.fullmatch(text)
    if found is None:
        raise _Unclean(text)
    y, mo, d, h, mi, s, frac = found.groups()
    try:
        at = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        raise _Unclean(text) from None
    fraction = int((frac or "0").ljust(6, "0"))
    return (at - _EPOCH) // _ONE_US + fraction


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1) - _EPOCH


def _id(value: str) -> str:
    """Ids are trimmed by validation (those with a space); such ids take the long way."""
    if not value or " " in value:
        raise _Unclean(value)
    return value


def _number(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise _Unclean(value)
    return value


def _unique(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise _Unclean("repeated id")


def _orders(rows: list[OrderIn]) -> Orders:
    _unique([_id(o.order_id) for o in rows])
    status = [COMPLETED_STATUS if o.status is None else o.status for o in rows]
    if any(s not in ORDER_STATUSES for s in status):
        raise _Unclean("status")
    amounts = [_number(o.amount) for o in rows]
    known = [a for a in amounts if a is not None]
    if known and len(known) < len(amounts):
        raise _Unclean("empty amount")
    if any(a < 0 and s == COMPLETED_STATUS for a, s in zip(known, status, strict=False)):
        raise _Unclean("negative amount")
    return Orders(
        ordered_at_us=[_us(o.ordered_at) for o in rows],
        status=status,
        amount=known or None,
        channel=[o.channel for o in rows],
        category=[o.category for o in rows],
        discount_amount=[_number(o.discount_amount) for o in rows],
    )


def _in_range(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 5:
        raise _Unclean(value)
    return value


def _complaints(rows: list[ComplaintIn]) -> Complaints:
    _unique([_id(k.complaint_id) for k in rows])
    opened = [_us(k.opened_at) for k in rows]
    resolved = [None if k.resolved_at is None else _us(k.resolved_at) for k in rows]
    if any(r is not None and r < o for o, r in zip(opened, resolved, strict=True)):
        raise _Unclean("resolved_at before opened_at")
    return Complaints(
        opened_at_us=opened,
        resolved_at_us=resolved,
        severity=[_in_range(k.severity) for k in rows],
        satisfaction=[_in_range(k.satisfaction) for k in rows],
    )


def clean_history(
    customer_id: str,
    orders: list[OrderIn],
    complaints: list[ComplaintIn],
    customer: CustomerIn | None,
    opts: InputSettings,
) -> tuple[Orders, Complaints, Customer | None] | None:
    """The history's columns when validation would keep every row as posted, else None."""
    if opts.timezone != "UTC" or opts.timestamp_formats:
        return None
    try:
        _id(customer_id)
        person = None
        if customer is not None:
            signed = customer.signed_up_at
            person = Customer(
                None if signed is None else _us(signed), customer.segment, customer.region
            )
        return _orders(orders), _complaints(complaints), person
    except _Unclean:
        return None
