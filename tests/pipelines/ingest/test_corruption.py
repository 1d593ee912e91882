"""Random corruption of a valid CSV never crashes validation and always reconciles."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.errors import InputError
from pipelines.ingest.sources import load_source
from pipelines.warehouse import connect
from tests.conftest import examples

HEADER = ["order_id", "customer_id", "ordered_at", "amount", "status"]
VALID = [
    ["o1", "c1", "2024-01-01", "10.5", "completed"],
    ["o2", "c1", "2024-02-01 10:00:00", "20", "returned"],
    ["o3", "c2", "2024-02-03T08:00:00+01:00", "7", ""],
    ["o4", "c3", "2024-03-01", "0", "cancelled"],
]
nasty = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "abc",
        "2024-02-30",
        '=HYPERLINK("x")',
        "1e309",
        "NaN",
        "o1",
        "c1",
        "x" * 5000,
        "2024-01-01 25:00",
        "COMPLETED",
        "\t",
        "'",
        '"',
        ",",
        "\n",
    ]
)


@st.composite
def corrupted(draw: st.DrawFn) -> list[list[str]]:
    rows = [list(r) for r in VALID] + draw(st.lists(st.sampled_from(VALID).map(list), max_size=3))
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(HEADER) - 1))
        rows[i][j] = draw(nasty | st.text(max_size=20))
    return rows


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=corrupted())
def test_corruption_is_set_aside_or_named_never_a_crash(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows(rows)
        con = connect()
        try:
            reports = load_source(con, Path(tmp))
        except InputError as err:  # a whole column unusable: named, not a crash
            assert "orders.csv" in str(err)
            return
        finally:
            con.close()
    (orders,) = reports
    assert orders.read == len(rows)
    assert orders.reconciles
