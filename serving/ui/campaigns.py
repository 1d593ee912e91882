"""Saved lists and their campaign readouts, for the campaigns page: a list saved from the
builder is the file `retain risk-list` writes, kept under RETAIN_HOME/lists with the same
campaign snapshot (so `retain campaigns collect` learns from it); its readout is
`retain campaign-report` on it (target vs control, overall and per risk decile)."""

from __future__ import annotations

import base64
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from models.uplift import UpliftModel
from pipelines.files import read_list
from pipelines.home import Home
from pipelines.marketing.campaign import campaign_report, readout_period
from pipelines.marketing.lists import Selection
from pipelines.marketing.outcomes import DEFAULT_CAMPAIGN_TYPE, keep_snapshot
from pipelines.settings import Settings
from serving.ui.audience import write


def folder(settings: Settings) -> Path:
    return Home.of(settings).lists


def save(
    settings: Settings, selection: Selection, list_id: str | None, uplift: UpliftModel | None = None
) -> str:
    """Write the list as CSV under the lists folder and, for a risk list, the campaign snapshot
    `retain risk-list` keeps; its list id (the list id pattern of `lists.LIST_ID` makes it a
    safe file name). A category due list is not kept: the readout compares churn, which its
    rows do not carry."""
    if selection.category is not None:
        raise ValueError(
            "category: a category due list cannot be saved for a campaign readout (the readout "
            "compares churn); download it instead"
        )
    with TemporaryDirectory() as scratch:
        made = write(settings, selection, list_id, Path(scratch) / "list.csv", uplift)
        target = folder(settings) / f"{made.list_id}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        (Path(scratch) / "list.csv").replace(target)
    if selection.within_days is None:  # as the command line: risk lists are campaigns to learn from
        keep_snapshot(settings, made.listed, DEFAULT_CAMPAIGN_TYPE)
    return made.list_id


def saved(settings: Settings) -> list[str]:
    """Saved list ids, newest first."""
    found = folder(settings).glob("*.csv") if folder(settings).exists() else []
    return [p.stem for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


def report(settings: Settings, list_id: str, since: str, until: str) -> dict[str, Any]:
    """The campaign readout of a saved list, with its chart as a data URI; ValueError naming
    the field for an unknown list or a period that is not ISO dates in order."""
    if list_id not in saved(settings):
        raise ValueError(f"list: expected one of the saved lists, got {list_id[:80]!r}")
    start, end = readout_period(since, until, settings.horizon_days)
    listed = read_list(
        folder(settings) / f"{list_id}.csv", ("customer_id", "group", "churn_probability")
    )
    with TemporaryDirectory() as where, Home.of(settings).reading_warehouse() as con:
        found, png = campaign_report(con, listed, start, end, Path(where) / "r.json", list_id)
        found["chart"] = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    return found
