"""Where the churn model tunes (a purged time-later fold) and when it keeps an optional
feature family (the category features): only when that fold shows it saves log loss."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.churn import ChurnModel, paired_gain

MONTHS = pd.date_range("2025-01-01", periods=8, freq="MS")  # the last one is the later fold


def test_the_paired_gain_is_the_mean_saving_and_its_standard_error() -> None:
    saved, error = paired_gain(np.array([0.5, 0.3]), np.array([0.6, 0.6]))
    assert np.isclose(saved, 0.2)
    assert np.isclose(error, np.std([0.1, 0.3]) / np.sqrt(2))


def test_tuning_rows_end_a_horizon_before_the_later_fold() -> None:
    cutoffs = pd.Series(MONTHS[:-1].repeat(2))
    purged = ChurnModel(("a",), purge_days=90)._purged(cutoffs, MONTHS[-1])
    assert purged is not None
    # 2025-08-01 minus 90 days is 2025-05-03: January to May tune, June and July do not
    assert sorted(set(cutoffs[purged].dt.month)) == [1, 2, 3, 4, 5]


def test_without_three_purged_cutoffs_there_is_no_purged_fold() -> None:
    cutoffs = pd.Series(MONTHS[:4])  # 2025-01-01 is the only one 90 days before 2025-05-01
    assert ChurnModel(("a",), purge_days=90)._purged(cutoffs, MONTHS[4]) is None


FAMILY = tuple(f"extra{j}" for j in range(5))  # an optional family of five columns


def _world(optional_matters: bool, seed: int = 0, per_cutoff: int = 1500) -> pd.DataFrame:
    """Customers at eight monthly cutoffs: churn depends on `a`, and on `extra0` only when
    `optional_matters` (else the whole family is noise, which trees can only overfit)."""
    rng = np.random.default_rng(seed)
    rows = len(MONTHS) * per_cutoff
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(rows)]})
    frame["cutoff_at"] = MONTHS.repeat(per_cutoff)
    frame["a"] = rng.normal(size=rows)
    for name in FAMILY:
        frame[name] = rng.normal(size=rows)
    logit = 1.5 * frame["a"] + (1.5 * frame["extra0"] if optional_matters else 0.0)
    frame["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(float)
    return frame


def _fit(frame: pd.DataFrame) -> ChurnModel:
    model = ChurnModel(("a", *FAMILY), n_estimators=60, optional=FAMILY, purge_days=60)
    return model.fit(frame)


def _family_splits(model: ChurnModel) -> int:
    return int(model.booster_.feature_importance()[1:].sum())


def test_an_optional_family_that_saves_nothing_is_left_out_of_the_trees() -> None:
    model = _fit(_world(optional_matters=False))
    assert model.optional_used_ is False and model.purged_cutoffs_ >= 3
    assert _family_splits(model) == 0  # the family never splits


def test_an_optional_family_that_predicts_is_kept() -> None:
    model = _fit(_world(optional_matters=True))
    assert model.optional_used_ is True
    assert model.optional_gain_ is not None and model.optional_gain_[0] > model.optional_gain_[1]
    assert _family_splits(model) > 0


def test_a_history_too_short_to_purge_leaves_the_family_out() -> None:
    frame = _world(optional_matters=True)
    model = _fit(frame[frame["cutoff_at"] >= MONTHS[5]])  # three cutoffs, none purged
    assert model.optional_used_ is False and model.purged_cutoffs_ == 0
    assert _family_splits(model) == 0


def test_without_the_family_in_the_rows_there_is_nothing_to_choose() -> None:
    frame = _world(optional_matters=False)
    frame[list(FAMILY)] = np.nan
    assert _fit(frame).optional_used_ is None
