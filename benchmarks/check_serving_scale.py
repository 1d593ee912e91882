"""Serving ten million scores: resident memory of the scoring service and the time from its
start to the first answer, at 1M and 10M published scores side by side (flat memory means
the lookup reads the indexed file, not a table in memory).

Publishes a lookup file shaped like `retain score`'s (generated scores; no model), starts
`retain serve`'s command on loopback with a key, waits for the first 200 from /score and
reads the resident memory of the server's processes from /proc. Targets (issue 16): under
1 GB resident and a first answer within 5 s of start at 10M scores.

Run: .venv/bin/python benchmarks/check_serving_scale.py [--customers 1000000 10000000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
import httpx
import pandas as pd
from bench_api import free_port
from bench_pages import SCORES

from pipelines.scoring.publish import publish_lookup
from serving.auth import KeyRing
from serving.launch import serve_command, serve_env


def publish(home: Path, customers: int) -> None:
    folder = home / "scores"
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(SCORES.format(n=customers, folder=folder))
    ids = pd.read_parquet(folder / "latest.parquet", columns=["customer_id"])["customer_id"]
    features = pd.DataFrame({"customer_id": ids, "mean_days_between_orders": 30.0,
                             "avg_order_value": 50.0, "spend_total": 500.0})  # fmt: skip
    features.to_parquet(folder / "latest_features.parquet")
    publish_lookup(
        duckdb.connect(),
        folder / "latest.parquet",
        folder / "latest_features.parquet",
        folder / "lookup.current",
    )


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(largest single process, whole process tree) resident memory in MB."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
                rss = int((entry / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                continue
            found[int(entry.name)] = (int(stat[3]), rss / 1e6)
    members, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (pp, _) in found.items() if pp == parent and p not in members]
        members.update(children)
        frontier += children
    sizes = [found[p][1] for p in members if p in found]
    return max(sizes), sum(sizes)


def serve(home: Path) -> tuple[float, float, float]:
    """(seconds to the first answer, largest process MB, process tree MB)."""
    key = KeyRing(home / "api_keys.json").add("bench", pd.Timestamp("2026-11-30"))
    port = free_port()
    env = serve_env(dict(os.environ), str(home), port, insecure=False, workers=1)
    started = time.perf_counter()
    proc = subprocess.Popen(serve_command("127.0.0.1", port), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        while True:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/score", json={"customer_ids": ["C000000042"]},
                                   headers={"Authorization": f"Bearer {key}"}, timeout=2)  # fmt: skip
                if reply.status_code == 200 and reply.json()["results"][0]["found"]:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        first = time.perf_counter() - started
        for _ in range(200):  # a little traffic before the memory is read
            httpx.post(f"http://127.0.0.1:{port}/score", json={"customer_ids": [f"C{i:09d}" for i in range(0, 10_000, 97)]},
                       headers={"Authorization": f"Bearer {key}"}, timeout=10)  # fmt: skip
        largest, total = tree_rss_mb(proc.pid)
        return first, largest, total
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    print("scores      first answer   largest process   all server processes")
    for customers in args.customers:
        with tempfile.TemporaryDirectory() as folder:
            publish(Path(folder), customers)
            first, largest, total = serve(Path(folder))
        print(f"{customers:>10,}   {first:9.1f} s   {largest:11.0f} MB   {total:14.0f} MB")


if __name__ == "__main__":
    main()
