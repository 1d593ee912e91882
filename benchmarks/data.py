"""Benchmark datasets written by the generator, cached under benchmarks/.data.

Large bases are simulated in chunks of customers (each with its own seed and id prefix) and
written as Parquet parts, so memory stays flat at any size.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
from rich.progress import track

from pipelines.files import write_table
from pipelines.synthetic.generate import GeneratorParams, simulate

DATA = Path(__file__).parent / ".data"
# CDNOW's master file (Fader and Hardie's public sample), wherever you keep it: CDNOW_MASTER, else
# data/cdnow/CDNOW_master.txt in the working directory. Nothing here reaches outside the repository.
CDNOW = Path(os.environ.get("CDNOW_MASTER", "data/cdnow/CDNOW_master.txt"))
ORDERS_PER_CUSTOMER = 5.64  # what the generator's defaults give over two years
CHUNK_CUSTOMERS = 1_000_000
START = pd.Timestamp("2024-01-01")
DAYS = 730
# One complaint per ten orders: 10M orders come with about 1M complaints.
BUSY_COMPLAINTS = GeneratorParams(complaint_a=1.0, complaint_b=9.0)


# 50 million customers with about ten orders each (500M orders): faster buyers who drop out
# less often than the defaults.
LOYAL_BASE = replace(BUSY_COMPLAINTS, mean_days_between_orders=15.0, dropout_b=20.0)


def generated(n_orders: int, params: GeneratorParams = BUSY_COMPLAINTS) -> Path:
    """A folder with orders/, complaints/, customers/ Parquet parts of about `n_orders` orders."""
    return _parts(DATA / f"parts-{n_orders}", int(n_orders / ORDERS_PER_CUSTOMER), params)


def generated_base(n_customers: int) -> Path:
    """`n_customers` customers with about ten orders each (LOYAL_BASE)."""
    return _parts(DATA / f"base-{n_customers}", n_customers, LOYAL_BASE)


def _parts(folder: Path, customers: int, params: GeneratorParams) -> Path:
    """Simulate in chunks of customers, one Parquet part per table and chunk (cached)."""
    done = folder / "generation.json"
    if done.exists():
        return folder
    chunks = range(0, customers, CHUNK_CUSTOMERS)
    for chunk, first in enumerate(track(chunks, description=f"generating {folder.name}")):
        size = min(CHUNK_CUSTOMERS, customers - first)
        tables = simulate(size, DAYS, chunk, START, params, id_prefix=f"{chunk:03d}")
        for name in ("orders", "complaints", "customers"):
            write_table(tables[name], folder / name / f"part-{chunk:03d}.parquet")
    done.write_text(json.dumps({"customers": customers, "start": START.isoformat(), "days": DAYS}))
    return folder


def views(con, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Canonical tables as views over the Parquet parts (the generator's data is clean)."""
    con.execute(
        f"CREATE OR REPLACE VIEW orders AS SELECT *, CAST(NULL AS DOUBLE) AS discount_amount FROM read_parquet('{folder}/orders/*.parquet')"
    )
    con.execute(
        f"CREATE OR REPLACE VIEW complaints AS SELECT * FROM read_parquet('{folder}/complaints/*.parquet')"
    )
    con.execute(
        f"CREATE OR REPLACE VIEW customers AS SELECT * FROM read_parquet('{folder}/customers/*.parquet')"
    )
