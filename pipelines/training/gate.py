"""Champion vs challenger as deployed.

Both are scored on the same customers at the newest labelled cutoff v of this run: the
champion exactly as it was registered (its trees, calibration, BG/NBD parameters and value
cut-offs; never refitted), the challenger by its recipe trained on the labels that end by v
(the registered challenger is the same recipe refitted on the cutoffs up to v). The
challenger is promoted when it is not worse than the champion by more than the margins:
a newer model of equal quality is preferred, it has seen the newer world. When the champion
was trained less than a horizon before v its labels overlap v's window, which can only favour
it, so the rule errs on the side of keeping it. Anything that stops the champion from being
judged refuses the promotion: nothing is promoted unchecked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from models.registry import Registry
from pipelines.settings import Settings
from pipelines.training.backtest import model_metrics
from pipelines.training.train import TrainResult

Metrics = dict[str, float | None]
LAST_CUTOFF_TAG = "last_training_cutoff"
# A challenger that ranks no better than chance is broken (bad data, shuffled outcomes, a bug),
# whatever the champion: against a stale champion in a changed world it can still win on Brier.
MIN_ROC_AUC = 0.55


@dataclass
class Decision:
    promoted: bool
    reason: str
    champion_version: str | None = None
    challenger: Metrics | None = None  # at the evaluation cutoff
    champion: Metrics | None = None  # the same, for the champion as registered

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def promotion_decision(
    challenger: Metrics, champion: Metrics | None, pr_auc_margin: float, brier_margin: float
) -> tuple[bool, str]:
    """Promote unless the challenger's PR-AUC is lower by more than `pr_auc_margin` or its
    Brier score higher by more than `brier_margin` (or either cannot be measured)."""
    if champion is None:
        return True, "no champion yet"
    values = [challenger.get(k) for k in ("churn_pr_auc", "churn_brier")]
    values += [champion.get(k) for k in ("churn_pr_auc", "churn_brier")]
    if any(v is None or pd.isna(v) for v in values):
        return False, "PR-AUC or Brier score cannot be measured at the evaluation cutoff"
    pr, brier, champ_pr, champ_brier = (float(v) for v in values)  # type: ignore[arg-type]
    facts = f"PR-AUC {pr:.4f} vs champion {champ_pr:.4f}, Brier {brier:.4f} vs {champ_brier:.4f}"
    if pr < champ_pr - pr_auc_margin:
        return False, f"PR-AUC worse than the champion's by more than {pr_auc_margin}: {facts}"
    if brier > champ_brier + brier_margin:
        return False, f"Brier score worse than the champion's by more than {brier_margin}: {facts}"
    if (pr, brier) == (champ_pr, champ_brier):
        verdict = "as good"
    elif pr >= champ_pr and brier <= champ_brier:
        verdict = "better"
    else:
        verdict = "not worse within the margins"
    return True, f"{verdict}, and trained on newer data: {facts}"


def judge(result: TrainResult, registry: Registry, settings: Settings) -> Decision:
    """The decision for this run's challenger against the registered champion."""
    challenger = result.metrics["model"]
    version = registry.champion_version()
    roc_auc = challenger.get("churn_roc_auc")
    if roc_auc is None or pd.isna(roc_auc) or roc_auc < MIN_ROC_AUC:
        reason = (
            f"ranks no better than chance (ROC-AUC {roc_auc} < {MIN_ROC_AUC} at "
            f"{result.evaluation_cutoff.date()}): broken data or training; never promoted"
        )
        return Decision(False, reason, version, challenger)
    if version is None:
        return Decision(True, "no champion yet", None, challenger)
    try:
        champion = _champion_metrics(result, registry, version)
    except Exception as exc:  # whatever stops the check refuses: never an unchecked promotion
        reason = (
            f"champion version {version} could not be evaluated ({type(exc).__name__}: {exc}); "
            f"not promoted: promote by hand with `retain models promote` once checked"
        )
        return Decision(False, reason, version, challenger)
    promoted, reason = promotion_decision(
        challenger, champion, settings.promotion_margin, settings.promotion_brier_margin
    )
    return Decision(promoted, reason, version, challenger, champion)


def _champion_metrics(result: TrainResult, registry: Registry, version: str) -> Metrics:
    """The champion as registered, scored at this run's evaluation cutoff."""
    last = registry.version_tags(version).get(LAST_CUTOFF_TAG)
    v = result.evaluation_cutoff
    if last is not None and pd.Timestamp(last) >= v:
        raise ValueError(
            f"it was trained on cutoffs up to {last}, not before this run's evaluation cutoff "
            f"{v.date()}: it cannot be judged on data it has not seen"
        )
    scorer, _ = registry.load_scorer(version)
    if scorer.horizon_days != result.scorer.horizon_days:
        raise ValueError(
            f"its horizon is {scorer.horizon_days} days, this run's "
            f"{result.scorer.horizon_days}: their probabilities answer different questions"
        )
    metrics, _ = model_metrics(scorer, result.validation.reset_index(drop=True))
    return metrics
