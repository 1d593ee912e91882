"""The champion rule: a PR-AUC gain of at least the margin, and no worse Brier score."""

from __future__ import annotations

from pipelines.training.train import promotion_decision


def _m(pr: float, brier: float) -> dict[str, float | None]:
    return {"churn_pr_auc": pr, "churn_brier": brier}


def test_first_model_is_promoted() -> None:
    assert promotion_decision(_m(0.5, 0.2), None, 0.002) == (True, "no champion yet")


def test_equal_model_is_refused() -> None:
    promoted, why = promotion_decision(_m(0.80, 0.15), _m(0.80, 0.15), 0.002)
    assert not promoted and "margin" in why


def test_better_ranking_with_worse_calibration_is_refused() -> None:
    promoted, why = promotion_decision(_m(0.85, 0.16), _m(0.80, 0.15), 0.002)
    assert not promoted and "Brier" in why


def test_clear_improvement_is_promoted() -> None:
    assert promotion_decision(_m(0.85, 0.14), _m(0.80, 0.15), 0.002)[0]
