"""Latency and throughput of retain's scoring service against a bare Starlette/uvicorn app
answering the same lookup from the same published lookup file, side by side in one run.

Load on loopback only (asyncio + httpx, bounded requests): single-id lookups at concurrency
1, 8 and 32 (p50 / p99 and requests per second, and the ratio to the bare app); how long
single-id callers wait while one 10,000-id request runs. Targets (issue 16): p99 at most 2x
the bare app's at concurrency 1 and 3x at 8 and 32, at most 25 ms at 32; throughput at 32 at
least half the bare app's; a 10,000-id request stalls others by at most 50 ms.

With --histories WORK (a folder of benchmarks/check_history.py, trained on CDNOW), posted
histories too: p99 at concurrency 8 at most 100 ms (issue 27), beside the bare app.

Run: .venv/bin/python benchmarks/bench_api.py [--customers 1000000] [--requests 2000]
     [--histories WORK [--history-requests 600]]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pandas as pd

from models.scorer import SCORE_COLUMNS
from pipelines.scoring.publish import publish_lookup
from serving.auth import KeyRing
from serving.launch import serve_command

BARE_APP = """
import sys
from pathlib import Path
import anyio, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from pipelines.home import Home
from serving.store import ScoreStore
store = ScoreStore(Home(Path(sys.argv[1])))
async def score(request):
    body = await request.json()
    got = await anyio.to_thread.run_sync(store.lookup, body["customer_ids"])
    return JSONResponse(got.model_dump())
app = Starlette(routes=[Route("/score", score, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def scores(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, n)
    ids = np.char.add("C", np.arange(n).astype(str))
    frame = pd.DataFrame({"customer_id": ids, "churn_probability": p})
    for column in SCORE_COLUMNS:
        if column not in frame:
            frame[column] = 0.0
    frame["risk_tier"], frame["value_tier"], frame["reasons"] = "low", "bronze", ""
    frame["next_categories"] = "[]"
    frame["reason_directions"] = ""
    frame["model_version"], frame["as_of"] = "1", pd.Timestamp("2025-06-01")
    frame["next_order_date"] = frame["scored_at"] = pd.Timestamp("2025-06-01")
    features = pd.DataFrame(
        {"customer_id": ids, "mean_days_between_orders": 30.0, "avg_order_value": 40.0,
         "net_avg_order_value": 40.0, "spend_total": 400.0, "net_spend_total": 400.0,
         "orders_total": 10.0}
    )  # fmt: skip
    return frame[list(SCORE_COLUMNS)], features


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], url: str) -> tuple[subprocess.Popen[bytes], float]:
    """The server and the seconds from its start to its first 200 answer."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    headers = {"Authorization": env["_AUTH"]} if env["_AUTH"] else {}
    for _ in range(2400):
        try:
            body = {"customer_ids": ["C1"]}
            if httpx.post(f"{url}/score", json=body, headers=headers, timeout=2).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{cmd} did not start")


def group_rss_mb(pid: int) -> float:
    """Resident memory of a server's whole process group (BentoML runs worker processes)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:  # the process group id
            total += int(fields[21]) * 4096  # resident pages
    return total / 1e6


async def post_all(
    url: str, headers: dict[str, str], bodies: list[dict], concurrency: int
) -> tuple[list[dict], np.ndarray, float]:
    """Each body posted to `url` by `concurrency` callers: the answers (each must be a 200)
    and the latencies in ms, in the order of `bodies`, and the seconds it all took."""
    results: list[dict] = [{}] * len(bodies)
    latencies = np.zeros(len(bodies))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                t = time.perf_counter()
                reply = await client.post(url, json=bodies[i])
                latencies[i] = time.perf_counter() - t
                assert reply.status_code == 200, reply.text
                results[i] = reply.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, latencies * 1000, time.perf_counter() - started


async def load(
    url: str, headers: dict[str, str], concurrency: int, requests: int, n: int
) -> dict[str, float]:
    rng = np.random.default_rng(concurrency)
    bodies = [{"customer_ids": [f"C{i}"]} for i in rng.integers(0, n, requests)]
    _, ms, wall = await post_all(f"{url}/score", headers, bodies, concurrency)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "rps": requests / wall,
    }


def history_bodies(work: Path, n: int) -> list[dict]:
    """`n` CDNOW customers' histories before the scores' as-of, as a CRM would post them, from
    a folder where check_history.py (or the same commands) imported, trained and scored."""
    batch = pd.read_parquet(work / "scores.parquet").set_index("customer_id")
    as_of = pd.Timestamp(batch["as_of"].iloc[0])
    orders = pd.read_parquet(work / "data" / "orders.parquet")
    orders = orders[orders["ordered_at"] < as_of].drop_duplicates()
    chosen = list(batch.sample(n, random_state=0).index)
    mine = orders[orders["customer_id"].isin(chosen)].groupby("customer_id")
    return [
        {"as_of": str(as_of.date()), "customer_id": c,
         "orders": [{"order_id": o.order_id, "ordered_at": str(o.ordered_at), "amount": o.amount} for o in mine.get_group(c).itertuples()]}
        for c in chosen
    ]  # fmt: skip


async def post_histories(
    url: str, headers: dict[str, str], bodies: list[dict], concurrency: int = 8
) -> tuple[list[dict], np.ndarray, float]:
    """Each body posted to /v1/score/history: the one result of each, the latencies in ms and
    the seconds it all took."""
    answers, ms, wall = await post_all(f"{url}/v1/score/history", headers, bodies, concurrency)
    return [a["results"][0] for a in answers], ms, wall


async def stall(url: str, headers: dict[str, str], n: int) -> float:
    """Extra p99 of single-id callers while one 10,000-id request runs."""
    big = {"customer_ids": [f"C{i}" for i in range(min(10_000, n))]}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        alone = await load(url, headers, 4, 400, n)
        task = asyncio.create_task(client.post(f"{url}/score", json=big))
        during = await load(url, headers, 4, 400, n)
        await task
    return during["p99"] - alone["p99"]


def histories(
    ours: int, bare: int, auth: dict[str, str], work: Path, requests: int, n: int
) -> None:
    """Posted histories at concurrency 8 (target p99 at most 100 ms, issue 27), beside the
    bare app's single-id lookups at concurrency 8 in the same run: how loaded the cores are."""
    while httpx.get(f"http://127.0.0.1:{ours}/readyz", timeout=5).status_code != 200:
        time.sleep(0.5)  # the champion loads in the background
    bodies = history_bodies(work, requests)
    url = f"http://127.0.0.1:{ours}"
    asyncio.run(post_histories(url, auth, bodies[:40]))  # warm up
    _, ms, wall = asyncio.run(post_histories(url, auth, bodies))
    rate = requests / wall
    b = asyncio.run(load(f"http://127.0.0.1:{bare}", {}, 8, 2000, n))
    print(f"{requests} CDNOW histories ({np.mean([len(x['orders']) for x in bodies]):.1f} orders on "
          f"average) at concurrency 8: p50 {np.percentile(ms, 50):.1f} ms, p99 "
          f"{np.percentile(ms, 99):.1f} ms, {rate:.0f} histories/s; bare app "
          f"lookups at 8 in the same run: p50 {b['p50']:.1f} ms, p99 {b['p99']:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--settle", type=float, default=10.0,
        help="Seconds to wait after start: the one-off champion check (MLflow's import and a "
        "fresh store's migrations) runs in the background at first; the targets are for steady state.",
    )  # fmt: skip
    parser.add_argument(
        "--histories", type=Path, default=None, metavar="WORK",
        help="Also post CDNOW histories to /v1/score/history at concurrency 8, scored by the "
        "champion of WORK (a folder of benchmarks/check_history.py: its MLflow store and data).",
    )  # fmt: skip
    parser.add_argument("--history-requests", type=int, default=600)
    parser.add_argument(
        "--workers", type=int, default=1,
        help="Worker processes of retain's service (`serve_workers`); the bare app has one.",
    )  # fmt: skip
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-api-"))
    frame, features = scores(args.customers)
    pointer = home / "scores" / "lookup.current"
    pointer.parent.mkdir(parents=True)
    frame.to_parquet(home / "scores" / "latest.parquet")
    features.to_parquet(home / "scores" / "latest_features.parquet")
    publish_lookup(
        duckdb.connect(),
        home / "scores" / "latest.parquet",
        home / "scores" / "latest_features.parquet",
        pointer,
    )
    key = KeyRing(home / "api_keys.json").add("bench", pd.Timestamp("2026-11-30"))
    auth = {"Authorization": f"Bearer {key}"}
    ours, bare = free_port(), free_port()
    env = {**os.environ, "RETAIN_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{args.histories or home}/mlflow.db", "_AUTH": auth["Authorization"],
           "BENTOML_CONFIG_OPTIONS": f"services.retain.workers={args.workers}"}  # fmt: skip
    ours_proc, first_answer = start(
        serve_command("127.0.0.1", ours), env, f"http://127.0.0.1:{ours}"
    )
    bare_cmd = [sys.executable, "-c", BARE_APP, str(home), str(bare)]
    bare_proc, _ = start(bare_cmd, {**env, "_AUTH": ""}, f"http://127.0.0.1:{bare}")
    procs = [ours_proc, bare_proc]
    time.sleep(args.settle)
    print(
        f"retain's service: first answer {first_answer:.1f} s after start, resident memory "
        f"{group_rss_mb(ours_proc.pid):,.0f} MB (all its processes)"
    )
    try:
        print(
            f"lookups in {args.customers:,} scores, {args.requests:,} single-id requests per level"
        )
        print(
            "| concurrency | retain p50 / p99 ms | bare p50 / p99 ms | p99 ratio | retain / bare req/s | throughput ratio |"
        )
        print("|---|---|---|---|---|---|")
        for c in (1, 8, 32):
            a = asyncio.run(
                load(f"http://127.0.0.1:{ours}", auth, c, args.requests, args.customers)
            )
            b = asyncio.run(load(f"http://127.0.0.1:{bare}", {}, c, args.requests, args.customers))
            print(f"| {c} | {a['p50']:.1f} / {a['p99']:.1f} | {b['p50']:.1f} / {b['p99']:.1f} | "
                  f"{a['p99'] / b['p99']:.2f} | {a['rps']:,.0f} / {b['rps']:,.0f} | {a['rps'] / b['rps']:.2f} |")  # fmt: skip
        print(
            f"a 10,000-id request adds {asyncio.run(stall(f'http://127.0.0.1:{ours}', auth, args.customers)):.1f} ms to single-id p99"
        )
        if args.histories is not None:
            histories(ours, bare, auth, args.histories, args.history_requests, args.customers)
        print(f"resident memory after the load: {group_rss_mb(ours_proc.pid):,.0f} MB")
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
