"""Column parsing in SQL: ids as read, timestamps to naive UTC, numbers, statuses.

Each function returns a DuckDB expression over the raw column; a value that does not parse
becomes NULL, and `validate` sets its row aside naming the column.
"""

from __future__ import annotations

from typing import NamedTuple

from features.schema import COMPLETED_STATUS, ORDER_STATUSES
from features.sql import sql_text
from pipelines.settings import InputSettings

# A time of day followed by a UTC offset, Z or a zone name (Europe/Paris): such values carry
# their own time zone (a plain TIMESTAMP cast would silently drop it).
_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([+-]\d{2}(:?\d{2})?|[A-Za-z][A-Za-z0-9_/+-]*)\s*$"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_sql(col: str, source_type: str, trimmed: bool) -> str:
    """The value as read; ids are trimmed, with '' as NULL (casts ignore spaces themselves).
    Only values holding a space are trimmed: trim() copies every string it sees."""
    name = quote(col)
    if source_type == "VARCHAR" and trimmed:
        return f"CASE WHEN contains({name}, ' ') OR {name} = '' THEN nullif(trim({name}), '') ELSE {name} END"
    return name


# A naive timestamp as 2024-03-01 10:15:00 (any 19 characters with ':' at 14 and 17) can
# never match _OFFSET, spaces around or not: the common case skips the regular expression.
_NAIVE_SHAPE = "_____________:__:__"


def _parse_timestamp(raw: str, source_type: str, opts: InputSettings) -> str:
    """A naive UTC timestamp. Values with an offset keep it; naive ones are in opts.timezone."""

    def to_utc(naive: str) -> str:
        if opts.timezone == "UTC":
            return naive
        return f"timezone('UTC', timezone({sql_text(opts.timezone)}, {naive}))"

    if source_type == "TIMESTAMP WITH TIME ZONE":  # UTC microseconds: plain arithmetic
        return f"make_timestamp(epoch_us({raw}))"
    if source_type != "VARCHAR":
        return to_utc(f"TRY_CAST({raw} AS TIMESTAMP)")
    naive = f"TRY_CAST({raw} AS TIMESTAMP)"
    if opts.timestamp_formats:
        formats = ", ".join(sql_text(f) for f in opts.timestamp_formats)
        naive = f"coalesce(try_strptime(trim({raw}), [{formats}]), {naive})"
    zoned = f"timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ))"  # an offset or a zone name
    return (
        f"CASE WHEN {raw} LIKE '{_NAIVE_SHAPE}' THEN {to_utc(naive)} "
        f"WHEN regexp_matches({raw}, '{_OFFSET}') THEN {zoned} ELSE {to_utc(naive)} END"
    )


def parse_sql(raw: str, kind: str, source_type: str, opts: InputSettings) -> str:
    if kind == "text":
        return raw if source_type == "VARCHAR" else f"nullif(trim(CAST({raw} AS VARCHAR)), '')"
    if kind == "timestamp":
        return _parse_timestamp(raw, source_type, opts)
    number = raw
    if source_type == "VARCHAR" and opts.decimal == ",":
        number = f"replace(replace(replace({raw}, ' ', ''), '.', ''), ',', '.')"
    if kind == "number":
        return f"TRY_CAST({number} AS DOUBLE)"
    return f"TRY_CAST(TRY_CAST({number} AS DOUBLE) AS INTEGER)"


def status_sql(value: str, opts: InputSettings) -> str:
    """Canonical values pass as they are (usually all rows); empty -> completed; synonyms
    ('paid', 'canceled', ...) -> canonical values; anything else stays, to be set aside."""
    canonical = ", ".join(f"'{s}'" for s in ORDER_STATUSES)
    text = f"lower(trim({value}))"
    cases = " ".join(
        f"WHEN {sql_text(k)} THEN {sql_text(v)}" for k, v in sorted(opts.statuses().items())
    )
    return (
        f"CASE WHEN {value} IN ({canonical}) THEN {value} "
        f"WHEN nullif({text}, '') IS NULL THEN '{COMPLETED_STATUS}' "
        f"ELSE CASE {text} {cases} ELSE {text} END END"
    )


class Check(NamedTuple):
    """A row condition that sets the row aside, the column it names and the value shown."""

    condition: str
    column: str
    reason: str
    value: str
