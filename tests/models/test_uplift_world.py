"""The must-shows of ranking by saved value, on a small generated world with known effects.

Two campaigns on random (stable-hash) control groups, five months apart; the uplift model
learns from the first and is judged on the second (time-later), against the generator's
per-customer truth. A world with no effect at all must be refused and fall back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.marketing.saved_value import Judged, register, train_and_judge
from pipelines.settings import load_settings
from pipelines.synthetic.campaign import EffectMix
from tests.uplift_world import Run, run_campaign

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mixed() -> tuple[Run, Judged]:
    first, second = run_campaign(0, EffectMix()), run_campaign(1, EffectMix())
    return second, train_and_judge(pd.concat([first.outcomes, second.outcomes]))


def test_saved_value_saves_half_again_what_value_at_risk_saves(mixed) -> None:
    later, judged = mixed
    ids = later.outcomes["customer_id"].to_numpy()
    uplift = judged.model.predict(later.outcomes)["uplift"].to_numpy()
    value = later.value.loc[ids].to_numpy()
    budget = len(ids) // 5  # the top 20 % by each ranking
    by_saved = np.argsort(-uplift * value, kind="stable")[:budget]
    by_risk = np.argsort(-later.churn.loc[ids].to_numpy() * value, kind="stable")[:budget]
    true = later.truth.loc[ids, "true_uplift_revenue"].to_numpy()
    assert true[by_risk].sum() > 0
    assert true[by_saved].sum() >= 1.5 * true[by_risk].sum()


def test_qini_on_the_time_later_campaign_is_positive_with_its_interval(mixed) -> None:
    _, judged = mixed
    assert judged.held_out == "campaign-2" and judged.trained_on == ["campaign-1"]
    assert judged.qini.low > 0 and judged.refused is None
    assert judged.auuc > 0


def test_uplift_is_calibrated_in_every_quintile(mixed) -> None:
    """In each predicted-uplift quintile of the held-out campaign the observed target -
    control difference lies within the 90 % interval of the predicted mean uplift (both
    uncertainties: the observed difference's and the prediction's bootstrap spread), and
    the predicted mean matches the true mean uplift of its quintile (from the truth)."""
    later, judged = mixed
    table = judged.calibration
    assert len(table) == 5
    assert table["within"].all(), table.to_string()
    uplift = judged.model.predict(later.outcomes)["uplift"].to_numpy()
    ids = later.outcomes["customer_id"].to_numpy()
    true = later.truth.loc[ids, "true_uplift_ordered"].to_numpy()
    quintile = pd.Series(uplift).rank(method="first", ascending=False) // (len(ids) / 5 + 1e-9)
    frame = pd.DataFrame({"q": quintile, "predicted": uplift, "true": true})
    means = frame.groupby("q")[["predicted", "true"]].mean()
    assert (means["predicted"] - means["true"]).abs().max() < 0.04, means.to_string()


def test_a_world_without_effect_is_refused_and_the_list_falls_back(
    tmp_path, monkeypatch, capsys
) -> None:
    none = EffectMix.none()
    first, second = run_campaign(0, none), run_campaign(1, none)
    judged = train_and_judge(pd.concat([first.outcomes, second.outcomes]))
    assert judged.refused is not None
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow/mlflow.db")
    register(load_settings(), judged)
    from pipelines.cli.lists import _uplift_or_fallback

    assert _uplift_or_fallback() is None
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("ranked by value at risk, not saved value")
