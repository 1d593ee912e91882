"""retain's own figures on BentoML's /metrics: the champion version, the age of the served
scores, lookups found and not found, and where a posted history's time goes (validate,
features, model, reasons). Instruments are made on first use, inside the worker
(BentoML sets its multi-process metrics folder only when the worker starts)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Literal

from serving.auth import ASGIApp, Receive, Scope, Send

# What the service reports at a scrape: (champion version or None, scored_at in Unix seconds
# or None). Registered by the service instance of this worker.
_sources: list[Callable[[], tuple[str | None, float | None]]] = []


# A step takes from a fraction of a millisecond (validating a clean history) to tens of them.
HISTORY_STEP_BUCKETS_SECONDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
HISTORY_STEPS = ("validate", "features", "model", "reasons")


@functools.cache
def instruments() -> Any:
    from prometheus_client import Counter, Gauge, Histogram

    latest: Literal["livemostrecent"] = "livemostrecent"  # the worker that set it last
    return SimpleNamespace(
        champion=Gauge(
            "retain_champion_version", "Registered version of the loaded champion (0: none)",
            multiprocess_mode=latest,
        ),
        scored_at=Gauge(
            "retain_scores_scored_at_seconds", "When the served scores were computed (Unix time)",
            multiprocess_mode=latest,
        ),
        age=Gauge(
            "retain_scores_age_seconds", "Age of the served scores at the scrape (-1: none)",
            multiprocess_mode=latest,
        ),
        lookups=Counter(
            "retain_lookups", "Customer ids looked up by /v1/score, by result", ["result"]
        ),
        history_steps=Histogram(
            "retain_history_step_seconds", "Time of each step of scoring a posted history",
            ["step"], buckets=HISTORY_STEP_BUCKETS_SECONDS,
        ),
    )  # fmt: skip


def report_from(source: Callable[[], tuple[str | None, float | None]]) -> None:
    """The service's (champion version, scored_at seconds), read at each scrape."""
    _sources[:] = [source]


def count_lookups(found: int, unknown: int) -> None:
    lookups = instruments().lookups
    lookups.labels(result="hit").inc(found)
    lookups.labels(result="miss").inc(unknown)


class HistorySteps:
    """The time of each step (HISTORY_STEPS) of scoring one posted history, summed over its
    parts (a history the one-customer route hands to validation is validated twice), then
    observed once per step into retain_history_step_seconds{step=...} by `report`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def report(self, histories: int = 1) -> None:
        """Each step observed once per history; steps shared by histories scored together
        (the model, the reasons) as each one's share."""
        histogram = instruments().history_steps
        for name, seconds in self.seconds.items():
            for _ in range(histories):
                histogram.labels(step=name).observe(seconds / max(histories, 1))


def set_gauges(now: float) -> None:
    """Champion and scores' age as of `now` (Unix seconds), before /metrics is rendered."""
    if not _sources:
        return
    version, scored_at = _sources[0]()
    gauges = instruments()
    gauges.champion.set(float(version) if version and version.isdigit() else 0.0)
    gauges.scored_at.set(scored_at or 0.0)
    gauges.age.set(-1.0 if scored_at is None else max(0.0, now - scored_at))


class ScrapeHook:
    """Sets the gauges just before BentoML renders /metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            set_gauges(time.time())
        await self.app(scope, receive, send)
