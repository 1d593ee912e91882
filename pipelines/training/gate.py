"""Champion vs challenger, each judged on outcomes it was not fitted on.

The champion is taken exactly as it was registered (its trees, calibration, BG/NBD
parameters and value cut-offs; never refitted). It has seen every event before its data
end, so the two are compared on the window after it (pipelines.training.window): the
customers active at the champion's data end and whether each ordered by this run's data
end, each model with its own P(order within those s days). The challenger judged there is
this run's recipe refitted on the labels that end by the window's start (the registered
challenger, refitted on everything labelled, has seen the window's orders).

When that window is too short or too thin (two trainings within four weeks, a tiny base),
the gate falls back to the newest labelled cutoff v of this run, whose labels the champion
may have partly seen, which favours it; the decision says so. The challenger is promoted
when it is not worse than the champion by more than the margins: a newer model of equal
quality is preferred, it has seen the newer world. Anything that stops the champion from
being judged refuses the promotion: nothing is promoted unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd

from models.registry import Registry
from models.scorer import Scorer
from pipelines.settings import Settings
from pipelines.training.backtest import fit_scorer, model_metrics, recent_cutoff, recent_rows
from pipelines.training.train import TrainResult
from pipelines.training.window import (
    WINDOW_BASIS,
    GateWindow,
    challenger_rows,
    choose_window,
    too_short,
    too_thin,
    window_metrics,
)

Metrics = dict[str, float | None]
RowsAt = Callable[[list[pd.Timestamp]], pd.DataFrame]  # rows at cutoffs, labelled to data end
LAST_CUTOFF_TAG = "last_training_cutoff"
DATA_END_TAG = "data_end_at"  # the exact data end (the `data_end` tag shows its day)
GATE_WINDOW_TAG = "gate_window"
# A challenger that ranks no better than chance is broken (bad data, shuffled outcomes, a bug),
# whatever the champion: against a stale champion in a changed world it can still win on Brier.
MIN_ROC_AUC = 0.55


@dataclass
class Decision:
    promoted: bool
    reason: str
    champion_version: str | None = None
    challenger: Metrics | None = None  # on `window` (before a champion: at the evaluation cutoff)
    champion: Metrics | None = None  # the same, for the champion as registered
    window: dict[str, Any] | None = None  # what both were judged on

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def window_text(self) -> str:
        return window_text(self.window)


def window_text(window: dict[str, Any] | None) -> str:
    """What a decision judged on, in a few words (the version's tag, the replay's table)."""
    if not window:
        return ""
    if window["basis"] == WINDOW_BASIS:
        return f"{window['start']} +{window['observed_days']}d, {window['customers']:,} customers"
    return f"fallback: labelled cutoff {window['start']}, {window['customers']:,} customers"


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
        return False, "PR-AUC or Brier score cannot be measured on what both were judged on"
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


def judge(result: TrainResult, registry: Registry, settings: Settings, rows_at: RowsAt) -> Decision:
    """The decision for this run's challenger against the registered champion; `rows_at`
    gives the rows at cutoffs this run's frame lacks (the window's), labelled to its data end."""
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
        scorer, _ = registry.load_scorer(version)
        decision = compare(result, scorer, registry.version_tags(version), settings, rows_at)
    except Exception as exc:  # whatever stops the check refuses: never an unchecked promotion
        reason = (
            f"champion version {version} could not be evaluated ({type(exc).__name__}: {exc}); "
            f"not promoted: promote by hand with `retain models promote` once checked"
        )
        return Decision(False, reason, version, challenger)
    return replace(decision, champion_version=version)


def champion_data_end(tags: dict[str, str]) -> pd.Timestamp:
    """The end of the data a version was fitted on, from its tags."""
    found = tags.get(DATA_END_TAG) or tags.get("data_end")
    if not found:
        raise ValueError("it carries no data_end tag: what it has seen is unknown")
    return pd.Timestamp(found)


def compare(
    result: TrainResult,
    champion: Scorer,
    tags: dict[str, str],
    settings: Settings,
    rows_at: RowsAt,
) -> Decision:
    """Challenger vs `champion` (a registered version with `tags`) on the window after the
    champion's data end, or at the evaluation cutoff when that window cannot judge."""
    if champion.horizon_days != result.scorer.horizon_days:
        raise ValueError(
            f"its horizon is {champion.horizon_days} days, this run's "
            f"{result.scorer.horizon_days}: their probabilities answer different questions"
        )
    window = choose_window(champion_data_end(tags), result.data_end, settings.horizon_days)
    rows = None
    why = too_short(window)
    if why is None:
        rows = rows_at([window.start])
        why = too_thin(window, rows)
    fitted = None if why else _window_challenger(result, window, settings, rows_at)
    if rows is None or fitted is None:
        why = why or "fewer than 2 labelled cutoffs end before the window"
        return _at_evaluation_cutoff(result, champion, tags, settings, why)
    days = window.observed_days
    ours, theirs = window_metrics(fitted, rows, days), window_metrics(champion, rows, days)
    promoted, reason = promotion_decision(
        ours, theirs, settings.promotion_margin, settings.promotion_brier_margin
    )
    shown = {**window.as_dict(rows), "challenger_cutoffs": _span(fitted.training_cutoffs)}
    return Decision(promoted, f"{reason}; {window.describe(len(rows))}", None, ours, theirs, shown)


def _window_challenger(
    result: TrainResult, window: GateWindow, settings: Settings, rows_at: RowsAt
) -> Scorer | None:
    """This run's recipe refitted on the labels that end by the window's start, its recent
    level seen up to there; None without two such cutoffs."""
    train = challenger_rows(result.frame, window.start, settings)
    if train["cutoff_at"].nunique() < 2:
        return None
    frame = result.frame
    newest = recent_cutoff(window.start, settings)
    if newest is not None and not frame["cutoff_at"].eq(newest).any():
        frame = pd.concat([frame, rows_at([newest])], ignore_index=True)
    return fit_scorer(train, settings, recent=recent_rows(frame, window.start, settings))


def _span(cutoffs: tuple[pd.Timestamp, ...]) -> str:
    return f"{cutoffs[0].date()} .. {cutoffs[-1].date()} ({len(cutoffs)})" if cutoffs else ""


def _at_evaluation_cutoff(
    result: TrainResult, champion: Scorer, tags: dict[str, str], settings: Settings, why: str
) -> Decision:
    """The fallback: both at this run's newest labelled cutoff v, whose labels the champion
    may have partly seen (it was trained up to its own data end), which favours it."""
    last = tags.get(LAST_CUTOFF_TAG)
    v = result.evaluation_cutoff
    if last is not None and pd.Timestamp(last) >= v:
        raise ValueError(
            f"it was trained on cutoffs up to {last}, not before this run's evaluation cutoff "
            f"{v.date()}, and no window after its data end can judge it ({why}): it cannot be "
            "judged on data it has not seen"
        )
    rows = result.validation.reset_index(drop=True)
    theirs, _ = model_metrics(champion, rows)
    ours = result.metrics["model"]
    promoted, reason = promotion_decision(
        ours, theirs, settings.promotion_margin, settings.promotion_brier_margin
    )
    said = (
        f"{reason}; fallback: judged at the newest labelled cutoff {v.date()} on "
        f"{len(rows):,} customers, whose labels the champion (data to "
        f"{tags.get('data_end', '?')}) may have partly seen, which favours it: {why}"
    )
    shown = {"basis": f"fallback: {why}", "start": str(v.date()), "customers": len(rows)}
    return Decision(promoted, said, None, ours, theirs, shown)
