"""Churn-risk lists with a held-back control group chosen by a stable hash."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

LIST_COLUMNS = ("list_id", "rank", "group")


def control_draw(customer_ids: pd.Series, list_id: str) -> np.ndarray:
    """A number in [0, 1) per customer, fixed for a (customer, list) pair: the same
    customer always lands in the same group of a given list, on any machine."""

    def draw(customer_id: str) -> float:
        digest = hashlib.sha256(f"{list_id}:{customer_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return np.fromiter((draw(c) for c in customer_ids), dtype=float, count=len(customer_ids))


def default_list_id(as_of: pd.Timestamp, top: int | None, model_version: str) -> str:
    tag = hashlib.sha256(f"{as_of}:{top}:{model_version}".encode()).hexdigest()[:6]
    return f"{as_of:%Y%m%d}-{tag}"


def risk_list(
    scores: pd.DataFrame,
    list_id: str,
    top: int | None = None,
    min_probability: float = 0.0,
    control_share: float = 0.10,
) -> pd.DataFrame:
    """Highest churn probability first; `group` is 'target' or 'control' (do not contact).

    Ties are broken by customer_id so two runs give identical files.
    """
    picked = scores[scores["churn_probability"] >= min_probability]
    picked = picked.sort_values(["churn_probability", "customer_id"], ascending=[False, True])
    if top is not None:
        picked = picked.head(top)
    picked = picked.reset_index(drop=True)
    groups = np.where(
        control_draw(picked["customer_id"], list_id) < control_share, "control", "target"
    )
    head = pd.DataFrame(
        {"list_id": list_id, "rank": np.arange(1, len(picked) + 1), "group": groups}
    )
    return pd.concat([head, picked], axis=1)
