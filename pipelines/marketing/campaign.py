"""Campaign readout: did contacting the target group change ordering, against the control group?

The list's control group was chosen by a hash before anyone was contacted, so target vs control
is a randomised comparison. Differences come with 95 % intervals (normal approximation,
unpooled standard errors); with too few customers the report says so instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.labels import window_outcomes

Z95 = 1.959964
MIN_PER_GROUP = 30


def readout_period(
    since: str, until: str | None, horizon_days: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[since, until) from ISO dates (YYYY-MM-DD); until defaults to since + the horizon and
    must come after since. ValueError naming the field otherwise."""
    start = _iso_date(since, "since")
    end = _iso_date(until, "until") if until else start + pd.Timedelta(days=horizon_days)
    if end <= start:
        raise ValueError(
            f"until: expected a date after since ({start.date()}), got {end.date()} "
            "(orders count from since up to, not including, until)"
        )
    return start, end


def _iso_date(text: str, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(dt.date.fromisoformat(text.strip()))
    except ValueError:
        shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
        raise ValueError(f"{name}: expected a date as YYYY-MM-DD, got {shown}") from None


def _difference(target: pd.Series, control: pd.Series) -> dict[str, Any]:
    diff = float(target.mean() - control.mean())
    se = float(np.sqrt(target.var(ddof=1) / len(target) + control.var(ddof=1) / len(control)))
    low, high = diff - Z95 * se, diff + Z95 * se
    return {
        "difference": diff,
        "ci95_low": low,
        "ci95_high": high,
        "significant": bool(low > 0 or high < 0),
    }


def compare(frame: pd.DataFrame) -> dict[str, Any]:
    """Target vs control on one set of customers (columns group, ordered, revenue)."""
    target = frame[frame["group"] == "target"]
    control = frame[frame["group"] == "control"]
    result: dict[str, Any] = {
        "customers": {"target": len(target), "control": len(control)},
        "share_ordered": {
            "target": float(target["ordered"].mean()) if len(target) else None,
            "control": float(control["ordered"].mean()) if len(control) else None,
        },
        "revenue_per_customer": {
            "target": float(target["revenue"].mean()) if len(target) else None,
            "control": float(control["revenue"].mean()) if len(control) else None,
        },
    }
    if min(len(target), len(control)) < MIN_PER_GROUP:
        result["conclusion"] = (
            f"too few customers to conclude (need at least {MIN_PER_GROUP} in each group)"
        )
        return result
    result["share_ordered"] |= _difference(
        target["ordered"].astype(float), control["ordered"].astype(float)
    )
    result["revenue_per_customer"] |= _difference(target["revenue"], control["revenue"])
    share = result["share_ordered"]
    result["conclusion"] = (
        f"ordering share {share['difference']:+.1%} (95 % CI {share['ci95_low']:+.1%} to "
        f"{share['ci95_high']:+.1%}): "
        + ("significant" if share["significant"] else "not significant")
    )
    return result


def readout(
    listed: pd.DataFrame, orders: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp
) -> dict[str, Any]:
    """Overall and per churn-risk decile (1 = riskiest) of the list."""
    frame = listed[["customer_id", "group", "churn_probability"]].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame = frame.merge(
        window_outcomes(orders, frame["customer_id"], since, until), on="customer_id"
    )
    ranks = frame["churn_probability"].rank(method="first", ascending=False)
    frame["risk_decile"] = (
        np.ceil(ranks / len(frame) * 10).astype(int).clip(1, 10) if len(frame) else []
    )
    return {
        "since": since.date().isoformat(),
        "until": until.date().isoformat(),
        "overall": compare(frame),
        "by_risk_decile": {
            int(d): compare(frame[frame["risk_decile"] == d])
            for d in sorted(frame["risk_decile"].unique())
        },
    }


def chart(report: dict[str, Any], out: Any) -> Any:
    """Share ordered by risk decile, target vs control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    deciles = sorted(report["by_risk_decile"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for offset, group in ((-0.2, "target"), (0.2, "control")):
        values = [_shown_share(report["by_risk_decile"][d], group) for d in deciles]
        ax.bar(np.array(deciles) + offset, values, 0.4, label=group)
    for d in deciles:  # no bar from a handful of customers: say so instead
        if min(report["by_risk_decile"][d]["customers"].values()) < MIN_PER_GROUP:
            ax.text(d, 0.01, "too few", rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set(
        xlabel="churn-risk decile of the list (1 = riskiest)",
        ylabel="share who ordered",
        title=f"Campaign readout {report['since']} to {report['until']}: {report['overall']['conclusion']}",
    )
    ax.title.set_fontsize(9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _shown_share(cell: dict[str, Any], group: str) -> float:
    """A group's share who ordered, NaN (no bar) below MIN_PER_GROUP customers."""
    share = cell["share_ordered"][group]
    enough = cell["customers"][group] >= MIN_PER_GROUP
    return float(share) if enough and share is not None else float("nan")


def campaign_report(
    con: duckdb.DuckDBPyConnection,
    listed: pd.DataFrame,
    since: pd.Timestamp,
    until: pd.Timestamp,
    out: Path,
    list_name: str = "",
) -> tuple[dict[str, Any], Path]:
    """The readout of a list's campaign from the warehouse orders in [since, until), written
    as JSON with its chart beside it. Only the listed customers' orders are read."""
    con.register("_listed_ids", listed[["customer_id"]].astype(str).drop_duplicates())
    try:
        orders = con.execute(
            "SELECT o.customer_id, o.ordered_at, o.amount, o.status FROM orders o "
            "JOIN _listed_ids l USING (customer_id) WHERE o.ordered_at >= ? AND o.ordered_at < ?",
            [since, until],
        ).df()
    finally:
        con.unregister("_listed_ids")
    report = readout(listed, orders, since, until)
    report["list"] = list_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report, chart(report, out.with_suffix(".png"))
