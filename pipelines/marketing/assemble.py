"""A list from the latest scores: read what the selection needs, rank, fill reasons, write.

The pure ranking and control-group rules live in `lists`; this module does the reading and
writing around them, so the command line and the marketing pages make identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models.explain import cycle_reason
from models.scorer import RISK_TIERS
from models.uplift import UpliftModel
from pipelines.errors import InputError
from pipelines.files import read_rows_of, spreadsheet_safe, write_table, write_xlsx
from pipelines.home import Home, open_registry
from pipelines.marketing.lists import (
    DECLARED_COLUMNS,
    Selection,
    build_list,
    default_list_id,
    description_sheet,
    filters,
    reach,
    selection_problem,
    with_due_columns,
)
from pipelines.marketing.saved_value import ranked_by_saved_value
from pipelines.marketing.source import candidates, declared_values, run_facts
from pipelines.marketing.units import Units
from pipelines.settings import Settings


@dataclass
class MadeList:
    listed: pd.DataFrame
    list_id: str
    kind: str
    facts: dict[str, str]  # provenance, shown on the XLSX "about" sheet
    value_tiers: dict[str, float]  # the settings' pyramid, described on that sheet
    units: Units = field(default_factory=Units)  # how the XLSX and the pages show figures

    @property
    def control(self) -> int:
        return int((self.listed["group"] == "control").sum())

    @property
    def value_unit(self) -> str:
        """'money', or 'orders' for a source without amounts (value counts expected orders)."""
        return self.facts["value_unit"]

    @property
    def headline(self) -> str:
        """What the target group is worth: value at risk, or for a due list the value of the
        orders it is expected to place (in money, or in orders without amounts)."""
        target = self.listed[self.listed["group"] == "target"]
        unit = " expected orders" if self.value_unit == "orders" else ""
        if "saved_value" in target:
            return f"expected value saved by contacting the target group {target['saved_value'].sum():,.0f}"
        if "due_value" in target:
            return f"expected value of their due orders {target['due_value'].sum():,.0f}{unit}"
        return f"value at risk in the target group {target['value_at_risk'].sum():,.0f}{unit}"


def make_list(
    settings: Settings,
    selection: Selection,
    list_id: str | None,
    kind: str,
    explain: bool = True,
    uplift: UpliftModel | None = None,
) -> MadeList:
    """Rank the latest scores by `selection`, draw the control group, explain every row
    (`explain=False`: only the reasons `retain score` kept; a page explains what it shows).
    With the registered `uplift` model, rank by saved value instead (see `saved_value`)."""
    as_of, version = run_facts(settings)
    problem = selection_problem(selection, list_id, settings.horizon_days)
    if problem is not None:
        raise InputError("list", problem)
    _check_selection(selection, settings)
    ranked_by = "saved value" if uplift is not None else selection.sort
    described = selection.describe() + (":saved value" if uplift is not None else "")
    chosen_id = list_id or default_list_id(as_of, described, version)
    if uplift is None:
        listed = _ranked(settings, selection, chosen_id)
    else:
        listed = ranked_by_saved_value(settings, selection, chosen_id, uplift)
    if not selection.segments:  # shown only: read for the listed rows
        listed = _with_segments(listed, settings)
    if selection.within_days is None:
        listed = with_reasons(listed, settings) if explain else listed
    else:
        listed = _with_cycle_reasons(listed, settings, selection.within_days)
    facts = {
        "list_id": chosen_id,
        "kind": kind,
        "as_of": str(as_of.date()),
        "model_version": version,
        "selection": selection.describe() or "all scored customers",
        "ranked_by": ranked_by,
        "control_share": str(settings.control_share),
        "value_unit": _value_unit(settings),
        "currency": settings.currency,
        "settings_hash": settings.model_hash(),
    }
    units = Units(settings.currency, settings.locale, facts["value_unit"] == "orders")
    return MadeList(listed, chosen_id, kind, facts, dict(settings.value_tiers), units)


def write_list(made: MadeList, target: Path) -> Path:
    """The list by extension; an XLSX gets a second sheet describing columns and provenance,
    probabilities as percentages and money in the currency. Text that a spreadsheet would
    read as a formula is escaped in CSV and XLSX (the files of the CLI and the pages alike)."""
    if target.suffix == ".xlsx":
        about = description_sheet(made.listed, made.facts, made.value_tiers)
        sheets = {"list": made.listed, "about": about}
        safe = {name: spreadsheet_safe(frame) for name, frame in sheets.items()}
        return write_xlsx(safe, target, made.units.excel_formats())
    if target.suffix == ".csv":
        return write_table(spreadsheet_safe(made.listed), target)
    return write_table(made.listed, target)


def _ranked(settings: Settings, selection: Selection, list_id: str) -> pd.DataFrame:
    """`build_list` on the head of the ranking the list can reach, read in DuckDB; the head
    doubles while the list runs to its end (more rows could still belong to it)."""
    head = reach(selection, settings.control_share)
    head = None if head is None else head + 1
    while True:
        scores = candidates(settings, selection, head)
        if selection.within_days is not None:
            scores = with_due_columns(scores, selection.within_days, settings.horizon_days)
        listed = build_list(scores, list_id, selection, settings.control_share)
        if head is None or len(scores) < head or len(listed) < len(scores):
            return listed
        head *= 2


def _with_segments(listed: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The listed customers' declared segment, when `retain score` kept it."""
    if not Home.of(settings).features.exists():
        return listed
    if listed.empty:  # nobody matched: the column is still there, as for any list
        return listed.assign(segment=pd.Series([], dtype=object))
    found = _listed_features(listed, settings, ["segment"]).drop_duplicates("customer_id")
    return listed.merge(found, on="customer_id", how="left")


def _value_unit(settings: Settings) -> str:
    """'orders' when the source had no amounts. A source gives amounts for every order or for
    none, so the first row group of the features tells (not the whole column of a big base)."""
    import pyarrow.parquet as pq

    path = Home.of(settings).features
    if not path.exists():
        return "money"
    features = pq.ParquetFile(path)
    if features.metadata.num_row_groups == 0:
        return "money"
    spend = features.read_row_group(0, columns=["spend_365d"]).column(0)
    return "orders" if len(spend) and spend.null_count == len(spend) else "money"


def _check_selection(selection: Selection, settings: Settings) -> None:
    """Every filter value must be one the scores can have: a typo is a usage error, not an
    empty list."""
    _known("--tier", selection.risk_tiers, RISK_TIERS)
    _known("--value-tier", selection.value_tiers, tuple(settings.value_tiers))
    for column, wanted in filters(selection):
        if not wanted or column not in DECLARED_COLUMNS:
            continue
        option = f"--{column}"
        known = declared_values(settings, column)
        if known is None:
            raise InputError(
                option,
                f"no customer {column}s next to the scores ({Home.of(settings).features} is "
                f"missing); run `retain score` on data with a customers table that has '{column}'",
            )
        _known(option, wanted, known)


def _known(option: str, values: list[str], allowed: tuple[str, ...]) -> None:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InputError(
            option,
            f"unknown value {', '.join(map(repr, unknown))}; expected one of "
            f"{', '.join(allowed) or '(none in the scored data)'}",
        )


def _listed_features(listed: pd.DataFrame, settings: Settings, columns: list[str]) -> pd.DataFrame:
    """Feature columns of the listed customers only (a filtered read, not the whole file)."""
    wanted = listed["customer_id"].astype(str).tolist()
    return read_rows_of(Home.of(settings).features, wanted, ["customer_id", *columns])


def _with_cycle_reasons(listed: pd.DataFrame, settings: Settings, days: float) -> pd.DataFrame:
    """A due customer's reasons speak of their cycle and the chance of an order now."""
    if listed.empty or not Home.of(settings).features.exists():
        return listed
    cycle = ["median_days_between_orders", "days_since_last_order"]
    found = _listed_features(listed, settings, cycle).set_index("customer_id")
    rows = found.reindex(listed["customer_id"].astype(str))
    texts = [
        cycle_reason(m, d, p, days)
        for m, d, p in zip(
            rows[cycle[0]].to_numpy(float),
            rows[cycle[1]].to_numpy(float),
            listed["order_probability"].to_numpy(float),
            strict=True,
        )
    ]
    # the scores' churn-reason directions do not describe a cycle: not carried into a due list
    return listed.assign(reasons=texts).drop(columns="reason_directions", errors="ignore")


def with_reasons(listed: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Reasons for listed customers `retain score` did not explain, from the same version."""
    missing = listed.index[listed["reasons"].fillna("") == ""]
    if len(missing) == 0 or not Home.of(settings).features.exists():
        return listed
    version = str(listed["model_version"].iloc[0])
    scorer, _ = open_registry(settings).load_scorer(version)
    wanted = listed.loc[missing, "customer_id"].astype(str).tolist()
    features = read_rows_of(Home.of(settings).features, wanted)
    return scorer.fill_reasons(listed, features, missing)
