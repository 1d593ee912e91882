"""Rank by what a contact saves: train the uplift model on collected campaigns, judge it on the
latest one, refuse it when it ranks no better than random, and score customers with it.

Honest evaluation: the newest collected campaign is held out (a time-later campaign); the
model learns from the earlier ones. It is kept only when the bootstrap 95 % interval of its
Qini coefficient on that campaign lies above 0 (the gate). A campaign with too few contacted
or held-back customers (see `outcomes.too_small`) is reported and left out, never used.
Saved value = predicted uplift in P(order within the readout window) x expected value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.schema import FEATURE_COLUMNS
from models.qini import Interval, auuc, bootstrap, calibration, qini_coefficient, qini_curve
from models.uplift import UpliftModel
from pipelines.files import read_rows_of
from pipelines.home import Home, open_registry
from pipelines.marketing.lists import Selection, build_list
from pipelines.marketing.outcomes import OUTCOMES_TABLE, Tally, read_campaign, tallies
from pipelines.marketing.source import candidates
from pipelines.settings import Settings


@dataclass
class Judged:
    """An uplift model with its verdict on the held-out (time-later) campaign."""

    model: UpliftModel
    held_out: str
    trained_on: list[str]
    qini: Interval
    auuc: float
    calibration: pd.DataFrame
    curve: pd.DataFrame
    left_out: dict[str, str] = field(default_factory=dict)  # campaign -> why (too small)
    example: pd.DataFrame = field(default_factory=pd.DataFrame)  # a few held-out rows
    sampled: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (read, of rows)

    def params(self) -> dict[str, Any]:
        return {
            "held_out": self.held_out,
            "trained_on": ",".join(self.trained_on),
            "left_out": ",".join(self.left_out) or "none",
            "sampled": ",".join(f"{k}:{n}/{of}" for k, (n, of) in self.sampled.items()) or "none",
            "bags": self.model.bags,
            "features": len(self.model.features),
        }

    def metrics(self) -> dict[str, float]:
        """Flat figures for MLflow: Qini with its interval, AUUC, calibration per quintile."""
        q = self.qini
        figures = {"uplift.qini": q.value, "uplift.qini_low": q.low, "uplift.qini_high": q.high,
                   "uplift.auuc": self.auuc,
                   "uplift.calibration_within": float(self.calibration["within"].sum())}  # fmt: skip
        for row in self.calibration.to_dict(orient="records"):
            for key in ("predicted_uplift", "observed_uplift", "interval_low", "interval_high"):
                figures[f"uplift.q{row['bin']}_{key}"] = float(row[key])
        return figures

    @property
    def refused(self) -> str | None:
        if self.qini.low > 0:
            return None
        return (
            f"the uplift model ranks no better than random on campaign {self.held_out} (Qini "
            f"{self.qini.value:+.4f}, 95 % interval {self.qini.low:+.4f} to {self.qini.high:+.4f})"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "held_out": self.held_out,
            "trained_on": self.trained_on,
            "left_out": self.left_out,
            "qini": vars(self.qini),
            "auuc": self.auuc,
            "refused": self.refused,
            "calibration": self.calibration.to_dict(orient="records"),
            "qini_curve": self.curve.to_dict(orient="list"),
        }


@dataclass
class Campaigns:
    """The campaigns to learn from and judge on (oldest first, each read bounded), the ones
    left out and why, and how many rows each usable one was read from: list id -> (rows read,
    rows collected); fewer read than collected means a stratified sample."""

    kept: list[pd.DataFrame]
    left_out: dict[str, str]
    rows: dict[str, tuple[int, int]]

    def sampled(self) -> dict[str, tuple[int, int]]:
        return {k: (used, of) for k, (used, of) in self.rows.items() if used < of}


def usable_campaigns(tallies: list[Tally]) -> tuple[list[Tally], dict[str, str]]:
    """Campaigns (oldest first) big enough to learn from, and why the others are not."""
    kept, left_out = [], {}
    for tally in tallies:
        if tally.too_small:
            left_out[tally.list_id] = f"control group too small to learn from: {tally.too_small}"
        else:
            kept.append(tally)
    return kept, left_out


def read_campaigns(
    con: duckdb.DuckDBPyConnection, campaign_type: str | None, max_rows_per_campaign: int
) -> Campaigns:
    """The usable collected campaigns from the warehouse, each at most `max_rows_per_campaign`
    rows (`outcomes.read_campaign`): what training holds in memory, whatever a campaign's size."""
    kept, left_out = usable_campaigns(tallies(con, campaign_type))
    frames = [read_campaign(con, t, max_rows_per_campaign) for t in kept]
    rows = {t.list_id: (len(f), t.rows) for t, f in zip(kept, frames, strict=True)}
    return Campaigns(frames, left_out, rows)


def train_and_judge(
    outcomes: pd.DataFrame, bags: int = 5, seed: int = 0, max_rows_per_campaign: int | None = None
) -> Judged:
    """`judge` on collected rows held as a frame (read as the warehouse table would be)."""
    con = duckdb.connect()
    try:
        con.register("_outcomes", outcomes)
        con.execute(f"CREATE TABLE {OUTCOMES_TABLE} AS SELECT * FROM _outcomes")
        campaigns = read_campaigns(con, None, max_rows_per_campaign or max(len(outcomes), 1))
    finally:
        con.close()
    return judge(campaigns, bags, seed)


def judge(campaigns: Campaigns, bags: int = 5, seed: int = 0) -> Judged:
    """Learn on all but the newest usable campaign, judge on the newest; ValueError when fewer
    than two campaigns are usable (one to learn from, a later one to judge on)."""
    kept, left_out = campaigns.kept, campaigns.left_out
    if len(kept) < 2:
        why = "; ".join(f"{k}: {v}" for k, v in left_out.items())
        raise ValueError(
            f"need two usable campaigns (one to learn from, a later one to judge on), have "
            f"{len(kept)}" + (f" ({why})" if why else "")
        )
    train, test = pd.concat(kept[:-1], ignore_index=True), kept[-1]
    features = tuple(c for c in FEATURE_COLUMNS if c in train and train[c].notna().any())
    model = UpliftModel(features, bags=bags, seed=seed).fit(
        train, (train["group"] == "target").to_numpy(), train["ordered"].to_numpy(float)
    )
    per_bag = model.per_bag(test)
    uplift = per_bag.mean(axis=1)
    contacted = (test["group"] == "target").to_numpy()
    y = test["ordered"].to_numpy(float)
    return Judged(
        model,
        str(test["list_id"].iloc[0]),
        sorted(str(k) for k in train["list_id"].unique()),
        bootstrap(qini_coefficient, uplift, contacted, y, seed=seed),
        auuc(uplift, contacted, y),
        calibration(per_bag, contacted, y),
        qini_curve(uplift, contacted, y),
        left_out,
        test[list(features)].head(5).reset_index(drop=True),
        campaigns.sampled(),
    )


_LOADED: dict[tuple[str, str, str], UpliftModel] = {}
NO_MODEL = "no uplift model yet (collect two campaigns, then `retain campaigns train`)"


def register(settings: Settings, judged: Judged) -> str:
    """Log the judged model as a new version of `<model_name>-uplift` in MLflow (its Qini,
    AUUC and calibration as metrics, its report as a file) and make it the champion unless
    the gate refuses it (its one-line reason is kept as the version's `promotion` tag)."""
    registry = open_registry(settings, uplift=True)
    with TemporaryDirectory() as folder:
        report = Path(folder) / REPORT_FILE
        report.write_text(json.dumps(judged.summary(), indent=2, default=float))
        logged = registry.log_uplift(
            judged.model, judged.params(), judged.metrics(), [report], judged.example
        )
    reason = judged.refused or "kept: its Qini interval on the held-out campaign lies above 0"
    promoted = judged.refused is None
    registry.tag_version(logged.version, {"promotion": reason, "promoted": str(promoted).lower()})
    if promoted:
        registry.promote(logged.version)
    return logged.version


def fallback_line(reason: str) -> str:
    """The one line a list ranked by saved value shows when it falls back (CLI and pages)."""
    return f"ranked by value at risk, not saved value: {reason}"


def load(settings: Settings) -> tuple[UpliftModel | None, str | None]:
    """The uplift champion, or None and why a list cannot rank by saved value (no version
    yet, or the newest refused without an earlier champion)."""
    registry = open_registry(settings, uplift=True)
    if registry.champion_version() is None:
        newest = registry.newest_version()
        if newest is None:
            return None, NO_MODEL
        tags = registry.version_tags(newest)
        return None, f"uplift version {newest} refused: {tags.get('promotion', 'not kept')}"
    key = (settings.mlflow_tracking_uri, registry.model_name, registry.champion_version() or "")
    if key not in _LOADED:  # one load per champion version (the pages ask on every change)
        _LOADED.clear()
        _LOADED[key] = registry.load_uplift(key[2])[0]
    return _LOADED[key], None


_REPORTS: dict[tuple[str, str, str], dict[str, Any]] = {}
REPORT_FILE = "uplift_report.json"


def champion_report(settings: Settings) -> tuple[str, dict[str, Any]] | None:
    """The uplift champion's version and its report on the held-out campaign (Qini with its
    interval, the Qini curve, calibration), as `campaigns train` logged it; None without one."""
    registry = open_registry(settings, uplift=True)
    version = registry.champion_version()
    if version is None:
        return None
    key = (settings.mlflow_tracking_uri, registry.model_name, version)
    if key not in _REPORTS:  # one download per champion version (the pages ask on every change)
        logged = registry.artifact(version, REPORT_FILE)
        if logged is None:
            return None
        _REPORTS.clear()
        _REPORTS[key] = json.loads(logged)
    return version, _REPORTS[key]


def with_saved_value(
    scores: pd.DataFrame, features: pd.DataFrame, model: UpliftModel
) -> pd.DataFrame:
    """The scores with predicted uplift (and its 90 % interval) and saved_value = uplift x
    expected value; customers without a feature row get no uplift (NaN, ranked last)."""
    rows = features.drop_duplicates("customer_id").set_index("customer_id")
    rows = rows.reindex(scores["customer_id"].astype(str))
    predicted = model.predict(rows.reset_index())
    out = scores.reset_index(drop=True).assign(
        **{str(c): predicted[c].to_numpy() for c in predicted.columns}
    )
    out["saved_value"] = out["uplift"] * out["expected_value"].to_numpy(float)
    missing = rows[list(model.features)].isna().all(axis=1).to_numpy()
    out.loc[missing, ["uplift", "uplift_low", "uplift_high", "saved_value"]] = np.nan
    return out


def hurt(rows: pd.DataFrame) -> pd.Series:
    """Customers predicted to be hurt by a contact: their uplift's whole 90 % interval lies
    below 0 (a contact makes an order less likely)."""
    return rows["uplift_high"] < 0


def ranked_by_saved_value(
    settings: Settings, selection: Selection, list_id: str, model: UpliftModel
) -> pd.DataFrame:
    """The selection's scores ranked by saved value: every selected customer is predicted
    (the head by value at risk says nothing about who is moved), then the control group is
    drawn by the stable hash as for any list."""
    scores = candidates(settings, replace(selection, sort="value_at_risk"), None)
    wanted = scores["customer_id"].astype(str).tolist()
    features = read_rows_of(Home.of(settings).features, wanted)
    features = features.assign(customer_id=features["customer_id"].astype(str))
    ranked = with_saved_value(scores, features, model)
    if selection.exclude_hurt:
        ranked = ranked[~hurt(ranked)]
    chosen = replace(selection, sort="saved_value")
    return build_list(ranked, list_id, chosen, settings.control_share)
