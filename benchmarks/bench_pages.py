"""The audience builder on ten million scores: how long a filter change takes (the figures,
histogram and first rows the page shows), against the reference of reading every score
into the page process (pandas) and ranking there, side by side in one run.

The scores file is generated with DuckDB in the shape `retain score` writes (random
probabilities, values and tiers; reasons stored, so no model is needed). Target (issue 19):
a filter change answers within a second on 2 cores.

Run: .venv/bin/python benchmarks/bench_pages.py [--customers 10000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

SCORES = """
COPY (
  SELECT 'C' || lpad(i::VARCHAR, 9, '0') AS customer_id, DATE '2025-12-31' AS as_of,
    r1 AS churn_probability,
    CASE WHEN r1 >= 0.6 THEN 'high' WHEN r1 >= 0.3 THEN 'medium' ELSE 'low' END AS risk_tier,
    20 + 40 * r2 AS expected_days_to_next_order, 5 + 10 * r2 AS next_order_p10_days,
    60 + 20 * r2 AS next_order_p90_days, DATE '2025-12-31' + (20 + 40 * r2)::INT AS next_order_date,
    (1 - r1) * 0.2 AS order_probability_7d, (1 - r1) * 0.35 AS order_probability_14d,
    (1 - r1) * 0.6 AS order_probability_30d,
    CASE WHEN r3 < 0.01 THEN 'platinum' WHEN r3 < 0.05 THEN 'gold' WHEN r3 < 0.2 THEN 'silver'
         ELSE 'bronze' END AS value_tier,
    500 * r3 AS expected_value, 500 * r3 * r1 AS value_at_risk, 'reason one; reason two' AS reasons,
    '1' AS model_version, TIMESTAMP '2026-01-01 02:00:00' AS scored_at
  FROM (SELECT i, hash(i) % 1000000 / 1e6 AS r1, hash(i * 7 + 1) % 1000000 / 1e6 AS r2,
               hash(i * 13 + 5) % 1000000 / 1e6 AS r3 FROM range({n}) t(i))
) TO '{folder}/latest.parquet' (FORMAT parquet)
"""
FEATURES = """
COPY (SELECT 'C' || lpad(i::VARCHAR, 9, '0') AS customer_id,
             CASE WHEN i % 3 = 0 THEN 'retail' ELSE 'online' END AS segment,
             (i % 1000)::DOUBLE AS spend_365d, DATE '2025-12-31' AS as_of FROM range({n}) t(i))
TO '{folder}/latest_features.parquet' (FORMAT parquet)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["RETAIN_HOME"] = home
        folder = Path(home) / "scores"
        folder.mkdir()
        con = duckdb.connect()
        con.execute(SCORES.format(n=args.customers, folder=folder))
        con.execute(FEATURES.format(n=args.customers, folder=folder))
        run(args.customers)


def run(customers: int) -> None:
    from pipelines.home import Home
    from pipelines.marketing.lists import Selection, build_list
    from pipelines.settings import load_settings
    from serving.ui.audience import build

    settings = load_settings()
    print(f"{customers:,} scores; each filter: the page's figures (retain) vs pandas (reference)")
    cases = {
        "value tier gold, budget 500": Selection(budget=500, value_tiers=["gold"]),
        "risk tier high, top 1,000": Selection(top=1000, risk_tiers=["high"]),
        "everyone, budget 5,000": Selection(budget=5000),
    }
    pages = {}
    for name, selection in cases.items():  # the page first, so its peak memory is its own
        started = time.perf_counter()
        shown = build(settings, selection, "BENCH")
        pages[name] = (time.perf_counter() - started, shown.target)
    page_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    for name, selection in cases.items():
        started = time.perf_counter()
        reference = build_list(pd.read_parquet(Home.of(settings).scores), "BENCH", selection, 0.1)
        whole = time.perf_counter() - started
        page, target = pages[name]
        assert target == int((reference["group"] == "target").sum())
        print(
            f"  {name:<30} retain {page:5.2f} s   reference {whole:5.2f} s   ratio {page / whole:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"  peak memory: the page's figures {page_peak:.2f} GB; with the reference {peak:.1f} GB")


if __name__ == "__main__":
    main()
