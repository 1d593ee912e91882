"""`POST /score/history` against the batch on real data: 1,000 CDNOW customers' histories
posted to the running service equal their batch scores at the same as-of; the latency of
those requests at concurrency 8 is printed (target p99 at most 100 ms, issue 16), and the
wall and CPU time of one history in process (target at most 12 ms of CPU, issue 27).

Run: .venv/bin/python benchmarks/check_history.py [--customers 1000] [--workers 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from bench_api import free_port, history_bodies, post_histories, start
from data import CDNOW

import serving.history as history_module
from pipelines.settings import load_settings
from serving.auth import KeyRing
from serving.history import Champion, Connections, History, score_histories
from serving.launch import serve_command
from serving.schemas import OrderIn

COMPARED = ("churn_probability", "expected_days_to_next_order", "next_order_p10_days",
            "next_order_p90_days", "order_probability_30d", "value_at_risk")  # fmt: skip


def retain(home: Path, *args: str) -> None:
    env = {
        **os.environ,
        "RETAIN_HOME": str(home / "home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
    }
    subprocess.run(
        [str(Path(".venv/bin/retain").resolve()), *args],
        env=env,
        check=True,
        cwd=home,
        stdout=subprocess.DEVNULL,
    )


def in_process_ms(
    work: Path, bodies: list[dict], sql: bool = False, batch: int = 1
) -> tuple[float, float]:
    """Mean (wall, CPU) milliseconds per history of `score_histories` in this process, `batch`
    histories per pass (the service's work without HTTP, threads or the load generator; the
    service batches those that arrive together). `sql`: every history through validation and
    the batch SQL (the reference route), as if none were clean, for the ratio of the two
    routes on the same cores at the same time."""
    if sql:
        history_module.clean_history = lambda *_: None
    os.environ["RETAIN_HOME"] = str(work / "home")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work}/mlflow.db"
    settings = load_settings()
    champion, connections = Champion(settings).get(), Connections()
    assert champion is not None
    histories = [
        (b["as_of"], History(b["customer_id"], [OrderIn(**o) for o in b["orders"]])) for b in bodies
    ]
    passes = [histories[i : i + batch] for i in range(0, len(histories), batch)]
    score_histories(settings, champion, histories[:5], connections)  # warm up
    started, cpu = time.perf_counter(), time.process_time()
    for posted in passes:
        score_histories(settings, champion, posted, connections)
    per = 1000 / len(histories)
    return (time.perf_counter() - started) * per, (time.process_time() - cpu) * per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="The service's worker processes.")
    parser.add_argument(
        "--work", type=Path, default=None,
        help="A folder of an earlier run (printed at the start) to measure again: no import, "
        "training or scoring.",
    )  # fmt: skip
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="check-history-"))
    print(f"working in {work}")
    if args.work is None:
        retain(work, "import", "cdnow", str(CDNOW.resolve()), "--out", "data")
        retain(work, "train", "--data", "data", "--horizon-days", "91")
        retain(work, "score", "--out", "scores.parquet")
    batch = pd.read_parquet(work / "scores.parquet").set_index("customer_id")
    bodies = history_bodies(work, args.customers)
    as_of = pd.Timestamp(bodies[0]["as_of"])
    key = KeyRing(work / "home" / "api_keys.json").add("check", pd.Timestamp("2026-11-30"))
    port = free_port()
    env = {**os.environ, "RETAIN_HOME": str(work / "home"), "BENTOML_HOME": str(work / "bentoml"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db", "_AUTH": f"Bearer {key}",
           "BENTOML_CONFIG_OPTIONS": f"services.retain.workers={args.workers}"}  # fmt: skip
    proc, _ = start(serve_command("127.0.0.1", port), env, f"http://127.0.0.1:{port}")
    try:
        while httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code != 200:
            time.sleep(0.5)
        results, ms, _ = asyncio.run(
            post_histories(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}, bodies)
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
    worst = max(
        abs(float(r[c]) - float(batch.loc[r["customer_id"], c])) for r in results for c in COMPARED
    )
    tiers = all(r["risk_tier"] == batch.loc[r["customer_id"], "risk_tier"] for r in results)
    print(f"{len(results):,} CDNOW histories at {as_of.date()}: largest difference from the batch "
          f"{worst:.2e} over {', '.join(COMPARED)}; risk tiers equal: {tiers}")  # fmt: skip
    print(f"latency at concurrency 8, {args.workers} worker(s): p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms "
          f"(histories of {np.mean([len(b['orders']) for b in bodies]):.1f} orders on average)")  # fmt: skip
    wall, cpu = in_process_ms(work, bodies[:200])
    print(f"in process, one at a time: {wall:.1f} ms wall, {cpu:.1f} ms CPU per history")
    wall, eights = in_process_ms(work, bodies[:200], batch=8)
    print(f"in process, 8 per pass (as the service batches 8 concurrent requests): {wall:.1f} ms "
          f"wall, {eights:.1f} ms CPU per history")  # fmt: skip
    wall, sql_cpu = in_process_ms(work, bodies[:200], sql=True)
    print(f"the same through validation and the batch SQL: {wall:.1f} ms wall, {sql_cpu:.1f} ms "
          f"CPU per history (one-customer route / SQL route: {cpu / sql_cpu:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
