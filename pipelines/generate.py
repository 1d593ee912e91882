"""Synthetic CRM data with known ground truth (BG/NBD-like buying and dropout).

Each customer has a latent order rate (gamma across customers) and, after every order,
a chance to drop out for good (beta across customers). Every order may trigger a
complaint; a complaint left unresolved or resolved slowly multiplies the dropout
chance at later orders. Order rates follow a mild yearly season. All of it is
vectorised over customers: the loop runs over order numbers, not customers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.io import write_table


@dataclass(frozen=True)
class GeneratorParams:
    """Knobs of the simulated population (defaults give ~6 orders per customer)."""

    rate_shape: float = 1.5
    mean_days_between_orders: float = 35.0
    dropout_a: float = 1.2
    dropout_b: float = 9.0
    complaint_a: float = 1.0
    complaint_b: float = 20.0
    unresolved_share: float = 0.15
    mean_resolution_days: float = 6.0
    slow_resolution_days: float = 14.0
    bad_complaint_keep: float = 0.6  # a bad complaint multiplies P(staying) by this
    season_amplitude: float = 0.15
    median_order_value: float = 40.0


def simulate(
    n_customers: int,
    days: int,
    seed: int,
    start: pd.Timestamp,
    params: GeneratorParams | None = None,
    id_prefix: str = "",
) -> dict[str, pd.DataFrame]:
    """Tables `orders`, `complaints`, `customers` and `truth` for one simulated base.
    `id_prefix` keeps ids unique when a large base is simulated in chunks."""
    p = params or GeneratorParams()
    rng = np.random.default_rng(seed)
    n = n_customers
    acquired = rng.uniform(0, days, n)  # a steady inflow of new customers
    rate = rng.gamma(p.rate_shape, 1 / (p.rate_shape * p.mean_days_between_orders), n)
    rate = np.clip(rate, 1 / 400, 1 / 3)
    dropout = rng.beta(p.dropout_a, p.dropout_b, n)
    complaint_prob = rng.beta(p.complaint_a, p.complaint_b, n)
    order_value = p.median_order_value * rng.lognormal(0, 0.6, n)

    events = _simulate_orders(rng, p, start, days, acquired, rate, dropout, complaint_prob)
    dropped_at, bad = events.pop("dropped_at"), events.pop("bad_complaints")
    ids = _ids("C" + id_prefix, n, 7)
    orders = _orders_table(
        rng, start, ids, order_value, events["customer"], events["time"], id_prefix
    )
    complaints = _complaints_table(rng, p, start, days, ids, events, id_prefix)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signed_up_at": _stamp(start, acquired - rng.exponential(10, n)),
            "segment": np.where(order_value > p.median_order_value * 1.5, "premium", "standard"),
            "region": rng.choice(np.array(["north", "south", "east", "west"]), n),
        }
    )
    truth = pd.DataFrame(
        {
            "customer_id": ids,
            "order_rate_per_day": rate,
            "dropout_prob_per_order": dropout,
            "bad_complaints": bad,
            "dropped_out_at": _stamp(start, dropped_at),
            "alive_at_end": np.isnan(dropped_at),
        }
    )
    return {"orders": orders, "complaints": complaints, "customers": customers, "truth": truth}


def _simulate_orders(
    rng: np.random.Generator,
    p: GeneratorParams,
    start: pd.Timestamp,
    days: int,
    first_order: np.ndarray,
    rate: np.ndarray,
    dropout: np.ndarray,
    complaint_prob: np.ndarray,
) -> dict[str, np.ndarray]:
    """Walk all customers forward one order at a time until each drops out or time ends."""
    n = len(rate)
    t = first_order.copy()
    bad = np.zeros(n, dtype=np.int32)
    dropped_at = np.full(n, np.nan)
    active = np.arange(n)
    keys = ("customer", "time", "k_customer", "k_opened", "k_resolution", "k_severity")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    while active.size:
        now = t[active]
        parts["customer"].append(active)
        parts["time"].append(now)
        complains = rng.random(active.size) < complaint_prob[active]
        who = active[complains]
        severity = rng.integers(1, 6, who.size)
        unresolved = rng.random(who.size) < p.unresolved_share * (0.5 + severity / 5)
        resolution = np.where(unresolved, np.inf, rng.exponential(p.mean_resolution_days, who.size))
        parts["k_customer"].append(who)
        parts["k_opened"].append(now[complains] + rng.exponential(2.0, who.size))
        parts["k_resolution"].append(resolution)
        parts["k_severity"].append(severity)
        np.add.at(bad, who[resolution > p.slow_resolution_days], 1)
        keep = (1 - dropout[active]) * p.bad_complaint_keep ** bad[active]
        drops = rng.random(active.size) >= keep
        dropped_at[active[drops]] = now[drops]
        stay = active[~drops]
        gap = rng.exponential(1.0, stay.size) / (rate[stay] * _season(p, start, t[stay]))
        t[stay] += gap
        active = stay[t[stay] < days]
    events = {k: np.concatenate(v) for k, v in parts.items()}
    return {**events, "dropped_at": dropped_at, "bad_complaints": bad}


def _season(p: GeneratorParams, start: pd.Timestamp, t_days: np.ndarray) -> np.ndarray:
    """Order-rate multiplier over the year, peaking in late autumn."""
    day_of_year = (start.dayofyear + t_days) % 365.25
    return 1 + p.season_amplitude * np.sin(2 * np.pi * (day_of_year - 240) / 365.25)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return (prefix + pd.Series(np.arange(n)).astype(str).str.zfill(width)).to_numpy()


def _stamp(start: pd.Timestamp, t_days: np.ndarray) -> pd.Series:
    """Day offsets from `start` as timestamps to the second; NaN stays NaT."""
    return pd.Series(start + pd.to_timedelta(t_days, unit="D")).dt.round("s")


def _orders_table(
    rng: np.random.Generator,
    start: pd.Timestamp,
    ids: np.ndarray,
    order_value: np.ndarray,
    customer: np.ndarray,
    time: np.ndarray,
    id_prefix: str,
) -> pd.DataFrame:
    order = np.argsort(time, kind="stable")
    customer, time = customer[order], time[order]
    m = customer.size
    status_draw = rng.random(m)
    return pd.DataFrame(
        {
            "order_id": _ids("O" + id_prefix, m, 9),
            "customer_id": ids[customer],
            "ordered_at": _stamp(start, time),
            "amount": np.round(rng.gamma(4.0, order_value[customer] / 4.0), 2),
            "status": np.select(
                [status_draw < 0.03, status_draw < 0.045], ["returned", "cancelled"], "completed"
            ),
            "channel": rng.choice(np.array(["web", "app", "store"]), m, p=[0.5, 0.3, 0.2]),
            "category": rng.choice(
                np.array(["music", "books", "home", "fashion", "toys", "garden"]), m
            ),
        }
    )


def _complaints_table(
    rng: np.random.Generator,
    p: GeneratorParams,
    start: pd.Timestamp,
    days: int,
    ids: np.ndarray,
    events: dict[str, np.ndarray],
    id_prefix: str,
) -> pd.DataFrame:
    """Complaints opened before the data ends; resolutions after it are not yet known."""
    opened = events["k_opened"]
    seen = opened < days
    opened, customer = opened[seen], events["k_customer"][seen]
    resolution, severity = events["k_resolution"][seen], events["k_severity"][seen]
    resolved = opened + resolution
    known = resolved < days
    order = np.argsort(opened, kind="stable")
    k = order.size
    fast = resolution[order] <= p.slow_resolution_days
    satisfaction = np.where(
        known[order], np.clip(np.round(rng.normal(np.where(fast, 4.0, 2.0), 0.8)), 1, 5), np.nan
    )
    return pd.DataFrame(
        {
            "complaint_id": _ids("K" + id_prefix, k, 8),
            "customer_id": ids[customer[order]],
            "opened_at": _stamp(start, opened[order]),
            "resolved_at": _stamp(start, np.where(known, resolved, np.nan)[order]),
            "category": rng.choice(np.array(["delivery", "product", "billing", "service"]), k),
            "severity": severity[order].astype("int64"),
            "channel": rng.choice(np.array(["phone", "email", "chat"]), k),
            "satisfaction": pd.array(satisfaction, dtype="Int64"),
        }
    )


def write_dataset(
    tables: dict[str, pd.DataFrame], out: Path, meta: dict[str, object], csv: bool = False
) -> list[Path]:
    """Write each table as Parquet (and CSV), ground truth and `generation.json` beside them."""
    written = []
    for name, frame in tables.items():
        written.append(write_table(frame, out / f"{name}.parquet"))
        if csv and name != "truth":
            written.append(write_table(frame, out / f"{name}.csv"))
    meta_path = out / "generation.json"
    meta_path.write_text(json.dumps(meta, indent=2, default=str))
    return [*written, meta_path]


def generation_meta(
    n_customers: int, days: int, seed: int, start: pd.Timestamp, params: GeneratorParams
) -> dict[str, object]:
    return {
        "customers": n_customers,
        "days": days,
        "seed": seed,
        "start": start.isoformat(),
        "data_end": (start + pd.Timedelta(days=days)).isoformat(),
        "params": asdict(params),
    }
