"""The audience builder's figures: what a selection of the latest scores is worth, from the
same `make_list` the command line uses (so a download equals `retain risk-list`'s file,
ranked by saved value too: the same registered uplift champion, the same fallback line); a
due list for one category from `make_category_list`, as `retain due-list --category`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import duckdb
import numpy as np
import pandas as pd

from features.sql import sql_text
from models.qini import Interval
from models.timing import PROBABILITY_DAYS
from models.uplift import UpliftModel
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.marketing.assemble import MadeList, make_list, with_reasons, write_list
from pipelines.marketing.category_lists import (
    make_category_list,
    probability_within,
    read_category_scores,
)
from pipelines.marketing.lists import Selection, order_probability_within
from pipelines.marketing.saved_value import champion_report, fallback_line, hurt, load
from pipelines.settings import Settings

HISTOGRAM_BINS = 20
PREVIEW_ROWS = 25
QINI_POINTS = 101  # the curve drawn on the page: enough for its shape, a small inline SVG


@dataclass
class Audience:
    made: MadeList
    target: int
    control: int
    expected_churners: float  # sum of calibrated probabilities, target and control
    churner_share: float  # of all expected churners in the scored base
    expected_non_churners_contacted: float
    value_at_risk: float  # target group
    histogram_all: list[int]  # customers per probability bin (churn; a due list's order), base
    histogram_selected: list[int]
    preview: pd.DataFrame
    expected_orders: float | None = None  # due lists: orders expected within the window ...
    due_value: float | None = None  # ... and what they are worth (target group)
    incremental_orders: Interval | None = None  # ranked by saved value: orders a contact of
    incremental_value: Interval | None = None  # the target group adds, and their value (90 %)
    hurt: int = 0  # target customers a contact is predicted to hurt


def uplift_for(settings: Settings, rank_by: str) -> tuple[UpliftModel | None, str | None]:
    """The uplift champion when the form ranks by saved value, else None; with the one line
    `risk-list --rank-by saved-value` prints when it falls back to value at risk."""
    if rank_by != "saved_value":
        return None, None
    model, reason = load(settings)
    return model, None if reason is None else fallback_line(reason)


def _summed(rows: pd.DataFrame, weight: np.ndarray | float = 1.0) -> Interval:
    """Sum of the rows' uplift (x weight) with the sums of their interval ends: the bags'
    errors move together over customers, so the ends add up (not in quadrature)."""
    got = {
        c: float(np.nansum(rows[c].to_numpy(float) * weight))
        for c in ("uplift", "uplift_low", "uplift_high")
    }
    return Interval(got["uplift"], got["uplift_low"], got["uplift_high"])


@dataclass
class QiniFigure:
    """The uplift champion's Qini curve on its held-out campaign, for an inline SVG: points as
    (share of the campaign's customers, best first; incremental orders per customer)."""

    version: str
    held_out: str
    qini: Interval
    points: list[tuple[float, float]]
    low: float  # the y axis: from min(0, curve) ...
    high: float  # ... to max(0, curve)


def last_evaluated(settings: Settings) -> QiniFigure | None:
    """The Qini figure of the uplift champion's held-out campaign (None: none evaluated)."""
    found = champion_report(settings)
    if found is None:
        return None
    version, report = found
    curve = pd.DataFrame(report["qini_curve"])
    if curve.empty:
        return None
    at = np.linspace(0, 1, QINI_POINTS)
    share = np.concatenate([[0.0], curve["share"].to_numpy(float)])
    y = np.interp(at, share, np.concatenate([[0.0], curve["qini"].to_numpy(float)]))
    q = report["qini"]
    return QiniFigure(version, str(report["held_out"]), Interval(q["value"], q["low"], q["high"]),
                      list(zip(at.tolist(), y.tolist(), strict=True)),
                      min(0.0, float(y.min())), max(0.0, float(y.max())))  # fmt: skip


def kind_of(selection: Selection) -> str:
    return "risk list" if selection.within_days is None else "due list"


def made_list(
    settings: Settings,
    selection: Selection,
    list_id: str | None,
    explain: bool = True,
    uplift: UpliftModel | None = None,
) -> MadeList:
    """The list of `selection`: of the scores, or with a category, of that category's curves
    (what the command line would refuse names the page's field: 'category: no curves ...')."""
    if selection.category is None:
        return make_list(settings, selection, list_id, kind_of(selection), explain, uplift)
    within = selection.within_days if selection.within_days is not None else float("nan")
    try:
        return make_category_list(
            settings, selection.category, within, selection.min_order_probability, list_id,
            selection.top,
        )  # fmt: skip
    except InputError as problem:  # an option (--category) is the field; a file, no curves
        option = problem.source.startswith("--")
        field = problem.source.removeprefix("--").replace("-", "_") if option else "category"
        raise ValueError(f"{field}: {problem.message}") from None


def known_categories(settings: Settings) -> list[str]:
    """The categories the latest category curves cover, by name (none without curves)."""
    path = Home.of(settings).category_scores
    if not path.exists():
        return []
    found = duckdb.connect().execute(
        f"SELECT DISTINCT CAST(category AS VARCHAR) FROM read_parquet({sql_text(str(path))})"
    )
    return sorted(str(c) for (c,) in found.fetchall())


def build(
    settings: Settings, selection: Selection, list_id: str | None, uplift: UpliftModel | None = None
) -> Audience:
    """The selection's counts, expectations and histogram; reasons only for the preview rows
    of a risk list (a due list's reasons are its customers' cycles, cheap for every row)."""
    if selection.category is not None:
        return _category_audience(settings, selection, list_id)
    made = make_list(settings, selection, list_id, kind_of(selection), False, uplift)
    listed = made.listed
    target = listed[listed["group"] == "target"]
    due = selection.within_days is not None
    preview = listed.head(PREVIEW_ROWS).copy()
    p_all, bins_all = _base_figures(settings, selection.within_days)
    saved = "saved_value" in listed
    value = target["expected_value"].to_numpy(float) if saved else 1.0
    p = listed["churn_probability"].to_numpy(float)
    charted = listed["order_probability"].to_numpy(float) if due else p
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    return Audience(
        made=made,
        target=len(target),
        control=made.control,
        expected_churners=float(p.sum()),
        churner_share=float(p.sum() / p_all) if p_all else 0.0,
        expected_non_churners_contacted=float((1 - target["churn_probability"]).sum()),
        value_at_risk=float(target["value_at_risk"].sum()),
        histogram_all=bins_all,
        histogram_selected=np.histogram(charted, edges)[0].tolist(),
        preview=preview if due else with_reasons(preview, settings),
        expected_orders=float(target["order_probability"].sum()) if due else None,
        due_value=float(target["due_value"].sum()) if due else None,
        incremental_orders=_summed(target) if saved else None,
        incremental_value=_summed(target, value) if saved else None,
        hurt=int(hurt(target).sum()) if saved else 0,
    )


def _category_audience(settings: Settings, selection: Selection, list_id: str | None) -> Audience:
    """A category due list's counts: purchases of the category expected from the target group
    within the days, what they are worth at the usual spend, and the histogram of P(buys it
    within the days) over every customer with a curve in it."""
    made = made_list(settings, selection, list_id)
    listed, edges = made.listed, np.linspace(0, 1, HISTOGRAM_BINS + 1)
    target = listed[listed["group"] == "target"]
    scores = read_category_scores(settings)
    rows = scores[scores["category"].astype(str) == selection.category]
    p_all = probability_within(rows, float(selection.within_days or 0), settings.horizon_days)
    return Audience(
        made=made, target=len(target), control=made.control, expected_churners=0.0,
        churner_share=0.0, expected_non_churners_contacted=0.0, value_at_risk=0.0,
        histogram_all=np.histogram(p_all, edges)[0].tolist(),
        histogram_selected=np.histogram(listed["purchase_probability"], edges)[0].tolist(),
        preview=listed.head(PREVIEW_ROWS).copy(),
        expected_orders=float(target["purchase_probability"].sum()),
        due_value=float(target["due_value"].sum()),
    )  # fmt: skip


def _base_figures(settings: Settings, within_days: float | None) -> tuple[float, list[int]]:
    """Sum of churn probabilities and the histogram of the whole base: of the churn
    probability in DuckDB, or for a due list of P(order within the days) from the curve."""
    source = f"read_parquet({sql_text(str(Home.of(settings).scores))})"
    if within_days is not None:
        days = [d for d in PROBABILITY_DAYS if d < settings.horizon_days]
        columns = ", ".join(["churn_probability", *(f"order_probability_{d}d" for d in days)])
        curve = duckdb.connect().execute(f"SELECT {columns} FROM {source}").df()
        ordered = order_probability_within(curve, within_days, settings.horizon_days)
        edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
        return float(curve["churn_probability"].sum()), np.histogram(ordered, edges)[0].tolist()
    rows = (
        duckdb.connect()
        .execute(  # one pass: the bins, each with its sum of probabilities
            f"SELECT least(floor(churn_probability * {HISTOGRAM_BINS}), {HISTOGRAM_BINS - 1})::INT,"
            f" count(*), sum(churn_probability) FROM {source} GROUP BY 1"
        )
        .fetchall()
    )
    counts = {b: n for b, n, _ in rows}
    total = sum(float(p or 0) for _, _, p in rows)
    return total, [int(counts.get(b, 0)) for b in range(HISTOGRAM_BINS)]


def write(
    settings: Settings,
    selection: Selection,
    list_id: str | None,
    target: Path,
    uplift: UpliftModel | None = None,
) -> MadeList:
    """The list file exactly as `retain risk-list` (or `due-list`) `--out target` writes it."""
    made = made_list(settings, selection, list_id, uplift=uplift)
    write_list(made, target)
    return made


def download(
    settings: Settings,
    selection: Selection,
    list_id: str | None,
    suffix: str,
    uplift: UpliftModel | None = None,
) -> bytes:
    with TemporaryDirectory() as folder:
        target = Path(folder) / f"list{suffix}"
        write(settings, selection, list_id, target, uplift)
        return target.read_bytes()
