"""The generator: deterministic, on contract, with ground truth that matters."""

from __future__ import annotations

import pandas as pd

from pipelines.ingest.sources import load_frames
from pipelines.synthetic.generate import simulate
from pipelines.warehouse import connect

START = pd.Timestamp("2024-01-01")


def test_same_seed_same_tables() -> None:
    a, b = simulate(500, 365, 11, START), simulate(500, 365, 11, START)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not simulate(500, 365, 12, START)["orders"].equals(a["orders"])


def test_tables_pass_the_contract_without_rejects() -> None:
    tables = simulate(800, 365, 1, START)
    reports = load_frames(connect(), {k: v for k, v in tables.items() if k != "truth"})
    assert all(r.set_aside == 0 and r.reconciles for r in reports)


def test_events_stay_inside_the_simulated_period() -> None:
    tables = simulate(800, 365, 2, START)
    end = START + pd.Timedelta(days=365)
    assert tables["orders"]["ordered_at"].between(START, end).all()
    complaints = tables["complaints"]
    assert (complaints["opened_at"] < end).all()
    resolved = complaints["resolved_at"].dropna()
    assert (resolved < end).all() and (
        resolved >= complaints.loc[resolved.index, "opened_at"]
    ).all()


def test_bad_complaints_shorten_lives() -> None:
    truth = simulate(5000, 730, 3, START)["truth"]
    with_bad = truth.loc[truth["bad_complaints"] > 0, "alive_at_end"].mean()
    without = truth.loc[truth["bad_complaints"] == 0, "alive_at_end"].mean()
    assert with_bad < without


def test_lines_carry_the_orders_and_their_amounts() -> None:
    orders = simulate(600, 365, 4, START)["orders"]
    tables = simulate(600, 365, 4, START, lines=True)
    assert "orders" not in tables and {"order_lines", "category_truth"} <= set(tables)
    lines = tables["order_lines"]
    assert set(lines["order_id"]) == set(orders["order_id"])
    amounts = (lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    expected = orders.set_index("order_id")["amount"].reindex(amounts.index)
    assert (amounts - expected).abs().max() < 0.05  # cents of rounding per line
    con = connect()
    reports = load_frames(con, {k: v for k, v in tables.items() if not k.endswith("truth")})
    assert all(r.set_aside == 0 and r.reconciles for r in reports)
    assert con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == len(orders)


def test_dropped_categories_are_never_bought_again() -> None:
    tables = simulate(3000, 730, 5, START, lines=True)
    truth, lines = tables["category_truth"], tables["order_lines"]
    dropped = truth.dropna(subset=["dropped_at"])
    assert len(dropped) > 50
    after = lines.merge(dropped, on=["customer_id", "category"])
    assert not (after["ordered_at"] > after["dropped_at"]).any()
    last_order = lines.groupby("customer_id")["ordered_at"].max()
    assert (dropped["dropped_at"].to_numpy() < last_order[dropped["customer_id"]].to_numpy()).any()


def test_category_gaps_follow_the_true_cycles() -> None:
    tables = simulate(3000, 730, 6, START, lines=True)
    lines = tables["order_lines"].drop_duplicates(["customer_id", "category", "order_id"])
    lines = lines.sort_values("ordered_at")
    pair = ["customer_id", "category"]
    lines["gap"] = lines.groupby(pair)["ordered_at"].diff().dt.days
    median = lines.dropna(subset=["gap"]).groupby(pair)["gap"].median()
    truth = tables["category_truth"].set_index(pair)["cycle_days"]
    both = pd.concat([median, truth], axis=1, join="inner")
    # a purchase waits for the next order after the need: gaps track the cycle, a bit longer
    assert both["gap"].corr(both["cycle_days"], method="spearman") > 0.6
    assert (both["gap"] / both["cycle_days"]).median() > 1
