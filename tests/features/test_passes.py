"""Large bases are computed in passes over shares of the customers: the result is the same."""

from __future__ import annotations

import pandas as pd

from features.frame import build_frame, feature_relation, write_feature_parts
from pipelines.ingest.sources import load_frames
from pipelines.warehouse import connect, hand_back_memory
from tests.conftest import CUTOFF, DATA_END, tiny_tables
from tests.features.test_mix import random_orders


def test_passes_give_the_same_frame() -> None:
    con = connect()
    tiny = tiny_tables()
    complaints = tiny.complaints.assign(customer_id=["c01", "c01", "c02"])
    load_frames(con, {"orders": random_orders(5, 3), "complaints": complaints})
    cutoffs = [CUTOFF - pd.DateOffset(months=2), CUTOFF]
    one = build_frame(con, cutoffs, 365, 90, DATA_END)
    many = build_frame(con, cutoffs, 365, 90, DATA_END, rows_per_pass=50)  # 12 passes
    pd.testing.assert_frame_equal(one, many)
    assert len(one) > 40 and one["complaints_total"].sum() > 0


def test_staged_passes_written_to_files_give_the_same_features(tmp_path) -> None:
    """Streaming scoring's passes read hash shares staged once on disk: same rows, every
    customer in exactly one part, and the staged copies gone afterwards."""
    con = connect()
    tiny = tiny_tables()
    complaints = tiny.complaints.assign(customer_id=["c01", "c01", "c02"])
    customers = pd.DataFrame({"customer_id": ["c01", "c03"], "segment": ["retail", "trade"]})
    load_frames(
        con, {"orders": random_orders(5, 3), "complaints": complaints, "customers": customers}
    )
    one = build_frame(con, [CUTOFF], 365).sort_values("customer_id").reset_index(drop=True)
    parts = write_feature_parts(con, [CUTOFF], 365, tmp_path / "parts", rows_per_pass=50)
    assert len(parts) > 5
    many = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    many = many.sort_values("customer_id").reset_index(drop=True)
    categorical = [c for c in one.columns if isinstance(one[c].dtype, pd.CategoricalDtype)]
    pd.testing.assert_frame_equal(
        many.astype({c: "object" for c in categorical}),
        one.astype({c: "object" for c in categorical}),
    )
    assert one["segment"].notna().any() and one["complaints_total"].sum() > 0
    assert not (tmp_path / "parts" / "staged").exists()


def test_each_pass_is_reported() -> None:
    con = connect()
    load_frames(con, {"orders": random_orders(5, 3)})
    reported: list[tuple[int, int]] = []
    feature_relation(con, [CUTOFF], 365, rows_per_pass=50, on_pass=lambda *p: reported.append(p))
    total = reported[0][1]
    assert total > 1 and reported == [(k, total) for k in range(1, total + 1)]


def test_a_customer_sample_is_the_same_customers_at_every_cutoff_with_unchanged_rows() -> None:
    con = connect()
    load_frames(con, {"orders": random_orders(5, 3)})
    cutoffs = [CUTOFF - pd.DateOffset(months=2), CUTOFF]
    full = build_frame(con, cutoffs, 365, 90, DATA_END)
    half = build_frame(con, cutoffs, 365, 90, DATA_END, customer_share=0.5)
    sampled = set(half["customer_id"])
    assert 0.25 < len(sampled) / full["customer_id"].nunique() < 0.75
    in_sample = full[full["customer_id"].isin(sampled)].reset_index(drop=True)
    pd.testing.assert_frame_equal(half.reset_index(drop=True), in_sample)  # every cutoff kept
    again = build_frame(con, cutoffs, 365, 90, DATA_END, rows_per_pass=50, customer_share=0.5)
    pd.testing.assert_frame_equal(again, half)  # the sample does not depend on the passes


def _temporary_objects(con) -> list[str]:
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal")
    return sorted(n for (n,) in [*tables, *views.fetchall()])


def test_the_frame_drops_every_temporary_object_it_made() -> None:
    con = connect()
    load_frames(con, {"orders": random_orders(5, 3)})
    before = _temporary_objects(con)
    build_frame(con, [CUTOFF], 365, 90, DATA_END, rows_per_pass=5)
    assert _temporary_objects(con) == before


def test_a_second_call_never_replaces_what_the_first_returned() -> None:
    """Feature relations name their temporary objects uniquely: the caller's first relation
    still reads its own cutoff after a second call at another cutoff."""
    con = connect()
    load_frames(con, {"orders": random_orders(20, 4)})
    first = feature_relation(con, [CUTOFF], 365)
    expected = first.df().sort_values("customer_id").reset_index(drop=True)
    feature_relation(con, [CUTOFF - pd.Timedelta(days=40)], 365, 90, DATA_END)
    again = first.df().sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected)
    assert set(again["cutoff_at"]) == {CUTOFF}


def test_handing_memory_back_restores_the_configured_limit_exactly() -> None:
    con = connect()
    con.execute("SET memory_limit = '3GB'")
    hand_back_memory(con, "3GB")
    hand_back_memory(con, "3GB")  # the displayed '2.7 GiB' would shrink it each time
    (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit == "2.7 GiB"
