"""Each customer's top three categories in the scores, from the category curves of the same
as-of: by P(buys within 30 days), ties by name, never a curve of another day."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.scoring.categories import next_categories_sql

AS_OF = pd.Timestamp("2025-06-01")


def test_the_top_three_by_probability_of_this_as_of(tmp_path: Path) -> None:
    rows = [  # customer, category, as-of, P(30 days), expected days
        ("c1", "bread", AS_OF, 0.40, 9.04),
        ("c1", "pet food", AS_OF, 0.81, 12.46),
        ("c1", "wine", AS_OF, 0.40, float("nan")),
        ("c1", "nappies", AS_OF, 0.10, 3.0),
        ("c2", "wine", AS_OF, 0.123456, 20.0),
        ("c3", "bread", AS_OF - pd.Timedelta(days=30), 0.9, 5.0),  # an earlier run's curve
    ]
    frame = pd.DataFrame(
        rows, columns=["customer_id", "category", "as_of", "probability_30d", "expected_days"]
    )
    frame.to_parquet(path := tmp_path / "category_scores.parquet")
    got = dict(duckdb.connect().execute(next_categories_sql(path, AS_OF)).fetchall())
    assert set(got) == {"c1", "c2"}
    assert json.loads(got["c1"]) == [
        {"category": "pet food", "probability_30d": 0.81, "expected_days": 12.5},
        {"category": "bread", "probability_30d": 0.4, "expected_days": 9.0},
        {"category": "wine", "probability_30d": 0.4, "expected_days": None},
    ]
    assert json.loads(got["c2"]) == [
        {"category": "wine", "probability_30d": 0.1235, "expected_days": 20.0}
    ]
