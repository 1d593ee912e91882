"""Each customer's next categories in the scores: the top three of the category curves kept
beside them (`scores/category_scores.parquet`) by P(buys within 30 days), as one JSON cell
`[{"category", "probability_30d", "expected_days"}, ...]` (`next_categories`; `[]` for a
customer without a curve), so the scores stay one row per customer in every format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.sql import sql_text

TOP_CATEGORIES = 3  # categories per customer in the scores


def next_categories_sql(category_scores: Path, as_of: pd.Timestamp) -> str:
    """SELECT (customer_id, next_categories) from the category scores made at `as_of` (a file
    of another as-of gives nothing: curves are never mixed with scores of another day);
    ties by category name, probabilities to 4 places, days to 1 (NaN as null)."""
    day = sql_text(str(pd.Timestamp(as_of)))
    days = "CASE WHEN isnan(expected_days) THEN NULL ELSE round(expected_days, 1) END"
    return f"""SELECT CAST(customer_id AS VARCHAR) AS customer_id,
            to_json(list({{'category': CAST(category AS VARCHAR),
                           'probability_30d': round(probability_30d, 4),
                           'expected_days': {days}}}
                          ORDER BY probability_30d DESC, category)[1:{TOP_CATEGORIES}])
                AS next_categories
        FROM read_parquet({sql_text(str(category_scores))})
        WHERE as_of = CAST({day} AS TIMESTAMP) AND NOT isnan(probability_30d)
        GROUP BY customer_id"""
