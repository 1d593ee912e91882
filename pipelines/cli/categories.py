"""The category curves in the commands: kept at `retain score` (then each customer's top three
in the scores), listed by `retain due-list --category` (the fitting is training's, the files
marketing's; only the command line and the API see both). Light to import: the heavy modules
load when a command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pandas as pd

    from pipelines.scoring.batch import ScoreResult
    from pipelines.settings import Settings


def keep_category_scores(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp
) -> str:
    """Fit the category curve at `as_of` and keep its scores beside the scores (a stale file
    from an earlier run is removed when there are none now); returns what was done."""
    from pipelines.home import Home
    from pipelines.training.categories import CATEGORIES_OFF, category_scores

    path = Home.of(settings).category_scores
    path.parent.mkdir(parents=True, exist_ok=True)
    written = category_scores(con, settings, as_of, path)
    if written is None:
        path.unlink(missing_ok=True)
        return f"category curves {CATEGORIES_OFF}"
    pairs, customers = written
    return f"category curves: {pairs:,} (customer, category) pairs of {customers:,} customers"


def score_with_categories(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    scored_at: pd.Timestamp,
    progress: Callable[[int], object] | None = None,
) -> tuple[ScoreResult, str]:
    """`retain score` and `retain.score()`: the category curves kept first, then the
    population scored with each customer's top categories from them; (result, what the
    curves' step did)."""
    from pipelines.home import Home
    from pipelines.scoring.batch import run_scoring

    said = keep_category_scores(con, settings, as_of)
    categories = Home.of(settings).category_scores
    return run_scoring(con, settings, as_of, scored_at, progress, categories), said
