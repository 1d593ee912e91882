"""`retain features`: the point-in-time feature (and label) file, written without pandas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from features.cutoffs import spaced_cutoffs
from features.frame import feature_relation
from pipelines.files import write_relation
from pipelines.settings import Settings
from pipelines.warehouse import data_end


@dataclass
class FeatureFile:
    rows: int
    unit: str  # what a row is: customers, or (customer, cutoff) rows
    span: str  # the cutoff, or the first and last of several


def write_feature_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    last: pd.Timestamp,
    cutoffs: int,
    with_labels: bool,
    out: Path,
    on_pass: Callable[[int, int], None] | None = None,
) -> FeatureFile:
    """Features at `cutoffs` cutoffs ending at `last` (every `cutoff_step_days`, or month
    starts), in one relational pass; with labels where the horizon has passed."""
    chosen = [last] if cutoffs == 1 else spaced_cutoffs(last, cutoffs, settings.cutoff_step_days)
    end = data_end(con) if with_labels else None
    rel = feature_relation(
        con,
        chosen,
        settings.activity_window_days,
        settings.horizon_days if with_labels else None,
        end,
        settings.frame_part_rows,
        on_pass=on_pass,
    )
    write_relation(rel, out)
    if len(chosen) == 1:
        return FeatureFile(rel.shape[0], "customers", str(chosen[0].date()))
    span = f"{len(chosen)} cutoffs from {chosen[0].date()} to {chosen[-1].date()}"
    return FeatureFile(rel.shape[0], "(customer, cutoff) rows", span)
