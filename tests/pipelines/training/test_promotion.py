"""The champion rule: a newer model replaces the champion unless it is worse by more than the
margins on the same customers; what cannot be measured is never promoted."""

from __future__ import annotations

import pytest

from pipelines.training.gate import promotion_decision


def _m(pr: float | None, brier: float | None) -> dict[str, float | None]:
    return {"churn_pr_auc": pr, "churn_brier": brier}


def decide(challenger, champion) -> tuple[bool, str]:
    return promotion_decision(challenger, champion, pr_auc_margin=0.005, brier_margin=0.002)


def test_first_model_is_promoted() -> None:
    assert decide(_m(0.5, 0.2), None) == (True, "no champion yet")


def test_an_equal_newer_model_is_promoted_with_the_figures() -> None:
    promoted, why = decide(_m(0.80, 0.15), _m(0.80, 0.15))
    assert promoted and why.startswith("as good")
    assert "PR-AUC 0.8000 vs champion 0.8000" in why and "newer data" in why


def test_a_better_model_is_called_better() -> None:
    assert decide(_m(0.81, 0.14), _m(0.80, 0.15))[1].startswith("better")


def test_within_the_margins_is_promoted() -> None:
    promoted, why = decide(_m(0.796, 0.1515), _m(0.80, 0.15))
    assert promoted and why.startswith("not worse within the margins")


@pytest.mark.parametrize(
    ("challenger", "word"),
    [(_m(0.79, 0.15), "PR-AUC worse"), (_m(0.85, 0.153), "Brier score worse")],
)
def test_worse_by_more_than_a_margin_is_refused(challenger, word: str) -> None:
    promoted, why = decide(challenger, _m(0.80, 0.15))
    assert not promoted and why.startswith(word)


@pytest.mark.parametrize("challenger", [_m(None, 0.15), _m(0.8, float("nan"))])
def test_what_cannot_be_measured_is_refused(challenger) -> None:
    promoted, why = decide(challenger, _m(0.80, 0.15))
    assert not promoted and "cannot be measured" in why


def test_a_challenger_that_ranks_like_chance_is_refused_even_without_a_champion() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from pipelines.training.gate import judge

    result = SimpleNamespace(
        metrics={"model": {"churn_roc_auc": 0.51, "churn_pr_auc": 0.6, "churn_brier": 0.2}},
        evaluation_cutoff=pd.Timestamp("2025-01-01"),
    )
    registry = SimpleNamespace(champion_version=lambda: None)
    decision = judge(result, registry, settings=None, rows_at=None)  # type: ignore[arg-type]
    assert not decision.promoted and "no better than chance" in decision.reason
