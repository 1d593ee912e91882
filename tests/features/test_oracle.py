"""The SQL features equal the obvious pandas computation, value by value, on random data."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.frame import build_frame
from pipelines.ingest.sources import load_frames
from pipelines.synthetic.generate import simulate
from pipelines.warehouse import connect
from tests.features.oracle import CORE, oracle_features


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cutoff_day=st.integers(30, 700))
def test_sql_features_equal_the_oracle(seed: int, cutoff_day: int) -> None:
    start = pd.Timestamp("2024-01-01")
    tables = simulate(150, 730, seed, start)
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if k != "truth"})
    orders = con.execute("SELECT * FROM orders").df()
    complaints = con.execute("SELECT * FROM complaints").df()
    cutoff = start + pd.Timedelta(days=cutoff_day, hours=seed % 24)
    got = build_frame(con, [cutoff], 365).set_index("customer_id").sort_index()
    want = oracle_features(orders, complaints, cutoff, 365)
    assert list(got.index) == list(want.index)
    pd.testing.assert_frame_equal(got[list(CORE)], want[list(CORE)], check_dtype=False, atol=1e-6)
