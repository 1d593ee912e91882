"""What `retain train` says and logs of the churn model's choice about the category features."""

from __future__ import annotations

from models.churn import ChurnModel
from pipelines.training.run import category_feature_params
from pipelines.training.train import category_note


def _churn(used: bool | None, gain: tuple[float, float] | None, purged: int = 4) -> ChurnModel:
    model = ChurnModel(("a",))
    model.optional_used_, model.optional_gain_, model.purged_cutoffs_ = used, gain, purged
    return model


def test_a_family_left_out_on_the_purged_fold_is_said_with_its_evidence() -> None:
    (note,) = category_note(_churn(False, (0.0001, 0.0004)))
    assert note == (
        "category features left out of the churn score: they saved 0.0001 log loss "
        "(SE 0.0004) on the purged later fold"
    )
    params = category_feature_params(_churn(False, (0.0001, 0.0004)))
    assert params == {
        "churn_category_features": "not used",
        "churn_tuning_cutoffs_purged": 4,
        "churn_category_log_loss_saved": "0.00010 (SE 0.00040)",
    }


def test_a_history_too_short_to_judge_says_so() -> None:
    (note,) = category_note(_churn(False, None, purged=0))
    assert "too short to judge them" in note
    assert category_feature_params(_churn(False, None, 0))["churn_tuning_cutoffs_purged"] == 0


def test_nothing_is_said_when_used_or_absent() -> None:
    assert category_note(_churn(True, (0.002, 0.0005))) == []
    assert category_note(_churn(None, None)) == []
    assert category_feature_params(_churn(None, None))["churn_category_features"] == (
        "absent (no categories)"
    )
