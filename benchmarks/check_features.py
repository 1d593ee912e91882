"""`retain features` vs an independent pandas computation from the raw tables, per customer.

Run: .venv/bin/python benchmarks/check_features.py DATA_DIR AS_OF
e.g. the CDNOW import (real data) or a `retain generate` folder (synthetic). Exit 1 on any
difference. The oracle is slow by design (one customer at a time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent.parent))
from pipelines.warehouse import connect
from tests.features.oracle import CORE, oracle_features

MUST = tuple(c for c in CORE if c != "median_days_between_orders")  # the list


def main(data: str, as_of: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "features.parquet"
        env = {**os.environ, "RETAIN_HOME": tmp}
        retain = Path(sys.executable).parent / "retain"
        subprocess.run(
            [retain, "features", "--data", data, "--as-of", as_of, "--out", out],
            check=True,
            env=env,
        )
        got = pd.read_parquet(out).set_index("customer_id").sort_index()
        con = connect(Path(tmp) / "warehouse.duckdb", read_only=True)
        orders = con.execute("SELECT * FROM orders").df()
        complaints = con.execute("SELECT * FROM complaints").df()
    want = oracle_features(orders, complaints, pd.Timestamp(as_of), 365)
    same_customers = list(got.index) == list(want.index)
    print(f"customers: retain {len(got):,}, independent {len(want):,}, same set: {same_customers}")
    failures = 0 if same_customers else 1
    for col in MUST:
        diff = (
            np.abs(got[col].to_numpy(dtype=float) - want[col].to_numpy(dtype=float))
            if same_customers
            else [np.inf]
        )
        worst = float(np.max(diff)) if len(diff) else 0.0
        bad = int(np.sum(np.asarray(diff) > 1e-6))
        failures += bad
        print(f"  {col:<24} max abs difference {worst:.2e}  customers differing {bad}")
    print("OK: identical" if failures == 0 else f"FAILED: {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
