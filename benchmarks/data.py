"""Benchmark datasets written the way `retain generate` writes them, cached under benchmarks/.data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.generate import GeneratorParams, generation_meta, simulate, write_dataset

DATA = Path(__file__).parent / ".data"
ORDERS_PER_CUSTOMER = 5.64  # what the generator's defaults give over two years
# One complaint per ten orders: 10M orders come with about 1M complaints.
BUSY_COMPLAINTS = GeneratorParams(complaint_a=1.0, complaint_b=9.0)


def generated(n_orders: int, params: GeneratorParams = BUSY_COMPLAINTS) -> Path:
    """A folder with orders/complaints/customers.parquet of about `n_orders` orders."""
    folder = DATA / f"generated-{n_orders}"
    if not (folder / "generation.json").exists():
        customers = int(n_orders / ORDERS_PER_CUSTOMER)
        start = pd.Timestamp("2024-01-01")
        tables = simulate(customers, 730, 0, start, params)
        write_dataset(tables, folder, generation_meta(customers, 730, 0, start, params))
    return folder
