"""Lists refuse what they cannot use and never carry a live formula: bounded selections and
list ids (one rule for the command line and the pages), and OWASP's CSV-injection escape in
every CSV and XLSX list file."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipelines.files import FORMULA_STARTS, _unquoted, read_list, spreadsheet_safe
from pipelines.marketing.assemble import MadeList, write_list
from pipelines.marketing.campaign import readout_period
from pipelines.marketing.lists import MAX_LIST_ROWS, Selection, selection_problem
from pipelines.marketing.units import Units


@pytest.mark.parametrize(
    ("selection", "list_id", "field"),
    [
        (Selection(top=99999999999999999999), None, "top"),
        (Selection(top=0), None, "top"),
        (Selection(budget=MAX_LIST_ROWS + 1), None, "budget"),
        (Selection(min_probability=5), None, "min_probability"),
        (Selection(min_probability=math.inf), None, "min_probability"),
        (Selection(min_probability=math.nan), None, "min_probability"),
        (Selection(max_probability=1.5), None, "max_probability"),
        (Selection(min_probability=0.6, max_probability=0.4), None, "max_probability"),
        (Selection(within_days=14, min_order_probability=2), None, "min_order_probability"),
        (Selection(within_days=0), None, "within_days"),
        (Selection(within_days=91), None, "within_days"),
        (Selection(sort="name"), None, "sort"),
        (Selection(), '=HYPERLINK("http://x")', "list_id"),
        (Selection(), "a" * 81, "list_id"),
        (Selection(), "-L1", "list_id"),
    ],
)
def test_an_unusable_selection_is_named_by_its_field(
    selection: Selection, list_id: str | None, field: str
) -> None:
    problem = selection_problem(selection, list_id, 90)
    assert problem is not None and problem.startswith(f"{field}: expected")


def test_a_usable_selection_passes() -> None:
    usable = Selection(top=MAX_LIST_ROWS, budget=1, min_probability=1.0)
    assert selection_problem(usable, "demo-due.2026_01", 90) is None
    assert (
        selection_problem(Selection(within_days=90, min_order_probability=0), "a" * 80, 90) is None
    )


def _made(list_id: str) -> MadeList:
    listed = pd.DataFrame(
        {
            "list_id": list_id,
            "rank": [1, 2, 3, 4],
            "customer_id": ["=1+1", "+49 30", "@SUM(A1)", "-5"],
            "churn_probability": [0.861, 0.5, 0.2, 0.1],
            "value_at_risk": [-3.5, 10.0, 0.0, 2.25],  # numbers stay numbers, even negative
            "reasons": ["\tcmd", "+x", "fine", "-ok"],
        }
    )
    facts = {"list_id": list_id, "selection": "=cmd|' /C calc'!A0"}
    return MadeList(listed, list_id, "risk list", facts, {"everyone": 1.0}, Units("EUR", "de_DE"))


def test_no_cell_of_a_list_file_starts_like_a_formula(tmp_path: Path) -> None:
    made = _made('=HYPERLINK("http://x")')
    rows = list(csv.reader(write_list(made, tmp_path / "l.csv").open(newline="")))
    text = [c for row in rows for c in row if not _a_number(c)]  # -3.5 is a number, not code
    assert not [c for c in text if c.startswith(FORMULA_STARTS)]
    assert rows[1][0] == '\'=HYPERLINK("http://x")' and rows[1][4] == "-3.5"
    book = load_workbook(write_list(made, tmp_path / "l.xlsx"))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS))
    sheet = book["list"]
    assert sheet["E2"].value == -3.5 and "€" in sheet["E2"].number_format
    assert sheet["D2"].number_format == "0.0%"
    back = read_list(tmp_path / "l.csv", ("customer_id",))  # a campaign reads the ids as they were
    assert back["customer_id"].tolist() == made.listed["customer_id"].tolist()


def _a_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@given(st.text(max_size=30))
def test_escaping_is_the_owasp_rule_and_reversible(text: str) -> None:
    safe = spreadsheet_safe(pd.DataFrame({"c": [text]}))["c"].iloc[0]
    assert not safe.startswith(FORMULA_STARTS)
    assert safe == (f"'{text}" if text.startswith(FORMULA_STARTS) else text)
    assert _unquoted(safe) == text or text.startswith("'")


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [("2026-13-01", "", "since"), ("01/22/2026", "", "since"), ("2026-01-22", "x", "until"),
     ("2026-01-22", "2026-01-21", "until"), ("2026-01-22", "2026-01-22", "until")],
)  # fmt: skip
def test_a_campaign_period_is_iso_dates_in_order(since: str, until: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: expected"):
        readout_period(since, until, 90)


def test_a_campaign_period_defaults_to_the_horizon() -> None:
    start, end = readout_period("2026-01-22", None, 90)
    assert (start, end) == (pd.Timestamp("2026-01-22"), pd.Timestamp("2026-04-22"))


def test_figures_carry_their_unit() -> None:
    assert Units().money(1234.6) == "$1,235" and Units().money(None) == "-"
    assert Units("EUR", "de_DE").money(1234.5, 2) == "1.234,50\xa0€"
    assert Units().percent(0.8613) == "86.1%" and Units().number(13971) == "13,971"
    assert Units(money_is_orders=True).money(2.5) == "2.5 orders"
