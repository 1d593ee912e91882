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
from scipy.special import gammaincinv

from features.schema import CANCELLED_STATUS, COMPLETED_STATUS, RETURNED_STATUS
from pipelines.files import write_table
from pipelines.synthetic.lines import order_lines


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
    # A change in the world from day `shift_day` on (a service failure, a price rise): every
    # customer complains `shift_complaints` times as often and drops out after an order
    # `shift_dropout` times as often. None: the world stays as it is.
    shift_day: float | None = None
    # A holiday peak: from day of year `peak_from_doy` to the year's end, customers order
    # `holiday_peak` times as fast (Black Friday to Christmas). 1.0: no peak.
    holiday_peak: float = 1.0
    peak_from_doy: int = 319  # 15 November
    shift_complaints: float = 1.0
    shift_dropout: float = 1.0


def simulate(
    n_customers: int,
    days: int,
    seed: int,
    start: pd.Timestamp,
    params: GeneratorParams | None = None,
    id_prefix: str = "",
    campaign: Campaign | None = None,
    lines: bool = False,
) -> dict[str, pd.DataFrame]:
    """Tables `orders`, `complaints`, `customers` and `truth` for one simulated base.
    `id_prefix` keeps ids unique when a large base is simulated in chunks; a `campaign`
    changes the targeted customers' lives from its date on and nothing before it. With
    `lines`, `order_lines` with product categories bought on cycles (synthetic.lines) replace
    `orders`, and `category_truth` holds each customer's cycles; the rest is unchanged."""
    p = params or GeneratorParams()
    rng = np.random.default_rng(seed)
    n = n_customers
    acquired = rng.uniform(0, days, n)  # a steady inflow of new customers
    rate = rng.gamma(p.rate_shape, 1 / (p.rate_shape * p.mean_days_between_orders), n)
    rate = np.clip(rate, 1 / 400, 1 / 3)
    dropout = rng.beta(p.dropout_a, p.dropout_b, n)
    complaint_prob = rng.beta(p.complaint_a, p.complaint_b, n)
    order_value = p.median_order_value * rng.lognormal(0, 0.6, n)

    events = _simulate_orders(
        seed, p, start, days, acquired, rate, dropout, complaint_prob, campaign
    )
    dropped_at, bad = events.pop("dropped_at"), events.pop("bad_complaints")
    ids = customer_ids(n, id_prefix)
    orders = _orders_table(rng, seed, start, ids, order_value, events, id_prefix)
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
            "complaint_prob_per_order": complaint_prob,
            "first_order_at": _stamp(start, acquired),
            "dropped_out_at": _stamp(start, dropped_at),
            "alive_at_end": np.isnan(dropped_at),
        }
    )
    tables = {"orders": orders, "complaints": complaints, "customers": customers, "truth": truth}
    if lines:
        tables["order_lines"], tables["category_truth"] = order_lines(orders, ids, rate, seed)
        del tables["orders"]
    return tables


@dataclass(frozen=True)
class Campaign:
    """Contacting `targets` (a mask over customers) at day `at_day` lowers their dropout chance
    per order by the share `effect` and raises their order rate by the same share. `effect`
    is one share for all or one per customer (negative: contact annoys, see campaign.py)."""

    targets: np.ndarray
    at_day: float
    effect: float | np.ndarray


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def keyed_uniform(seed: int, purpose: int, customer: np.ndarray, order_number: int) -> np.ndarray:
    """Uniforms in (0, 1) fixed by (seed, purpose, customer, order number) - splitmix64.

    Keyed, not streamed: a customer's k-th order sees the same draws whether or not other
    customers (or a campaign) changed, so a world with a campaign and one without differ only
    by the campaign: the ground-truth effect is exact, not a comparison of two noisy runs."""
    key = (seed * 1_000_003 + purpose * 7_919 + order_number * 104_729) & 0xFFFFFFFFFFFFFFFF
    with np.errstate(over="ignore"):
        z = customer.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def _simulate_orders(
    seed: int,
    p: GeneratorParams,
    start: pd.Timestamp,
    days: int,
    first_order: np.ndarray,
    rate: np.ndarray,
    dropout: np.ndarray,
    complaint_prob: np.ndarray,
    campaign: Campaign | None = None,
) -> dict[str, np.ndarray]:
    """Walk all customers forward one order at a time until each drops out or time ends."""
    n = len(rate)
    t = first_order.copy()
    bad = np.zeros(n, dtype=np.int32)
    dropped_at = np.full(n, np.nan)
    active = np.arange(n)
    keys = ("customer", "time", "number", "k_customer", "k_opened", "k_resolution", "k_severity")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    k = 0
    while active.size:

        def u(purpose: int, who: np.ndarray, k: int = k) -> np.ndarray:
            return keyed_uniform(seed, purpose, who, k)

        now = t[active]
        parts["customer"].append(active)
        parts["time"].append(now)
        parts["number"].append(np.full(active.size, k))
        shifted = _shifted(p, now)
        complains = u(1, active) < complaint_prob[active] * np.where(shifted, p.shift_complaints, 1)
        who = active[complains]
        severity = 1 + np.floor(u(2, who) * 5).astype(np.int64)
        unresolved = u(3, who) < p.unresolved_share * (0.5 + severity / 5)
        resolution = np.where(unresolved, np.inf, -np.log(u(4, who)) * p.mean_resolution_days)
        parts["k_customer"].append(who)
        parts["k_opened"].append(now[complains] - np.log(u(5, who)) * 2.0)
        parts["k_resolution"].append(resolution)
        parts["k_severity"].append(severity)
        np.add.at(bad, who[resolution > p.slow_resolution_days], 1)
        base_dropout = np.minimum(dropout[active] * np.where(shifted, p.shift_dropout, 1), 0.95)
        drop_chance = 1 - (1 - base_dropout) * p.bad_complaint_keep ** bad[active]
        speed = np.ones(active.size)
        if campaign is not None:
            effect = np.broadcast_to(np.asarray(campaign.effect, dtype=float), (n,))
            reached = campaign.targets[active] & (now >= campaign.at_day)
            drop_chance = np.where(reached, drop_chance * (1 - effect[active]), drop_chance)
            speed = np.where(reached, 1 + effect[active], 1.0)
        drops = u(6, active) < drop_chance
        dropped_at[active[drops]] = now[drops]
        stay = active[~drops]
        gap = -np.log(u(7, stay)) / (rate[stay] * speed[~drops] * _season(p, start, t[stay]))
        if campaign is not None:  # a customer waiting at the campaign date is reached then
            waiting = (
                campaign.targets[stay]
                & (t[stay] < campaign.at_day)
                & (t[stay] + gap > campaign.at_day)
            )
            rest = t[stay] + gap - campaign.at_day
            gap = np.where(waiting, campaign.at_day - t[stay] + rest / (1 + effect[stay]), gap)
        t[stay] += gap
        active = stay[t[stay] < days]
        k += 1
    events = {name: np.concatenate(v) for name, v in parts.items()}
    return {**events, "dropped_at": dropped_at, "bad_complaints": bad}


def _shifted(p: GeneratorParams, t_days: np.ndarray) -> np.ndarray:
    """Whether each time falls in the changed world."""
    if p.shift_day is None:
        return np.zeros(t_days.shape, dtype=bool)
    return t_days >= p.shift_day


def _season(p: GeneratorParams, start: pd.Timestamp, t_days: np.ndarray) -> np.ndarray:
    """Order-rate multiplier over the year, peaking in late autumn."""
    day_of_year = (start.dayofyear + t_days) % 365.25
    season = 1 + p.season_amplitude * np.sin(2 * np.pi * (day_of_year - 240) / 365.25)
    return np.where(day_of_year >= p.peak_from_doy, season * p.holiday_peak, season)


def customer_ids(n: int, id_prefix: str = "") -> np.ndarray:
    """The ids the generator gives its customers, in simulation order (C0000000, ...)."""
    return _ids("C" + id_prefix, n, 7)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return (prefix + pd.Series(np.arange(n)).astype(str).str.zfill(width)).to_numpy()


def _stamp(start: pd.Timestamp, t_days: np.ndarray) -> pd.Series:
    """Day offsets from `start` as timestamps to the second; NaN stays NaT (converted apart:
    pandas' NaN path trips numpy's overflow warning)."""
    t = np.asarray(t_days, dtype=float)
    known = ~np.isnan(t)
    stamps = pd.Series(pd.NaT, index=range(t.size), dtype="datetime64[ns]")
    stamps[known] = (start + pd.to_timedelta(t[known], unit="D")).round("s")
    return stamps


def _orders_table(
    rng: np.random.Generator,
    seed: int,
    start: pd.Timestamp,
    ids: np.ndarray,
    order_value: np.ndarray,
    events: dict[str, np.ndarray],
    id_prefix: str,
) -> pd.DataFrame:
    """Orders sorted by time. Status and amount are keyed draws (see keyed_uniform), so an
    order that exists in two worlds has the same status and amount in both."""
    order = np.argsort(events["time"], kind="stable")
    customer, time, number = (
        events["customer"][order],
        events["time"][order],
        events["number"][order],
    )
    m = customer.size
    status_draw = _keyed_per_order(seed, 8, customer, number)
    amount_draw = _keyed_per_order(seed, 9, customer, number)
    return pd.DataFrame(
        {
            "order_id": _ids("O" + id_prefix, m, 9),
            "customer_id": ids[customer],
            "ordered_at": _stamp(start, time),
            "amount": np.round(gammaincinv(4.0, amount_draw) * order_value[customer] / 4.0, 2),
            "status": np.select(
                [status_draw < 0.03, status_draw < 0.045],
                [RETURNED_STATUS, CANCELLED_STATUS],
                COMPLETED_STATUS,
            ),
            "channel": rng.choice(np.array(["web", "app", "store"]), m, p=[0.5, 0.3, 0.2]),
            "category": rng.choice(
                np.array(["music", "books", "home", "fashion", "toys", "garden"]), m
            ),
        }
    )


def _keyed_per_order(
    seed: int, purpose: int, customer: np.ndarray, number: np.ndarray
) -> np.ndarray:
    out = np.empty(customer.size)
    for k in np.unique(number):
        at = number == k
        out[at] = keyed_uniform(seed, purpose, customer[at], int(k))
    return out


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
        if csv and not name.endswith("truth"):
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
