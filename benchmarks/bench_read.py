"""Reading orders from CSV into DuckDB with full validation vs DuckDB's own read_csv.

Reference: `CREATE TABLE AS SELECT * FROM read_csv(file)` (type sniffing, no validation),
measured in the same run on the same file. Target (issue 3): at most 1.5x. Also printed: the
same read with the types retain forces (never sniffed: ids and timestamps as text, parsed in
validation so that UTC offsets and zone names are kept) and per-line rejects, to separate the
cost of safe typing from that of parsing and checks.

Run: .venv/bin/python benchmarks/bench_read.py [--orders 10000000] [--shuffled]
(--shuffled: the same rows in random order, so the order ids are not monotonic and uniqueness
takes the hash aggregation instead of the one-pass proof).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pipelines.ingest.sources import load_source
from pipelines.synthetic.generate import simulate
from pipelines.warehouse import connect

DATA = Path(__file__).parent / ".data"
ORDERS_PER_CUSTOMER = 5.64  # what the generator gives over two years (benchmarks/bench_generate.py)


def orders_csv(n_orders: int, shuffled: bool = False) -> Path:
    """A cached orders.csv of about `n_orders` rows written by the generator (in order id
    order, or shuffled)."""
    if shuffled:
        ordered = orders_csv(n_orders)
        path = DATA / f"read-{n_orders}-shuffled" / "orders.csv"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            connect().execute(
                f"COPY (FROM read_csv('{ordered}', all_varchar = true) ORDER BY hash(order_id)) "
                f"TO '{path}' (HEADER)"
            )
        return path
    folder = DATA / f"read-{n_orders}"
    path = folder / "orders.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        customers = int(n_orders / ORDERS_PER_CUSTOMER)
        orders = simulate(customers, 730, 0, pd.Timestamp("2024-01-01"))["orders"]
        con = connect()
        con.register("o", orders)
        con.execute(f"COPY o TO '{path}' (HEADER)")
    return path


def timed(label: str, fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<34} {seconds:7.2f} s  {rows:,} rows")
    return seconds


def reference(path: Path) -> int:
    con = connect()
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{path}')")
    return int(con.execute("SELECT count(*) FROM orders").fetchall()[0][0])


def typed_reference(path: Path) -> int:
    """read_csv with retain's forced types and per-line rejects, no checks."""
    con = connect()
    types = (
        "{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'ordered_at': 'VARCHAR', "
        "'amount': 'DOUBLE', 'status': 'VARCHAR', 'channel': 'VARCHAR', 'category': 'VARCHAR'}"
    )
    con.execute(
        f"CREATE TABLE orders AS SELECT * FROM read_csv('{path}', header = true, "
        f"quote = '\"', escape = '\"', types = {types}, store_rejects = true)"
    )
    return int(con.execute("SELECT count(*) FROM orders").fetchall()[0][0])


def retain_read(path: Path) -> int:
    con = connect()
    (report,) = load_source(con, path.parent)
    assert report.reconciles
    return report.used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shuffled", action="store_true", help="rows in random order")
    args = parser.parse_args()
    path = orders_csv(args.orders, args.shuffled)
    print(f"file {path} ({path.stat().st_size / 1e9:.2f} GB)")
    base, typed, ours = [], [], []
    for _ in range(args.repeat):  # alternate, keep the best of each: the machine is shared
        base.append(timed("duckdb read_csv (reference)", lambda: reference(path)))
        typed.append(timed("read_csv, retain's types", lambda: typed_reference(path)))
        ours.append(timed("retain read + validate", lambda: retain_read(path)))
    print(f"best: reference {min(base):.2f} s, typed {min(typed):.2f} s, retain {min(ours):.2f} s")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak_gb:.1f} GB")
    print(f"ratio retain / reference: {min(ours) / min(base):.2f} (target <= 1.5)")
    print(f"ratio retain / typed read_csv: {min(ours) / min(typed):.2f}")


if __name__ == "__main__":
    main()
