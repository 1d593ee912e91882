"""Order lines with product categories bought on per-customer cycles (the generator's truth).

Each customer buys a few categories (two or three of CATEGORY_CATALOG), each on its own
rhythm: after a purchase of category c the customer *needs* c again after a gamma-distributed
time around their cycle (the category's multiple of the customer's usual order gap, varied per
customer), and buys it at the first order after that. At each purchase a category may be
dropped for good (the customer still orders, but no longer buys it), so some categories end
before the customer churns. An order where nothing is due gets an impulse line of a random
category the customer does not buy on a cycle (and a quarter of the others get one too): noise a model must learn to ignore. The
lines split each order's amount, so the orders derived from them carry the orders' amounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# name, cycle as a multiple of the customer's mean days between orders, unit price
CATEGORY_CATALOG: tuple[tuple[str, float, float], ...] = (
    ("pet food", 2.0, 12.0),
    ("nappies", 1.5, 18.0),
    ("vegetables", 1.2, 8.0),
    ("coffee", 2.5, 9.0),
    ("pain relief", 4.0, 7.0),
    ("cleaning", 3.0, 6.0),
    ("wine", 2.0, 15.0),
    ("bakery", 1.3, 4.0),
)
PRODUCTS_PER_CATEGORY = 4
MAX_CATEGORIES = 3  # categories a customer buys on a cycle
NEED_SHAPE = 6.0  # gamma shape of the time until a category is needed again (CV ~0.4)
IMPULSE_SHARE = 0.25  # orders with something due that also get an impulse line
MEAN_DROP_PER_PURCHASE = 0.04  # chance per purchase that a customer stops buying a category


def order_lines(
    orders: pd.DataFrame, ids: np.ndarray, rate_per_day: np.ndarray, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(order_lines, category_truth) for the generator's `orders` of customers `ids`."""
    rng = np.random.default_rng([seed, 30])
    n, slots = len(ids), MAX_CATEGORIES
    multiple = np.array([m for _, m, _ in CATEGORY_CATALOG])
    chosen = np.argsort(rng.random((n, len(CATEGORY_CATALOG))), axis=1)  # first `slots`: cycles
    bought = np.arange(slots)[None, :] < 2 + (rng.random(n) < 0.5)[:, None]  # 2 or 3
    cycle = multiple[chosen[:, :slots]] / rate_per_day[:, None] * rng.lognormal(0, 0.25, (n, slots))
    drop = rng.beta(1.0, 1 / MEAN_DROP_PER_PURCHASE - 1, (n, slots))
    preferred = rng.integers(0, PRODUCTS_PER_CATEGORY, (n, slots))

    o = orders.assign(_c=pd.Index(ids).get_indexer(orders["customer_id"]))
    o = o.sort_values(["_c", "ordered_at"], kind="stable").reset_index(drop=True)
    number = o.groupby("_c").cumcount().to_numpy()
    who = o["_c"].to_numpy()
    t = (o["ordered_at"] - pd.Timestamp(0)).dt.total_seconds().to_numpy() / 86_400
    due = np.full((n, slots), np.nan)
    first = number == 0
    due[who[first]] = t[first, None] + rng.random((first.sum(), slots)) * cycle[who[first]]
    dropped_at = np.full((n, slots), np.nan)
    rows, slot_of = [], []
    for k in range(int(number.max()) + 1 if len(number) else 0):
        at = np.flatnonzero(number == k)
        c = who[at]
        buy = bought[c] & np.isnan(dropped_at[c]) & (t[at, None] >= due[c])
        r, s = np.nonzero(buy)
        rows.append(at[r])
        slot_of.append(s)
        need = cycle[c[r], s] * rng.gamma(NEED_SHAPE, 1 / NEED_SHAPE, r.size)
        due[c[r], s] = t[at[r]] + need
        stops = rng.random(r.size) < drop[c[r], s]
        dropped_at[c[r][stops], s[stops]] = t[at[r]][stops]
        nothing = ~buy.any(axis=1) | (rng.random(at.size) < IMPULSE_SHARE)
        rows.append(at[nothing])
        slot_of.append(np.full(nothing.sum(), -1))
    lines = _lines(o, np.concatenate(rows), np.concatenate(slot_of), chosen, preferred, rng)
    return lines, _truth(ids, chosen, bought, cycle, dropped_at)


def _lines(
    o: pd.DataFrame,
    row: np.ndarray,
    slot: np.ndarray,
    chosen: np.ndarray,
    preferred: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One line per (order, category bought): product, quantity and a share of the amount."""
    order = np.lexsort((slot, row))
    row, slot = row[order], slot[order]
    who = o["_c"].to_numpy()[row]
    cyclic = slot >= 0
    other = rng.integers(MAX_CATEGORIES, len(CATEGORY_CATALOG), row.size)  # impulse lines
    category = chosen[who, np.where(cyclic, slot, other)]
    product = rng.integers(0, PRODUCTS_PER_CATEGORY, row.size)
    usual = cyclic & (rng.random(row.size) < 0.8)
    product[usual] = preferred[who[usual], slot[usual]]
    quantity = 1 + rng.poisson(0.5, row.size)
    price = np.array([p for _, _, p in CATEGORY_CATALOG])[category]
    weight = quantity * price * rng.lognormal(0, 0.2, row.size)
    total = np.bincount(row, weights=weight, minlength=len(o))[row]
    amount = o["amount"].to_numpy()[row]
    names = np.array([name for name, _, _ in CATEGORY_CATALOG])
    return pd.DataFrame(
        {
            "order_id": o["order_id"].to_numpy()[row],
            "customer_id": o["customer_id"].to_numpy()[row],
            "ordered_at": o["ordered_at"].to_numpy()[row],
            "product_id": pd.Series(names[category]).str.replace(" ", "-").to_numpy()
            + "-"
            + product.astype(str),
            "category": names[category],
            "quantity": quantity.astype(float),
            "unit_price": np.round(amount * weight / total / quantity, 2),
            "status": o["status"].to_numpy()[row],
            "channel": o["channel"].to_numpy()[row],
        }
    ).sort_values(["ordered_at", "order_id"], kind="stable", ignore_index=True)


def _truth(
    ids: np.ndarray,
    chosen: np.ndarray,
    bought: np.ndarray,
    cycle: np.ndarray,
    dropped_at: np.ndarray,
) -> pd.DataFrame:
    """Per (customer, cyclic category): its mean cycle in days and when it was dropped."""
    c, s = np.nonzero(bought)
    names = np.array([name for name, _, _ in CATEGORY_CATALOG])
    days = dropped_at[c, s]
    known = ~np.isnan(days)  # never dropped: NaT (pandas' NaN path trips numpy's error state)
    dropped = pd.Series(pd.NaT, index=range(len(days)), dtype="datetime64[ns]")
    dropped[known] = pd.to_datetime(np.round(days[known] * 86_400).astype("int64"), unit="s")
    return pd.DataFrame(
        {
            "customer_id": ids[c],
            "category": names[chosen[c, s]],
            "cycle_days": cycle[c, s],
            "dropped_at": dropped,
        }
    )
