"""Rolling-origin backtest (docs/ARCHITECTURE.md, time rules): the model and the baselines, side by side.

To evaluate at cutoff v, every scorer trains only on monthly cutoffs c with c + horizon <= v,
so no label it learns from overlaps v's window; all are scored on the same customers at v.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from features.cutoffs import (
    SEASON_COVERAGE_WARNING,
    last_labelled_cutoff,
    season_coverage,
    spaced_cutoffs,
    to_timestamp,
)
from features.schema import FEATURE_COLUMNS
from models.baselines import BGNBDBaseline, RecencyBaseline, RFMBaseline
from models.bgnbd import BGNBD, BGNBD_FEATURES, bgnbd_columns, bgnbd_inputs, fit_bgnbd_features
from models.boosting import FeatureEncoder
from models.churn import ANCHOR, ChurnModel
from models.gamma_gamma import bgnbd_gg_spend
from models.metrics import churn_metrics, concordance_index, interval_coverage, timing_metrics
from models.next_order import NextOrderModel, observed_within
from models.scorer import (
    EXPECTED_ORDERS,
    FORECAST,
    VALUE_BASES,
    VALUE_METHODS,
    RecentCutoff,
    Scorer,
    choose_value_method,
    expected_value,
    spend_known,
    value_basis,
    value_tier_thresholds,
)
from models.spend import SpendForecast
from models.value_metrics import value_metrics
from pipelines.errors import InputError
from pipelines.settings import Settings

# The trees see BG/NBD's P(alive) and expected orders; its P(no order) is the stack's anchor.
MODEL_FEATURES = (*FEATURE_COLUMNS, *(f for f in BGNBD_FEATURES if f != ANCHOR))


def training_cutoffs(v: pd.Timestamp, settings: Settings) -> list[pd.Timestamp]:
    """The cutoffs a scorer evaluated at `v` may learn from: each one's horizon ends by v."""
    if settings.cutoff_step_days:
        last = to_timestamp(v - pd.Timedelta(days=settings.horizon_days))
    else:
        last = last_labelled_cutoff(v, settings.horizon_days)
    return spaced_cutoffs(last, settings.training_cutoffs, settings.cutoff_step_days)


def fit_cutoffs(v: pd.Timestamp, settings: Settings, overlapping: bool) -> list[pd.Timestamp]:
    """The cutoffs a scorer validated at `v` learns from: those whose horizon ends by v, or,
    `overlapping` (a short history with partial cutoffs), every cutoff before v: their labels
    then overlap v's window, which flatters the validation and is said to."""
    if not overlapping:
        return training_cutoffs(v, settings)
    step = settings.cutoff_step_days
    before = v - (pd.Timedelta(days=step) if step else pd.DateOffset(months=1))
    return spaced_cutoffs(to_timestamp(before), settings.training_cutoffs, step)


MIN_RECENT_DAYS = 28  # a newer cutoff observed for less says too little about its rate


def recent_cutoff(data_end: pd.Timestamp, settings: Settings) -> pd.Timestamp | None:
    """The cutoff after the last labelled one at `data_end`, whose horizon is not over but
    was observed for at least MIN_RECENT_DAYS (models.recent_rate), or None."""
    last = training_cutoffs(data_end, settings)[-1]
    step = settings.cutoff_step_days
    recent = to_timestamp(last + (pd.Timedelta(days=step) if step else pd.DateOffset(months=1)))
    return recent if (data_end - recent).days >= MIN_RECENT_DAYS else None


def learned_cutoffs(frame: pd.DataFrame, v: pd.Timestamp, settings: Settings) -> list[pd.Timestamp]:
    """The training cutoffs of `v` that have labelled customers in `frame` (those before the
    data starts teach nothing, about seasons included)."""
    present = set(frame.loc[frame["churned"].notna(), "cutoff_at"].unique())
    return [c for c in training_cutoffs(v, settings) if c in present]


def ordered_within(rows: pd.DataFrame, days: int) -> np.ndarray:
    """Whether each row's next order came within `days` of its cutoff (an observed one)."""
    seen = ~rows["next_order_censored"].astype(bool).to_numpy()
    return seen & (rows["days_to_next_order"].to_numpy(dtype=float) < days)


def recent_rows(
    frame: pd.DataFrame, data_end: pd.Timestamp, settings: Settings, season_check: bool = True
) -> tuple[RecentCutoff, int] | None:
    """Features at the recent cutoff with whether each customer ordered within the days
    observed up to `data_end` (never later), and those days. None without such rows, and
    when the season after `data_end` was in no training horizon: a gap in the recent weeks
    may then be their season's (CDNOW's summer lull before its holidays), not a shift that
    lasts; `season_warning` says so instead. Without `season_check` (a history too short to
    have seen any season twice) the newest weeks are the best guide there is, and are used."""
    learned = learned_cutoffs(frame, data_end, settings)
    coverage = season_coverage(learned, settings.horizon_days, data_end)
    if season_check and coverage < SEASON_COVERAGE_WARNING:
        return None
    recent = recent_cutoff(data_end, settings)
    rows = frame[frame["cutoff_at"] == recent]
    if recent is None or rows.empty:
        return None
    days = (data_end - recent).days
    return (rows, ordered_within(rows, days)), days


def fit_scorer(
    frame: pd.DataFrame,
    settings: Settings,
    recipe: Scorer | None = None,
    recent: tuple[RecentCutoff, int] | None = None,
) -> Scorer:
    """Both models and the value-tier thresholds from one labelled multi-cutoff frame.
    With `recipe`, its estimators' parameters are reused (a champion refitted on new data);
    with `recent` (see recent_rows), the level follows the newest, partly observed cutoff."""
    prepared, latest_fit = fit_bgnbd_features(frame, settings.horizon_days)
    churn = (
        clone(recipe.churn)
        if recipe
        else ChurnModel(
            MODEL_FEATURES,
            n_estimators=settings.churn_max_trees,
            random_state=settings.random_state,
            purge_days=settings.horizon_days,
        )
    )
    timing = (
        clone(recipe.next_order)
        if recipe
        else NextOrderModel(
            MODEL_FEATURES, settings.horizon_days, random_state=settings.random_state
        )
    )
    latest = prepared[prepared["cutoff_at"] == prepared["cutoff_at"].max()]
    encoder = FeatureEncoder(churn.features).fit(prepared)  # vocabularies only, no labels
    value_method, _ = choose_value_method(latest, settings.horizon_days)
    scorer = Scorer(
        churn=churn.fit(prepared, encoder),
        next_order=timing.fit(prepared, encoder),
        horizon_days=settings.horizon_days,
        high_risk_threshold=settings.high_risk_threshold,
        medium_risk_threshold=settings.medium_risk_threshold,
        tier_thresholds=value_tier_thresholds(latest[value_basis(latest)], settings.value_tiers),
        settings_hash=settings.model_hash(),
        bgnbd=latest_fit,
        value_method=value_method,
        value_basis=value_basis(latest),
        training_cutoffs=tuple(sorted(pd.to_datetime(frame["cutoff_at"].unique()))),
    )
    fit_spend(scorer, prepared, encoder, settings, recipe)
    if settings.value_tier_basis == "predicted":
        x = encoder.transform(latest)
        year = scorer.value_columns(latest, scorer.churn.predict_proba_encoded(x, latest))
        scorer.value_basis = VALUE_BASES["predicted"]
        scorer.tier_thresholds = value_tier_thresholds(
            year["predicted_clv_365d"], settings.value_tiers
        )
    if recent is not None:
        (rows, ordered), days = recent
        scorer.update_recent_rate((rows, ordered), (latest, ordered_within(latest, days)), days)
    return scorer


def fit_spend(
    scorer: Scorer,
    prepared: pd.DataFrame,
    encoder: FeatureEncoder,
    settings: Settings,
    recipe: Scorer | None,
) -> None:
    """The learned spend forecast (models.spend) on the scorer, when the source has amounts
    and enough buyers; otherwise the scorer keeps its heuristic value (and says which)."""
    if scorer.value_method == EXPECTED_ORDERS:
        return
    spend = (
        clone(recipe.spend)
        if recipe is not None and recipe.spend is not None
        else SpendForecast(
            MODEL_FEATURES, settings.horizon_days, random_state=settings.random_state
        )
    )
    labelled = prepared[prepared["churned"].notna()]
    later = labelled[labelled["cutoff_at"] == labelled["cutoff_at"].max()]
    try:
        scorer.spend = spend.fit(prepared, scorer.churn.predict_proba(later), encoder)
    except ValueError:
        return  # too few buyers to learn from: the heuristic stays
    scorer.value_method = FORECAST


def model_metrics(scorer: Scorer, test: pd.DataFrame) -> tuple[dict[str, float | None], np.ndarray]:
    """Churn and timing metrics of a fitted scorer on a labelled cutoff, and its P(churn)."""
    frame = scorer.prepare(test)
    p = scorer.churn.predict_proba(frame)
    timing = scorer.next_order.summary(scorer.curve(frame), frame.index)
    at = test.index.isin(observed_within(test, scorer.horizon_days).index)  # positional mask
    h = scorer.horizon_days
    # restricted mean time to the next order within the horizon: p h + (1 - p) E[T | T < h]
    restricted_mean = p * h + (1 - p) * timing["expected_days_to_next_order"].to_numpy()
    metrics: dict[str, float | None] = {
        **churn_metrics(test["churned"].to_numpy(dtype=int), p),
        **timing_metrics(
            test["days_to_next_order"].to_numpy()[at],
            timing["expected_days_to_next_order"].to_numpy()[at],
        ),
        "next_order_interval_coverage": interval_coverage(
            test["days_to_next_order"].to_numpy()[at],
            timing["next_order_p10_days"].to_numpy()[at],
            timing["next_order_p90_days"].to_numpy()[at],
        ),
        "next_order_c_index": _c_index(test, restricted_mean),
        **_value_error(frame, test, scorer),
    }
    return metrics, p


def _value_error(frame: pd.DataFrame, test: pd.DataFrame, scorer: Scorer) -> dict[str, float]:
    """Value metrics of the scorer's horizon forecast against the spend that followed, for
    every customer (models.value_metrics), and the MAE of `expected_value` on those who
    ordered (what it predicts). Nothing without amounts: orders are not money."""
    if scorer.value_method == EXPECTED_ORDERS or test["spend_next_horizon"].isna().all():
        return {}
    x = scorer.churn.encoder_.transform(frame)
    p = scorer.churn.predict_proba_encoded(x, frame)
    value = scorer.value_columns(frame, p)
    actual = test["spend_next_horizon"].to_numpy(dtype=float)
    stayed = test["churned"].eq(0).to_numpy()
    conditional = value["expected_value"].to_numpy()
    low, high = (
        value[c].to_numpy() if c in value else None
        for c in ("predicted_spend_horizon_p10", "predicted_spend_horizon_p90")
    )
    out = value_metrics(actual, value["predicted_spend_horizon"].to_numpy(), low, high)
    out["expected_value_mae"] = float(np.mean(np.abs(conditional - actual)[stayed]))
    return {k: v for k, v in out.items() if v is not None}


def value_baselines(test: pd.DataFrame, horizon_days: int) -> dict[str, dict[str, float | None]]:
    """The value metrics of the anchors on the same customers: BG/NBD x Gamma-Gamma (both
    fitted on the histories at the cutoff, no labels), the 12-month spend rate and BG/NBD's
    orders x the customer's own net order value (today's two heuristics)."""
    if not spend_known(test) or test["spend_next_horizon"].isna().all():
        return {}
    bgnbd = BGNBD(penalizer=0.001).fit(*bgnbd_inputs(test))
    frame = test.assign(**bgnbd_columns(test, horizon_days, bgnbd))
    forecasts = {
        "bgnbd_gamma_gamma": bgnbd_gg_spend(frame, horizon_days, bgnbd),
        **{m: expected_value(frame, m, horizon_days) for m in VALUE_METHODS},
    }
    actual = test["spend_next_horizon"].to_numpy(dtype=float)
    return {name: value_metrics(actual, f) for name, f in forecasts.items()}


def _c_index(test: pd.DataFrame, predicted_days: np.ndarray) -> float:
    return concordance_index(
        test["days_to_next_order"].to_numpy(dtype=float),
        ~test["next_order_censored"].to_numpy(dtype=bool),
        predicted_days,
    )


def baseline_metrics(
    baseline: Any, train: pd.DataFrame, test: pd.DataFrame, horizon_days: int
) -> tuple[dict[str, float | None], np.ndarray]:
    """Metrics of a baseline fitted on `train` and scored on `test`, and its P(churn)."""
    baseline.fit(train)
    p = baseline.predict_proba(test)
    out: dict[str, float | None] = dict(churn_metrics(test["churned"].to_numpy(dtype=int), p))
    days = baseline.predict_days(test)
    seen = test.index.isin(observed_within(test, horizon_days).index)
    if days is None:
        out |= {"next_order_mae_days": None, "next_order_c_index": None}
    else:
        out |= timing_metrics(test["days_to_next_order"].to_numpy()[seen], days[seen])
        out["next_order_c_index"] = _c_index(test, days)
    out["next_order_interval_coverage"] = None  # no interval
    return out, p


@dataclass
class Backtest:
    by_cutoff: dict[str, dict[str, dict[str, float | None]]]  # cutoff -> scorer -> metric
    predictions: dict[str, pd.DataFrame]  # cutoff -> churned + P(churn) of each scorer


BASELINES = {"recency": RecencyBaseline, "rfm": RFMBaseline, "bgnbd": BGNBDBaseline}


def backtest(
    frame: pd.DataFrame,
    eval_cutoffs: list[pd.Timestamp],
    settings: Settings,
    recipes: dict[str, Scorer | None],
    baselines: bool = True,
    overlapping: bool = False,
) -> Backtest:
    """Metrics of each recipe (None = today's settings) and each baseline at each cutoff;
    `overlapping`: see fit_cutoffs (no recent level then: v itself is the newest cutoff)."""
    h = settings.horizon_days
    results: dict[str, dict[str, dict[str, float | None]]] = {}
    predictions: dict[str, pd.DataFrame] = {}
    for v in eval_cutoffs:
        train = frame[
            frame["cutoff_at"].isin(fit_cutoffs(v, settings, overlapping))
            & frame["churned"].notna()
        ]
        test = frame[(frame["cutoff_at"] == v) & frame["churned"].notna()]
        if train["cutoff_at"].nunique() < 2 or test.empty:
            raise InputError(
                "history",
                f"not enough history to evaluate at {v.date()}: it needs customers at two "
                f"training cutoffs whose {h}-day horizons end by it",
            )
        key = v.date().isoformat()
        results[key] = {}
        preds = test[["customer_id", "churned"]].copy()
        recent = None if overlapping else recent_rows(frame, v, settings)
        for name, recipe in recipes.items():
            scorer = fit_scorer(train, settings, recipe, recent)
            results[key][name], preds[name] = model_metrics(scorer, test)
        for name, make in BASELINES.items() if baselines else ():
            baseline: Any = make(h)
            results[key][name], preds[name] = baseline_metrics(baseline, train, test, h)
        results[key] |= value_baselines(test, h) if baselines else {}
        predictions[key] = preds
    return Backtest(results, predictions)
