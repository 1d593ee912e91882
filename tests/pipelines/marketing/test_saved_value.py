"""Ranking by saved value on stored scores and features: who is moved goes first, the
control group is drawn as for any list, and a refused model is never used."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.files import write_table
from pipelines.home import Home
from pipelines.marketing.lists import Selection, control_draw
from pipelines.marketing.saved_value import fallback_reason, ranked_by_saved_value, train_and_judge
from pipelines.settings import load_settings


def _features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"S{seed}-{i:05d}" for i in range(n)],
            "tenure_days": rng.uniform(0, 600, n),
            "complaints_total": rng.poisson(0.4, n).astype(float),
        }
    )


def _campaign(list_id: str, day: str, seed: int, n: int = 3000) -> pd.DataFrame:
    """Known effects: long-standing customers without complaints are moved (+0.35), those
    who complained are put off (-0.25), the rest not at all."""
    rows = _features(n, seed)
    rng = np.random.default_rng(seed + 100)
    contacted = control_draw(rows["customer_id"], list_id) >= 0.5
    uplift = np.select(
        [rows["complaints_total"] > 0, rows["tenure_days"] > 300], [-0.25, 0.35], 0.0
    )
    ordered = rng.random(n) < 0.4 + contacted * uplift
    return rows.assign(
        list_id=list_id, as_of=pd.Timestamp(day), campaign_type="winback",
        group=np.where(contacted, "target", "control"), ordered=ordered,
    )  # fmt: skip


def test_the_moved_customers_rank_first_and_the_control_group_stays(tmp_path) -> None:
    outcomes = pd.concat([_campaign("c1", "2025-01-01", 1), _campaign("c2", "2025-04-01", 2)])
    judged = train_and_judge(outcomes, bags=3)
    assert fallback_reason(judged) is None
    settings = load_settings(home=tmp_path)
    features = _features(400, 9)
    scores = features[["customer_id"]].assign(
        churn_probability=0.5, expected_value=100.0, value_at_risk=50.0,
        as_of=pd.Timestamp("2025-07-01"), model_version="1",
    )  # fmt: skip
    write_table(scores, Home.of(settings).scores)
    write_table(features, Home.of(settings).features)
    listed = ranked_by_saved_value(settings, Selection(top=100), "next", judged)
    assert len(listed) == 100 and listed["saved_value"].is_monotonic_decreasing
    top = features.set_index("customer_id").loc[listed["customer_id"]]
    assert (top["complaints_total"] == 0).mean() > 0.9 and (top["tenure_days"] > 300).mean() > 0.8
    assert (listed["uplift_low"] <= listed["uplift"]).all()
    assert (listed["uplift"] <= listed["uplift_high"]).all()
    expected = np.where(control_draw(listed["customer_id"], "next") < 0.1, "control", "target")
    assert (listed["group"].to_numpy() == expected).all()
