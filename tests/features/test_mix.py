"""Category breadth and channel mix: the fast paths (bit mask, one counter per channel) and the
fallbacks for large vocabularies (DISTINCT, mode) agree with a plain pandas count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import features.orders as orders_sql
from features.frame import build_frame
from pipelines.ingest.sources import load_frames
from pipelines.warehouse import connect
from tests.conftest import CUTOFF


def random_orders(n_categories: int, n_channels: int, seed: int = 0) -> pd.DataFrame:
    """300 orders of 40 customers before the cutoff, some returned, some without a category."""
    rng = np.random.default_rng(seed)
    n = 300
    category = rng.choice([f"cat{i:02d}" for i in range(n_categories)], n).astype(object)
    category[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": rng.choice([f"c{i:02d}" for i in range(40)], n),
            "ordered_at": CUTOFF - pd.to_timedelta(rng.integers(1, 300, n), unit="D"),
            "amount": 10.0,
            "status": rng.choice(["completed", "completed", "completed", "returned"], n),
            "channel": rng.choice([f"ch{i:02d}" for i in range(n_channels)], n),
            "category": category,
        }
    )


def pandas_mix(orders: pd.DataFrame) -> pd.DataFrame:
    done = orders[orders["status"] == "completed"]
    counts = done.groupby(["customer_id", "channel"]).size().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", "channel"], ascending=[True, False, True])
    top = counts.groupby("customer_id").head(1).set_index("customer_id")
    tied = counts.groupby("customer_id")["n"].apply(lambda n: (n == n.max()).sum() > 1)
    by_customer = done.groupby("customer_id")
    return pd.DataFrame(
        {
            "categories_total": by_customer["category"].nunique(),
            "channels_total": by_customer["channel"].nunique(),
            "main_channel": top["channel"],
            "tied": tied,
        }
    )


def retain_mix(orders: pd.DataFrame) -> pd.DataFrame:
    con = connect()
    load_frames(con, {"orders": orders})
    return build_frame(con, [CUTOFF], 365).set_index("customer_id").sort_index()


@pytest.mark.parametrize(
    ("n_categories", "n_channels"),
    [(5, 3), (70, 20)],  # within the fast paths; beyond both (64 categories, 16 channels)
)
def test_mix_equals_a_plain_count(n_categories: int, n_channels: int) -> None:
    orders = random_orders(n_categories, n_channels)
    got, want = retain_mix(orders), pandas_mix(orders)
    assert list(got.index) == list(want.index)
    assert (got["categories_total"] == want["categories_total"]).all()
    assert (got["channels_total"] == want["channels_total"]).all()
    clear = ~want["tied"]  # mode() breaks ties its own way; the counters alphabetically
    if n_channels <= orders_sql.COUNTED_CHANNELS:
        clear[:] = True
    assert (got.loc[clear, "main_channel"].astype(str) == want.loc[clear, "main_channel"]).all()


def test_fast_paths_and_fallbacks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    orders = random_orders(8, 4, seed=1)
    fast = retain_mix(orders)
    monkeypatch.setattr(orders_sql, "MASKED_CATEGORIES", 2)
    monkeypatch.setattr(orders_sql, "COUNTED_CHANNELS", 2)
    slow = retain_mix(orders)
    columns = ["categories_total", "channels_total"]
    pd.testing.assert_frame_equal(fast[columns], slow[columns])


def test_no_channel_or_category_data() -> None:
    orders = random_orders(3, 3).assign(channel=None, category=None)
    got = retain_mix(orders)
    assert (got["categories_total"] == 0).all() and (got["channels_total"] == 0).all()
    assert got["main_channel"].isna().all()
