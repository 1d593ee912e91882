"""The category curves in the commands: kept at `retain score`, listed by `retain due-list
--category` (the fitting is training's, the files marketing's; only the command line sees
both). Light to import: the heavy modules load when a command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from pipelines.settings import Settings


def keep_category_scores(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp
) -> str:
    """Fit the category curve at `as_of` and keep its scores beside the scores (a stale file
    from an earlier run is removed when there are none now); returns what was done."""
    from pipelines.files import write_table
    from pipelines.home import Home
    from pipelines.training.categories import CATEGORIES_OFF, category_scores

    path = Home.of(settings).category_scores
    scores = category_scores(con, settings, as_of)
    if scores is None:
        path.unlink(missing_ok=True)
        return f"category curves {CATEGORIES_OFF}"
    write_table(scores, path)
    pairs, customers = len(scores), scores["customer_id"].nunique()
    return f"category curves: {pairs:,} (customer, category) pairs of {customers:,} customers"
