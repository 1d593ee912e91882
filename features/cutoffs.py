"""Cutoff (as-of) times: the only notion of 'now' the feature code knows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd


def to_timestamp(value: str | datetime | pd.Timestamp) -> pd.Timestamp:
    """A naive UTC timestamp; a date without time means the start of that day."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def monthly_cutoffs(last: pd.Timestamp, count: int) -> list[pd.Timestamp]:
    """`count` month starts ending at the month start at or before `last`, oldest first."""
    end = to_timestamp(last).to_period("M").to_timestamp()
    return [end - pd.DateOffset(months=k) for k in range(count - 1, -1, -1)]


def spaced_cutoffs(last: pd.Timestamp, count: int, step_days: int) -> list[pd.Timestamp]:
    """`count` cutoffs `step_days` apart ending at `last` (midnight), oldest first; step 0 means
    month starts (see monthly_cutoffs)."""
    if step_days <= 0:
        return monthly_cutoffs(last, count)
    end = to_timestamp(last).normalize()
    return [end - timedelta(days=step_days * k) for k in range(count - 1, -1, -1)]


def last_labelled_cutoff(data_end: pd.Timestamp, horizon_days: int) -> pd.Timestamp:
    """Latest month start whose horizon ends by `data_end`, so its churn label is known."""
    return to_timestamp(data_end - timedelta(days=horizon_days)).to_period("M").to_timestamp()


def cutoffs_frame(cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
    """The cutoffs table joined against events: one row per cutoff, column `cutoff_at`."""
    frame = pd.DataFrame({"cutoff_at": pd.to_datetime([to_timestamp(c) for c in cutoffs])})
    return frame.drop_duplicates().sort_values("cutoff_at").reset_index(drop=True)


SEASON_COVERAGE_WARNING = 0.5


def season_coverage(
    training_cutoffs: list[pd.Timestamp], horizon_days: int, target: pd.Timestamp
) -> float:
    """Share of the calendar days (by day of year) of the horizon after `target` that some
    training horizon also covered. Low: the base rate of that season was never learned (a
    holiday peak after a year of history), so probabilities carry other seasons' rates."""
    covered = {
        (to_timestamp(c) + timedelta(days=d)).dayofyear
        for c in training_cutoffs
        for d in range(horizon_days)
    }
    days = [(to_timestamp(target) + timedelta(days=d)).dayofyear for d in range(horizon_days)]
    return sum(d in covered for d in days) / max(len(days), 1)


def season_warning(
    training_cutoffs: list[pd.Timestamp], horizon_days: int, target: pd.Timestamp
) -> str | None:
    """A sentence when less than half the horizon's season was seen in training."""
    share = season_coverage(training_cutoffs, horizon_days, target)
    if share >= SEASON_COVERAGE_WARNING:
        return None
    end = to_timestamp(target) + timedelta(days=horizon_days)
    return (
        f"only {share:.0%} of the calendar days from {to_timestamp(target).date()} to "
        f"{end.date()} were in any training horizon: that season's base rate was never "
        "learned (a holiday peak, a short history); probabilities may be off, check the "
        "realized rates when they mature"
    )
