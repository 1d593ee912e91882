"""The one-customer route of posted histories (serving.posted + features.one_customer) gives
the features of the reference, validation and the batch SQL (pipelines.ingest, features.frame),
on random histories: orders, refunds, cancellations, complaints, the customer, and the edges
(one order, same-day orders, zero amounts, no amounts, no complaints, orders after the cutoff).
Messy histories (bad dates, duplicate ids, unknown statuses, out-of-range values) must be
handed to validation: whatever the fast route accepts, validation keeps whole."""

from __future__ import annotations

import math
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.frame import build_frame
from features.one_customer import NotHere, features_at
from features.schema import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from pipelines.ingest.sources import load_frames
from pipelines.settings import InputSettings
from pipelines.warehouse import connect
from serving.history import History, history_frames
from serving.posted import clean_history
from serving.schemas import ComplaintIn, CustomerIn, OrderIn

START = pd.Timestamp("2024-01-01")
WINDOW_DAYS = 365
CON = connect()  # reused: every history replaces all the contract tables


def _moment(day: int, second: int) -> str:
    at = START + pd.Timedelta(days=day, seconds=second)
    return str(at.date()) if second == 0 else str(at)


@st.composite
def orders(draw: st.DrawFn, messy: bool) -> list[OrderIn]:
    n = draw(st.integers(1, 9))
    with_amounts = draw(st.booleans())
    statuses = [None, "completed", "completed", "returned", "cancelled"]
    if messy:
        statuses += ["paid", "Completed", " returned", ""]
    rows = []
    for i in range(n):
        day = draw(st.sampled_from([0, 0, 1, 30, 89, 90, 200, 364, 400, 500]))
        at = _moment(day, draw(st.sampled_from([0, 0, 3600, 43_200])))
        if messy:
            at = draw(st.sampled_from([at, at.replace(" ", "T"), at + "+02:00", "2024-02-30", "x"]))
        amount = draw(st.sampled_from([0.0, 0.0, 9.99, 25.0, 130.5])) if with_amounts else None
        if messy and amount is not None:
            amount = draw(st.sampled_from([amount, -5.0, None]))
        rows.append(
            OrderIn(
                order_id=draw(st.sampled_from([f"o{i}", "o0", "o 1"])) if messy else f"o{i}",
                ordered_at=at,
                amount=amount,
                status=draw(st.sampled_from(statuses)),
                channel=draw(st.sampled_from([None, "web", "app", "store"])),
                category=draw(st.sampled_from([None, "books", "music"])),
                discount_amount=draw(st.sampled_from([None, 0.0, 2.5])),
            )
        )
    return rows


@st.composite
def complaints(draw: st.DrawFn, messy: bool) -> list[ComplaintIn]:
    rows = []
    scale = st.integers(0, 7) if messy else st.integers(1, 5)
    for i in range(draw(st.integers(0, 4))):
        opened = draw(st.integers(0, 500))
        took = draw(st.sampled_from([None, 0, 2, 40]))
        if messy and took is not None:
            took = draw(st.sampled_from([took, -3]))
        rows.append(
            ComplaintIn(
                complaint_id=f"k{i}",
                opened_at=_moment(opened, 7200),
                resolved_at=None if took is None else _moment(opened + took, 9000),
                severity=draw(st.none() | scale),
                satisfaction=draw(st.none() | scale),
            )
        )
    return rows


@st.composite
def histories(draw: st.DrawFn, messy: bool = False) -> tuple[History, pd.Timestamp]:
    person = draw(
        st.none()
        | st.builds(
            CustomerIn,
            signed_up_at=st.none() | st.sampled_from(["2023-05-01", "2024-03-01 10:00:00"]),
            segment=st.none() | st.sampled_from(["premium", "standard"]),
            region=st.none() | st.just("east"),
        )
    )
    history = History("c1", draw(orders(messy)), draw(complaints(messy)), person)
    return history, START + pd.Timedelta(days=draw(st.integers(0, 520)))


def reference(history: History, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """Validation and the batch SQL: the features frame and how many rows were set aside."""
    load_frames(CON, history_frames(history), InputSettings())
    set_aside = CON.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
    return build_frame(CON, [cutoff], WINDOW_DAYS), int(set_aside)


def assert_same(got: dict | None, want: pd.DataFrame) -> None:
    assert (got is None) == want.empty
    if got is None:
        return
    row = want.iloc[0]
    for column in NUMERIC_FEATURES:
        expected = row[column]
        if math.isnan(expected):
            assert got[column] is None, column
        else:
            assert got[column] == pytest.approx(expected, rel=1e-12, abs=1e-12), column
    for column in CATEGORICAL_FEATURES:
        expected = None if pd.isna(row[column]) else row[column]
        assert got[column] == expected, column


def fast(history: History, cutoff: pd.Timestamp) -> tuple[bool, dict | None]:
    """(taken, features) of the one-customer route."""
    clean = clean_history(*vars(history).values(), InputSettings())
    if clean is None:
        return False, None
    return True, features_at(*clean, cutoff.value // 1000, WINDOW_DAYS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_clean_histories_take_the_fast_route_with_the_batch_features(drawn) -> None:
    history, cutoff = drawn
    taken, got = fast(history, cutoff)
    want, set_aside = reference(history, cutoff)
    assert taken and set_aside == 0
    assert_same(got, want)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(messy=True))
def test_what_the_fast_route_takes_validation_keeps_whole(drawn) -> None:
    history, cutoff = drawn
    taken, got = fast(history, cutoff)
    if not taken:
        return
    want, set_aside = reference(history, cutoff)
    assert set_aside == 0
    assert_same(got, want)


def test_edges_named() -> None:
    """One order; same-day orders; zero amounts; no complaints; an order after the cutoff."""
    cutoff = START + pd.Timedelta(days=100)
    cases = [
        [OrderIn(order_id="a", ordered_at="2024-01-02")],
        [OrderIn(order_id=f"s{i}", ordered_at="2024-02-01", amount=0.0) for i in range(3)],
        [
            OrderIn(order_id="a", ordered_at="2024-02-01 10:00:00", amount=10.0),
            OrderIn(order_id="b", ordered_at="2024-12-01", amount=99.0),  # after the cutoff
            OrderIn(
                order_id="c", ordered_at="2024-02-01 10:00:00.5", amount=5.0, status="returned"
            ),
        ],
    ]
    for rows in cases:
        history = History("c1", rows)
        taken, got = fast(history, cutoff)
        assert taken
        assert_same(got, reference(history, cutoff)[0])


def test_more_channels_than_counted_one_by_one_go_to_the_sql() -> None:
    rows = [
        OrderIn(order_id=f"o{i}", ordered_at="2024-02-01", channel=f"ch{i:02d}") for i in range(17)
    ]
    clean = clean_history("c1", rows, [], None, InputSettings())
    assert clean is not None
    with pytest.raises(NotHere):
        features_at(*clean, (START + pd.Timedelta(days=60)).value // 1000, WINDOW_DAYS)


def test_settings_that_change_parsing_send_every_history_to_validation() -> None:
    rows = [OrderIn(order_id="a", ordered_at="2024-01-02")]
    assert clean_history("c1", rows, [], None, InputSettings(timezone="Europe/Paris")) is None
    formats = InputSettings(timestamp_formats=["%d.%m.%Y"])
    assert clean_history("c1", rows, [], None, formats) is None
    assert clean_history("c 1", rows, [], None, InputSettings()) is None  # ids with a space


def test_each_history_step_is_observed_once_per_history() -> None:
    """The in-process side of /metrics' history steps (the served side: test_deployed): a
    step run twice for one history (validated by both routes) is one observation, its
    time the sum; a history that stops early reports the steps it ran."""
    from prometheus_client import REGISTRY

    from serving import metrics

    def seen(step: str) -> tuple[float, float]:
        labels = {"step": step}
        count = REGISTRY.get_sample_value("retain_history_step_seconds_count", labels)
        total = REGISTRY.get_sample_value("retain_history_step_seconds_sum", labels)
        return count or 0.0, total or 0.0

    before = {step: seen(step) for step in metrics.HISTORY_STEPS}
    steps = metrics.HistorySteps()
    for _ in range(2):
        with steps.step("validate"):
            time.sleep(0.001)
    with pytest.raises(ZeroDivisionError), steps.step("features"):
        _ = 1 / 0
    steps.report()
    after = {step: seen(step) for step in metrics.HISTORY_STEPS}
    assert after["validate"][0] == before["validate"][0] + 1
    assert after["validate"][1] - before["validate"][1] >= 0.002
    assert after["features"][0] == before["features"][0] + 1
    assert after["model"] == before["model"] and after["reasons"] == before["reasons"]
